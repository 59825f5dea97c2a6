/*
 * twins.h - layout twins (twins.c): the changed units of a tree built without -g,
 * compiled again with -g so create-diff-object --dwarf-from can check layouts.
 */
#ifndef LP_BUILD_HELPER_TWINS_H
#define LP_BUILD_HELPER_TWINS_H

/*
 * For each of objs[0..nobj) whose copy in WORK/original or WORK/patched has no
 * DWARF, compile WORK/<side>/<obj>.dwarf from the command livepatch-gcc kept, in
 * orig_tree[i] (original) or patched_tree (patched), `jobs` at a time.  A twin that
 * cannot be made is said on stderr (create-diff-object then warns that the layouts
 * of that unit were not checked).  Returns how many twins were made, -1 on error.
 */
int helper_layout_twins(const char *cmd, const char *work, char *const *objs, int nobj,
                        const char *const *orig_tree, const char *patched_tree, long jobs);

#endif
