/*
 * special.h - the hypervisor's tables whose entries belong to functions (bug frames,
 * the exception table, alternatives, alternative-call sites), described once for
 * every stage: the differ keeps the entries of the functions a payload carries
 * (lib/differ/special.c), the loader checks that each table holds whole entries
 * (lib/loader/check.c).  Names and default sizes are the ABI's (payload.h); the
 * table itself is in lib/special.c.
 */
#ifndef LIVEPATCH_SPECIAL_H
#define LIVEPATCH_SPECIAL_H

#include <stdbool.h>
#include <stddef.h>

/* What create-diff-object does with such a section of the patched object. */
enum lp_special_differ {
    /* Keep exactly the entries whose first field points into a carried function,
     * with their relocations (the others would point at code the payload lacks). */
    LP_SPECIAL_KEEP_OWNED_ENTRIES,
};

/* What the loader (and the hypervisor) checks of such a section in a payload. */
enum lp_special_loader {
    /* Its size is a whole number of entries of the hypervisor's entry size. */
    LP_SPECIAL_WHOLE_ENTRIES,
};

struct lp_special {
    const char *name;             /* the section's name, or the prefix of its names */
    /* For a prefix: the hypervisor looks up name0 .. name<n-1> only (one digit); the
     * differ treats every section that starts with the prefix.  0: an exact name. */
    unsigned nr_numbered;
    size_t entry_size;            /* in the hypervisor payload.h describes */
    /* How the differ may learn another entry size, first match wins: its options,
     * this environment variable (as upstream's tool allows), the size of this struct
     * in the image's DWARF; then entry_size.  NULL for both: always entry_size. */
    const char *size_env;
    const char *dwarf_struct;
    /* The 32-bit fields hold a 24-bit displacement with line-number bits added on top
     * (Xen's BUG_FRAME): the part above the displacement is not an offset and the
     * differ keeps it out of symbol lookups. */
    bool line_bits;
    enum lp_special_differ differ;
    enum lp_special_loader loader;
};

/* The rows, in a fixed order (the index of a row is stable: LP_SPECIAL_*). */
enum { LP_SPECIAL_BUG_FRAMES, LP_SPECIAL_EX_TABLE, LP_SPECIAL_ALTINSTR, LP_SPECIAL_ALT_CALL_SITES,
       LP_NR_SPECIAL };
extern const struct lp_special lp_special_sections[LP_NR_SPECIAL];

/* The row a section of this name belongs to (a prefix row: any name with the prefix),
 * or NULL. */
const struct lp_special *lp_special_find(const char *name);

/* Does the hypervisor look a section of this name up as row `sp` (for a prefix row,
 * only the numbered names)? */
bool lp_special_loader_name(const struct lp_special *sp, const char *name);

#endif
