/*
 * proc.c - every child process livepatch-build starts, and what happens on a
 * signal.  Each child (make and its compilers, patch, ld, the diff step with its
 * create-diff-object workers) runs in a process group of its own, so that one
 * signal to the group stops all of it, and a terminal's Ctrl-C reaches only us:
 * we stop the groups, wait until no process of them is left (nothing may write
 * into OUTDIR or the cache once we have exited), remove this run's temporary
 * files and the payloads it wrote, and exit 128 + the signal's number.
 *
 * In-process steps (copying and hashing trees) see the signal through
 * helper_stop_requested and fail; die() then ends the run as interrupted.
 *
 * Not for: what the children are for (build.c, diffs.c, payload.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "helper.h"

static struct strv cleanups;      /* removed at exit */
static struct strv written;       /* payloads: removed when interrupted */
static bool keep_tmp;
static pid_t groups[8];           /* running children, each its own group */
static size_t nr_groups;

/* --- clean-up ------------------------------------------------------------------------ */

void cleanup_add(const char *path)
{
    strv_push(&cleanups, path);
}

void written_add(const char *path)
{
    strv_push(&written, path);
}

void cleanup_keep(bool keep)
{
    keep_tmp = keep;
}

static void remove_path(const char *p)
{
    struct stat st;

    if (lstat(p, &st) < 0)
        return;
    if (S_ISDIR(st.st_mode))
        helper_remove_tree(p);
    else
        unlink(p);
}

void cleanup_run(void)
{
    size_t i, k;

    if (keep_tmp)
        return;
    for (i = 0; i < cleanups.n; i++) {
        const char *p = cleanups.v[i], *slash = strrchr(p, '/');
        glob_t g;

        if (!slash || !strchr(slash, '*')) {
            remove_path(p);
            continue;
        }
        /* A temporary file a killed step may have left, by pattern. */
        if (glob(p, GLOB_NOSORT, NULL, &g) == 0)
            for (k = 0; k < g.gl_pathc; k++)
                remove_path(g.gl_pathv[k]);
        globfree(&g);
    }
    strv_free(&cleanups);
}

/* --- signals -------------------------------------------------------------------------- */

static void on_signal(int sig)
{
    /* Only noted here; the waits and walks look at it. */
    helper_stop_requested = sig;
}

void proc_init(void)
{
    struct sigaction sa = { .sa_handler = on_signal };
    int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    size_t i;

    /* No SA_RESTART: a wait is interrupted, so the signal is seen at once. */
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    atexit(cleanup_run);
}

