/*
 * debug.c - carry the unit's debug sections so a payload can be debugged, keeping
 * only relocations whose targets the payload has: debug information describes the
 * whole unit, most of which the payload does not carry (those references are
 * dropped, not turned into references to the image).  Sections without a section
 * symbol, like binutils 2.40's .debug_aranges, need nothing special: relocations
 * are followed through whatever symbol they name.
 */
#include <string.h>

#include "differ_internal.h"

/* The output symbol and addend for a debug relocation of sec, or NULL to drop it. */
static struct lpe_symbol *debug_target(struct diff *d, const struct lpe_section *sec,
                                       const struct lpe_rela *r, int64_t *addend)
{
    struct diff_target t;

    diff_resolve(d, sec, r, 0, &t);
    *addend = diff_addend_add(t.addend, t.extra);
    if (!t.sec) /* an extern: debug information does not reach into the image */
        return NULL;
    if (t.via_section && DSEC(t.sec)->out) {
        *addend = diff_addend_add(t.sec_addend, t.extra);
        return DSEC(t.sec)->out->secsym;
    }
    return t.sym ? DS(t.sym)->out : NULL;
}

int diff_debug(struct diff *d)
{
    size_t i, j;

    /* First every debug section, so references between them resolve. */
    for (i = 1; i < d->patched->nr_sections; i++) {
        struct lpe_section *s = d->patched->sections[i];
        if (diff_is_debug_section(s) && !DSEC(s)->out &&
            !(DSEC(s)->out = diff_out_section(d, s, 0, s->size, s->name)))
            return -1;
    }
    for (i = 1; i < d->patched->nr_sections; i++) {
        struct lpe_section *s = d->patched->sections[i];
        size_t kept = 0, dropped = 0;

        if (!diff_is_debug_section(s) || !s->rela)
            continue;
        for (j = 0; j < s->rela->nr_relas; j++) {
            const struct lpe_rela *r = &s->rela->relas[j];
            int64_t addend;
            struct lpe_symbol *t = debug_target(d, s, r, &addend);

            if (!t) {
                dropped++;
                continue;
            }
            if (lpe_add_rela(d->out, DSEC(s)->out, r->offset, r->type, addend, t, d->err))
                return -1;
            kept++;
        }
        diff_log(d, "%s: %zu relocations kept, %zu to dropped code or data removed", s->name,
                 kept, dropped);
    }
    return 0;
}
