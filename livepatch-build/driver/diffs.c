/*
 * diffs.c - the diff step of one payload and what its results mean to the user.
 * The step itself (objects.c: sort the recompiled objects, diff the changed pairs
 * with create-diff-object workers, compile layout twins) runs in a child process
 * of its own group, so one signal stops it with every process it started; its
 * results come back as lines ("changed|new|same OBJ", "STATUS OBJ") read into the
 * step's objects.  Here each status becomes a message: changed, no functional
 * change (and why), refused (a change a live patch cannot carry), or a failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "livepatch/util.h"
#include "objects.h"

struct diff_status {
    int rc;
    char *obj;
};

struct diff_run {
    struct diff_opts opts;
    struct strv extra, prev;
};

static int diff_child(void *arg, FILE *out)
{
    return helper_diff(&((struct diff_run *)arg)->opts, out);
}

/* The lines of the step into s->objs (kinds) and *st (statuses). */
static void read_lines(struct step *s, char *text, struct diff_status **st, size_t *nst)
{
    char *line, *save = NULL;

    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');

        if (!sp)
            continue;
        *sp = '\0';
        if (!strcmp(line, "changed"))
            strv_push(&s->objs.changed, sp + 1);
        else if (!strcmp(line, "new"))
            strv_push(&s->objs.fresh, sp + 1);
        else if (!strcmp(line, "same"))
            strv_push(&s->objs.same, sp + 1);
        else if (line[0] >= '0' && line[0] <= '9' && st) {
            struct diff_status *n = realloc(*st, (*nst + 1) * sizeof(**st));

            if (!n || !(n[*nst].obj = strdup(sp + 1)))
                die("out of memory");
            n[*nst].rc = atoi(line);
            *st = n;
            (*nst)++;
        }
    }
}

static void write_image_name(const struct lpb *b, const struct step *s)
{
    struct lp_error e = { 0 };
    char *p, *text;

    if (asprintf(&p, "%s/image", s->work) < 0 || asprintf(&text, "%s\n", b->image) < 0)
        die("out of memory");
    if (lp_write_file(p, text, strlen(text), 0644, &e))
        die("%s", e.msg);
    free(p);
    free(text);
}

/* The options of the step that sorts (and with collect, diffs) the objects of s. */
static void setup(struct lpb *b, struct step *s, struct diff_run *r, bool collect, char *log)
{
    size_t i;

    memset(r, 0, sizeof(*r));
    if (b->debug)
        strv_push(&r->extra, "-d");
    if (b->prelink)
        strv_push(&r->extra, "-r");
    for (i = 0; i < b->allow_layout.n; i++) {
        strv_push(&r->extra, "--allow-layout-change");
        strv_push(&r->extra, b->allow_layout.v[i]);
    }
    r->opts = (struct diff_opts){
        .work = s->work, .image = b->image, .cdo = b->cdo, .log = log, .jobs = b->cpus,
        .extra = (const char **)r->extra.v, .nr_extra = r->extra.n,
    };
    if (collect) {
        for (i = 0; i < b->prev_trees.n; i++)
            strv_push(&r->prev, b->prev_trees.v[i]);
        r->opts.tree = s->tree;
        r->opts.capture = s->capture;
        r->opts.prev = (const char **)r->prev.v;
        r->opts.nr_prev = r->prev.n;
        /* Objects without DWARF get layout twins (compiled again with -g) for the layout
         * check. */
        r->opts.twins = true;
    } else {
        r->opts.objs = s->objs.changed.v;
        r->opts.nobj = (int)s->objs.changed.n;
    }
}

void collect_objects(struct lpb *b, struct step *s)
{
    struct diff_run r;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    int rc;

    if (!out)
        die("out of memory");
    setup(b, s, &r, true, NULL);
    rc = helper_collect(&r.opts, out);
    if (fclose(out) || rc)
        die("cannot sort the recompiled objects");
    read_lines(s, text, NULL, NULL);
    free(text);
    write_image_name(b, s);
    msg("%zu object(s) recompiled: %zu changed, %zu new, %zu identical",
        s->objs.changed.n + s->objs.fresh.n + s->objs.same.n, s->objs.changed.n,
        s->objs.fresh.n, s->objs.same.n);
    strv_free(&r.extra);
    strv_free(&r.prev);
}

/* The log of object o's diff. */
static char *obj_log(const struct step *s, const char *o)
{
    char *p;

    if (asprintf(&p, "%s/logs/%s.log", s->work, o) < 0)
        die("out of memory");
    return p;
}

