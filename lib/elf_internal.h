/* elf_internal.h - helpers shared by the ELF model's reader and writer; not public. */
#ifndef LIVEPATCH_ELF_INTERNAL_H
#define LIVEPATCH_ELF_INTERNAL_H

#include "livepatch/elf.h"

/* Grow *arr (of *cap elements of size elem) to hold at least need; zero-fills. */
int lpe_grow_array(void **arr, size_t *cap, size_t need, size_t elem);
struct lpe_object *lpe_alloc_object(const char *path, struct lp_error *err);
int lpe_index_section(struct lpe_object *obj, struct lpe_section *sec, struct lp_error *err);
int lpe_index_symbol(struct lpe_object *obj, struct lpe_symbol *sym, struct lp_error *err);
/* Rebuild every section's by_offset index and sort relocations by offset. */
int lpe_build_offset_index(struct lpe_object *obj, struct lp_error *err);

/*
 * A view of an ELF file for the image reader (image.c): the file is checked as
 * lpe_open_memory checks it, with the same messages, but only the headers and the
 * sections are kept, and nothing is copied:
 *   - section data points into buf (sections are `borrowed`), so buf must outlive the
 *     object and the bytes of a section are only touched when someone reads them;
 *   - no lpe_symbol is made: each .symtab entry is checked and handed to `fn` (the
 *     object's nr_symbols stays 1), with `name` and `file` pointing into buf;
 *   - relocation sections are checked, their entries are not kept.
 * `fn` returning non-zero (with err set) stops the read, which then fails.
 */
struct lpe_raw_symbol {
    size_t index, count;      /* .symtab index; number of entries in .symtab */
    const char *name;         /* checked: inside its string table, NUL-terminated */
    const char *file;         /* locals: the preceding STT_FILE symbol's name, else NULL */
    GElf_Sym sym;
    unsigned char bind, type;
};
typedef int (*lpe_symbol_fn)(void *ctx, const struct lpe_raw_symbol *s, struct lp_error *err);
int lpe_open_view(const void *buf, size_t len, const char *name, lpe_symbol_fn fn, void *ctx,
                  struct lpe_object **out, struct lp_error *err);

#endif
