/*
 * emit.c - the payload's own tables: one struct livepatch_func per patched
 * function (name string, new_addr, old_addr, sizes, expectation), then one per
 * LIVEPATCH_NOP() record of the patched object (NOP mode: new_addr 0, new_size the
 * number of bytes to overwrite), then the file.
 *
 * This is also where the image has the last word: a patched function must exist
 * in the image under its runtime name, exactly once, and be large enough for the
 * jump the loader writes (5 bytes, 9 when it starts with ENDBR64); a NOPped one
 * must exist, be unchanged, and take its NOPs (1 to 31 bytes, at most its size,
 * not cutting its ENDBR64).
 */
#include <stdlib.h>
#include <string.h>

#include "livepatch/payload.h"
#include "differ_internal.h"

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* One livepatch_func to write: a patched function, or a NOP-mode one (nop set). */
struct entry {
    struct lpe_symbol *sym;       /* the function in the patched object */
    bool nop;
    uint32_t nop_len;
};

/* The runtime name of an entry's function: the original's (file#name for a local). */
static void entry_name(const struct entry *e, char *buf, size_t size)
{
    const struct lpe_symbol *o = DS(e->sym)->twin ? DS(e->sym)->twin : e->sym;

    lpi_runtime_name(o->bind == STB_LOCAL ? o->file : NULL, o->name, buf, size);
}

/* Append the LIVEPATCH_NOP() records of the patched object (consumed here, never carried). */
static int read_nops(struct diff *d, struct entry *ents, size_t *n)
{
    struct lpe_section *s = lpe_find_section(d->patched, LIVEPATCH_SEC_NOPS);
    size_t i, nr;

    if (!s || !s->data)
        return 0;
    if (s->size % LIVEPATCH_NOP_DECL_SIZE)
        return lp_error_set(d->err, LP_ERR_INVALID,
                            "%s: %s is %llu bytes, not a whole number of %d-byte records",
                            d->patched->path, s->name, (unsigned long long)s->size,
                            LIVEPATCH_NOP_DECL_SIZE);
    for (i = 0; i < s->size / LIVEPATCH_NOP_DECL_SIZE; i++) {
        uint64_t at = i * LIVEPATCH_NOP_DECL_SIZE;
        struct lpe_rela *r = lpe_relas_in(s, at, at + 8, &nr);
        struct lpe_symbol *f;
        uint32_t len;

        if (!nr || r->offset != at || r->type != R_X86_64_64)
            return lp_error_set(d->err, LP_ERR_INVALID,
                                "%s: %s: record %zu does not point at a function",
                                d->patched->path, s->name, i);
        f = diff_rela_target(d, s, r);
        memcpy(&len, s->data + at + LIVEPATCH_NOP_DECL_OFF_LEN, 4);
        if (!f || f->type != STT_FUNC) {
            d->refused = true;
            diff_note(d, LPD_REFUSED, f && f->name[0] ? f->name : s->name,
                      "LIVEPATCH_NOP(%s, %u): %s is not a function", f ? f->name : "?", len,
                      f ? f->name : "the target");
            continue;
        }
        ents[*n].sym = f;
        ents[*n].nop = true;
        ents[*n].nop_len = len;
        (*n)++;
    }
    return 0;
}

