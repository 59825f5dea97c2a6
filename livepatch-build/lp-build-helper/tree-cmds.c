/*
 * tree-cmds.c - the tree commands of lp-build-helper, front ends to tree.h: hash the
 * source files of a tree (`tree-key`, the cache key of an unpatched build), copy them
 * (`copy-tree`), set up the work tree of a patched build (`prepare`), and print the
 * make rules a targeted build of a tree needs (`make-rules`).  Each parses its
 * arguments, calls the step and prints what it gives, or its error as
 * "lp-build-helper: COMMAND: MESSAGE".
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../driver/helper.h"
#include "../driver/tree.h"

static int usage(const char *cmd, const char *synopsis)
{
    fprintf(stderr, "lp-build-helper: %s: usage: %s %s\n", cmd, cmd, synopsis);
    return 2;
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: the value (advancing *i), or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

struct tree_args {
    const char *src, *dst;
    const char **prunes;
    size_t nprunes;
    struct tree_salt *salts;
    size_t nsalts;
};

static void free_tree_args(struct tree_args *a)
{
    free(a->prunes);
    free(a->salts);
}

/* SRC [DST] [--prune REL]... [--salt STRING]...; returns 0, or the exit status. */
static int parse_tree_args(int argc, char **argv, int want_dst, int salts, struct tree_args *a,
                           const char *synopsis)
{
    const char *cmd = argv[0];
    int i;

    memset(a, 0, sizeof(*a));
    a->prunes = calloc((size_t)argc + 1, sizeof(*a->prunes));
    a->salts = calloc((size_t)argc + 1, sizeof(*a->salts));
    if (!a->prunes || !a->salts)
        return helper_fail(cmd, "out of memory");
    for (i = 1; i < argc; i++) {
        const char *v;

        if ((v = opt_value(argc, argv, &i, "--prune"))) {
            a->prunes[a->nprunes++] = v;
        } else if (salts && (v = opt_value(argc, argv, &i, "--salt"))) {
            a->salts[a->nsalts++] = (struct tree_salt){ .text = v };
        } else if (salts && (v = opt_value(argc, argv, &i, "--salt-file"))) {
            a->salts[a->nsalts++] = (struct tree_salt){ .text = v, .is_file = true };
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage(cmd, synopsis);
        } else if (!a->src) {
            a->src = argv[i];
        } else if (want_dst && !a->dst) {
            a->dst = argv[i];
        } else {
            return usage(cmd, synopsis);
        }
    }
    if (!a->src || (want_dst && !a->dst))
        return usage(cmd, synopsis);
    return 0;
}

/* Flush stdout, or fail naming what was written. */
static int flush_out(const char *cmd, const char *what)
{
    if (fflush(stdout) != 0)
        return helper_fail(cmd, "cannot write the %s: %s", what, strerror(errno));
    return 0;
}

int cmd_tree_key(int argc, char **argv)
{
    const char *cmd = argv[0];
    struct lp_error e = { 0 };
    struct tree_args a;
    char key[33];
    int rc = parse_tree_args(argc, argv, 0, 1, &a,
                             "SRCDIR [--prune REL]... [--salt STRING | --salt-file FILE]...");

    if (!rc) {
        if (tree_key(a.src, a.prunes, a.nprunes, a.salts, a.nsalts, key, &e) < 0) {
            rc = helper_fail(cmd, "%s", e.msg);
        } else {
            printf("%s\n", key);
            rc = flush_out(cmd, "key");
        }
    }
    free_tree_args(&a);
    return rc;
}

int cmd_copy_tree(int argc, char **argv)
{
    struct lp_error e = { 0 };
    struct tree_args a;
    int rc = parse_tree_args(argc, argv, 1, 0, &a, "SRCDIR DEST [--prune REL]...");

    if (!rc && tree_copy_sources(a.src, a.dst, a.prunes, a.nprunes, &e) < 0)
        rc = helper_fail(argv[0], "%s", e.msg);
    free_tree_args(&a);
    return rc;
}

int cmd_prepare(int argc, char **argv)
{
    static const char synopsis[] = "--base BASE --prev PREV --tree TREE --src SRC --touched LIST "
                                   "--config CONFIG [--no-fix-lines] [--full]";
    const char *cmd = argv[0], *list = NULL;
    struct tree_prepare p = { .fix_lines = true };
    struct lp_error e = { 0 };
    char **touched, **targets;
    size_t ntouched, ntargets, i;
    int rc = 0, k;

    for (k = 1; k < argc; k++) {
        const char *v;

        if ((v = opt_value(argc, argv, &k, "--base")))
            p.base = v;
        else if ((v = opt_value(argc, argv, &k, "--prev")))
            p.prev = v;
        else if ((v = opt_value(argc, argv, &k, "--tree")))
            p.tree = v;
        else if ((v = opt_value(argc, argv, &k, "--src")))
            p.src = v;
        else if ((v = opt_value(argc, argv, &k, "--touched")))
            list = v;
        else if ((v = opt_value(argc, argv, &k, "--config")))
            p.config = v;
        else if (!strcmp(argv[k], "--no-fix-lines"))
            p.fix_lines = false;
        else if (!strcmp(argv[k], "--full"))
            p.full = true;
        else
            return usage(cmd, synopsis);
    }
    if (!p.base || !p.prev || !p.tree || !p.src || !list || !p.config)
        return usage(cmd, synopsis);

    if (!(touched = helper_read_lines(cmd, list, &ntouched)))
        return 1;
    p.touched = (const char *const *)touched;
    p.nr_touched = ntouched;
    if (tree_prepare(&p, &targets, &ntargets, &e) < 0) {
        /* (a line of LIST that leads out of the tree: named with the list's path) */
        if (e.code == LP_ERR_INVALID)
            lp_error_prefix(&e, "%s", list);
        rc = helper_fail(cmd, "%s", e.msg);
    } else {
        for (i = 0; i < ntargets; i++)
            printf("%s\n", targets[i]);
        rc = flush_out(cmd, "targets");
        helper_free_lines(targets, ntargets);
    }
    helper_free_lines(touched, ntouched);
    return rc;
}

int cmd_make_rules(int argc, char **argv)
{
    const char *cmd = argv[0];
    struct lp_error e = { 0 };
    char *eval;
    int i;

    for (i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1])
            return usage(cmd, "TREE [TARGET]...");
    if (argc < 2)
        return usage(cmd, "TREE [TARGET]...");
    if (tree_make_rules(argv[1], (const char *const *)argv + 2, (size_t)argc - 2, &eval, &e) < 0)
        return helper_fail(cmd, "%s", e.msg);
    if (!eval)
        return 0;
    printf("%s\n", eval);
    free(eval);
    return flush_out(cmd, "rules");
}
