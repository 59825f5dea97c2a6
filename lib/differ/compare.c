/*
 * compare.c - decide, for every function and data object, whether the patched
 * build changed it.
 *
 * Bytes alone mislead: a call's displacement differs whenever anything moves, and
 * string literals move between builds.  So each symbol gets a fingerprint of its
 * bytes with every relocation field masked, plus, per relocation, what it points
 * at: a callee by (normalised) name, a string by its contents, a compiler-made
 * constant by its own fingerprint.  Two symbols with the same fingerprint behave
 * the same.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/hash.h"
#include "livepatch/payload.h"
#include "differ_internal.h"

static uint64_t fingerprint(struct diff *d, struct dsym *ds);

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    return lp_hash_bytes(p, n, h);
}

static uint64_t mix_u64(uint64_t h, uint64_t v)
{
    return mix(h, &v, sizeof(v));
}

static uint64_t mix_str(uint64_t h, const char *s)
{
    return mix(h, s, strlen(s) + 1);
}

static bool is_strings(const struct lpe_section *s)
{
    return (s->sh.sh_flags & SHF_MERGE) && (s->sh.sh_flags & SHF_STRINGS);
}

static uint64_t string_key(uint64_t h, const struct lpe_section *s, int64_t off)
{
    size_t len;

    if (off < 0 || (uint64_t)off >= s->size || !s->data)
        return mix_u64(mix_str(h, "string-out-of-range"), (uint64_t)off);
    len = strnlen((const char *)s->data + off, s->size - (size_t)off);
    return mix(mix_str(h, "string"), s->data + off, len);
}

static uint64_t symbol_key(struct diff *d, uint64_t h, struct lpe_symbol *s)
{
    struct dsym *ds = DS(s);

    if (!s->sec)
        return mix_str(h, s->name);
    /* Constants and pieces the compiler made: what they hold, not what they are called. */
    if ((ds->compiler_made && !(s->sec->sh.sh_flags & SHF_WRITE)) ||
        (s->type == STT_FUNC && ds->parent))
        return mix_u64(mix_str(h, "content"), fingerprint(d, ds));
    return mix_str(h, ds->norm);
}

/* What a relocation of section sec points at, independent of layout. */
static uint64_t rela_key(struct diff *d, uint64_t h, const struct lpe_section *sec,
                         const struct lpe_rela *r)
{
    struct diff_target t;

    h = mix_u64(h, r->type);
    diff_resolve(d, sec, r, 0, &t);
    if (t.via_section) {
        const struct lpe_section *x = t.sec;

        if (is_strings(x))
            return string_key(h, x, t.off);
        /* .rodata.cst16 and friends: mergeable constants, compared by the one they hold. */
        if ((x->sh.sh_flags & SHF_MERGE) && x->sh.sh_entsize && x->data && t.off >= 0 &&
            (uint64_t)t.off + x->sh.sh_entsize <= x->size)
            return mix(mix_str(h, "constant"), x->data + t.off, x->sh.sh_entsize);
        if (t.sym)
            return mix_u64(symbol_key(d, h, t.sym), (uint64_t)t.addend);
        h = mix_str(h, x->name);
        if (!(x->sh.sh_flags & SHF_WRITE) && x->data)
            h = mix(h, x->data, x->size);
        return mix_u64(h, (uint64_t)t.addend);
    }
    return mix_u64(symbol_key(d, h, t.sym), (uint64_t)t.addend);
}

/*
 * Bytes of [start, start+size) of sec with every relocation field zeroed (caller frees);
 * NULL when sec does not hold them, or on no memory.  A .bss (SHT_NOBITS) symbol holds
 * none: it is zero, and its size only a number in the object (gigabytes, if the object
 * says so), so callers take it as zero and never ask for a copy.
 */
unsigned char *diff_masked_bytes(const struct lpe_section *sec, uint64_t start, uint64_t size)
{
    unsigned char *buf;
    struct lpe_rela *r;
    size_t n, i;

    if (size && (!sec->data || start > sec->size || size > sec->size - start))
        return NULL;
    buf = calloc(1, size ? size : 1);
    if (!buf)
        return NULL;
    if (size)
        memcpy(buf, sec->data + start, size);
    r = lpe_relas_in(sec, start, start + size, &n);
    for (i = 0; i < n; i++) {
        uint64_t off = r[i].offset - start;
        unsigned w = diff_reloc_width(r[i].type);
        if (off < size)
            memset(buf + off, 0, w <= size - off ? w : size - off);
    }
    return buf;
}

