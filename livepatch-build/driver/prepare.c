/*
 * prepare.c - the patched work tree of one payload (tree_prepare): which objects
 * the touched files feed (read from the build's dependency files: make's .d, Kbuild's
 * .NAME.o.cmd), a copy of the previous build (what those objects need when they are
 * all that must be made, its sources hard-linked when asked; else all of it), its
 * .config, and the touched files with #line directives that keep the line numbers of
 * the unpatched code.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "fixlines.h"
#include "livepatch/util.h"
#include "tree.h"
#include "walk.h"

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && !memcmp(s + n - m, suffix, m);
}

/* A C or assembly source or header: what #line fixing and targeted builds handle. */
static bool is_source_name(const char *path)
{
    return has_suffix(path, ".c") || has_suffix(path, ".h") || has_suffix(path, ".S");
}

static bool is_empty_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    bool empty = true;

    if (!d)
        return false;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            empty = false;
            break;
        }
    closedir(d);
    return empty;
}

struct prepare {
    struct lp_error *e;
    char **touched;      /* sorted, unique */
    size_t ntouched;
    const char **want;   /* touched paths without "xen/", sorted */
    unsigned char *hit;  /* per entry of want: some object depends on it */
    char **targets;
    size_t ntargets, cap;
};

/* Touched paths are joined to the work tree: none may lead out of it. */
static int safe_rel(const char *rel)
{
    const char *s = rel;

    if (*rel == '/')
        return 0;
    while (*s) {
        size_t n = strcspn(s, "/");

        if (n == 2 && s[0] == '.' && s[1] == '.')
            return 0;
        s += n;
        while (*s == '/')
            s++;
    }
    return 1;
}

static int add_target(struct prepare *p, const char *t)
{
    if (p->ntargets == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        char **n = realloc(p->targets, cap * sizeof(*n));

        if (!n)
            return -1;
        p->targets = n;
        p->cap = cap;
    }
    if (!(p->targets[p->ntargets] = strdup(t)))
        return -1;
    p->ntargets++;
    return 0;
}

/* The object target depends on the touched file tok: remember both (once per target). */
static int deps_hit(struct prepare *p, const char *target, const char *tok, int *added)
{
    const char **hit = bsearch(&tok, p->want, p->ntouched, sizeof(*p->want), helper_str_cmp);

    if (!hit)
        return 0;
    p->hit[hit - p->want] = 1;
    if (!*added && add_target(p, target) < 0)
        return lp_error_set(p->e, LP_ERR_NOMEM, "out of memory");
    *added = 1;
    return 0;
}

/*
 * One Xen ".NAME.o.cmd" file (fixdep's output), read line by line:
 *   source_T := SRC
 *   deps_T := \
 *     include/xen/config.h \
 *       $(wildcard include/config/foo.h) \
 * T (relative to xen/, as make -C xen names it) depends on SRC and on every listed file;
 * the $(wildcard ...) entries stand for configuration options, never for sources.
 */
static int cmd_file_visit(struct prepare *p, char *s, char *end)
{
    char *target = NULL;
    int in_deps = 0, added = 0, rc = 0;

    while (s < end && !rc) {
        char *line = s, *nl = memchr(s, '\n', (size_t)(end - s)), *tok, *save = NULL;
        int more;

        if (!nl)
            nl = end;
        *nl = '\0';
        s = nl + 1;
        if (!in_deps) {
            char *eq;
            int is_deps = !strncmp(line, "deps_", 5);

            if (!is_deps && strncmp(line, "source_", 7))
                continue;
            if (!(eq = strstr(line, " := ")))
                continue;
            *eq = '\0';
            target = line + (is_deps ? 5 : 7);
            if (!has_suffix(target, ".o"))
                return 0;
            line = eq + 4;
            in_deps = is_deps;
        }
        more = nl > line && nl[-1] == '\\';
        for (tok = strtok_r(line, " \t", &save); tok && !rc; tok = strtok_r(NULL, " \t", &save)) {
            size_t n = strlen(tok);

            if (!strcmp(tok, "\\") || tok[0] == '$' || tok[n - 1] == ')')
                continue;
            rc = deps_hit(p, target, tok, &added);
        }
        if (in_deps && !more)
            break;
    }
    return rc;
}

