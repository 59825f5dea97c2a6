/*
 * objects.c - what happens to the objects a patched build recompiled: sort them
 * into identical, changed and new (`collect`), then diff every changed pair with
 * create-diff-object, -j at a time (`diff`).
 *
 * The diffs run in N create-diff-object --pairs workers, each reading the image once
 * and then taking one pair at a time, so a build with hundreds of changed objects
 * reads the image N times instead of hundreds.  Every pair's status, log and output
 * are what a process of its own would give (a crash costs the pair in flight, and the
 * next pair gets a new worker).  A --cdo that does not speak --pairs (an upstream
 * create-diff-object, a test's stand-in) gets one process per pair, as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
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
#include "objects.h"
#include "twins.h"
#include "livepatch/util.h"

long long helper_start_us;

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
    const char **from;        /* out: the --prev tree each changed object's original is in */
};

/*
 * Sort the objects of a->capture (see collect_usage); *changed gets the changed
 * ones (malloc'd strings), the pairs create-diff-object must see.
 */
static int collect(const char *cmd, struct collect_args *a, char ***changed,
                   size_t *nr_changed, FILE *out)
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
    if (!(*changed = calloc(nobjs + 1, sizeof(**changed))) ||
        !(a->from = calloc(nobjs + 1, sizeof(*a->from)))) {
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
        const char *from = NULL;
        for (k = 0; !bad && k < a->nr_prev; k++) {
            char *cand = path_join(a->prev[k], o);
            if (!cand)
                bad = 1;
            else if (helper_is_file(cand)) {
                old = cand;
                from = a->prev[k];
                break;
            } else
                free(cand);
        }
        if (bad) {
            helper_fail(cmd, "out of memory");
        } else if (!old) {
            fprintf(out, "new %s\n", o);
            a->nr_new++;
            fprintf(lists[1], "%s\n", o);
            /* Carried whole: the payload links it as it is. */
            bad = !(dst = path_join(dirs[1], o)) || helper_copy_file(cmd, patched, dst);
            free(dst);
            bad = bad || !(dst = path_join(dirs[2], o)) || helper_copy_file(cmd, patched, dst);
        } else if (same_bytes(old, patched)) {
            fprintf(out, "same %s\n", o);
            a->nr_same++;
        } else {
            fprintf(out, "changed %s\n", o);
            fprintf(lists[0], "%s\n", o);
            bad = !(dst = path_join(dirs[0], o)) || helper_copy_file(cmd, old, dst);
            free(dst);
            a->from[*nr_changed] = from;
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
    fflush(out);
    return rc;
}

int helper_collect(const struct diff_opts *opt, FILE *out)
{
    struct collect_args a = { .tree = opt->tree, .capture = opt->capture, .work = opt->work,
                              .prev = opt->prev, .nr_prev = opt->nr_prev };
    char **changed;
    size_t nr_changed;
    int rc = collect("collect", &a, &changed, &nr_changed, out);

    helper_free_lines(changed, nr_changed);
    free(a.from);
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
    rc = collect("collect", &a, &changed, &nr_changed, stdout);
    helper_free_lines(changed, nr_changed);
    free(a.prev);
    free(a.from);
    return rc;
}

/* --- diff ------------------------------------------------------------------------------ */

static void diff_usage(FILE *f)
{
    fprintf(f, "usage: lp-build-helper diff --work WORK --image IMAGE --cdo PROGRAM "
               "--log FILE [-j N] [--debug] [--prelink] [--cdo-arg ARG]... [--dwarf-twins]\n"
               "         (OBJ... | --tree TREE --capture FILE --prev TREE...)\n"
               "Runs PROGRAM WORK/original/OBJ WORK/patched/OBJ IMAGE WORK/output/OBJ for\n"
               "every OBJ, N at a time, each one's output in WORK/logs/OBJ.log; FILE gets\n"
               "all logs in order.  Prints \"STATUS OBJ\" per object (128+N: killed by\n"
               "signal N).  Runs in a new session (process group) of its own.\n"
               "When PROGRAM answers --pairs (create-diff-object does), N processes each\n"
               "read IMAGE once and take the pairs one at a time; --one-per-pair starts a\n"
               "process for every pair instead.\n"
               "Progress goes to stderr in livepatch-build's format, timed\n"
               "from $LIVEPATCH_BUILD_START (microseconds since the epoch).\n"
               "With --tree, the objects are those `collect` finds changed (its lines are\n"
               "printed first).  --dwarf-twins (with --tree): a changed object without\n"
               "DWARF is compiled again with -g from the command livepatch-gcc kept\n"
               "(WORK/original/OBJ.dwarf, WORK/patched/OBJ.dwarf) and PROGRAM gets\n"
               "--dwarf-from .dwarf, so the data layouts are checked all the same.\n");
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
    const char *start = getenv("LIVEPATCH_BUILD_START");
    long long t0 = helper_start_us ? helper_start_us : start ? atoll(start) : 0, us;
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

/* The four files of one pair's diff, their folders made. */
struct pair_files {
    char *orig, *patched, *out, *log;
};

static void free_pair_files(struct pair_files *f)
{
    free(f->orig);
    free(f->patched);
    free(f->out);
    free(f->log);
}

static int pair_files(const char *work, const char *o, struct pair_files *f)
{
    f->orig = work_file(work, "original", o, "");
    f->patched = work_file(work, "patched", o, "");
    f->out = work_file(work, "output", o, "");
    f->log = work_file(work, "logs", o, ".log");
    if (!f->orig || !f->patched || !f->out || !f->log || helper_make_parent(f->out) ||
        helper_make_parent(f->log)) {
        free_pair_files(f);
        return -1;
    }
    return 0;
}

/* argv for create-diff-object: the n fixed words, then the extra options, NULL-ended
 * (malloc'd: the array only, the words are the callers'). */
static const char **with_extra(const char *const *fixed, size_t n, const char *const *extra)
{
    size_t k = 0, i;
    const char **v;

    while (extra[k])
        k++;
    if (!(v = calloc(n + k + 1, sizeof(*v))))
        return NULL;
    for (i = 0; i < n; i++)
        v[i] = fixed[i];
    for (i = 0; i < k; i++)
        v[n + i] = extra[i];
    return v;
}

static pid_t start_diff(const char *cdo, const char *work, const char *image, const char *o,
                        const char *const *extra)
{
    struct pair_files f;
    const char *fixed[5];
    const char **args;
    pid_t pid = -1;

    if (pair_files(work, o, &f))
        return -1;
    fixed[0] = cdo, fixed[1] = f.orig, fixed[2] = f.patched, fixed[3] = image, fixed[4] = f.out;
    if ((args = with_extra(fixed, 5, extra))) {
        struct helper_child c = { .argv = args, .in = -1, .out = -1, .log = f.log };

        pid = helper_spawn(&c);
        free(args);
    }
    free_pair_files(&f);
    return pid;
}

/* --- diff: --pairs workers ------------------------------------------------------------- */

#define PAIRS_HELLO "create-diff-object pairs 1"
#define HELLO_TIMEOUT_MS 30000

struct worker {
    pid_t pid;              /* 0: none (not started, or gone) */
    int to, from;           /* its standard input and output */
    char line[8192];        /* what it wrote since the last full line */
    size_t len, used;       /* bytes in line; of them, the line worker_line returned */
    int cur;                /* the object in flight, -1 when idle */
};

/*
 * A worker: PROGRAM [-d] [-r] --pairs - IMAGE, its own messages (none about any pair)
 * appended to WORK/logs/.create-diff-object.log.
 */
static int start_worker(struct worker *w, const char *cdo, const char *work, const char *image,
                        const char *const *extra)
{
    int in[2], out[2];
    char *log = work_file(work, "logs", ".create-diff-object", ".log");

    if (!log)
        return -1;
    if (pipe2(in, O_CLOEXEC)) {
        free(log);
        return -1;
    }
    if (pipe2(out, O_CLOEXEC)) {
        close(in[0]);
        close(in[1]);
        free(log);
        return -1;
    }
    {
        const char *fixed[] = { cdo, "--pairs", "-", image };
        const char **args = with_extra(fixed, 4, extra);
        struct helper_child c = { .argv = args, .in = in[0], .out = out[1], .log = log,
                                  .append = true };

        w->pid = args ? helper_spawn(&c) : -1;
        free(args);
    }
    free(log);
    close(in[0]);
    close(out[1]);
    if (w->pid < 0) {
        w->pid = 0;
        close(in[1]);
        close(out[0]);
        return -1;
    }
    w->to = in[1];
    w->from = out[0];
    w->len = w->used = 0;
    w->cur = -1;
    return 0;
}

/* Stop a worker: end its input, reap it; *st gets its wait status (0 if none). */
static void end_worker(struct worker *w, bool kill_it, int *st)
{
    int s = 0;

    if (!w->pid)
        return;
    close(w->to);
    close(w->from);
    if (kill_it)
        kill(w->pid, SIGKILL);
    while (waitpid(w->pid, &s, 0) < 0 && errno == EINTR)
        ;
    if (st)
        *st = s;
    w->pid = 0;
}

/*
 * The next full line the worker wrote (without its newline): 1, or 0 at end of file,
 * -1 on a timeout (timeout_ms < 0: none) or a read error.
 */
static int worker_line(struct worker *w, int timeout_ms, char **line)
{
    for (;;) {
        char *nl = memchr(w->line, '\n', w->len);
        struct pollfd p = { .fd = w->from, .events = POLLIN };
        ssize_t n;
        int r;

        if (nl) {
            *nl = '\0';
            *line = w->line;
            w->used = (size_t)(nl - w->line) + 1;
            return 1;
        }
        if (w->len == sizeof(w->line) - 1)
            return -1;
        r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        n = read(w->from, w->line + w->len, sizeof(w->line) - 1 - w->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        w->len += (size_t)n;
    }
}

/* Drop the line worker_line returned. */
static void worker_consume(struct worker *w)
{
    memmove(w->line, w->line + w->used, w->len - w->used);
    w->len -= w->used;
    w->used = 0;
}

/* Start a worker and check it speaks --pairs; -1 (nothing left running) when not. */
static int hello_worker(struct worker *w, const char *cdo, const char *work, const char *image,
                        const char *const *extra)
{
    char *line;
    int r;

    if (start_worker(w, cdo, work, image, extra))
        return -1;
    r = worker_line(w, HELLO_TIMEOUT_MS, &line);
    if (r == 1 && strcmp(line, PAIRS_HELLO) == 0) {
        worker_consume(w);
        return 0;
    }
    end_worker(w, r < 0, NULL);
    return -1;
}

/* Can every pair be written as one --pairs line (no tab or newline in a path)? */
static bool pairs_safe(const char *work, char *const *objs, int nobj)
{
    int i;

    if (strpbrk(work, "\t\n"))
        return false;
    for (i = 0; i < nobj; i++)
        if (strpbrk(objs[i], "\t\n"))
            return false;
    return true;
}

/*
 * Diff objs[] through --pairs workers, at most `jobs` at a time, into status[].  Returns
 * 0 when done, 1 after a message (a diff could not be started), or -1 when PROGRAM
 * does not speak --pairs (nothing was diffed: run one process per pair).
 */
static int diff_in_workers(const char *cmd, const char *cdo, const char *work,
                           const char *image, char *const *objs, int nobj, long jobs,
                           const char *const *extra, int *status)
{
    long nw = jobs < nobj ? jobs : nobj, i;
    struct worker *w = calloc((size_t)nw, sizeof(*w));
    struct pollfd *fds = calloc((size_t)nw, sizeof(*fds));
    int next = 0, busy = 0, rc = 0, failures = 0;

    if (!w || !fds) {
        free(w);
        free(fds);
        return helper_fail(cmd, "out of memory");
    }
    if (hello_worker(&w[0], cdo, work, image, extra)) {
        free(w);
        free(fds);
        return -1;
    }
    while (next < nobj || busy) {
        long idle = -1, nfds = 0;

        for (i = 0; next < nobj && i < nw && idle < 0; i++)
            if (w[i].pid && w[i].cur < 0)
                idle = i;
        for (i = 0; next < nobj && i < nw && idle < 0; i++)
            if (!w[i].pid) {
                if (hello_worker(&w[i], cdo, work, image, extra)) {
                    rc = helper_fail(cmd, "cannot start the diff of %s: %s does not answer "
                                     "--pairs", objs[next], cdo);
                    goto out;
                }
                idle = i;
            }
        if (idle >= 0) {
            struct pair_files f;
            char *line = NULL;
            int len;

            if (pair_files(work, objs[next], &f)) {
                rc = helper_fail(cmd, "cannot start the diff of %s: %s", objs[next],
                                 strerror(errno));
                goto out;
            }
            len = asprintf(&line, "%s\t%s\t%s\t%s\n", f.orig, f.patched, f.out, f.log);
            free_pair_files(&f);
            if (len < 0) {
                rc = helper_fail(cmd, "out of memory");
                goto out;
            }
            if (write(w[idle].to, line, (size_t)len) != len) {
                /* It ended between two pairs: a new one takes this pair. */
                free(line);
                end_worker(&w[idle], true, NULL);
                if (++failures > 3) {
                    rc = helper_fail(cmd, "cannot start the diff of %s: %s", objs[next],
                                     strerror(errno));
                    goto out;
                }
                continue;
            }
            free(line);
            progress("diffing object %d of %d: %s", next + 1, nobj, objs[next]);
            w[idle].cur = next++;
            busy++;
            continue;
        }
        for (i = 0; i < nw; i++)
            if (w[i].pid && w[i].cur >= 0)
                fds[nfds++] = (struct pollfd){ .fd = w[i].from, .events = POLLIN };
        if (poll(fds, (nfds_t)nfds, -1) < 0 && errno != EINTR) {
            rc = helper_fail(cmd, "waiting for the diffs: %s", strerror(errno));
            goto out;
        }
        for (i = 0; i < nw; i++) {
            long k;
            char *line;
            int r, st;

            if (!w[i].pid || w[i].cur < 0)
                continue;
            for (k = 0; k < nfds && fds[k].fd != w[i].from; k++)
                ;
            if (k == nfds || !fds[k].revents)
                continue;
            r = worker_line(&w[i], 0, &line);
            if (r < 0 && w[i].len < sizeof(w[i].line) - 1)
                continue;   /* no full line yet */
            if (r == 1) {
                char *end;
                long v = strtol(line, &end, 10);
                status[w[i].cur] = end != line && *end == '\t' ? (int)v : 1;
                worker_consume(&w[i]);
            } else {
                /* It died with this pair: the status its own process would have had. */
                end_worker(&w[i], r < 0, &st);
                status[w[i].cur] = WIFSIGNALED(st) ? 128 + WTERMSIG(st)
                                   : WEXITSTATUS(st) ? WEXITSTATUS(st) : 1;
            }
            w[i].cur = -1;
            busy--;
        }
    }
out:
    for (i = 0; i < nw; i++)
        end_worker(&w[i], rc != 0, NULL);
    free(w);
    free(fds);
    return rc;
}

int cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {
        { "work", required_argument, NULL, 'w' },  { "image", required_argument, NULL, 'i' },
        { "cdo", required_argument, NULL, 'c' },   { "log", required_argument, NULL, 'l' },
        { "jobs", required_argument, NULL, 'j' },  { "debug", no_argument, NULL, 'd' },
        { "prelink", no_argument, NULL, 'r' },     { "help", no_argument, NULL, 'h' },
        { "tree", required_argument, NULL, 't' },  { "capture", required_argument, NULL, 'C' },
        { "prev", required_argument, NULL, 'p' },
        { "one-per-pair", no_argument, NULL, '1' },
        { "cdo-arg", required_argument, NULL, 'A' },
        { "dwarf-twins", no_argument, NULL, 'D' }, { NULL, 0, NULL, 0 },
    };
    struct diff_opts o = { .jobs = 1 };
    int c, rc;

    o.prev = calloc((size_t)argc + 1, sizeof(*o.prev));
    /* Options every create-diff-object gets: -d, -r and each --cdo-arg, in order. */
    o.extra = calloc((size_t)argc + 1, sizeof(*o.extra));
    if (!o.prev || !o.extra) {
        free(o.prev);
        free(o.extra);
        return helper_fail("diff", "out of memory");
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "hj:", opts, NULL)) != -1) {
        switch (c) {
        case 'w': o.work = optarg; break;
        case 'i': o.image = optarg; break;
        case 'c': o.cdo = optarg; break;
        case 'l': o.log = optarg; break;
        case 'j': o.jobs = strtol(optarg, NULL, 10); break;
        case 'd': o.extra[o.nr_extra++] = "-d"; break;
        case 'r': o.extra[o.nr_extra++] = "-r"; break;
        case 'A': o.extra[o.nr_extra++] = optarg; break;
        case '1': o.one_per_pair = true; break;
        case 'D': o.twins = true; break;
        case 't': o.tree = optarg; break;
        case 'C': o.capture = optarg; break;
        case 'p': o.prev[o.nr_prev++] = optarg; break;
        case 'h': diff_usage(stdout); free(o.prev); free(o.extra); return 0;
        default: diff_usage(stderr); free(o.prev); free(o.extra); return 2;
        }
    }
    if (!o.work || !o.image || !o.cdo || !o.log || o.jobs < 1 ||
        (o.tree && (!o.capture || !o.nr_prev || optind != argc)) ||
        (!o.tree && (o.capture || o.nr_prev))) {
        diff_usage(stderr);
        free(o.prev);
        free(o.extra);
        return 2;
    }
    /* Our own process group, so the driver stops every diff with one signal
     * (this saves it a setsid process). */
    if (getpgrp() != getpid())
        setsid();
    o.objs = argv + optind;
    o.nobj = argc - optind;
    rc = helper_diff(&o, stdout);
    free(o.prev);
    free(o.extra);
    return rc;
}