void run_diffs(struct lpb *b, struct step *s, bool collect)
{
    const char *dirs[] = { b->output };
    struct strv refused = { 0 }, errors = { 0 }, nochange = { 0 }, changed = { 0 },
                notes = { 0 };
    struct diff_status *st = NULL;
    size_t nst = 0, i;
    struct diff_run r;
    char *log, *text = NULL;
    int rc;

    if (asprintf(&log, "%s/create-diff-object-%s.log", b->output, s->name) < 0)
        die("out of memory");
    if (collect) {
        strv_free(&s->objs.changed);
        strv_free(&s->objs.fresh);
        strv_free(&s->objs.same);
    }
    setup(b, s, &r, collect, log);
    rc = run_fn(diff_child, &r, &text);
    if (rc >= 128)
        die("diffing interrupted");
    if (rc) {
        write_failed(b, "diffing the objects", "", dirs, 1);
        die("cannot run the diffs");
    }
    if (collect) {
        strv_free(&s->objs.changed);
        read_lines(s, text, &st, &nst);
        write_image_name(b, s);
    } else {
        struct strv keep = s->objs.changed;

        memset(&s->objs.changed, 0, sizeof(s->objs.changed));
        read_lines(s, text, &st, &nst);
        strv_free(&s->objs.changed);
        strv_free(&keep);
    }
    free(text);
    for (i = 0; i < nst; i++) {
        const char *o = st[i].obj;
        char *ol = obj_log(s, o), *last;
        struct stat sb;

        switch (st[i].rc) {
        case 0:
            strv_push(&changed, o);
            break;
        case 3: {
            char *out;

            strv_push(&nochange, o);
            if (asprintf(&out, "%s/output/%s", s->work, o) < 0)
                die("out of memory");
            unlink(out);
            free(out);
            /* Why there is nothing to patch, when the differ says (e.g. init code only). */
            if (stat(ol, &sb) == 0 && sb.st_size > 0) {
                last = last_lines(ol, 2);
                strv_pushf(&notes, "%s: %s", o, last);
                free(last);
            }
            break;
        }
        case 2:
            last = last_lines(ol, 3);
            strv_pushf(&refused, "%s: %s", o, last);
            free(last);
            break;
        case 139:
            strv_pushf(&errors, "%s: create-diff-object crashed (SIGSEGV)", o);
            break;
        default:
            last = last_lines(ol, 3);
            strv_pushf(&errors, "%s: create-diff-object failed (exit %d): %s", o, st[i].rc, last);
            free(last);
        }
        free(ol);
    }
    for (i = 0; i < nochange.n; i++)
        msg("no functional change: %s", nochange.v[i]);
    for (i = 0; i < changed.n; i++)
        msg("changed: %s", changed.v[i]);
    /* (the sort put them into WORK/output already) */
    for (i = 0; i < s->objs.fresh.n; i++)
        msg("new object, carried whole: %s", s->objs.fresh.v[i]);
    if (refused.n) {
        for (i = 0; i < refused.n; i++)
            fprintf(stderr, "%s: refused: %s\n", PROG, refused.v[i]);
        die("%zu object(s) hold changes a live patch cannot carry: %s", refused.n, refused.v[0]);
    }
    if (errors.n) {
        for (i = 0; i < errors.n; i++)
            fprintf(stderr, "%s: %s\n", PROG, errors.v[i]);
        write_failed(b, "diffing the objects", strv_join(&errors, errors.n, " "), dirs, 1);
        die("%zu error(s) encountered: %s", errors.n, errors.v[0]);
    }
    /* Changed now means: diffed, and found to change code a payload carries. */
    strv_free(&s->objs.changed);
    strv_free(&s->objs.nochange);
    s->objs.changed = changed;
    s->objs.nochange = nochange;
    if (!changed.n && !s->objs.fresh.n) {
        /* (statuses lost to a full disk must not read as "no change") */
        write_failed(b, "diffing the objects", "", dirs, 1);
        if (notes.n)
            die("no functional change in %s that a live patch can carry: %s", s->desc,
                strv_join(&notes, notes.n, " "));
        die("no functional change in %s: the patched build compiles to the same code (a "
            "comment-only or formatting change?), so there is nothing to live-patch", s->desc);
    }
    for (i = 0; i < nst; i++)
        free(st[i].obj);
    free(st);
    strv_free(&refused);
    strv_free(&errors);
    strv_free(&notes);
    strv_free(&r.extra);
    strv_free(&r.prev);
    free(log);
}