/*
 * One dependency file, read as make writes them: tokens separated by blanks,
 * "\" continuations skipped, the first token ending in ':' names the target (the
 * file's first rule), and every later token is a prerequisite.  An object whose
 * prerequisites include a touched file is a target to remake.
 */
static int deps_visit(struct walk *w, int type, int post)
{
    struct prepare *p = w->ctx;
    unsigned char *buf, *t;
    size_t len;
    char *s, *end, *target = NULL;
    int is_obj = 0, added = 0, rc = 0;

    (void)type;
    (void)post;
    if (lp_read_file(w->path.s, &buf, &len, w->e) < 0)
        return -1;
    /* Room for a terminator, so every token can be cut out in place. */
    if (!(t = realloc(buf, len + 1))) {
        free(buf);
        return lp_error_set(w->e, LP_ERR_NOMEM, "out of memory");
    }
    buf = t;
    buf[len] = '\0';
    s = (char *)buf;
    end = s + len;
    if (has_suffix(w->path.s, ".cmd")) {
        rc = cmd_file_visit(p, s, end);
        free(buf);
        return rc;
    }
    while (s < end && !rc) {
        char *tok;
        size_t n;

        while (s < end && (*s == ' ' || *s == '\t' || *s == '\n'))
            s++;
        tok = s;
        while (s < end && *s != ' ' && *s != '\t' && *s != '\n')
            s++;
        n = (size_t)(s - tok);
        if (s < end)
            *s++ = '\0';
        if (!n || (n == 1 && *tok == '\\'))
            continue;
        if ((!target || !*target) && tok[n - 1] == ':') {
            tok[n - 1] = '\0';
            target = tok;
            is_obj = has_suffix(target, ".o");
        } else if (is_obj) {
            rc = deps_hit(p, target, tok, &added);
        }
    }
    free(buf);
    return rc;
}

/* The objects to remake (p->targets), or none when the whole tree must be built. */
static int find_targets(struct prepare *p, const char *base, const char *prev)
{
    struct str path = { 0 };
    size_t i;
    int rc = 0;

    if (!p->ntouched)
        return 0;
    for (i = 0; i < p->ntouched; i++) {
        const char *t = p->touched[i];

        if (strncmp(t, "xen/", 4) || strlen(t) < 6 || !is_source_name(t))
            return 0;
        if (str_set(&path, base) < 0 || str_push(&path, t) < 0) {
            free(path.s);
            return lp_error_set(p->e, LP_ERR_NOMEM, "out of memory");
        }
        if (!helper_is_file(path.s)) {
            free(path.s);
            return 0;
        }
    }
    p->want = malloc(p->ntouched * sizeof(*p->want));
    p->hit = calloc(p->ntouched, 1);
    if (!p->want || !p->hit || str_set(&path, prev) < 0 || str_push(&path, "xen") < 0) {
        free(path.s);
        return lp_error_set(p->e, LP_ERR_NOMEM, "out of memory");
    }
    /* Removing the common "xen/" keeps the order. */
    for (i = 0; i < p->ntouched; i++)
        p->want[i] = p->touched[i] + 4;
    if (access(path.s, F_OK) == 0)
        rc = walk_tree(path.s, &walk_deps, deps_visit, p, p->e);
    free(path.s);
    if (rc)
        return rc;
    /*
     * A touched file that no object depends on is not part of this build (another
     * architecture's source, a header nothing includes in this configuration): it
     * cannot change an object, so it does not call for a full build either.
     */
    for (i = 0; p->ntargets && i < p->ntouched; i++)
        if (!p->hit[i])
            fprintf(stderr, "livepatch-build: %s: no object of this build depends on it\n",
                    p->touched[i]);
    helper_sort_unique(p->targets, &p->ntargets);
    return 0;
}