static uint64_t fingerprint(struct diff *d, struct dsym *ds)
{
    const struct lpe_symbol *s = ds->sym;
    uint64_t start = s->sym.st_value, size = s->sym.st_size, h;
    struct lpe_rela *r;
    unsigned char *buf;
    size_t n, i;

    if (ds->fp_done)
        return ds->fp;
    if (ds->fp_busy) /* a piece pointing back at its parent: the name is enough */
        return lp_hash_bytes(ds->norm, strlen(ds->norm), 0);
    ds->fp_busy = true;
    h = mix_u64(0, size);
    h = mix_u64(h, s->type);
    if (s->sec->sh.sh_type == SHT_NOBITS) {
        h = mix_str(h, "zero");
    } else {
        buf = diff_masked_bytes(s->sec, start, size);
        if (buf) {
            h = mix(h, buf, size);
            free(buf);
        }
    }
    r = lpe_relas_in(s->sec, start, start + size, &n);
    for (i = 0; i < n; i++) {
        h = mix_u64(h, r[i].offset - start);
        h = rela_key(d, h, s->sec, &r[i]);
    }
    ds->fp_busy = false;
    ds->fp_done = true;
    ds->fp = h;
    return h;
}

/* --- what to ignore ---------------------------------------------------------- */

/*
 * The functions of each section of o, in symbol-index order: funcs[first[k]..first[k+1])
 * are section k's.  One pass over the symbols, so looking at a section's functions
 * costs their number, not the object's.  Caller frees *first and *funcs.
 */
static int functions_by_section(struct diff *d, const struct lpe_object *o, size_t **first,
                                struct lpe_symbol ***funcs)
{
    size_t i, *at;

    *first = calloc(o->nr_sections + 1, sizeof(**first));
    at = calloc(o->nr_sections + 1, sizeof(*at));
    *funcs = calloc(o->nr_symbols ? o->nr_symbols : 1, sizeof(**funcs));
    if (!*first || !at || !*funcs) {
        free(*first);
        free(at);
        free(*funcs);
        return lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
    }
    for (i = 1; i < o->nr_symbols; i++)
        if (o->symbols[i]->sec && o->symbols[i]->type == STT_FUNC)
            (*first)[o->symbols[i]->sec->index + 1]++;
    for (i = 1; i <= o->nr_sections; i++)
        (*first)[i] += (*first)[i - 1];
    memcpy(at, *first, (o->nr_sections + 1) * sizeof(*at));
    for (i = 1; i < o->nr_symbols; i++)
        if (o->symbols[i]->sec && o->symbols[i]->type == STT_FUNC)
            (*funcs)[at[o->symbols[i]->sec->index]++] = o->symbols[i];
    free(at);
    return 0;
}

static int mark_ignored(struct diff *d)
{
    struct lpe_section *s = lpe_find_section(d->patched, LIVEPATCH_SEC_IGNORE_FUNCS);
    struct lpe_symbol **funcs = NULL;
    size_t i, j, *first = NULL;

    if (s && s->rela)
        for (i = 0; i < s->rela->nr_relas; i++) {
            struct lpe_symbol *f = diff_rela_target(d, s, &s->rela->relas[i]);
            if (f->type == STT_FUNC) {
                DS(f)->status = ST_SAME;
                diff_note(d, LPD_IGNORED, f->name, "listed by LIVEPATCH_IGNORE_FUNCTION");
            }
        }
    s = lpe_find_section(d->patched, LIVEPATCH_SEC_IGNORE_SECS);
    if (s && s->rela)
        for (i = 0; i < s->rela->nr_relas; i++) {
            struct lpe_section *ign;
            struct diff_target t;
            const char *name;

            diff_resolve(d, s, &s->rela->relas[i], DIFF_PLACE, &t);
            if (!t.sec || !t.sec->data || t.off < 0 || (uint64_t)t.off >= t.sec->size)
                continue;
            name = (const char *)t.sec->data + t.off;
            if (!memchr(name, '\0', t.sec->size - (size_t)t.off))
                continue;
            if (!first && functions_by_section(d, d->patched, &first, &funcs))
                return -1;
            for (ign = lpe_find_section(d->patched, name); ign; ign = ign->next_same_name)
                for (j = first[ign->index]; j < first[ign->index + 1]; j++) {
                    DS(funcs[j])->status = ST_SAME;
                    diff_note(d, LPD_IGNORED, funcs[j]->name,
                              "in section %s, listed by LIVEPATCH_IGNORE_SECTION", name);
                }
        }
    free(first);
    free(funcs);
    return 0;
}

