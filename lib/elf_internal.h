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

#endif