/* A NOP entry the payload can carry (false: refused, noted)? */
static bool nop_ok(struct diff *d, const struct entry *e, const char *name,
                   const struct lpi_symbol *is, bool endbr)
{
    const char *fn = e->sym->name;

    if (DS(e->sym)->patched) {
        d->refused = true;
        diff_note(d, LPD_REFUSED, fn, "LIVEPATCH_NOP(%s, %u): %s changed in this patch: a "
                  "function cannot be both replaced and NOPped", fn, e->nop_len, name);
        return false;
    }
    if (e->nop_len < 1 || e->nop_len > LIVEPATCH_OPAQUE_SIZE) {
        d->refused = true;
        diff_note(d, LPD_REFUSED, fn, "LIVEPATCH_NOP(%s, %u): NOP mode overwrites 1 to %d "
                  "bytes", fn, e->nop_len, LIVEPATCH_OPAQUE_SIZE);
        return false;
    }
    if (e->nop_len > is->size) {
        d->refused = true;
        diff_note(d, LPD_REFUSED, fn, "LIVEPATCH_NOP(%s, %u): %s is %llu bytes in the image: "
                  "NOP mode overwrites at most the whole function", fn, e->nop_len, name,
                  (unsigned long long)is->size);
        return false;
    }
    if (endbr && e->nop_len < LIVEPATCH_ENDBR_SIZE) {
        d->refused = true;
        diff_note(d, LPD_REFUSED, fn, "LIVEPATCH_NOP(%s, %u): %s starts with ENDBR64: the "
                  "length counts its %d bytes (the NOPs go after it), so it is at least %d",
                  fn, e->nop_len, name, LIVEPATCH_ENDBR_SIZE, LIVEPATCH_ENDBR_SIZE);
        return false;
    }
    return true;
}

