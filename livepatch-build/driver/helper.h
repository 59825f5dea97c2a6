/*
 * helper.h - what livepatch-build's step modules share: the file-system chores,
 * the stop flag, how a step reports a failure (helper_fail: each program words it,
 * "lp-build-helper: COMMAND: ..." or "livepatch-build: COMMAND: ..."), and the
 * commands of lp-build-helper, the front end to the steps for tests and debugging.
 *
 * Every command returns the exit status: 0 success, 1 failure (message on stderr),
 * 2 usage error.
 */
#ifndef LP_BUILD_HELPER_H
#define LP_BUILD_HELPER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

int cmd_tree_key(int argc, char **argv);   /* lp-build-helper/tree-cmds.c */
int cmd_copy_tree(int argc, char **argv);  /* lp-build-helper/tree-cmds.c */
int cmd_prepare(int argc, char **argv);    /* lp-build-helper/tree-cmds.c */
int cmd_make_rules(int argc, char **argv); /* lp-build-helper/tree-cmds.c */
int cmd_collect(int argc, char **argv);    /* objects.c */
int cmd_diff(int argc, char **argv);       /* objects.c */
int cmd_stamp(int argc, char **argv);      /* lp-build-helper/stamp.c */

/*
 * Set (by livepatch-build's signal handler) when the run is to stop: long walks over a
 * tree and waits for children check it and fail with "interrupted" (files.c).
 */
extern volatile sig_atomic_t helper_stop_requested;

/* files.c: shared file-system chores. */
int helper_make_dirs(char *path);          /* mkdir -p (path is restored) */
int helper_make_parent(char *path);        /* mkdir -p of the folder holding path */
bool helper_is_file(const char *path);     /* a regular file (symlinks followed) */
int helper_remove_tree(const char *path);  /* rm -rf */
int helper_str_cmp(const void *a, const void *b);  /* qsort/bsearch on char * */
void helper_sort_unique(char **v, size_t *n);      /* duplicates are freed */
/* The non-empty lines of a file, sorted and unique (NULL after a message). */
char **helper_read_lines(const char *cmd, const char *path, size_t *count);
void helper_free_lines(char **v, size_t n);

/* copy.c: copy one file with its mode and times, creating its folder (a message on failure). */
int helper_copy_file(const char *cmd, const char *src, const char *dst);

/*
 * spawn.c: start argv (argv[0] searched on PATH) as a child in the caller's process
 * group, in folder dir (NULL: here), its stdin from in and stdout to out (-1: as ours),
 * stderr (and stdout, when out is -1) to the file log, truncated or appended to.  Returns
 * its pid, or -1 (errno) when it cannot fork; a child that cannot set up exits 126, one
 * that cannot exec 127 after saying why on its stderr.
 */
struct helper_child {
    const char *const *argv;
    const char *dir;
    int in, out;
    const char *log;
    bool append;
};
pid_t helper_spawn(const struct helper_child *c);

/* Print "lp-build-helper: CMD: message\n" on stderr; returns 1. */
int helper_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
