/*
 * include.c - decide what the payload carries and copy it into the output
 * object, expressing every reference the carried code makes.
 *
 * One rule serves every reference: what changed or is new is carried (new locals
 * renamed with the payload's suffix so two payloads never clash); what is the same
 * as in the running image is referenced by the image's runtime name ("file#sym"
 * for a local, found through the original object's STT_FILE), never by
 * section+offset, which the hypervisor's loader cannot resolve.  References
 * through section symbols (gcc's way to reach statics and literals) are first
 * turned into references to the symbol that covers the target.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/hash.h"
#include "livepatch/payload.h"
#include "differ_internal.h"

/* What the loader accepts (lib/loader/place.c): a page. */
#define DIFF_MAX_ALIGN 4096u

static bool allowed_type(uint32_t type)
{
    return type == R_X86_64_NONE || type == R_X86_64_64 || type == R_X86_64_PC32 ||
           type == R_X86_64_PLT32;
}

static bool is_strings(const struct lpe_section *s)
{
    return (s->sh.sh_flags & SHF_MERGE) && (s->sh.sh_flags & SHF_STRINGS);
}

struct lpe_section *diff_out_section(struct diff *d, struct lpe_section *src, uint64_t start,
                                     uint64_t size, const char *name)
{
    struct lpe_section *o;
    bool nobits = src->sh.sh_type == SHT_NOBITS;

    /* A symbol or relocation of the patched object may point into a section of ELF
     * metadata (a section symbol of .symtab, say): that is no code or data to carry, and
     * a copy would be a second symbol table in the payload object. */
    if (src->sh.sh_type == SHT_SYMTAB || src->sh.sh_type == SHT_STRTAB ||
        src->sh.sh_type == SHT_RELA || src->sh.sh_type == SHT_REL ||
        src->sh.sh_type == SHT_GROUP || src->sh.sh_type == SHT_SYMTAB_SHNDX ||
        src->sh.sh_type == SHT_DYNSYM || src->sh.sh_type == SHT_NULL) {
        lp_error_set(d->err, LP_ERR_FORMAT, "%s: section %s (ELF type %u) is referred to as "
                     "if it held code or data", d->patched->path, src->name, src->sh.sh_type);
        return NULL;
    }
    /* The hypervisor places no section on more than a page; and an alignment of, say,
     * 2^32 would have the payload object written as a file of gigabytes of padding. */
    if (src->sh.sh_addralign > DIFF_MAX_ALIGN) {
        lp_error_set(d->err, LP_ERR_FORMAT, "%s: section %s: alignment %#llx is larger than "
                     "a page (%#x): no payload can carry it", d->patched->path, src->name,
                     (unsigned long long)src->sh.sh_addralign, DIFF_MAX_ALIGN);
        return NULL;
    }
    o = lpe_add_section(d->out, name, src->sh.sh_type,
                        src->sh.sh_flags & (SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR | SHF_MERGE |
                                            SHF_STRINGS),
                        src->sh.sh_addralign, src->sh.sh_entsize,
                        nobits || !src->data ? NULL : src->data + start, size, d->err);
    if (o && !lpe_add_symbol(d->out, "", STB_LOCAL, STT_SECTION, o, 0, 0, d->err))
        return NULL;
    return o;
}

static struct lpe_symbol *undefined_ref(struct diff *d, const char *name)
{
    struct lpe_symbol *s = lp_hash_find(d->undef_out, name);
    int failed;

    if (s)
        return s;
    s = lpe_add_symbol(d->out, name, STB_GLOBAL, STT_NOTYPE, NULL, 0, 0, d->err);
    if (!s)
        return NULL;
    lp_hash_insert(d->undef_out, s->name, s, &failed);
    if (failed) {
        lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return s;
}

/* A name for a carried symbol: new locals get the payload's suffix. */
static char *out_name(struct diff *d, const struct dsym *ds)
{
    const struct lpe_symbol *s = ds->sym;
    size_t n = strlen(s->name) + sizeof(d->suffix) + 1;
    char *name = malloc(n);

    if (!name)
        return NULL;
    if (s->bind == STB_LOCAL && !ds->patched)
        snprintf(name, n, "%s%s", s->name, d->suffix);
    else
        snprintf(name, n, "%s", s->name);
    return name;
}

static int carry_relocations(struct diff *d, struct lpe_section *src, uint64_t start,
                             uint64_t size, struct lpe_section *dst, const char *user)
{
    size_t n, i;
    struct lpe_rela *r = lpe_relas_in(src, start, start + size, &n);
    for (i = 0; i < n; i++) {
        struct lpe_symbol *sym;
        int64_t addend;

        if (diff_map_rela(d, src, &r[i], &sym, &addend, user) ||
            lpe_add_rela(d->out, dst, r[i].offset - start, r[i].type, addend, sym, d->err))
            return -1;
    }
    return 0;
}

/* Copy a symbol's bytes into a section of its own and carry what it references. */
static struct lpe_symbol *carry_symbol(struct diff *d, struct dsym *ds)
{
    struct lpe_symbol *s = ds->sym;
    uint64_t start = s->sym.st_value, size = s->sym.st_size;
    struct lpe_section *sec;
    char *name, *secname;
    bool whole = start == 0 && size == s->sec->size;

