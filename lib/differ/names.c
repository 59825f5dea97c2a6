/*
 * names.c - what the differ reads from names: which suffixes gcc invents (and
 * renumbers between two builds), which sections hold init code, special tables
 * or debug information, and the relocation types it understands.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/special.h"
#include "differ_internal.h"

/*
 * gcc numbers what it invents: clones (foo.isra.0, foo.constprop.1, foo.part.0),
 * function-scope statics (count.3), __func__.5, and the numbers change whenever
 * another function of the unit changes.  Drop every ".<digits>" component so the
 * two builds' names meet.
 */
char *diff_normalise(const char *name)
{
    size_t n = strlen(name), i = 0, o = 0;
    char *out = malloc(n + 1);

    if (!out)
        return NULL;
    while (i < n) {
        if (name[i] == '.' && i + 1 < n && isdigit((unsigned char)name[i + 1])) {
            size_t j = i + 1;
            while (j < n && isdigit((unsigned char)name[j]))
                j++;
            if (j == n || name[j] == '.') {
                i = j;
                continue;
            }
        }
        out[o++] = name[i++];
    }
    out[o] = '\0';
    return out;
}

/* "name.N": a static local or __func__ the compiler named for us. */
bool diff_is_compiler_made(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (!dot || dot == name || !dot[1])
        return false;
    for (dot++; *dot; dot++)
        if (!isdigit((unsigned char)*dot))
            return false;
    return true;
}

/* foo.cold, foo.cold.N, foo.part.N: pieces gcc split out of foo. */
bool diff_is_child_piece(const char *name)
{
    return strstr(name, ".cold") != NULL || strstr(name, ".part.") != NULL;
}

bool diff_is_init_section(const char *name)
{
    return strncmp(name, ".init.", 6) == 0 || strcmp(name, ".init") == 0 ||
           strncmp(name, ".initcall", 9) == 0 || strncmp(name, ".exit.", 6) == 0;
}

/* Tables whose entries belong to functions (livepatch/special.h); special.c keeps the
 * entries of carried ones. */
bool diff_is_special_section(const char *name)
{
    const struct lp_special *sp = lp_special_find(name);

    return sp && sp->differ == LP_SPECIAL_KEEP_OWNED_ENTRIES;
}

bool diff_is_debug_section(const struct lpe_section *s)
{
    return !(s->sh.sh_flags & SHF_ALLOC) &&
           (strncmp(s->name, ".debug", 6) == 0 || strncmp(s->name, ".zdebug", 7) == 0);
}

bool diff_is_pc_relative(uint32_t type)
{
    return type == R_X86_64_PC32 || type == R_X86_64_PLT32 || type == R_X86_64_PC64 ||
           type == R_X86_64_GOTPCREL || type == R_X86_64_GOTPCRELX ||
           type == R_X86_64_REX_GOTPCRELX;
}

/* Bytes a relocation overwrites (masked out before comparing code). */
unsigned diff_reloc_width(uint32_t type)
{
    switch (type) {
    case R_X86_64_NONE:
        return 0;
    case R_X86_64_64:
    case R_X86_64_PC64:
        return 8;
    case R_X86_64_16:
    case R_X86_64_PC16:
        return 2;
    case R_X86_64_8:
    case R_X86_64_PC8:
        return 1;
    default:
        return 4;
    }
}

const char *diff_reloc_name(uint32_t type)
{
    static const char *const names[] = {
        [R_X86_64_NONE] = "R_X86_64_NONE", [R_X86_64_64] = "R_X86_64_64",
        [R_X86_64_PC32] = "R_X86_64_PC32", [R_X86_64_GOT32] = "R_X86_64_GOT32",
        [R_X86_64_PLT32] = "R_X86_64_PLT32", [R_X86_64_GOTPCREL] = "R_X86_64_GOTPCREL",
        [R_X86_64_32] = "R_X86_64_32", [R_X86_64_32S] = "R_X86_64_32S",
        [R_X86_64_16] = "R_X86_64_16", [R_X86_64_PC16] = "R_X86_64_PC16",
        [R_X86_64_8] = "R_X86_64_8", [R_X86_64_PC8] = "R_X86_64_PC8",
        [R_X86_64_TPOFF32] = "R_X86_64_TPOFF32", [R_X86_64_PC64] = "R_X86_64_PC64",
        [R_X86_64_GOTOFF64] = "R_X86_64_GOTOFF64", [R_X86_64_GOTPC32] = "R_X86_64_GOTPC32",
        [R_X86_64_GOTPCRELX] = "R_X86_64_GOTPCRELX",
        [R_X86_64_REX_GOTPCRELX] = "R_X86_64_REX_GOTPCRELX",
    };

    if (type < sizeof(names) / sizeof(names[0]) && names[type])
        return names[type];
    return "an unknown relocation type";
}
