/*
 * objects.h - the diff step (objects.c): the objects a patched build recompiled,
 * sorted into identical, changed and new, and every changed pair diffed with
 * create-diff-object, `jobs` at a time.
 */
#ifndef LPB_OBJECTS_H
#define LPB_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * The objects diffed are those found changed among the ones the wrapper compiled
 * into `tree` (listed in `capture`; each original from the first of `prev` that has
 * it), or, without `tree`, `objs`.  Prints "changed|new|same OBJ" lines (the sort)
 * and then "STATUS OBJ" lines (each diff's exit status; 128+N: killed by signal N)
 * on out.  Returns 0, or 1 after a message on stderr.
 */
struct diff_opts {
    const char *work, *image, *cdo, *log;
    long jobs;
    const char **extra;          /* options every create-diff-object gets, in order */
    size_t nr_extra;
    bool one_per_pair;           /* a process per pair, never --pairs workers */
    bool twins;                  /* layout twins for changed objects without DWARF */
    const char *tree, *capture;
    const char **prev;
    size_t nr_prev;
    char **objs;
    int nobj;
};
int helper_diff(const struct diff_opts *opt, FILE *out);
/* Only the sort (opt->tree, capture, prev, work): its lines on out; WORK/changed_objs
 * and WORK/new_objs list the changed and new ones. */
int helper_collect(const struct diff_opts *opt, FILE *out);

/* When the run started (microseconds since the epoch; 0: $LIVEPATCH_BUILD_START):
 * the progress lines of the diff step are timed from it. */
extern long long helper_start_us;

#endif