/* Some process of group pg still runs (zombies, which only wait to be reaped, do not). */
static bool group_alive(pid_t pg)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    bool alive = false;

    if (!d)
        return kill(-pg, 0) == 0;
    while (!alive && (de = readdir(d))) {
        char path[320], buf[512], *p, state;
        long ppid, pgrp;
        ssize_t n;
        int fd;

        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            continue;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        /* "PID (COMM) STATE PPID PGRP ...": COMM may hold anything, even ')'. */
        if (!(p = strrchr(buf, ')')) || sscanf(p + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3)
            continue;
        alive = pgrp == pg && state != 'Z' && state != 'X';
    }
    closedir(d);
    return alive;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Stop every running child group and wait until each is gone (SIGKILL after 2.5 s). */
static void stop_children(void)
{
    size_t i;
    int k;

    for (i = 0; i < nr_groups; i++)
        kill(-groups[i], SIGTERM);
    for (i = 0; i < nr_groups; i++) {
        while (waitpid(groups[i], NULL, 0) < 0 && errno == EINTR)
            ;
        for (k = 0; k < 100 && group_alive(groups[i]); k++) {
            if (k == 50)
                kill(-groups[i], SIGKILL);
            sleep_ms(50);
        }
    }
    nr_groups = 0;
}

void proc_check_stop(void)
{
    int sig = helper_stop_requested;
    const char *name = sig == SIGINT ? "INT" : sig == SIGHUP ? "HUP" : "TERM";
    size_t i;

    if (!sig)
        return;
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    fprintf(stderr, "%s: interrupted (%s), cleaning up\n", PROG, name);
    stop_children();
    /* An interrupted run leaves no temporary file and no payload, even with -d. */
    keep_tmp = false;
    cleanup_run();
    for (i = 0; i < written.n; i++)
        unlink(written.v[i]);
    report_dying();
    exit(sig == SIGINT ? 130 : sig == SIGHUP ? 129 : 143);
}

bool pid_alive(const char *s)
{
    char path[64];
    long pid;
    char *end;

    if (!*s)
        return false;
    pid = strtol(s, &end, 10);
    if (*end || pid <= 0)
        return false;
    snprintf(path, sizeof(path), "/proc/%ld", pid);
    return access(path, F_OK) == 0 || kill((pid_t)pid, 0) == 0;
}

/* --- running children ----------------------------------------------------------------- */

static void group_add(pid_t pid)
{
    if (nr_groups < sizeof(groups) / sizeof(groups[0]))
        groups[nr_groups++] = pid;
}

static void group_remove(pid_t pid)
{
    size_t i;

    for (i = 0; i < nr_groups; i++)
        if (groups[i] == pid)
            groups[i] = groups[--nr_groups];
}

/* In the child, before exec: its own group, default signals, stdin closed. */
static void child_setup(const struct run_opts *o)
{
    int fd;
    size_t i;

    setpgid(0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if ((fd = open(o && o->in ? o->in : "/dev/null", O_RDONLY | O_CLOEXEC)) >= 0) {
        dup2(fd, 0);
        close(fd);
    } else if (o && o->in) {
        fprintf(stderr, "%s: cannot read %s: %s\n", PROG, o->in, strerror(errno));
        _exit(126);
    }
    if (!o)
        return;
    if (o->quiet && (fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
        dup2(fd, 2);
        close(fd);
    }
    if (o->log) {
        fd = open(o->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(stderr, "%s: cannot write %s: %s\n", PROG, o->log, strerror(errno));
            _exit(126);
        }
        dup2(fd, 1);
        dup2(fd, 2);
    }
    for (i = 0; o->env && o->env[i]; i++)
        putenv(o->env[i]);
    if (o->dir && chdir(o->dir) < 0) {
        fprintf(stderr, "%s: cannot enter %s: %s\n", PROG, o->dir, strerror(errno));
        _exit(126);
    }
}

static size_t count_lines(const char *path)
{
    char buf[8192];
    size_t n = 0;
    ssize_t r, i;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        for (i = 0; i < r; i++)
            n += buf[i] == '\n';
    close(fd);
    return n;
}

/*
 * Wait for pid.  With a progress file: how many objects the wrapper has recorded in
 * it, and for how long; on a terminal one line redrawn every second, otherwise (a CI
 * log) a line every 30 seconds, so a long build shows it is alive.
 */
static int wait_child(pid_t pid, const struct run_opts *o)
{
    bool tty = isatty(2), shown = false;
    long long t0 = now_us(), last = 0;
    int every = tty ? 1 : 30, st;
    /* Woken by the child's end (a pidfd), not only by the second's tick. */
    int pfd = o && o->progress_file ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;

    for (;;) {
        pid_t r = waitpid(pid, &st, o && o->progress_file ? WNOHANG : 0);

        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            if (pfd >= 0)
                close(pfd);
            group_remove(pid);
            return -1;
        }
        proc_check_stop();
        if (r == 0) {
            struct pollfd pf = { .fd = pfd, .events = POLLIN };
            long long secs;
            char of[32] = "";

            if (pfd >= 0)
                poll(&pf, 1, 1000);
            else
                poll(NULL, 0, 50);
            secs = (now_us() - t0) / 1000000;
            if (!secs || secs == last || secs % every)
                continue;
            last = secs;
            if (o->progress_total)
                snprintf(of, sizeof(of), " of %zu", o->progress_total);
            if (tty) {
                fprintf(stderr, "\r\033[K%s:   %s: %zu object(s)%s compiled, %llds", PROG,
                        o->progress_what, count_lines(o->progress_file), of, secs);
                shown = true;
            } else {
                msg("%s: %zu object(s)%s compiled so far", o->progress_what,
                    count_lines(o->progress_file), of);
            }
        }
    }
    if (pfd >= 0)
        close(pfd);
    group_remove(pid);
    if (shown)
        fputs("\r\033[K", stderr);
    proc_check_stop();
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * Fork a child in a group of its own that runs argv (found on PATH) or, without argv,
 * fn(arg, out), out being the pipe out_fd; its stdout (and stderr, with both) goes to
 * out_fd when there is one.
 */
static pid_t start(char *const *argv, int (*fn)(void *arg, FILE *out), void *arg,
                   const struct run_opts *o, int out_fd, bool both)
{
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        child_setup(o);
        if (!argv) {
            FILE *out = fdopen(out_fd, "w");
            int rc = out ? fn(arg, out) : 1;

            if (out && fclose(out) && !rc)
                rc = 1;
            fflush(stderr);
            /* (not exit: this run's clean-up belongs to the parent) */
            _exit(rc);
        }
        if (out_fd >= 0) {
            dup2(out_fd, 1);
            if (both)
                dup2(out_fd, 2);
            close(out_fd);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "%s: cannot run %s: %s\n", PROG, argv[0], strerror(errno));
        _exit(127);
    }
    /* (also here: a signal to the group must not miss a child that has not run yet) */
    setpgid(pid, pid);
    group_add(pid);
    return pid;
}

int run_cmd(char *const *argv, const struct run_opts *o)
{
    pid_t pid = start(argv, NULL, NULL, o, -1, false);

    return pid < 0 ? -1 : wait_child(pid, o);
}

/* Read fd to its end into *text (NUL-terminated); a signal meanwhile ends the run. */
static int read_all(int fd, char **text)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap), *p;

    if (!buf)
        return -1;
    for (;;) {
        ssize_t n;

        if (len + 1 >= cap) {
            if (!(p = realloc(buf, cap *= 2))) {
                free(buf);
                return -1;
            }
            buf = p;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR) {
            proc_check_stop();
            continue;
        }
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *text = buf;
    return 0;
}

/* Start a child writing into a pipe, read all it writes into *text, wait for it. */
static int capture(char *const *argv, int (*fn)(void *arg, FILE *out), void *arg, bool both,
                   const struct run_opts *o, char **text)
{
    int fds[2], rc;
    pid_t pid;

    *text = NULL;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    pid = start(argv, fn, arg, o, fds[1], both);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    rc = read_all(fds[0], text);
    close(fds[0]);
    if (rc < 0) {
        kill(-pid, SIGTERM);
        wait_child(pid, NULL);
        return -1;
    }
    return wait_child(pid, NULL);
}

int run_capture(char *const *argv, bool both, const struct run_opts *o, char **text)
{
    return capture(argv, NULL, NULL, both, o, text);
}

int run_fn(int (*fn)(void *arg, FILE *out), void *arg, char **text)
{
    return capture(NULL, fn, arg, false, NULL, text);
}