/* Sections that are the toolchain's or the loader's business, not program data. */
static bool bookkeeping_section(const struct lpe_section *s)
{
    return strncmp(s->name, ".livepatch.", 11) == 0 || diff_is_special_section(s->name) ||
           !(s->sh.sh_flags & SHF_ALLOC) || strcmp(s->name, ".discard") == 0 ||
           strncmp(s->name, ".discard.", 9) == 0;
}

/* What a relocation points at, in words: "name+0x8", a string's contents, "section+0x10". */
static void target_words(struct diff *d, const struct lpe_section *sec, const struct lpe_rela *r,
                         char *buf, size_t size)
{
    struct diff_target t;
    int64_t within;

    diff_resolve(d, sec, r, DIFF_PLACE, &t);
    if (t.sec && is_strings(t.sec) && t.sec->data && t.off >= 0 &&
        (uint64_t)t.off < t.sec->size) {
        size_t left = t.sec->size - (size_t)t.off;
        const char *str = (const char *)t.sec->data + t.off;

        snprintf(buf, size, "\"%.*s\"", (int)strnlen(str, left < 80 ? left : 80), str);
        return;
    }
    if (!t.sym) {
        diff_place_words(&t, buf, size);
        return;
    }
    /* The place meant, relative to the symbol (an instruction's bias is not part of it). */
    within = diff_addend_add(t.addend, t.bias);
    if (within)
        snprintf(buf, size, "%s%+lld", t.sym->name, (long long)within);
    else
        snprintf(buf, size, "%s", t.sym->name);
}

/* Up to 8 bytes of buf from off, in hex ("04 00 00 00"); a NULL buf is all zero. */
static void hex_bytes(const unsigned char *b, uint64_t off, uint64_t size, char *out, size_t n)
{
    uint64_t i;
    size_t len = 0;

    out[0] = '\0';
    for (i = off; i < size && i < off + 8 && len + 4 < n; i++)
        len += (size_t)snprintf(out + len, n - len, "%s%02x", i == off ? "" : " ",
                                b ? b[i] : 0);
    if (i < size && len + 4 < n)
        snprintf(out + len, n - len, " ...");
}

/* Why two functions or two data objects differ, in words (for the log, --explain, --json
 * and refusals). */
