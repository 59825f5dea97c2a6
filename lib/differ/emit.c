/*
 * emit.c - the payload's own tables: one struct livepatch_func per patched
 * function (name string, new_addr, old_addr, sizes, expectation), then the file.
 *
 * This is also where the image has the last word: a patched function must exist
 * in the image under its runtime name, exactly once, and be large enough for the
 * jump the loader writes (5 bytes, 9 when it starts with ENDBR64).
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

int diff_emit(struct diff *d, const char *out)
{
    struct lpe_section *funcs = NULL, *strs = NULL;
    unsigned char *tab = NULL;
    char *strbuf = NULL;
    size_t nfuncs = 0, strlen_total = 0, i, k;
    int ret = -1;

    for (i = 1; i < d->patched->nr_symbols; i++)
        nfuncs += DS(d->patched->symbols[i])->patched;
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
    for (i = 1, k = 0; i < d->patched->nr_symbols; i++) {
        struct dsym *p = DS(d->patched->symbols[i]);
        const struct lpe_symbol *o = p->twin;
        char name[1024];
        size_t n;
        char *nb;

        if (!p->patched)
            continue;
        lpi_runtime_name(o->bind == STB_LOCAL ? o->file : NULL, o->name, name, sizeof(name));
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
        k++;
    }
    if (nfuncs) {
        strs = lpe_add_section(d->out, ".livepatch.strings", SHT_PROGBITS,
                               SHF_ALLOC | SHF_MERGE | SHF_STRINGS, 1, 1, strbuf, strlen_total,
                               d->err);
        if (!strs || !lpe_add_symbol(d->out, "", STB_LOCAL, STT_SECTION, strs, 0, 0, d->err))
            goto out;
    }
    for (i = 1, k = 0; i < d->patched->nr_symbols; i++) {
        struct dsym *p = DS(d->patched->symbols[i]);
        const struct lpe_symbol *o = p->twin;
        unsigned char *e, head[4] = { 0 };
        const struct lpi_symbol *is;
        struct lp_error lerr = { 0 };
        char name[1024];
        uint64_t name_off, min;
        size_t x;

        if (!p->patched)
            continue;
        e = tab + k * LIVEPATCH_FUNC_SIZE;
        memcpy(&name_off, e + LIVEPATCH_FUNC_OFF_NAME, 8);
        memset(e, 0, LIVEPATCH_FUNC_SIZE);
        lpi_runtime_name(o->bind == STB_LOCAL ? o->file : NULL, o->name, name, sizeof(name));
        is = lpi_lookup(d->image, name, &lerr);
        if (!is) {
            d->refused = true;
            diff_note(d, LPD_REFUSED, p->sym->name, "changed function %s (runtime name %s) %s",
                      p->sym->name, name,
                      lerr.code == LP_ERR_AMBIGUOUS
                          ? "is ambiguous in the image: two symbols have that name"
                          : "is not in the image");
            k++;
            continue;
        }
        lpi_read(d->image, is->addr, head, is->size >= 4 ? 4 : 0, NULL);
        min = LIVEPATCH_JMP_SIZE + (is->size >= 4 && livepatch_is_endbr(head) ? LIVEPATCH_ENDBR_SIZE : 0);
        if (is->size < min) {
            d->refused = true;
            diff_note(d, LPD_REFUSED, p->sym->name,
                      "changed function %s is %llu bytes in the image: too small for the "
                      "%llu-byte jump the loader writes%s", name, (unsigned long long)is->size,
                      (unsigned long long)min,
                      min > LIVEPATCH_JMP_SIZE ? " after its ENDBR64" : "");
            k++;
            continue;
        }
        put32(e + LIVEPATCH_FUNC_OFF_NEW_SIZE, (uint32_t)p->sym->sym.st_size);
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
                         R_X86_64_64, (int64_t)name_off, strs->secsym, d->err) ||
            lpe_add_rela(d->out, funcs, k * LIVEPATCH_FUNC_SIZE + LIVEPATCH_FUNC_OFF_NEW_ADDR,
                         R_X86_64_64, 0, p->out, d->err))
            goto out;
        k++;
    }
    if (d->refused) {
        ret = 0;
        goto out;
    }
    if (funcs && lpe_set_section_data(funcs, tab, nfuncs * LIVEPATCH_FUNC_SIZE, d->err))
        goto out;
    ret = lpe_write(d->out, out, d->err);
out:
    free(tab);
    free(strbuf);
    return ret;
}
