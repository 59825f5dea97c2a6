/*
 * build.c - make, the way every payload object is built: the compiler wrapper
 * (livepatch-gcc) as CC, found through PATH so that the command lines Xen records
 * in its .cmd files do not depend on where the tools are installed; the unpatched
 * build of a copy of SRCDIR; and the patched build of one payload, targeted when
 * the dependency records say which objects to remake, whole otherwise.  Also how
 * a failed step is told: the compiler's first error, or a full disk.
 *
 * Not for: which objects a targeted build makes (tree.h), or what is done with
 * them (diffs.c).
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "driver.h"
#include "helper.h"
#include "livepatch/util.h"
#include "tree.h"

static int make_tree(const struct lpb *b, const char *tree, const char *capture, const char *log,
              const char *what, const struct strv *targets)
{
    struct strv argv = { 0 }, env = { 0 };
    struct run_opts o = { .log = log, .progress_file = capture, .progress_what = what };
    const char *path = getenv("PATH");
    char *rules = NULL, *wdir = strdup(b->wrapper);
    size_t i;
    int rc;

    if (!wdir)
        die("out of memory");
    *strrchr(wdir, '/') = '\0';
    o.progress_total = targets ? targets->n : 0;
    if (targets && targets->n) {
        struct lp_error e = { 0 };

        if (tree_make_rules(tree, (const char *const *)targets->v, targets->n, &rules, &e))
            die("%s", e.msg);
    }
    /* A make that runs us must not reach into this build (its -s, -j or jobserver). */
    strv_push(&env, "MAKEFLAGS=");
    strv_push(&env, "MFLAGS=");
    strv_push(&env, "MAKELEVEL=");
    strv_pushf(&env, "PATH=%s:%s", wdir, path ? path : "");
    strv_pushf(&env, "LIVEPATCH_REAL_CC=%s", b->real_cc);
    strv_pushf(&env, "LIVEPATCH_TREE=%s", tree);
    strv_pushf(&env, "LIVEPATCH_CAPTURE=%s", capture);
    strv_push(&env, "LIVEPATCH_CFLAGS=-ffunction-sections -fdata-sections");
    o.env = strv_argv(&env);

    strv_push(&argv, "make");
    strv_push(&argv, "-C");
    strv_pushf(&argv, "%s/xen", tree);
    strv_pushf(&argv, "-j%ld", b->cpus);
    strv_pushf(&argv, "CC=%s", strrchr(b->wrapper, '/') + 1);
    strv_pushf(&argv, "XEN_BUILD_DATE=%s", b->build_date);
    strv_pushf(&argv, "XEN_BUILD_TIME=%s", b->build_time);
    if (b->make_debug)
        strv_push(&argv, b->make_debug);
    if (rules)
        strv_push(&argv, rules);
    for (i = 0; targets && i < targets->n; i++)
        strv_push(&argv, targets->v[i]);
    rc = run_cmd(strv_argv(&argv), &o);
    strv_free(&argv);
    strv_free(&env);
    free(rules);
    free(wdir);
    return rc;
}

static char *grep_first(const char *log, const char *re_text);
static char *first_error(const char *log);
static char *no_space_line(const char *log);

/* The build `name` failed (while `what`): for want of space (write_failed), or with
 * the compiler's first error. */
static void build_failed(const struct lpb *b, const char *name, const char *what,
                         const char *log, const char *const *dirs, size_t n)
{
    char *err = no_space_line(log);

    write_failed(b, what, err ? err : "", dirs, n);
    die("%s failed, see %s: %s", name, log, first_error(log));
}

static char *log_path(const struct lpb *b, const char *name)
{
    char *p;

    if (asprintf(&p, "%s/%s", b->output, name) < 0)
        die("out of memory");
    return p;
}

static char *empty_capture(const struct lpb *b, const char *name)
{
    struct lp_error e = { 0 };
    char *p;

    if (asprintf(&p, "%s/%s", b->tmp, name) < 0)
        die("out of memory");
    if (lp_write_file(p, "", 0, 0644, &e)) {
        const char *dirs[] = { b->output };

        write_failed(b, "creating the work folder", e.msg, dirs, 1);
        die("%s", e.msg);
    }
    return p;
}

