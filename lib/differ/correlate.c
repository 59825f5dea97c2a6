/*
 * correlate.c - pair every function and object of the patched build with the same
 * one of the original build.
 *
 * Names do not match one to one: gcc renumbers clone and static suffixes
 * (foo.isra.0 -> foo.isra.1, count.2 -> count.5) when anything else in the unit
 * changes.  Named symbols therefore meet by normalised name; function-scope
 * statics, whose normalised names repeat (two functions may each have a `count`),
 * meet through the functions that use them, which is how they keep their state
 * across the patch instead of being duplicated.
 */
#include <stdlib.h>
#include <string.h>

#include "livepatch/hash.h"
#include "differ_internal.h"

/* Marks a normalised name that several symbols of one object share. */
static struct dsym ambiguous_marker;

static bool correlatable(const struct lpe_symbol *s)
{
    return s->sec && (s->type == STT_FUNC || s->type == STT_OBJECT) && s->name[0];
}

static int setup(struct diff *d, struct lpe_object *o, struct dsym **syms, struct dsec **secs)
{
    size_t i;

    *syms = calloc(o->nr_symbols, sizeof(**syms));
    *secs = calloc(o->nr_sections, sizeof(**secs));
    if (!*syms || !*secs)
        return lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
    for (i = 1; i < o->nr_sections; i++) {
        const struct lp_special *sp = lp_special_find(o->sections[i]->name);

        (*secs)[i].sec = o->sections[i];
        (*secs)[i].line_bits = sp && sp->line_bits;
        o->sections[i]->priv = &(*secs)[i];
    }
    for (i = 1; i < o->nr_symbols; i++) {
        struct lpe_symbol *s = o->symbols[i];
        struct dsym *ds = &(*syms)[i];

        ds->sym = s;
        s->priv = ds;
        ds->norm = diff_normalise(s->name);
        if (!ds->norm)
            return lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
        ds->compiler_made = s->bind == STB_LOCAL && s->type == STT_OBJECT &&
                            diff_is_compiler_made(s->name);
        ds->is_init = s->sec && diff_is_init_section(s->sec->name);
    }
    return 0;
}

static struct lp_hash *index_by_norm(struct diff *d, struct lpe_object *o)
{
    struct lp_hash *h = lp_hash_new(o->nr_symbols);
    size_t i;

    if (!h) {
        lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (i = 1; i < o->nr_symbols; i++) {
        struct dsym *ds = DS(o->symbols[i]);
        int failed;

        if (!correlatable(ds->sym))
            continue;
        if (lp_hash_insert(h, ds->norm, ds, &failed))
            lp_hash_replace(h, ds->norm, &ambiguous_marker);
        if (failed) {
            lp_hash_free(h);
            lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
            return NULL;
        }
    }
    return h;
}

static void pair(struct dsym *a, struct dsym *b)
{
    a->twin = b->sym;
    b->twin = a->sym;
}

/* foo.cold / foo.part.N -> foo, looked up by exact name in the same object. */
static void link_parents(struct lpe_object *o)
{
    size_t i;

    for (i = 1; i < o->nr_symbols; i++) {
        struct dsym *ds = DS(o->symbols[i]);
        const char *cut;
        struct lpe_symbol *p;
        char *base;

        if (ds->sym->type != STT_FUNC || !diff_is_child_piece(ds->sym->name))
            continue;
        cut = strstr(ds->sym->name, ".cold");
        if (!cut || (strstr(ds->sym->name, ".part.") && strstr(ds->sym->name, ".part.") < cut))
            cut = strstr(ds->sym->name, ".part.");
        base = strndup(ds->sym->name, (size_t)(cut - ds->sym->name));
        if (!base)
            continue;
        for (p = lpe_find_symbol(o, base); p; p = p->next_same_name)
            if (p->type == STT_FUNC && p != ds->sym) {
                ds->parent = DS(p);
                break;
            }
        free(base);
    }
}

/*
 * The statics a function's relocations reach, by normalised name: for each name the
 * ones still unpaired, in relocation order.  A static, once paired, stays paired, so
 * each name's cursor only moves forward.
 */
struct static_index {
    struct lp_hash *by_norm;      /* norm -> struct static_name */
    struct static_name { size_t cur, last; } *names;
    struct dsym **cand;           /* by relocation: its static, or NULL */
    size_t *next;                 /* by relocation: the next one of the same name */
};

static void static_index_free(struct static_index *x)
{
    lp_hash_free(x->by_norm);
    free(x->names);
    free(x->cand);
    free(x->next);
    memset(x, 0, sizeof(*x));
}

static int static_index_build(struct diff *d, struct static_index *x,
                              const struct lpe_section *sec, const struct lpe_rela *r, size_t n)
{
    size_t k, nr_names = 0;

    x->by_norm = lp_hash_new(n);
    x->names = calloc(n ? n : 1, sizeof(*x->names));
    x->cand = calloc(n ? n : 1, sizeof(*x->cand));
    x->next = calloc(n ? n : 1, sizeof(*x->next));
    if (!x->by_norm || !x->names || !x->cand || !x->next)
        return lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
    for (k = 0; k < n; k++) {
        struct dsym *st = DS(diff_rela_target(d, sec, &r[k]));
        struct static_name *nm;
        int failed = 0;

        x->next[k] = SIZE_MAX;
        if (!st->compiler_made || st->twin)
            continue;
        x->cand[k] = st;
        nm = lp_hash_insert(x->by_norm, st->norm, &x->names[nr_names], &failed);
        if (failed)
            return lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
        if (!nm) {
            x->names[nr_names].cur = x->names[nr_names].last = k;
            nr_names++;
        } else {
            x->next[nm->last] = k;
            nm->last = k;
        }
    }
    return 0;
}

/* The first static still unpaired that is called `norm`, or NULL. */
static struct dsym *static_index_take(struct static_index *x, const char *norm)
{
    struct static_name *nm = lp_hash_find(x->by_norm, norm);

