/*
 * lp-build-helper - a front end to livepatch-build's step modules (driver/), one
 * command per step (hash or copy a tree, prepare the patched work tree, the make
 * rules of single objects, sort and diff objects, stamp and check a payload), for
 * the tests and for debugging one step alone.  livepatch-build calls the same code
 * in-process; it never runs this program.
 *
 * Exit codes: 0 success, 1 failure (stderr says what), 2 usage error; `stamp`
 * exits 3 when the loader would refuse the payload.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../driver/helper.h"

int helper_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "lp-build-helper: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
} commands[] = {
    { "tree-key", cmd_tree_key, "hash the source files of a tree (cache key)" },
    { "copy-tree", cmd_copy_tree, "copy the source files of a tree, times kept" },
    { "prepare", cmd_prepare, "set up a patched work tree; print the objects to make" },
    { "make-rules", cmd_make_rules, "print the make --eval rules a targeted build needs" },
    { "collect", cmd_collect, "sort recompiled objects into changed, new and identical" },
    { "diff", cmd_diff, "run create-diff-object on the changed objects in parallel" },
    { "stamp", cmd_stamp, "add ids and .modinfo, check with the loader, write the payload" },
};

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: lp-build-helper COMMAND ARGS...\n\n"
               "Steps of livepatch-build, each in one process:\n");
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
    fprintf(f, "\nExit status: 0 success, 1 failure, 2 usage error, 3 (stamp) the loader "
               "refuses the payload.\n");
}

int main(int argc, char **argv)
{
    size_t i;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("lp-build-helper %s\n", LP_VERSION);
        return 0;
    }
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "lp-build-helper: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
