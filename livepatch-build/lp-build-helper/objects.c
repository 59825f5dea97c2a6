/*
 * objects.c - what happens to the objects a patched build recompiled: sort them
 * into identical, changed and new (`collect`), then diff every changed pair with
 * create-diff-object, -j at a time (`diff`).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"
#include "livepatch/util.h"

/* --- small file helpers ------------------------------------------------------------ */

static char *path_join(const char *a, const char *b)
{
    char *p;

    if (asprintf(&p, "%s/%s", a, b) < 0)
        return NULL;
    return p;
}

static bool same_bytes(const char *a, const char *b)
{
    struct lp_error e = { 0 };
    unsigned char *x = NULL, *y = NULL;
    size_t lx, ly;
    bool same = !lp_read_file(a, &x, &lx, &e) && !lp_read_file(b, &y, &ly, &e) && lx == ly &&
                !memcmp(x, y, lx);

    free(x);
    free(y);
    return same;
}

/* --- collect ------------------------------------------------------------------------- */

static void collect_usage(FILE *f)
{
    fprintf(f, "usage: lp-build-helper collect --tree TREE --capture FILE --work WORK "
               "--prev TREE [--prev TREE]...\n"
               "Every object listed in FILE (paths relative to TREE) that TREE has is\n"
               "compared with the first --prev tree that has it: identical ones are\n"
               "skipped, changed ones copied to WORK/original and WORK/patched, ones no\n"
               "earlier tree has copied to WORK/patched and WORK/output.  Prints\n"
               "\"changed|new|same OBJ\" lines and writes WORK/changed_objs and WORK/new_objs.\n");
}

struct collect_args {
    const char *tree, *capture, *work;
    const char **prev;
    size_t nr_prev;
    size_t nr_new, nr_same;   /* out: besides the changed ones */
};

/*
 * Sort the objects of a->capture (see collect_usage); *changed gets the changed
 * ones (malloc'd strings), the pairs create-diff-object must see.
 */
static int collect(const char *cmd, struct collect_args *a, char ***changed,
                   size_t *nr_changed)
{
    char **objs = NULL, *dirs[3] = { NULL };
    FILE *lists[2] = { NULL };
    size_t nobjs = 0, i, k;
    int rc = 1;

    *changed = NULL;
    *nr_changed = 0;
    dirs[0] = path_join(a->work, "original");
    dirs[1] = path_join(a->work, "patched");
    dirs[2] = path_join(a->work, "output");
    for (k = 0; k < 3; k++) {
        if (!dirs[k] || helper_remove_tree(dirs[k]) || helper_make_dirs(dirs[k])) {
            helper_fail(cmd, "cannot create %s: %s", dirs[k] ? dirs[k] : a->work,
                        strerror(errno));
            goto out;
        }
    }
    if (access(a->capture, F_OK) == 0 && !(objs = helper_read_lines(cmd, a->capture, &nobjs)))
        goto out;
    if (!(*changed = calloc(nobjs + 1, sizeof(**changed)))) {
        helper_fail(cmd, "out of memory");
        goto out;
    }
    {
        char *cl = path_join(a->work, "changed_objs"), *nl = path_join(a->work, "new_objs");
        lists[0] = cl ? fopen(cl, "w") : NULL;
        lists[1] = nl ? fopen(nl, "w") : NULL;
        free(cl);
        free(nl);
        if (!lists[0] || !lists[1]) {
            helper_fail(cmd, "cannot write the object lists in %s: %s", a->work,
                        strerror(errno));
            goto out;
        }
    }
    for (i = 0; i < nobjs; i++) {
        const char *o = objs[i];
        char *patched = path_join(a->tree, o), *old = NULL, *dst = NULL;
        int bad = !patched;

        if (!bad && !helper_is_file(patched)) {
            free(patched);
            continue;
        }
        for (k = 0; !bad && k < a->nr_prev; k++) {
            char *cand = path_join(a->prev[k], o);
            if (!cand)
                bad = 1;
            else if (helper_is_file(cand)) {
                old = cand;
                break;
            } else
                free(cand);
        }
        if (bad) {
            helper_fail(cmd, "out of memory");
        } else if (!old) {
            printf("new %s\n", o);
            a->nr_new++;
            fprintf(lists[1], "%s\n", o);
            /* Carried whole: the payload links it as it is. */
            bad = !(dst = path_join(dirs[1], o)) || helper_copy_file(cmd, patched, dst);
            free(dst);
            bad = bad || !(dst = path_join(dirs[2], o)) || helper_copy_file(cmd, patched, dst);
        } else if (same_bytes(old, patched)) {
            printf("same %s\n", o);
            a->nr_same++;
        } else {
            printf("changed %s\n", o);
            fprintf(lists[0], "%s\n", o);
            bad = !(dst = path_join(dirs[0], o)) || helper_copy_file(cmd, old, dst);
            free(dst);
            bad = bad || !(dst = path_join(dirs[1], o)) || helper_copy_file(cmd, patched, dst) ||
                  !((*changed)[(*nr_changed)++] = strdup(o));
        }
        free(patched);
        free(old);
        free(dst);
        if (bad)
            goto out;
    }
    rc = 0;
out:
    for (k = 0; k < 2; k++)
        if (lists[k] && fclose(lists[k]) && !rc)
            rc = helper_fail(cmd, "cannot write the object lists in %s", a->work);
    for (k = 0; k < 3; k++)
        free(dirs[k]);
    helper_free_lines(objs, nobjs);
    if (rc) {
        helper_free_lines(*changed, *nr_changed);
        *changed = NULL;
        *nr_changed = 0;
    }
    fflush(stdout);
    return rc;
}