/* Give the copy of everything its root's mode and times, as cp -a does. */
static int copy_root_attrs(const char *src, const char *dst, struct lp_error *e)
{
    struct stat st;
    struct timespec times[2];

    if (stat(src, &st) < 0)
        return lp_error_set(e, LP_ERR_IO, "%s: cannot stat: %s", src, strerror(errno));
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    if (chmod(dst, st.st_mode & 07777) < 0 || utimensat(AT_FDCWD, dst, times, 0) < 0)
        return lp_error_set(e, LP_ERR_IO, "%s: cannot set mode and times: %s", dst,
                            strerror(errno));
    return 0;
}

/* Read path if it is a regular file: 1 read, 0 absent (or not a file), -1 error. */
static int read_if_file(const char *path, unsigned char **buf, size_t *len,
                        struct lp_error *err)
{
    struct stat st;

    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    return lp_read_file(path, buf, len, err) < 0 ? -1 : 1;
}

/* Write buf to path unless path already holds exactly that (then its mtime stays). */
static int write_if_changed(struct str *path, const void *buf, size_t len, mode_t mode,
                            struct lp_error *e)
{
    unsigned char *cur;
    size_t curlen;
    int r = read_if_file(path->s, &cur, &curlen, e);

    if (r < 0)
        return -1;
    if (r > 0) {
        int same = curlen == len && !memcmp(cur, buf, len);

        free(cur);
        if (same)
            return 0;
    }
    if (helper_make_parent(path->s) < 0)
        return lp_error_set(e, LP_ERR_IO, "%s: cannot create its folder: %s", path->s,
                            strerror(errno));
    return lp_write_file(path->s, buf, len, mode & 07777, e);
}

