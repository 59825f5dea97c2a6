/*
 * create-diff-object - build the payload object of one translation unit.
 *
 * Drop-in for the upstream tool of the same name: same arguments, same exit
 * statuses (0 written, 1 error, 2 a change a payload cannot carry, 3 no change).
 * All the work is in lib/differ/; this file only parses options and reports.
 *
 * --pairs diffs many pairs against one image in one process: the image is indexed
 * once, and each pair's status and messages are those its own run would give.
 */
#include <errno.h>
#include <fcntl.h>
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
            "       create-diff-object [options] --pairs FILE IMAGE\n"
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
            "      --dwarf-from SUFFIX\n"
            "                     for an object without DWARF, check layouts with the DWARF\n"
            "                     of OBJECT<SUFFIX> (the unit compiled again with -g)\n"
            "      --pairs FILE   diff every pair FILE lists (\"-\": standard input), one\n"
            "                     line each: ORIG.o PATCHED.o OUT.o [LOG], separated by\n"
            "                     tabs (or by spaces when the line has no tab), against one\n"
            "                     reading of IMAGE.  A pair's messages go to LOG (created\n"
            "                     anew) or stderr.  Prints \"create-diff-object pairs 1\",\n"
            "                     then \"STATUS<tab>OUT.o\" as each pair ends (STATUS: the\n"
            "                     exit status its own run would have); exit 0 once FILE\n"
            "                     is read, 1 if it cannot be\n"
            "  -h, --help         this help\n"
            "  -V, --version      print the version\n"
            "\n"
            "Exit status: 0 payload object written; 1 error; 2 a change a payload cannot\n"
            "carry (the message names it); 3 nothing changed.  On a non-zero status no\n"
            "OUT.o is written.\n");
}

/*
 * Diff one pair and report it on stderr; returns the exit status of a run on that pair
 * alone.  img is opened by the first pair that needs it and kept for the next.
 */
/*
 * An output that is an input (the same path, or the same file through a link) would be
 * overwritten on success and removed on failure: refused before any work, touching
 * nothing.  Returns the message's status (1) or 0.
 */
static int refuse_overlap(const char *orig, const char *patched, const char *image,
                          const char *out, const char *json)
{
    const char *const ins[] = { orig, patched, image };
    const char *const kind[] = { "the original object", "the patched object", "the image" };
    size_t i;

    for (i = 0; i < 3; i++) {
        if (lp_same_file(out, ins[i])) {
            fprintf(stderr, "create-diff-object: %s: the output is %s (%s): an input is never "
                    "overwritten (choose another OUT.o)\n", out, kind[i], ins[i]);
            return 1;
        }
        if (json && lp_same_file(json, ins[i])) {
            fprintf(stderr, "create-diff-object: --json %s: is %s (%s): an input is never "
                    "overwritten\n", json, kind[i], ins[i]);
            return 1;
        }
    }
    if (json && lp_same_file(json, out)) {
        fprintf(stderr, "create-diff-object: --json %s: is the output object %s: give them "
                "different files\n", json, out);
        return 1;
    }
    return 0;
}

static int diff_pair(const char *orig, const char *patched, struct lpd_image *img,
                     const char *image, const char *out, const char *json,
                     const struct lpd_options *opts)
{
    struct lpd_result res;
    struct lp_error err = { 0 };
    enum lpd_status st;
    size_t i;

    if (refuse_overlap(orig, patched, image, out, json))
        return LPD_ERROR;
    st = lpd_diff_shared(orig, patched, img, out, opts, &res, &err);
    /* Warnings (an allowed layout change, layouts not checkable) always reach stderr;
     * with -d the log has already shown them. */
    for (i = 0; !opts->log && i < res.nr_items; i++)
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
        unlink(out);
    lpd_result_free(&res);
    return (int)st;
}

/* Split a --pairs line into fields (in place): tabs, or runs of spaces without a tab. */
static size_t split_fields(char *line, char **f, size_t max)
{
    const char *sep = strchr(line, '\t') ? "\t" : " ";
    size_t n = 0;
    char *save = NULL, *t;

    for (t = strtok_r(line, sep, &save); t; t = strtok_r(NULL, sep, &save))
        if (n < max + 1)
            f[n++] = t;
    return n;
}

/*
 * --pairs: each pair as diff_pair, its messages on its LOG (stderr pointed at it for the
 * pair, so they are the bytes a single run would write), its status on stdout.
 */