void build_base_tree(struct lpb *b, const char *t, const char *where)
{
    const char *dirs[] = { where, b->output };
    const char *prune[2];
    struct lp_error e = { 0 };
    unsigned char *cfg = NULL;
    size_t np = 0, len;
    char *dst, *log, *capture, *what;

    if (b->out_in_src)
        prune[np++] = b->out_in_src;
    if (b->cache_in_src)
        prune[np++] = b->cache_in_src;
    if (tree_copy_sources(b->srcdir, t, prune, np, &e)) {
        fprintf(stderr, "%s: %s\n", PROG, e.msg);
        if (asprintf(&what, "copying %s", b->srcdir) < 0)
            die("out of memory");
        write_failed(b, what, e.msg, dirs, 1);
        die("cannot copy %s", b->srcdir);
    }
    if (asprintf(&dst, "%s/xen/.config", t) < 0)
        die("out of memory");
    if (lp_read_file(b->config, &cfg, &len, &e) || lp_write_file(dst, cfg, len, 0644, &e)) {
        if (asprintf(&what, "copying %s", b->config) < 0)
            die("out of memory");
        write_failed(b, what, e.msg, dirs, 1);
        die("cannot copy %s into the build tree: %s", b->config, e.msg);
    }
    free(cfg);
    free(dst);
    log = log_path(b, "build_original.log");
    capture = empty_capture(b, "capture-base");
    if (make_tree(b, t, capture, log, "unpatched build", NULL))
        build_failed(b, "unpatched build", "building the unpatched tree", log, dirs, 2);
    free(log);
    free(capture);
}

/* The work tree of step s (tree_prepare): targeted unless full; its make targets in
 * s->targets (none: a full copy, to be built whole). */
static void prepare_patched(struct lpb *b, struct step *s, const struct strv *touched, bool full)
{
    const char *dirs[] = { b->output };
    const char *env_full = getenv("LIVEPATCH_BUILD_FULL");
    struct tree_prepare p = {
        .base = b->base, .prev = b->prev_trees.v[0], .tree = s->tree, .src = b->src,
        .touched = (const char *const *)touched->v, .nr_touched = touched->n,
        .config = b->config, .fix_lines = b->fix_lines,
        .full = full || (env_full && !strcmp(env_full, "1")),
        /* (-d keeps the work trees for the user to look into: copies, then) */
        .share_sources = !b->debug,
    };
    struct lp_error e = { 0 };
    char **targets = NULL;
    size_t n = 0, i;

    if (tree_prepare(&p, &targets, &n, &e)) {
        fprintf(stderr, "%s: %s\n", PROG, e.msg);
        write_failed(b, "copying the unpatched build and the patched sources", e.msg, dirs, 1);
        die("cannot prepare the patched tree in %s", s->tree);
    }
    strv_free(&s->targets);
    for (i = 0; i < n; i++) {
        strv_push(&s->targets, targets[i]);
        free(targets[i]);
    }
    free(targets);
}

void build_patched(struct lpb *b, struct step *s, const struct strv *touched)
{
    const char *dirs[] = { b->output };
    char *name, *log, *err;
    int rc;

    /* When the tree's dependency records say which objects depend on what the patches
     * touched, only those are made, in a copy without the build's objects and images;
     * otherwise the whole tree is built in a full copy. */
    prepare_patched(b, s, touched, false);
    msg(s->targets.n ? "copied the sources of the unpatched build" : "copied the unpatched build");
    stage_end();

    stage_start("build_patched:%s", s->name);
    msg("building the patched tree with %ld CPU(s)", b->cpus);
    if (asprintf(&name, "capture-%zu", s->index) < 0 ||
        asprintf(&log, "%s/build_patched-%s.log", b->output, s->name) < 0)
        die("out of memory");
    s->capture = empty_capture(b, name);
    free(name);
    if (s->targets.n) {
        rc = make_tree(b, s->tree, s->capture, log, "patched build", &s->targets);
        if (!rc) {
            msg("made only the %zu object(s) that depend on the patched files", s->targets.n);
            free(log);
            stage_end();
            return;
        }
        /* The patched code itself does not compile: a whole-tree build would only fail
         * the same way, minutes later. */
        if ((err = grep_first(log, ": (fatal )?error: ")))
            die("patched build failed, see %s: %s", log, first_error(log));
        /* (nor would a full disk let it through) */
        err = no_space_line(log);
        write_failed(b, "building the patched tree", err ? err : "", dirs, 1);
        free(err);
        /* (the failed attempt's log is kept: why it failed is worth a bug report) */
        {
            char *single;

            if (asprintf(&single, "%s/build_patched-%s.single.log", b->output, s->name) < 0)
                die("out of memory");
            if (!rename(log, single))
                msg("making single objects failed (see %s): building the whole tree", single);
            free(single);
        }
        free(s->capture);
        if (asprintf(&name, "capture-%zu", s->index) < 0)
            die("out of memory");
        s->capture = empty_capture(b, name);
        free(name);
        /* The whole tree is built in a full copy of the previous build, as when no
         * targets are known: its objects are reused, and no build ever runs over a
         * tree whose sources are links to the cache. */
        if (helper_remove_tree(s->tree))
            die("cannot remove %s to build the whole tree", s->tree);
        prepare_patched(b, s, touched, true);
    }
    if (make_tree(b, s->tree, s->capture, log, "patched build", NULL))
        build_failed(b, "patched build", "building the patched tree", log, dirs, 1);
    free(log);
    stage_end();
}