int helper_diff(const struct diff_opts *opt, FILE *out)
{
    struct collect_args ca = { .tree = opt->tree, .capture = opt->capture, .work = opt->work,
                               .prev = opt->prev, .nr_prev = opt->nr_prev };
    char **objs = NULL, **collected = NULL;
    size_t nr_collected = 0;
    const char *work = opt->work, *image = opt->image, *cdo = opt->cdo, *log = opt->log, *cmd = "diff";
    /* create-diff-object's options, with room for --dwarf-from .dwarf */
    const char **extra = calloc(opt->nr_extra + 3, sizeof(*extra));
    size_t nextra = opt->nr_extra;
    long jobs = opt->jobs;
    int rc = 0, nobj = 0, running = 0, next = 0, i;
    pid_t *pids = NULL;
    int *status = NULL;
    char *logs = NULL;
    FILE *all;

    if (!extra)
        return helper_fail(cmd, "out of memory");
    if (nextra)
        memcpy(extra, opt->extra, nextra * sizeof(*extra));
    if (ca.tree) {
        if (collect(cmd, &ca, &collected, &nr_collected, out)) {
            free(extra);
            return 1;
        }
        objs = collected;
        nobj = (int)nr_collected;
        progress("%zu object(s) recompiled: %zu changed, %zu new, %zu identical",
                 nr_collected + ca.nr_new + ca.nr_same, nr_collected, ca.nr_new, ca.nr_same);
    } else {
        objs = opt->objs;
        nobj = opt->nobj;
    }
    logs = path_join(work, "logs");
    pids = calloc((size_t)nobj + 1, sizeof(*pids));
    status = calloc((size_t)nobj + 1, sizeof(*status));
    if (!logs || !pids || !status || helper_remove_tree(logs) || helper_make_dirs(logs)) {
        rc = helper_fail(cmd, "cannot set up %s/logs: %s", work, strerror(errno));
        goto out;
    }
    /* A tree built without -g: the changed units again with -g, for the layout check
     * (only pairs collected here: their trees are known). */
    if (opt->twins && ca.tree && nobj) {
        int made = helper_layout_twins(cmd, work, objs, nobj, ca.from, ca.tree, jobs);
        if (made < 0) {
            rc = 1;
            goto out;
        }
        if (made) {
            extra[nextra++] = "--dwarf-from";
            extra[nextra++] = ".dwarf";
        }
    }
    if (nobj && !opt->one_per_pair && pairs_safe(work, objs, nobj)) {
        /* A worker whose input is gone must not take the helper down with it. */
        signal(SIGPIPE, SIG_IGN);
        rc = diff_in_workers(cmd, cdo, work, image, objs, nobj, jobs, extra, status);
        if (rc >= 0) {
            if (rc)
                goto out;
            next = nobj;
        } else {
            rc = 0;
        }
    }
    while (next < nobj || running) {
        if (next < nobj && running < jobs) {
            const char *o = objs[next];
            progress("diffing object %d of %d: %s", next + 1, nobj, o);
            pids[next] = start_diff(cdo, work, image, o, extra);
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

        fprintf(out, "%d %s\n", status[i], o);
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
    free(ca.from);
    free(extra);
    if (fflush(out) && !rc)
        rc = helper_fail(cmd, "cannot write the statuses: %s", strerror(errno));
    return rc;
}