static void describe(struct diff *d, const struct lpe_symbol *o, const struct lpe_symbol *p,
                     char *buf, size_t size)
{
    uint64_t os = o->sym.st_size, ps = p->sym.st_size, i, n;
    /* .bss: all zero, whatever its size, and not copied */
    bool ozero = o->sec->sh.sh_type == SHT_NOBITS, pzero = p->sec->sh.sh_type == SHT_NOBITS;
    unsigned char *ob = ozero ? NULL : diff_masked_bytes(o->sec, o->sym.st_value, os);
    unsigned char *pb = pzero ? NULL : diff_masked_bytes(p->sec, p->sym.st_value, ps);
    bool code = p->type == STT_FUNC;
    struct lpe_rela *orr, *prr;
    size_t on, pn, k;

    n = os < ps ? os : ps;
    i = 0;
    if (ozero && pzero)
        i = n;
    else if ((ob || ozero) && (pb || pzero))
        while (i < n && (ob ? ob[i] : 0) == (pb ? pb[i] : 0))
            i++;
    if (code && (i < n || os != ps)) {
        snprintf(buf, size, "code differs from +0x%llx (size %llu -> %llu)",
                 (unsigned long long)i, (unsigned long long)os, (unsigned long long)ps);
        goto out;
    }
    if (!code && os != ps) {
        snprintf(buf, size, "its size differs: %llu -> %llu bytes", (unsigned long long)os,
                 (unsigned long long)ps);
        goto out;
    }
    if (!code && i < n) {
        char a[40], b[40];

        hex_bytes(ob, i, n, a, sizeof(a));
        hex_bytes(pb, i, n, b, sizeof(b));
        snprintf(buf, size, "initial value differs at +0x%llx: %s -> %s%s",
                 (unsigned long long)i, a, b,
                 p->sec->sh.sh_type == SHT_NOBITS || o->sec->sh.sh_type == SHT_NOBITS
                     ? " (all zero in .bss)" : "");
        goto out;
    }
    orr = lpe_relas_in(o->sec, o->sym.st_value, o->sym.st_value + os, &on);
    prr = lpe_relas_in(p->sec, p->sym.st_value, p->sym.st_value + ps, &pn);
    for (k = 0; k < on && k < pn; k++) {
        const struct lpe_rela *a = &orr[k], *b = &prr[k];
        char ta[128], tb[128];

        if (rela_key(d, 0, o->sec, a) == rela_key(d, 0, p->sec, b) &&
            a->offset - o->sym.st_value == b->offset - p->sym.st_value)
            continue;
        target_words(d, o->sec, a, ta, sizeof(ta));
        target_words(d, p->sec, b, tb, sizeof(tb));
        if (ta[0] == '"' && tb[0] == '"')
            snprintf(buf, size, "string referenced at +0x%llx differs: %s -> %s",
                     (unsigned long long)(b->offset - p->sym.st_value), ta, tb);
        else if (strcmp(ta, tb) != 0 || a->offset - o->sym.st_value != b->offset - p->sym.st_value)
            snprintf(buf, size, "%s at +0x%llx differs: %s -> %s",
                     code ? "relocation target" : "pointer (relocation)",
                     (unsigned long long)(b->offset - p->sym.st_value), ta, tb);
        else
            snprintf(buf, size, "what %s at +0x%llx points at differs (%s, a constant or "
                                "split-out piece)",
                     code ? "the relocation" : "the pointer",
                     (unsigned long long)(b->offset - p->sym.st_value), tb);
        goto out;
    }
    if (on != pn)
        snprintf(buf, size, "number of relocations differs (%zu -> %zu)", on, pn);
    else
        snprintf(buf, size, "a referenced constant or split-out piece differs");
out:
    free(ob);
    free(pb);
}

/* Stamp every symbol a relocation of function f points at with `mark`. */
static void mark_references(struct diff *d, const struct lpe_symbol *f, unsigned mark)
{
    size_t n, i;
    struct lpe_rela *r = lpe_relas_in(f->sec, f->sym.st_value, f->sym.st_value + f->sym.st_size,
                                      &n);
    for (i = 0; i < n; i++)
        DS(diff_rela_target(d, f->sec, &r[i]))->ref_mark = mark;
}

/* A patched function that starts or stops using an existing static changes how state
 * is shared between old and new code: say so.  What each side references is stamped
 * once with a fresh mark (a relocation's target is in its own object, so the marks of
 * the two sides never meet), then each relocation is one look at its target's twin. */
static void report_static_use(struct diff *d, const struct dsym *p)
{
    const struct lpe_symbol *f = p->sym, *o = p->twin;
    unsigned mark = ++d->ref_mark;
    size_t n, i;
    struct lpe_rela *r;

    mark_references(d, o, mark);
    mark_references(d, f, mark);
    r = lpe_relas_in(f->sec, f->sym.st_value, f->sym.st_value + f->sym.st_size, &n);
    for (i = 0; i < n; i++) {
        const struct dsym *st = DS(diff_rela_target(d, f->sec, &r[i]));
        if (st->compiler_made && st->twin && DS(st->twin)->ref_mark != mark)
            diff_log(d, "%s gains a reference to the existing static %s", f->name,
                     st->twin->name);
    }
    r = lpe_relas_in(o->sec, o->sym.st_value, o->sym.st_value + o->sym.st_size, &n);
    for (i = 0; i < n; i++) {
        const struct lpe_symbol *t = diff_rela_target(d, o->sec, &r[i]);
        const struct dsym *st = DS(t);
        if (st->compiler_made && (!st->twin || DS(st->twin)->ref_mark != mark))
            diff_log(d, "%s no longer references the static %s", f->name, t->name);
    }
}

