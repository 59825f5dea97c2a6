/*
 * create-diff-object - build the payload object of one translation unit.
 *
 * Drop-in for the upstream tool of the same name: same arguments, same exit
 * statuses (0 written, 1 error, 2 a change a payload cannot carry, 3 no change).
 * All the work is in lib/differ/; this file only parses options and reports.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livepatch/differ.h"
#include "livepatch/util.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: create-diff-object [options] ORIG.o PATCHED.o IMAGE OUT.o\n"
            "\n"
            "Compare one translation unit's original and patched objects (built with\n"
            "-ffunction-sections -fdata-sections) and write the live-patch payload object\n"
            "for it: the changed functions, what they newly need, and .livepatch.funcs.\n"
            "IMAGE is the target hypervisor image with its symbol table (Xen: xen-syms).\n"
            "\n"
            "Options:\n"
            "  -d, --debug        log every decision to stderr\n"
            "  -r, --resolve      write old_addr from IMAGE (default: 0, the loader resolves)\n"
            "      --explain      show the first differing instruction of each changed function\n"
            "      --json FILE    write what changed, what is carried, ignored or refused\n"
            "      --allow-layout-change TYPE\n"
            "                     a reviewed exception: a changed layout of TYPE (\"struct foo\",\n"
            "                     or \"foo\" for any kind) used by patched code is a warning,\n"
            "                     not a refusal; recorded in .livepatch.allowed_layout\n"
            "                     (repeatable)\n"
            "  -h, --help         this help\n"
            "  -V, --version      print the version\n"
            "\n"
            "Exit status: 0 payload object written; 1 error; 2 a change a payload cannot\n"
            "carry (the message names it); 3 nothing changed.  On a non-zero status no\n"
            "OUT.o is written.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "debug", no_argument, NULL, 'd' },   { "resolve", no_argument, NULL, 'r' },
        { "explain", no_argument, NULL, 'e' }, { "json", required_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },    { "version", no_argument, NULL, 'V' },
        { "allow-layout-change", required_argument, NULL, 'L' },
        { NULL, 0, NULL, 0 },
    };
    struct lpd_options opts = { 0 };
    struct lpd_result res;
    struct lp_error err = { 0 };
    const char *json = NULL;
    const char **allow = NULL;
    size_t nr_allow = 0, i;
    enum lpd_status st;
    int c;

    while ((c = getopt_long(argc, argv, "drhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': opts.log = stderr; break;
        case 'r': opts.resolve = true; break;
        case 'e': opts.explain = true; opts.log = stderr; break;
        case 'j': json = optarg; break;
        case 'L': {
            const char **a = realloc(allow, (nr_allow + 1) * sizeof(*a));
            if (!a) {
                fprintf(stderr, "create-diff-object: out of memory\n");
                free(allow);
                return 1;
            }
            allow = a;
            allow[nr_allow++] = optarg;
            break;
        }
        case 'h': usage(stdout); return 0;
        case 'V': printf("create-diff-object %s\n", LP_VERSION); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (argc - optind != 4) {
        usage(stderr);
        free(allow);
        return 1;
    }
    opts.allow_layout = allow;
    opts.nr_allow_layout = nr_allow;
    st = lpd_diff(argv[optind], argv[optind + 1], argv[optind + 2], argv[optind + 3], &opts,
                  &res, &err);
    /* Warnings (an allowed layout change, layouts not checkable) always reach stderr;
     * with -d the log has already shown them. */
    for (i = 0; !opts.log && i < res.nr_items; i++)
        if (res.items[i].kind == LPD_WARNING)
            fprintf(stderr, "create-diff-object: warning: %s\n", res.items[i].reason);
    switch (st) {
    case LPD_WRITTEN:
        fprintf(stderr, "create-diff-object: %s\n", res.summary ? res.summary : "written");
        break;
    case LPD_NO_CHANGE:
        fprintf(stderr, "create-diff-object: %s\n", res.summary);
        break;
    default:
        fprintf(stderr, "create-diff-object: %s\n", err.msg);
        break;
    }
    if (json) {
        char tmp[4096];
        struct lp_error jerr = { 0 };
        int fd = lp_create_temp(json, tmp, sizeof(tmp), &jerr);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

        if (!f) {
            if (fd >= 0)
                lp_abort_file(fd, tmp);
            fprintf(stderr, "create-diff-object: %s\n", jerr.msg[0] ? jerr.msg : "cannot write JSON");
            st = LPD_ERROR;
        } else {
            lpd_result_json(&res, f);
            if (fflush(f) || ferror(f)) {
                fclose(f);
                unlink(tmp);
                st = LPD_ERROR;
            } else {
                fd = dup(fileno(f));
                fclose(f);
                if (lp_commit_file(fd, tmp, json, 0644, &jerr)) {
                    fprintf(stderr, "create-diff-object: %s\n", jerr.msg);
                    st = LPD_ERROR;
                }
            }
        }
    }
    /* Only exit 0 leaves an OUT: one from an earlier run would pass for this one's. */
    if (st != LPD_WRITTEN)
        unlink(argv[optind + 3]);
    lpd_result_free(&res);
    free(allow);
    return (int)st;
}
