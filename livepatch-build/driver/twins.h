/*
 * twins.h - layout twins (twins.c): the changed units of a tree built without -g,
 * compiled again with -g so create-diff-object --dwarf-from can check layouts.
 * Also what livepatch-gcc needs to make a twin itself, alongside the compile
 * (LIVEPATCH_TWIN=1): the flags a twin adds, the output options it drops, and where
 * it puts the twin.
 */
#ifndef LP_BUILD_HELPER_TWINS_H
#define LP_BUILD_HELPER_TWINS_H

#include <string.h>

/*
 * For each of objs[0..nobj) whose copy in WORK/original or WORK/patched has no
 * DWARF, put its twin in WORK/<side>/<obj>.dwarf: the one livepatch-gcc made with
 * the object (its kept command names it), or for an original the one its cache
 * entry keeps, or else compiled from the command livepatch-gcc kept, in orig_tree[i]
 * (original) or patched_tree (patched), `jobs` at a time.  A twin that cannot be
 * made is said on stderr (create-diff-object then warns that the layouts of that
 * unit were not checked).  Returns how many twins are in place, -1 on error.
 */
int helper_layout_twins(const char *cmd, const char *work, char *const *objs, int nobj,
                        const char *const *orig_tree, const char *patched_tree, long jobs);

/*
 * What a twin's compile adds to the object's own: debug information without variable
 * tracking (the layout check reads no location; see twins.c for what this saves and
 * why it changes nothing the check reads).
 */
#define LP_TWIN_FLAGS "-g", "-fno-var-tracking", "-fno-var-tracking-assignments"

/* The twin livepatch-gcc makes beside DIR/NAME.o: DIR/.NAME.o LP_TWIN_BESIDE (the
 * ".o" ending keeps it out of the copies of a tree that take no objects). */
#define LP_TWIN_BESIDE ".twin.o"

/*
 * An option of a compile that names one of its outputs besides -o's, or -o itself:
 * 0 not one, 1 the word alone, 2 the word and the next.  A twin's compile drops them
 * (it writes only its own -o).
 */
static inline int lp_twin_output_option(const char *w)
{
    static const char *const alone[] = { "-MD", "-MMD", "-MP", "-MG", NULL };
    static const char *const with_next[] = { "-o", "-MF", "-MT", "-MQ", NULL };
    size_t i;

    for (i = 0; alone[i]; i++)
        if (!strcmp(w, alone[i]))
            return 1;
    for (i = 0; with_next[i]; i++) {
        if (!strcmp(w, with_next[i]))
            return 2;
        if (!strncmp(w, with_next[i], strlen(with_next[i])))
            return 1;
    }
    if (!strncmp(w, "-Wp,-MD,", 8) || !strncmp(w, "-Wp,-MMD,", 9) ||
        !strncmp(w, "-save-temps", 11) || !strncmp(w, "-fstack-usage", 13) ||
        !strncmp(w, "-fdump-", 7) || !strncmp(w, "-fcallgraph-info", 16))
        return 1;
    return 0;
}

#endif