/* Sections a payload never carries: say so when the patch changed them. */
static void note_left_out(struct diff *d)
{
    size_t i;

    for (i = 1; i < d->patched->nr_sections; i++) {
        const struct lpe_section *s = d->patched->sections[i];
        const struct lpe_section *o;
        bool init = diff_is_init_section(s->name);

        if (!init && strcmp(s->name, ".discard") != 0 && strncmp(s->name, ".discard.", 9) != 0)
            continue;
        o = lpe_find_section(d->orig, s->name);
        /* Either may hold no bytes (SHT_NOBITS, or an SHT_NULL header with a size). */
        if (o && o->size == s->size &&
            (!s->data || (o->data && !memcmp(o->data, s->data, s->size))))
            continue;
        diff_log(d, "section %s changed and is left out: %s", s->name,
                 init ? "init code and data have run and been freed when a payload loads"
                      : "discarded sections are never loaded");
    }
}

int diff_compare(struct diff *d)
{
    size_t i;
    char why[512];

    if (mark_ignored(d))
        return -1;
    note_left_out(d);
    for (i = 1; i < d->patched->nr_symbols; i++) {
        struct dsym *p = DS(d->patched->symbols[i]);
        const struct lpe_symbol *s = p->sym;

        if (!s->sec || (s->type != STT_FUNC && s->type != STT_OBJECT) || !s->name[0])
            continue;
        if (p->status == ST_SAME) /* ignored on request */
            continue;
        if (!p->twin) {
            p->status = ST_NEW;
            continue;
        }
        p->status = fingerprint(d, p) == fingerprint(d, DS(p->twin)) ? ST_SAME : ST_CHANGED;
        DS(p->twin)->status = p->status;
    }
    /* A changed piece (foo.cold) means its parent changed. */
    for (i = 1; i < d->patched->nr_symbols; i++) {
        struct dsym *p = DS(d->patched->symbols[i]);
        if (p->status == ST_CHANGED && p->parent && p->parent->status == ST_SAME) {
            p->parent->status = ST_CHANGED;
            diff_log(d, "%s changed through its piece %s", p->parent->sym->name, p->sym->name);
        }
    }
    for (i = 1; i < d->patched->nr_symbols; i++) {
        struct dsym *p = DS(d->patched->symbols[i]);
        const struct lpe_symbol *s = p->sym;

        if (p->status != ST_CHANGED)
            continue;
        if (s->type == STT_FUNC) {
            if (p->parent) /* carried with its parent */
                continue;
            describe(d, p->twin, s, why, sizeof(why));
            if (p->is_init) {
                d->nr_init_changed++;
                diff_note(d, LPD_IGNORED, s->name,
                          "init code cannot be live patched (it has already run and been "
                          "freed); %s", why);
                continue;
            }
            p->patched = true;
            d->nr_changed++;
            report_static_use(d, p);
            diff_note(d, LPD_CHANGED_FUNC, s->name, "%s", why);
            if (d->opts->explain)
                diff_explain(d, p->twin, s);
            continue;
        }
        if (bookkeeping_section(s->sec))
            continue;
        if (p->is_init) {
            d->nr_init_changed++;
            diff_note(d, LPD_IGNORED, s->name, "init data cannot be live patched");
            continue;
        }
        if (p->compiler_made && !(s->sec->sh.sh_flags & SHF_WRITE))
            continue; /* a constant the compiler made: compared by content where used */
        describe(d, p->twin, s, why, sizeof(why));
        d->refused = true;
        diff_note(d, LPD_REFUSED, s->name,
                  "data object %s (%s) in %s changed: %s; a payload cannot change existing "
                  "data", s->name, s->sec->name, d->patched->path, why);
    }
    return 0;
}