static int run_pairs(const char *list, const char *image, const struct lpd_options *opts)
{
    FILE *in = strcmp(list, "-") == 0 ? stdin : fopen(list, "r");
    struct lpd_image *img = lpd_image_new(image);
    int saved = dup(2), rc = 0;
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;

    if (!in || !img || saved < 0) {
        fprintf(stderr, "create-diff-object: %s: %s\n", list,
                !in ? strerror(errno) : "out of memory");
        rc = 1;
        goto out;
    }
    printf("create-diff-object pairs 1\n");
    fflush(stdout);
    while ((len = getline(&line, &cap, in)) >= 0) {
        char *f[5];
        size_t n;
        int st, fd = -1;

        lineno++;
        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        if (!len)
            continue;
        n = split_fields(line, f, 4);
        if (n < 3 || n > 4) {
            fprintf(stderr, "create-diff-object: %s:%zu: expected ORIG.o PATCHED.o OUT.o "
                            "[LOG], got %zu field%s\n", list, lineno, n, n == 1 ? "" : "s");
            printf("1\t-\n");
            fflush(stdout);
            continue;
        }
        if (n == 4 && (lp_same_file(f[3], f[0]) || lp_same_file(f[3], f[1]) ||
                       lp_same_file(f[3], image) || lp_same_file(f[3], f[2]))) {
            fprintf(stderr, "create-diff-object: %s:%zu: log %s is an input or the output: an "
                            "input is never overwritten\n", list, lineno, f[3]);
            printf("1\t%s\n", f[2]);
            fflush(stdout);
            continue;
        }
        if (n == 4) {
            fd = open(f[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0) {
                fprintf(stderr, "create-diff-object: %s: %s\n", f[3], strerror(errno));
                printf("1\t%s\n", f[2]);
                fflush(stdout);
                continue;
            }
            fflush(stderr);
            dup2(fd, 2);
            close(fd);
        }
        st = diff_pair(f[0], f[1], img, image, f[2], NULL, opts);
        if (n == 4) {
            fflush(stderr);
            dup2(saved, 2);
        }
        printf("%d\t%s\n", st, f[2]);
        fflush(stdout);
    }
    if (ferror(in)) {
        fprintf(stderr, "create-diff-object: %s: %s\n", list, strerror(errno));
        rc = 1;
    }
out:
    if (in && in != stdin)
        fclose(in);
    if (saved >= 0)
        close(saved);
    free(line);
    lpd_image_free(img);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "debug", no_argument, NULL, 'd' },   { "resolve", no_argument, NULL, 'r' },
        { "explain", no_argument, NULL, 'e' }, { "json", required_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },    { "version", no_argument, NULL, 'V' },
        { "allow-layout-change", required_argument, NULL, 'L' },
        { "pairs", required_argument, NULL, 'P' },
        { "dwarf-from", required_argument, NULL, 'D' },
        { NULL, 0, NULL, 0 },
    };
    struct lpd_options opts = { 0 };
    struct lpd_image *img;
    const char *json = NULL, *pairs = NULL;
    const char **allow = NULL;
    size_t nr_allow = 0;
    int c, st;

    while ((c = getopt_long(argc, argv, "drhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': opts.log = stderr; break;
        case 'r': opts.resolve = true; break;
        case 'e': opts.explain = true; opts.log = stderr; break;
        case 'j': json = optarg; break;
        case 'P': pairs = optarg; break;
        case 'D': opts.dwarf_suffix = optarg; break;
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
    if (pairs ? argc - optind != 1 || json : argc - optind != 4) {
        if (pairs && json)
            fprintf(stderr, "create-diff-object: --json is for one pair, not --pairs\n");
        usage(stderr);
        free(allow);
        return 1;
    }
    opts.allow_layout = allow;
    opts.nr_allow_layout = nr_allow;
    if (pairs) {
        st = run_pairs(pairs, argv[optind], &opts);
        free(allow);
        return st;
    }
    img = lpd_image_new(argv[optind + 2]);
    if (!img) {
        fprintf(stderr, "create-diff-object: out of memory\n");
        free(allow);
        return 1;
    }
    st = diff_pair(argv[optind], argv[optind + 1], img, argv[optind + 2], argv[optind + 3],
                   json, &opts);
    lpd_image_free(img);
    free(allow);
    return st;
}
