/*
 * special.c - the hypervisor's tables whose entries belong to functions: bug
 * frames, the exception table, alternatives and alternative-call sites (the rows
 * of livepatch/special.h, which the loader reads too).
 *
 * An object's table has entries for all of its functions; the payload must keep
 * exactly the entries of the functions it carries (the loader registers them for
 * the new code) and no others (they would point into code that is not there).
 * An entry belongs to the function its first field points at.  A row's entry size
 * is, first match wins: the lpd_options size, its variable in the environment
 * (BUG_STRUCT_SIZE / EX_STRUCT_SIZE / ALT_STRUCT_SIZE, as the upstream tool allows),
 * the size of its struct in the image's DWARF, then payload.h's; .alt_call_sites
 * entries are always payload.h's size.
 */
#include <stdlib.h>
#include <string.h>

#include "livepatch/payload.h"
#include "differ_internal.h"

/* The option first, then the environment (as upstream allows), then the image's DWARF,
 * then payload.h; the log says which. */
static size_t pick_size(struct diff *d, const char *table, const char *var, size_t opt,
                        size_t dwarf, size_t dflt)
{
    const char *v = getenv(var), *from = "payload.h default";
    size_t size = dflt;
    char *end;
    unsigned long n;

    if (opt) {
        size = opt;
        from = "option";
    } else if (v && *v && (n = strtoul(v, &end, 0)) > 0 && !*end && n < 4096) {
        size = n;
        from = var;
    } else if (dwarf) {
        size = dwarf;
        from = "image DWARF";
    }
    diff_log(d, "%s entry size %zu (%s)", table, size, from);
    return size;
}

/* The entry size the differ uses for a table of row sp called name. */
static size_t entry_size(struct diff *d, const struct lp_special *sp, const char *name)
{
    const size_t opt[LP_NR_SPECIAL] = {
        [LP_SPECIAL_BUG_FRAMES] = d->opts->bug_frame_size,
        [LP_SPECIAL_EX_TABLE] = d->opts->ex_table_size,
        [LP_SPECIAL_ALTINSTR] = d->opts->altinstr_size,
    };
    size_t row = (size_t)(sp - lp_special_sections);

    if (!sp->size_env)
        return sp->entry_size;
    return pick_size(d, name, sp->size_env, opt[row], d->dwarf_sizes[row], sp->entry_size);
}

/* The function an entry's first field points at, or NULL. */
static struct lpe_symbol *owner(struct diff *d, const struct lpe_section *s, uint64_t off)
{
    struct lpe_rela *r;
    struct lpe_symbol *t;
    size_t n;

    r = lpe_relas_in(s, off, off + 1, &n);
    if (!n)
        return NULL;
    t = diff_rela_target(d, s, r);
    return t->type == STT_FUNC ? t : NULL;
}

static int filter_table(struct diff *d, const struct lp_special *sp, struct lpe_section *s)
{
    size_t esize = entry_size(d, sp, s->name), nent, i, kept = 0;
    struct lpe_section *out = NULL;
    unsigned char *buf;

    if (!s->size || !s->data)
        return 0;
    /* The last entry may lack its trailing padding. */
    nent = (s->size + esize - 1) / esize;
    buf = calloc(nent, esize);
    if (!buf)
        return lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
    for (i = 0; i < nent; i++) {
        uint64_t off = i * esize, len = esize;
        struct lpe_symbol *f = owner(d, s, off);
        struct lpe_rela *r;
        size_t n, k;

        if (off + len > s->size)
            len = s->size - off;
        if (!f || !DS(f)->included)
            continue;
        memcpy(buf + kept * esize, s->data + off, len);
        if (!out) {
            out = diff_out_section(d, s, 0, 0, s->name);
            if (!out) {
                free(buf);
                return -1;
            }
        }
        r = lpe_relas_in(s, off, off + len, &n);
        for (k = 0; k < n; k++) {
            struct lpe_symbol *sym;
            int64_t addend;

            /* (a bug frame's line bits: diff_map_rela keeps them, see diff_target) */
            if (diff_map_rela(d, s, &r[k], &sym, &addend, f->name) ||
                lpe_add_rela(d->out, out, kept * esize + (r[k].offset - off), r[k].type,
                             addend, sym, d->err)) {
                free(buf);
                return -1;
            }
        }
        kept++;
        diff_log(d, "%s: keeping entry %zu (of %s)", s->name, i, f->name);
    }
    if (out && lpe_set_section_data(out, buf, kept * esize, d->err)) {
        free(buf);
        return -1;
    }
    free(buf);
    return 0;
}

int diff_special(struct diff *d)
{
    const char *structs[LP_NR_SPECIAL];
    size_t where[LP_NR_SPECIAL], sizes[LP_NR_SPECIAL] = { 0 }, nr_structs = 0, i, k;
    size_t nr = d->patched->nr_sections;

    /* The image's DWARF sizes of the tables' structs, read once when there is a table. */
    for (i = 1; i < nr; i++)
        if (diff_is_special_section(d->patched->sections[i]->name)) {
            for (k = 0; k < LP_NR_SPECIAL; k++)
                if (lp_special_sections[k].dwarf_struct) {
                    where[nr_structs] = k;
                    structs[nr_structs++] = lp_special_sections[k].dwarf_struct;
                }
            lpi_struct_sizes(d->image, structs, sizes, nr_structs);
            for (k = 0; k < nr_structs; k++)
                d->dwarf_sizes[where[k]] = sizes[k];
            break;
        }

    for (i = 1; i < nr; i++) {
        struct lpe_section *s = d->patched->sections[i];
        const struct lp_special *sp = lp_special_find(s->name);

        if (sp && sp->differ == LP_SPECIAL_KEEP_OWNED_ENTRIES && filter_table(d, sp, s))
            return -1;
    }
    return 0;
}
