/*
 * spawn.c - the children a step starts inside the run's own process (the diff
 * workers and the layout twins' compiles, objects.c and twins.c): one fork and exec
 * with its standard streams set up.  They stay in the caller's process group, which
 * livepatch-build (proc.c) made for the step and signals and waits for as a whole;
 * under lp-build-helper they are that program's children like any other.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

/* In the child: why it cannot run argv[0], then exit 126. */
static void fail(const struct helper_child *c, const char *what, const char *path)
    __attribute__((noreturn));
static void fail(const struct helper_child *c, const char *what, const char *path)
{
    int err = errno;

    fprintf(stderr, "cannot run %s: %s%s%s: %s\n", c->argv[0], what, path ? " " : "",
            path ? path : "", strerror(err));
    _exit(126);
}

pid_t helper_spawn(const struct helper_child *c)
{
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid != 0)
        return pid;
    signal(SIGPIPE, SIG_DFL);
    /* (each failure said on the stderr it happens with: ours before the log, the log after) */
    if (c->log) {
        int fd = open(c->log, O_WRONLY | O_CREAT | O_CLOEXEC | (c->append ? O_APPEND : O_TRUNC),
                      0644);

        if (fd < 0 || dup2(fd, 2) < 0 || (c->out < 0 && dup2(fd, 1) < 0))
            fail(c, "cannot write its log", c->log);
    }
    if ((c->in >= 0 && dup2(c->in, 0) < 0) || (c->out >= 0 && dup2(c->out, 1) < 0))
        fail(c, "cannot set up its input and output", NULL);
    if (c->dir && chdir(c->dir) < 0)
        fail(c, "cannot enter", c->dir);
    execvp(c->argv[0], (char *const *)c->argv);
    fprintf(stderr, "cannot run %s: %s\n", c->argv[0], strerror(errno));
    _exit(127);
}