    if (!nm)
        return NULL;
    while (nm->cur != SIZE_MAX && x->cand[nm->cur]->twin)
        nm->cur = x->next[nm->cur];
    return nm->cur != SIZE_MAX ? x->cand[nm->cur] : NULL;
}

/*
 * Statics that a function uses: pair them through the function's twin.  A static
 * the patched function uses but its original did not is paired by name when the
 * unit has only one static of that name (the function gained a reference to it);
 * both cases are reported in the log.
 */
static int correlate_statics(struct diff *d)
{
    size_t i, j;

    for (i = 1; i < d->patched->nr_symbols; i++) {
        struct dsym *pf = DS(d->patched->symbols[i]);
        const struct lpe_section *ps, *os;
        struct lpe_rela *pr, *orr;
        struct static_index idx = { 0 };
        size_t npr, nor;

        if (pf->sym->type != STT_FUNC || !pf->twin)
            continue;
        ps = pf->sym->sec;
        os = pf->twin->sec;
        pr = lpe_relas_in(ps, pf->sym->sym.st_value, pf->sym->sym.st_value + pf->sym->sym.st_size,
                          &npr);
        orr = lpe_relas_in(os, pf->twin->sym.st_value,
                           pf->twin->sym.st_value + pf->twin->sym.st_size, &nor);
        for (j = 0; j < npr; j++) {
            struct dsym *ps_static = DS(diff_rela_target(d, ps, &pr[j])), *os_static;

            if (!ps_static->compiler_made || ps_static->twin)
                continue;
            if (!idx.by_norm && static_index_build(d, &idx, os, orr, nor)) {
                static_index_free(&idx);
                return -1;
            }
            os_static = static_index_take(&idx, ps_static->norm);
            if (os_static) {
                pair(ps_static, os_static);
                diff_log(d, "static %s (original %s) correlated through %s",
                         ps_static->sym->name, os_static->sym->name, pf->sym->name);
            }
        }
        static_index_free(&idx);
    }
    return 0;
}

int diff_correlate(struct diff *d)
{
    struct lp_hash *oidx, *pidx;
    size_t i;

    if (setup(d, d->orig, &d->osyms, &d->osecs) ||
        setup(d, d->patched, &d->psyms, &d->psecs))
        return -1;
    link_parents(d->orig);
    link_parents(d->patched);
    oidx = index_by_norm(d, d->orig);
    if (!oidx)
        return -1;
    pidx = index_by_norm(d, d->patched);
    if (!pidx) {
        lp_hash_free(oidx);
        return -1;
    }
    /* Named functions and objects: unique normalised name on both sides, same type. */
    for (i = 1; i < d->patched->nr_symbols; i++) {
        struct dsym *p = DS(d->patched->symbols[i]), *o;

        if (!correlatable(p->sym) || p->compiler_made)
            continue;
        o = lp_hash_find(oidx, p->norm);
        if (o == &ambiguous_marker || lp_hash_find(pidx, p->norm) == &ambiguous_marker) {
            /* Several clones share the normalised name: only an exact name will do. */
            struct lpe_symbol *e;
            o = NULL;
            for (e = lpe_find_symbol(d->orig, p->sym->name); e; e = e->next_same_name)
                if (correlatable(e) && e->type == p->sym->type) {
                    o = DS(e);
                    break;
                }
        }
        if (o && !o->twin && o->sym->type == p->sym->type)
            pair(p, o);
    }
    if (correlate_statics(d)) {
        lp_hash_free(oidx);
        lp_hash_free(pidx);
        return -1;
    }
    /* Statics no function pairs: by normalised name when it is unique on both sides. */
    for (i = 1; i < d->patched->nr_symbols; i++) {
        struct dsym *p = DS(d->patched->symbols[i]), *o;

        if (!p->compiler_made || p->twin)
            continue;
        o = lp_hash_find(oidx, p->norm);
        if (o && o != &ambiguous_marker && !o->twin &&
            lp_hash_find(pidx, p->norm) != &ambiguous_marker) {
            pair(p, o);
            diff_log(d, "static %s (original %s) correlated by name", p->sym->name,
                     o->sym->name);
        }
    }
    lp_hash_free(oidx);
    lp_hash_free(pidx);
    return 0;
}