    name = out_name(d, ds);
    if (!name) {
        lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (whole) {
        secname = strdup(s->sec->name);
    } else {
        /* Several symbols share the section (no -ffunction-sections, or init code). */
        size_t n = strlen(s->sec->name) + strlen(name) + 2;
        secname = malloc(n);
        if (secname)
            snprintf(secname, n, "%s.%s", s->sec->name, name);
    }
    sec = secname ? diff_out_section(d, s->sec, start, size, secname) : NULL;
    free(secname);
    if (sec)
        ds->out = lpe_add_symbol(d->out, name, s->bind, s->type, sec, 0, size, d->err);
    free(name);
    if (!ds->out)
        return NULL;
    ds->out->sym.st_other = s->sym.st_other;
    ds->out_sec = sec;
    ds->included = true;
    if ((s->sec->sh.sh_flags & SHF_ALLOC) &&
        carry_relocations(d, s->sec, start, size, sec, s->name))
        return NULL;
    return ds->out;
}

struct lpe_section *diff_carry_section(struct diff *d, struct lpe_section *src)
{
    struct dsec *dsec = DSEC(src);
    size_t i;

    if (dsec->out)
        return dsec->out;
    dsec->out = diff_out_section(d, src, 0, src->size, src->name);
    if (!dsec->out)
        return NULL;
    /* Named symbols inside come along at the same offsets (the section's offset index:
     * sorted by value, ties in symbol-table order, so the output stays deterministic). */
    for (i = 0; i < src->nr_by_offset; i++) {
        struct dsym *ds = DS(src->by_offset[i]);
        char *name;

        if (!ds->sym->name[0] || ds->out ||
            strncmp(ds->sym->name, ".L", 2) == 0) /* assembler-local labels */
            continue;
        name = out_name(d, ds);
        if (!name)
            return NULL;
        ds->out = lpe_add_symbol(d->out, name, ds->sym->bind, ds->sym->type, dsec->out,
                                 ds->sym->sym.st_value, ds->sym->sym.st_size, d->err);
        free(name);
        if (!ds->out)
            return NULL;
        ds->included = true;
    }
    if ((src->sh.sh_flags & SHF_ALLOC) &&
        carry_relocations(d, src, 0, src->size, dsec->out, src->name))
        return NULL;
    return dsec->out;
}

/* Does the payload carry s (true) or reference the image's copy (false)? */
static bool must_carry(const struct dsym *ds)
{
    if (ds->patched || ds->status == ST_NEW)
        return true;
    if (ds->sym->type == STT_FUNC && ds->parent && (ds->parent->patched || ds->parent->included))
        return true;
    return !ds->twin;
}

struct lpe_symbol *diff_map_symbol(struct diff *d, struct lpe_symbol *s, const char *user)
{
    struct dsym *ds = DS(s);
    const struct lpe_symbol *o;
    char name[1024];
    struct lp_error lerr = { 0 };

    if (ds->out)
        return ds->out;
    if (!s->sec) {
        if (s->sym.st_shndx != SHN_UNDEF) {
            lp_error_set(d->err, LP_ERR_UNSUPPORTED,
                         "%s: %s refers to %s, an absolute or common symbol a payload cannot "
                         "express", d->patched->path, user, s->name);
            return NULL;
        }
        /* Extern: resolved by the loader (image, or another object of this payload).
         * Looked up only for the debug log, which is all the answer is for. */
        if (d->opts->log && !lpi_lookup(d->image, s->name, &lerr))
            diff_log(d, "%s refers to %s, which is not in the image: it must come from "
                        "another object of the payload", user, s->name);
        return undefined_ref(d, s->name);
    }
    if (must_carry(ds))
        return carry_symbol(d, ds);
    o = ds->twin;
    lpi_runtime_name(o->bind == STB_LOCAL ? o->file : NULL, o->name, name, sizeof(name));
    if (!lpi_lookup(d->image, name, &lerr)) {
        d->refused = true;
        diff_note(d, LPD_REFUSED, s->name, "%s refers to %s (runtime name %s), which %s",
                  user, s->name, name,
                  lerr.code == LP_ERR_AMBIGUOUS ? "is ambiguous in the image: two symbols "
                                                  "have that name"
                                                : "the image does not have");
        return undefined_ref(d, name);
    }
    return undefined_ref(d, name);
}

int diff_map_rela(struct diff *d, const struct lpe_section *sec, const struct lpe_rela *r,
                  struct lpe_symbol **sym, int64_t *addend, const char *user)
{
    struct lpe_symbol *s = r->sym;
    struct lpe_section *x;
    struct diff_target t;