int cmd_collect(int argc, char **argv)
{
    static const struct option opts[] = {
        { "tree", required_argument, NULL, 't' }, { "capture", required_argument, NULL, 'c' },
        { "work", required_argument, NULL, 'w' }, { "prev", required_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },       { NULL, 0, NULL, 0 },
    };
    struct collect_args a = { .prev = calloc((size_t)argc + 1, sizeof(*a.prev)) };
    char **changed;
    size_t nr_changed;
    int c, rc;

    if (!a.prev)
        return helper_fail("collect", "out of memory");
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': a.tree = optarg; break;
        case 'c': a.capture = optarg; break;
        case 'w': a.work = optarg; break;
        case 'p': a.prev[a.nr_prev++] = optarg; break;
        case 'h': collect_usage(stdout); free(a.prev); return 0;
        default: collect_usage(stderr); free(a.prev); return 2;
        }
    }
    if (!a.tree || !a.capture || !a.work || !a.nr_prev || optind != argc) {
        collect_usage(stderr);
        free(a.prev);
        return 2;
    }
    rc = collect("collect", &a, &changed, &nr_changed);
    helper_free_lines(changed, nr_changed);
    free(a.prev);
    return rc;
}

/* --- diff ------------------------------------------------------------------------------ */

static void diff_usage(FILE *f)
{
    fprintf(f, "usage: lp-build-helper diff --work WORK --image IMAGE --cdo PROGRAM "
               "--log FILE [-j N] [--debug] [--prelink]\n"
               "         (OBJ... | --tree TREE --capture FILE --prev TREE...)\n"
               "Runs PROGRAM WORK/original/OBJ WORK/patched/OBJ IMAGE WORK/output/OBJ for\n"
               "every OBJ, N at a time, each one's output in WORK/logs/OBJ.log; FILE gets\n"
               "all logs in order.  Prints \"STATUS OBJ\" per object (128+N: killed by\n"
               "signal N).  Runs in a new session (process group) of its own.\n"
               "Progress goes to stderr in livepatch-build's format, timed\n"
               "from $LIVEPATCH_BUILD_START (microseconds since the epoch).\n"
               "With --tree, the objects are those `collect` finds changed (its lines are\n"
               "printed first).\n");
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
    const char *start = getenv("LIVEPATCH_BUILD_START");
    long long t0 = start ? atoll(start) : 0, us;
    struct timeval tv;
    va_list ap;

    gettimeofday(&tv, NULL);
    us = (long long)tv.tv_sec * 1000000 + tv.tv_usec - t0;
    if (!t0 || us < 0)
        us = 0;
    fprintf(stderr, "livepatch-build: [%4lld.%llds] ", us / 1000000, us / 100000 % 10);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* WORK/SUB/OBJ with SUFFIX: where the diff of OBJ reads or writes. */
static char *work_file(const char *work, const char *sub, const char *o, const char *suffix)
{
    char *p;

    return asprintf(&p, "%s/%s/%s%s", work, sub, o, suffix) < 0 ? NULL : p;
}

static pid_t start_diff(const char *cdo, const char *work, const char *image, const char *o,
                        bool debug, bool prelink)
{
    char *orig = work_file(work, "original", o, ""), *patched = work_file(work, "patched", o, "");
    char *out = work_file(work, "output", o, ""), *log = work_file(work, "logs", o, ".log");
    pid_t pid = -1;

    if (!orig || !patched || !out || !log || helper_make_parent(out) || helper_make_parent(log))
        goto out;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        const char *args[8] = { cdo, orig, patched, image, out, NULL, NULL, NULL };
        int n = 5, fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (debug)
            args[n++] = "-d";
        if (prelink)
            args[n++] = "-r";
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execv(cdo, (char *const *)args);
        fprintf(stderr, "cannot run %s: %s\n", cdo, strerror(errno));
        _exit(127);
    }
out:
    free(orig);
    free(patched);
    free(out);
    free(log);
    return pid;
}

int cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {
        { "work", required_argument, NULL, 'w' },  { "image", required_argument, NULL, 'i' },
        { "cdo", required_argument, NULL, 'c' },   { "log", required_argument, NULL, 'l' },
        { "jobs", required_argument, NULL, 'j' },  { "debug", no_argument, NULL, 'd' },
        { "prelink", no_argument, NULL, 'r' },     { "help", no_argument, NULL, 'h' },
        { "tree", required_argument, NULL, 't' },  { "capture", required_argument, NULL, 'C' },
        { "prev", required_argument, NULL, 'p' },  { NULL, 0, NULL, 0 },
    };
    struct collect_args ca = { .prev = calloc((size_t)argc + 1, sizeof(*ca.prev)) };
    char **objs = NULL, **collected = NULL;
    size_t nr_collected = 0;
    const char *work = NULL, *image = NULL, *cdo = NULL, *log = NULL, *cmd = "diff";
    bool debug = false, prelink = false;
    long jobs = 1;
    int c, rc = 0, nobj = 0, running = 0, next = 0, i;
    pid_t *pids;
    int *status;
    char *logs;
    FILE *all;

    optind = 1;
    while ((c = getopt_long(argc, argv, "hj:", opts, NULL)) != -1) {
        switch (c) {
        case 'w': work = optarg; break;
        case 'i': image = optarg; break;
        case 'c': cdo = optarg; break;
        case 'l': log = optarg; break;
        case 'j': jobs = strtol(optarg, NULL, 10); break;
        case 'd': debug = true; break;
        case 'r': prelink = true; break;
        case 't': ca.tree = optarg; break;
        case 'C': ca.capture = optarg; break;
        case 'p': if (ca.prev) ca.prev[ca.nr_prev++] = optarg; break;
        case 'h': diff_usage(stdout); free(ca.prev); return 0;
        default: diff_usage(stderr); free(ca.prev); return 2;
        }
    }
    if (!ca.prev)
        return helper_fail(cmd, "out of memory");
    if (!work || !image || !cdo || !log || jobs < 1 ||
        (ca.tree && (!ca.capture || !ca.nr_prev || optind != argc)) ||
        (!ca.tree && (ca.capture || ca.nr_prev))) {
        diff_usage(stderr);
        free(ca.prev);
        return 2;
    }
    /* Our own process group, so the driver stops every diff with one signal
     * (this saves it a setsid process). */
    if (getpgrp() != getpid())
        setsid();
    ca.work = work;
    if (ca.tree) {
        if (collect(cmd, &ca, &collected, &nr_collected)) {
            free(ca.prev);
            return 1;
        }
        objs = collected;
        nobj = (int)nr_collected;
        progress("%zu object(s) recompiled: %zu changed, %zu new, %zu identical",
                 nr_collected + ca.nr_new + ca.nr_same, nr_collected, ca.nr_new, ca.nr_same);
    } else {
        objs = argv + optind;
        nobj = argc - optind;
    }
    logs = path_join(work, "logs");
    pids = calloc((size_t)nobj + 1, sizeof(*pids));
    status = calloc((size_t)nobj + 1, sizeof(*status));
    if (!logs || !pids || !status || helper_remove_tree(logs) || helper_make_dirs(logs)) {
        rc = helper_fail(cmd, "cannot set up %s/logs: %s", work, strerror(errno));
        goto out;
    }
    while (next < nobj || running) {
        if (next < nobj && running < jobs) {
            const char *o = objs[next];
            progress("diffing object %d of %d: %s", next + 1, nobj, o);
            pids[next] = start_diff(cdo, work, image, o, debug, prelink);
            if (pids[next] < 0) {
                rc = helper_fail(cmd, "cannot start the diff of %s: %s", o, strerror(errno));
                break;
            }
            next++;
            running++;
            continue;
        }
        {
            int st;
            pid_t pid = wait(&st);
            if (pid < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            for (i = 0; i < next; i++)
                if (pids[i] == pid) {
                    status[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                    running--;
                }
        }
    }
    while (running > 0 && wait(NULL) > 0)
        running--;
    if (rc)
        goto out;
    if (!(all = fopen(log, "w"))) {
        rc = helper_fail(cmd, "cannot write %s: %s", log, strerror(errno));
        goto out;
    }
    for (i = 0; i < nobj; i++) {
        const char *o = objs[i];
        struct lp_error e = { 0 };
        unsigned char *buf = NULL;
        size_t len = 0;
        char *p = work_file(work, "logs", o, ".log");

        printf("%d %s\n", status[i], o);
        fprintf(all, "== %s (exit %d)\n", o, status[i]);
        if (p && !lp_read_file(p, &buf, &len, &e))
            fwrite(buf, 1, len, all);
        free(buf);
        free(p);
    }
    if (fclose(all))
        rc = helper_fail(cmd, "cannot write %s", log);
out:
    free(logs);
    free(pids);
    free(status);
    helper_free_lines(collected, nr_collected);
    free(ca.prev);
    return rc;
}