/* The wanted content of touched file f in the work tree. */
static int sync_one(struct prepare *p, const char *base, const char *src, const char *tree,
                    const char *f, bool fix, struct str *sp)
{
    struct str bp = { 0 }, tp = { 0 };
    unsigned char *sbuf = NULL, *bbuf = NULL;
    char *fixed = NULL;
    size_t slen, blen, flen;
    struct stat st;
    int rc = 0;

    if (str_set(sp, src) < 0 || str_push(sp, f) < 0 || str_set(&tp, tree) < 0 ||
        str_push(&tp, f) < 0 || str_set(&bp, base) < 0 || str_push(&bp, f) < 0) {
        rc = lp_error_set(p->e, LP_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (stat(sp->s, &st) < 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
            rc = lp_error_set(p->e, LP_ERR_IO, "%s: cannot stat: %s", sp->s, strerror(errno));
        } else if (unlink(tp.s) < 0 && errno != ENOENT && errno != ENOTDIR) {
            rc = lp_error_set(p->e, LP_ERR_IO, "%s: cannot remove: %s", tp.s, strerror(errno));
        }
        goto out;
    }
    if (lp_read_file(sp->s, &sbuf, &slen, p->e) < 0) {
        rc = -1;
        goto out;
    }
    if (fix && is_source_name(f) && helper_is_file(bp.s)) {
        if (lp_read_file(bp.s, &bbuf, &blen, p->e) < 0) {
            rc = -1;
            goto out;
        }
        if (lp_fix_lines((char *)bbuf, blen, (char *)sbuf, slen, &fixed, &flen) < 0) {
            rc = lp_error_set(p->e, LP_ERR_NOMEM, "%s: cannot rewrite line numbers: %s", f,
                              strerror(errno));
            goto out;
        }
        rc = write_if_changed(&tp, fixed, flen, st.st_mode, p->e);
    } else {
        rc = write_if_changed(&tp, sbuf, slen, st.st_mode, p->e);
    }
out:
    free(sbuf);
    free(bbuf);
    free(fixed);
    free(bp.s);
    free(tp.s);
    return rc;
}

/* The touched paths, sorted and unique, each checked to stay inside the tree (an
 * empty one names nothing, as an empty line of a list). */
static int take_touched(struct prepare *p, const char *const *touched, size_t n)
{
    size_t i;

    if (n && !(p->touched = calloc(n, sizeof(*p->touched))))
        return lp_error_set(p->e, LP_ERR_NOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        if (!*touched[i])
            continue;
        if (!safe_rel(touched[i]))
            return lp_error_set(p->e, LP_ERR_INVALID, "'%s' leads out of the tree",
                                touched[i]);
        if (!(p->touched[p->ntouched] = strdup(touched[i])))
            return lp_error_set(p->e, LP_ERR_NOMEM, "out of memory");
        p->ntouched++;
    }
    helper_sort_unique(p->touched, &p->ntouched);
    return 0;
}

int tree_prepare(const struct tree_prepare *tp, char ***targets, size_t *nr_targets,
                 struct lp_error *e)
{
    struct prepare p = { .e = e };
    struct str path = { 0 };
    unsigned char *cfg = NULL;
    char **out = NULL;
    size_t cfglen, i;
    struct stat st;
    int rc = -1;

    *targets = NULL;
    *nr_targets = 0;
    if (take_touched(&p, tp->touched, tp->nr_touched))
        goto out;

    /* a. The objects to remake, if the dependency files can tell. */
    if (!tp->full && find_targets(&p, tp->base, tp->prev))
        goto out;

    /* b. The work tree: the sources of the previous build, or all of it. */
    if (lstat(tp->tree, &st) == 0 && (!S_ISDIR(st.st_mode) || !is_empty_dir(tp->tree))) {
        lp_error_set(e, LP_ERR_IO, "%s: exists and is not an empty folder", tp->tree);
        goto out;
    }
    if (p.ntargets) {
        struct filter sources = walk_sources(NULL);

        if (walk_copy(tp->prev, tp->tree, &walk_kept, false,
                      tp->share_sources ? &sources : NULL, e))
            goto out;
    } else if (walk_copy(tp->prev, tp->tree, &walk_all, true, NULL, e) ||
               copy_root_attrs(tp->prev, tp->tree, e)) {
        goto out;
    }

    /* c. Not a finished build any more; the configuration of this one. */
    if (str_set(&path, tp->tree) < 0 || str_push(&path, ".complete") < 0)
        goto nomem;
    if (unlink(path.s) < 0 && errno != ENOENT) {
        lp_error_set(e, LP_ERR_IO, "%s: cannot remove: %s", path.s, strerror(errno));
        goto out;
    }
    if (stat(tp->config, &st) < 0) {
        lp_error_set(e, LP_ERR_IO, "%s: cannot stat: %s", tp->config, strerror(errno));
        goto out;
    }
    if (lp_read_file(tp->config, &cfg, &cfglen, e) < 0)
        goto out;
    if (str_set(&path, tp->tree) < 0 || str_push(&path, "xen/.config") < 0)
        goto nomem;
    if (write_if_changed(&path, cfg, cfglen, st.st_mode, e))
        goto out;

    /* d. The patched sources, #line-fixed against the unpatched ones. */
    for (i = 0; i < p.ntouched; i++)
        if (sync_one(&p, tp->base, tp->src, tp->tree, p.touched[i], tp->fix_lines, &path))
            goto out;

    /* e. The make targets of the objects (xenmake.c). */
    if (p.ntargets && !(out = calloc(p.ntargets, sizeof(*out))))
        goto nomem;
    for (i = 0; i < p.ntargets; i++)
        if (!(out[i] = xen_make_target(tp->prev, p.targets[i]))) {
            helper_free_lines(out, i);
            goto nomem;
        }
    *targets = out;
    *nr_targets = p.ntargets;
    rc = 0;
    goto out;
nomem:
    lp_error_set(e, LP_ERR_NOMEM, "out of memory");
out:
    helper_free_lines(p.touched, p.ntouched);
    free(p.want);
    free(p.hit);
    helper_free_lines(p.targets, p.ntargets);
    free(cfg);
    free(path.s);
    return rc;
}