    if (!allowed_type(r->type)) {
        d->refused = true;
        diff_note(d, LPD_REFUSED, user,
                  "%s: %s uses %s (type %u) at %s+0x%llx (against %s); the loader accepts "
                  "only R_X86_64_NONE/64/PC32/PLT32 (build position-independent with hidden "
                  "visibility)", d->patched->path, user, diff_reloc_name(r->type), r->type,
                  sec->name, (unsigned long long)r->offset,
                  s->name[0] ? s->name : (s->sec ? s->sec->name : "?"));
    }
    diff_resolve(d, sec, r, 0, &t);
    *addend = diff_addend_add(t.addend, t.extra);
    if (!t.via_section) {
        *sym = diff_map_symbol(d, s, user);
        return *sym ? 0 : -1;
    }
    /* Through a section symbol or label: the covering function or object, by name. */
    x = t.sec;
    if (!DSEC(x)->out && !is_strings(x)) {
        if (t.sym) {
            *sym = diff_map_symbol(d, t.sym, user);
            return *sym ? 0 : -1;
        }
        if ((x->sh.sh_flags & SHF_WRITE) && !(x->sh.sh_flags & SHF_EXECINSTR)) {
            char place[160];

            diff_place_words(&t, place, sizeof(place));
            d->refused = true;
            diff_note(d, LPD_REFUSED, user,
                      "%s refers to %s (relocation %s at %s+0x%llx), which no symbol "
                      "covers", user, place, diff_reloc_name(r->type), sec->name,
                      (unsigned long long)r->offset);
        }
    }
    /* Strings, code and constants no symbol covers: the payload carries the section. */
    if (!diff_carry_section(d, x))
        return -1;
    *sym = DSEC(x)->out->secsym;
    *addend = diff_addend_add(t.sec_addend, t.extra);
    return 0;
}

/* Expectations declared in the patched object, consumed here, never emitted. */
static int read_expectations(struct diff *d)
{
    struct lpe_section *s = lpe_find_section(d->patched, LIVEPATCH_SEC_EXPECT);
    size_t i, n;

    if (!s || !s->data)
        return 0;
    n = s->size / LIVEPATCH_EXPECT_DECL_SIZE;
    d->expects = calloc(n ? n : 1, sizeof(*d->expects));
    if (!d->expects)
        return lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        const unsigned char *rec = s->data + i * LIVEPATCH_EXPECT_DECL_SIZE;
        struct lpe_rela *r;
        size_t nr;
        struct lpe_symbol *f;

        r = lpe_relas_in(s, i * LIVEPATCH_EXPECT_DECL_SIZE, i * LIVEPATCH_EXPECT_DECL_SIZE + 8,
                         &nr);
        if (!nr)
            continue;
        f = diff_rela_target(d, s, r);
        if (f->type != STT_FUNC || rec[8] > LIVEPATCH_OPAQUE_SIZE)
            return lp_error_set(d->err, LP_ERR_INVALID,
                                "%s: %s: entry %zu names no function or is longer than %d bytes",
                                d->patched->path, s->name, i, LIVEPATCH_OPAQUE_SIZE);
        d->expects[d->nr_expects].func = f;
        d->expects[d->nr_expects].len = rec[8];
        memcpy(d->expects[d->nr_expects].data, rec + 9, LIVEPATCH_OPAQUE_SIZE);
        d->nr_expects++;
    }
    return 0;
}

int diff_include(struct diff *d)
{
    size_t i;

    if (read_expectations(d))
        return -1;
    /* Patched functions first, in symbol order, so the output is deterministic. */
    for (i = 1; i < d->patched->nr_symbols; i++) {
        struct dsym *ds = DS(d->patched->symbols[i]);
        if (ds->patched && !ds->out && !carry_symbol(d, ds))
            return -1;
    }
    /* New globals are carried even when nothing here uses them: another object may. */
    for (i = 1; i < d->patched->nr_symbols; i++) {
        struct dsym *ds = DS(d->patched->symbols[i]);
        struct lpe_symbol *s = ds->sym;

        if (ds->status != ST_NEW || s->bind == STB_LOCAL || ds->out || ds->is_init ||
            strncmp(s->sec->name, ".livepatch.", 11) == 0 || !(s->sec->sh.sh_flags & SHF_ALLOC))
            continue;
        if (!carry_symbol(d, ds))
            return -1;
        diff_note(d, s->type == STT_FUNC ? LPD_NEW_FUNC : LPD_NEW_DATA, s->name, "new global %s",
                  s->type == STT_FUNC ? "function" : "object");
    }
    /* Hooks come with the functions they point at. */
    for (i = 1; i < d->patched->nr_sections; i++) {
        struct lpe_section *s = d->patched->sections[i];
        if (strncmp(s->name, ".livepatch.hooks.", 17) != 0)
            continue;
        if (!diff_carry_section(d, s))
            return -1;
    }
    /* Report what came along because carried code needed it. */
    for (i = 1; i < d->patched->nr_symbols; i++) {
        struct dsym *ds = DS(d->patched->symbols[i]);
        if (ds->included && !ds->patched && ds->sym->bind == STB_LOCAL && ds->out &&
            (ds->sym->type == STT_FUNC || ds->sym->type == STT_OBJECT))
            diff_note(d, ds->sym->type == STT_FUNC ? LPD_NEW_FUNC : LPD_NEW_DATA, ds->out->name,
                      "%s", ds->parent ? "piece of a patched function" : "new, renamed");
    }
    return 0;
}
