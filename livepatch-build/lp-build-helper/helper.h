/*
 * helper.h - lp-build-helper: the steps of livepatch-build that would cost the
 * shell driver dozens of processes each (hashing and copying trees, rewriting
 * line numbers, sorting objects, running the diffs, stamping and checking the
 * payload), done in one process per step.
 *
 * Every command returns the exit status: 0 success, 1 failure (message on stderr,
 * prefixed "lp-build-helper: COMMAND: "), 2 usage error.
 */
#ifndef LP_BUILD_HELPER_H
#define LP_BUILD_HELPER_H

int cmd_tree_key(int argc, char **argv);   /* tree.c */
int cmd_copy_tree(int argc, char **argv);  /* tree.c */
int cmd_prepare(int argc, char **argv);    /* tree.c */
int cmd_collect(int argc, char **argv);    /* objects.c */
int cmd_diff(int argc, char **argv);       /* objects.c */
int cmd_stamp(int argc, char **argv);      /* stamp.c */

/* Print "lp-build-helper: CMD: message\n" on stderr; returns 1. */
int helper_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