int diff_emit(struct diff *d, const char *out)
{
    struct lpe_section *funcs = NULL, *strs = NULL, *nops;
    struct entry *ents = NULL;
    unsigned char *tab = NULL;
    char *strbuf = NULL;
    size_t nfuncs = 0, strlen_total = 0, i, k;
    int ret = -1;

    nops = lpe_find_section(d->patched, LIVEPATCH_SEC_NOPS);
    ents = calloc(d->patched->nr_symbols + (nops ? nops->size / LIVEPATCH_NOP_DECL_SIZE : 0) + 1,
                  sizeof(*ents));
    if (!ents) {
        lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 1; i < d->patched->nr_symbols; i++)
        if (DS(d->patched->symbols[i])->patched)
            ents[nfuncs++].sym = d->patched->symbols[i];
    if (read_nops(d, ents, &nfuncs))
        goto out;
    if (nfuncs) {
        tab = calloc(nfuncs, LIVEPATCH_FUNC_SIZE);
        strbuf = calloc(1, 1);
        if (!tab || !strbuf) {
            lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
            goto out;
        }
        funcs = lpe_add_section(d->out, LIVEPATCH_SEC_FUNCS, SHT_PROGBITS, SHF_ALLOC, 8, 0, NULL,
                                nfuncs * LIVEPATCH_FUNC_SIZE, d->err);
        if (!funcs || !lpe_add_symbol(d->out, "", STB_LOCAL, STT_SECTION, funcs, 0, 0, d->err))
            goto out;
    }
    /* First the strings, so the string section exists before relocations point into it. */
    for (k = 0; k < nfuncs; k++) {
        char name[1024];
        size_t n;
        char *nb;

        entry_name(&ents[k], name, sizeof(name));
        n = strlen(name) + 1;
        nb = realloc(strbuf, strlen_total + n);
        if (!nb) {
            lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
            goto out;
        }
        strbuf = nb;
        memcpy(strbuf + strlen_total, name, n);
        put64(tab + k * LIVEPATCH_FUNC_SIZE + LIVEPATCH_FUNC_OFF_NAME, strlen_total);
        strlen_total += n;
    }
    if (nfuncs) {
        strs = lpe_add_section(d->out, ".livepatch.strings", SHT_PROGBITS,
                               SHF_ALLOC | SHF_MERGE | SHF_STRINGS, 1, 1, strbuf, strlen_total,
                               d->err);
        if (!strs || !lpe_add_symbol(d->out, "", STB_LOCAL, STT_SECTION, strs, 0, 0, d->err))
            goto out;
    }
    for (k = 0; k < nfuncs; k++) {
        const struct entry *en = &ents[k];
        struct dsym *p = DS(en->sym);
        unsigned char *e, head[4] = { 0 };
        const struct lpi_symbol *is;
        struct lp_error lerr = { 0 };
        char name[1024];
        uint64_t name_off, min;
        bool endbr;
        size_t x;

        e = tab + k * LIVEPATCH_FUNC_SIZE;
        memcpy(&name_off, e + LIVEPATCH_FUNC_OFF_NAME, 8);
        memset(e, 0, LIVEPATCH_FUNC_SIZE);
        entry_name(en, name, sizeof(name));
        is = p->twin ? lpi_lookup(d->image, name, &lerr) : NULL;
        if (!is) {
            d->refused = true;
            if (en->nop)
                diff_note(d, LPD_REFUSED, p->sym->name, "LIVEPATCH_NOP(%s, %u): %s %s",
                          p->sym->name, en->nop_len, name,
                          !p->twin ? "is new in this patch: NOP mode needs a function of "
                                     "the image"
                          : lerr.code == LP_ERR_AMBIGUOUS
                              ? "is ambiguous in the image: two symbols have that name"
                              : "is not in the image");
            else
                diff_note(d, LPD_REFUSED, p->sym->name, "changed function %s (runtime name %s) %s",
                          p->sym->name, name,
                          lerr.code == LP_ERR_AMBIGUOUS
                              ? "is ambiguous in the image: two symbols have that name"
                              : "is not in the image");
            continue;
        }
        lpi_read(d->image, is->addr, head, is->size >= 4 ? 4 : 0, NULL);
        endbr = is->size >= 4 && livepatch_is_endbr(head);
        if (en->nop) {
            if (!nop_ok(d, en, name, is, endbr))
                continue;
            diff_note(d, LPD_CHANGED_FUNC, p->sym->name,
                      "NOP mode (LIVEPATCH_NOP): its first %u bytes become NOPs", en->nop_len);
        } else {
            min = LIVEPATCH_JMP_SIZE + (endbr ? LIVEPATCH_ENDBR_SIZE : 0);
            if (is->size < min) {
                d->refused = true;
                diff_note(d, LPD_REFUSED, p->sym->name,
                          "changed function %s is %llu bytes in the image: too small for the "
                          "%llu-byte jump the loader writes%s", name,
                          (unsigned long long)is->size, (unsigned long long)min,
                          min > LIVEPATCH_JMP_SIZE ? " after its ENDBR64" : "");
                continue;
            }
        }
        put32(e + LIVEPATCH_FUNC_OFF_NEW_SIZE,
              en->nop ? en->nop_len : (uint32_t)p->sym->sym.st_size);
        put32(e + LIVEPATCH_FUNC_OFF_OLD_SIZE, (uint32_t)is->size);
        e[LIVEPATCH_FUNC_OFF_VERSION] = LIVEPATCH_PAYLOAD_VERSION;
        if (d->opts->resolve)
            put64(e + LIVEPATCH_FUNC_OFF_OLD_ADDR, is->addr);
        for (x = 0; x < d->nr_expects; x++)
            if (d->expects[x].func == p->sym) {
                /* enabled:1, len:5, rsv:2 in one byte, lowest bit first. */
                e[LIVEPATCH_FUNC_OFF_EXPECT] = (uint8_t)(1u | (unsigned)(d->expects[x].len << 1));
                memcpy(e + LIVEPATCH_FUNC_OFF_EXPECT + 1, d->expects[x].data, LIVEPATCH_OPAQUE_SIZE);
            }
        if (lpe_add_rela(d->out, funcs, k * LIVEPATCH_FUNC_SIZE + LIVEPATCH_FUNC_OFF_NAME,
                         R_X86_64_64, (int64_t)name_off, strs->secsym, d->err))
            goto out;
        /* NOP mode: new_addr stays 0, with no relocation. */
        if (!en->nop &&
            lpe_add_rela(d->out, funcs, k * LIVEPATCH_FUNC_SIZE + LIVEPATCH_FUNC_OFF_NEW_ADDR,
                         R_X86_64_64, 0, p->out, d->err))
            goto out;
    }
    if (d->refused) {
        ret = 0;
        goto out;
    }
    if (funcs && lpe_set_section_data(funcs, tab, nfuncs * LIVEPATCH_FUNC_SIZE, d->err))
        goto out;
    ret = lpe_write(d->out, out, d->err);
out:
    free(ents);
    free(tab);
    free(strbuf);
    return ret;
}
