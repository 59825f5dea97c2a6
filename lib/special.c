/*
 * special.c - the table of special sections (see special.h): one row per table of
 * the hypervisor, read by the differ and the loader.
 */
#include <string.h>

#include "livepatch/payload.h"
#include "livepatch/special.h"

const struct lp_special lp_special_sections[LP_NR_SPECIAL] = {
    [LP_SPECIAL_BUG_FRAMES] = {
        .name = LIVEPATCH_SEC_BUG_FRAMES, .nr_numbered = LIVEPATCH_NR_BUG_FRAMES,
        .entry_size = LIVEPATCH_BUG_FRAME_SIZE, .size_env = "BUG_STRUCT_SIZE",
        .dwarf_struct = "bug_frame", .line_bits = true,
        .differ = LP_SPECIAL_KEEP_OWNED_ENTRIES, .loader = LP_SPECIAL_WHOLE_ENTRIES,
    },
    [LP_SPECIAL_EX_TABLE] = {
        .name = LIVEPATCH_SEC_EX_TABLE,
        .entry_size = LIVEPATCH_EX_TABLE_SIZE, .size_env = "EX_STRUCT_SIZE",
        .dwarf_struct = "exception_table_entry",
        .differ = LP_SPECIAL_KEEP_OWNED_ENTRIES, .loader = LP_SPECIAL_WHOLE_ENTRIES,
    },
    [LP_SPECIAL_ALTINSTR] = {
        .name = LIVEPATCH_SEC_ALTINSTR,
        .entry_size = LIVEPATCH_ALTINSTR_SIZE, .size_env = "ALT_STRUCT_SIZE",
        .dwarf_struct = "alt_instr",
        .differ = LP_SPECIAL_KEEP_OWNED_ENTRIES, .loader = LP_SPECIAL_WHOLE_ENTRIES,
    },
    [LP_SPECIAL_ALT_CALL_SITES] = {
        .name = LIVEPATCH_SEC_ALT_CALL_SITES,
        .entry_size = LIVEPATCH_ALT_CALL_SITE_SIZE,
        .differ = LP_SPECIAL_KEEP_OWNED_ENTRIES, .loader = LP_SPECIAL_WHOLE_ENTRIES,
    },
};

const struct lp_special *lp_special_find(const char *name)
{
    size_t i;

    for (i = 0; i < LP_NR_SPECIAL; i++) {
        const struct lp_special *sp = &lp_special_sections[i];
        if (sp->nr_numbered ? strncmp(name, sp->name, strlen(sp->name)) == 0
                            : strcmp(name, sp->name) == 0)
            return sp;
    }
    return NULL;
}

bool lp_special_loader_name(const struct lp_special *sp, const char *name)
{
    size_t n = strlen(sp->name);

    if (!sp->nr_numbered)
        return strcmp(name, sp->name) == 0;
    return strncmp(name, sp->name, n) == 0 && name[n] >= '0' &&
           name[n] < '0' + (int)sp->nr_numbered && !name[n + 1];
}