/* --- telling what went wrong ------------------------------------------------------------- */

/* The first line of log matching the extended regex re (malloc'd), or NULL. */
static char *grep_first(const char *log, const char *re_text)
{
    struct lp_error e = { 0 };
    unsigned char *buf = NULL;
    size_t len = 0;
    char *text, *line, *save = NULL, *hit = NULL;
    regex_t re;

    if (lp_read_file(log, &buf, &len, &e) || !(text = realloc(buf, len + 1))) {
        free(buf);
        return NULL;
    }
    text[len] = '\0';
    if (regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB)) {
        free(text);
        return NULL;
    }
    for (line = strtok_r(text, "\n", &save); line && !hit; line = strtok_r(NULL, "\n", &save))
        if (!regexec(&re, line, 0, NULL, 0))
            hit = strdup(line);
    regfree(&re);
    free(text);
    return hit;
}

static char *no_space_line(const char *log)
{
    return grep_first(log, "No space left on device|Disk quota exceeded");
}

/* The compiler's or make's first error line in a build log (not a command line that
 * merely mentions -Werror), else its last line. */
static char *first_error(const char *log)
{
    char *l = grep_first(log, ": (fatal )?error: |\\*\\*\\* |Error [0-9]+");

    return l ? l : last_lines(log, 1);
}

void write_failed(const struct lpb *b, const char *what, const char *text, const char *const *dirs,
                  size_t n)
{
    char *line = NULL, *full = NULL;
    size_t i;

    (void)b;
    if (text && (strstr(text, "No space left on device") || strstr(text, "Disk quota exceeded"))) {
        char *copy = strdup(text), *l, *save = NULL;

        for (l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
            if (strstr(l, "No space left on device") || strstr(l, "Disk quota exceeded")) {
                line = strdup(l);
                break;
            }
        free(copy);
        for (i = 0; line && i < n; i++)
            if (strstr(line, dirs[i])) {
                full = strdup(dirs[i]);
                break;
            }
    }
    /* One of the folders' file systems has less than 64 KiB left: a step whose
     * messages could not be written either. */
    for (i = 0; !full && i < n; i++) {
        char *d = strdup(dirs[i]);
        struct statvfs sv;

        while (access(d, F_OK) && strrchr(d, '/') && strrchr(d, '/') != d)
            *strrchr(d, '/') = '\0';
        if (access(d, F_OK))
            strcpy(d, "/");
        if (statvfs(d, &sv) == 0 && (unsigned long long)sv.f_bavail * sv.f_frsize < 65536)
            full = d;
        else
            free(d);
    }
    /* (a write that failed and was undone, whose file the message does not name: the
     * step's first folder, where it writes its files) */
    if (!full && line && n)
        full = strdup(dirs[0]);
    if (!full) {
        free(line);
        return;
    }
    die("no space left on device in %s while %s (stage %s)%s%s", full, what,
        stage_name()[0] ? stage_name() : "setup", line ? ": " : "", line ? line : "");
}
