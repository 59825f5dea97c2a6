/* loader_internal.h - helpers shared by the loader's files (lib/loader); not public. */
#ifndef LIVEPATCH_LOADER_INTERNAL_H
#define LIVEPATCH_LOADER_INTERNAL_H

#include "livepatch/loader.h"

#define LPL_PAGE 4096ull

/* verdict.c: record a refusal (first one wins); returns -1. */
int lpl_fail(struct lpl_verdict *v, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Where the next payload's segments start: after the image and the loaded payloads. */
uint64_t lpl_next_address(const struct lpi_image *img, struct lpl_payload *const *loaded,
                          size_t nr_loaded, uint64_t file_len);

/*
 * Lay the payload's loaded sections out from `base`: read-only and executable ones
 * in one segment (after `reserve` bytes kept for a program header table), writable
 * ones in the next page-aligned segment.
 */
int lpl_place_at(struct lpl_payload *p, uint64_t base, uint64_t reserve,
                 struct lpl_verdict *v);

/* lpl_place_at after the image and the loaded payloads (as an apply would). */
int lpl_place(struct lpl_payload *p, const struct lpi_image *img,
              struct lpl_payload *const *loaded, size_t nr_loaded, struct lpl_verdict *v);

/*
 * Copy the payload's loaded sections into win (its memory from text_base, zeroed by
 * the caller) and apply every relocation of a loaded section, as the hypervisor
 * does before it reads anything.  structural: leave relocations against undefined
 * symbols alone (no image to resolve them against).
 */
int lpl_load(struct lpl_payload *p, unsigned char *win, const struct lpi_image *img,
             struct lpl_payload *const *loaded, size_t nr_loaded, bool structural,
             struct lpl_verdict *v);

/* Read and check the function entries from the relocated memory lpl_load filled. */
int lpl_read_funcs(struct lpl_payload *p, const unsigned char *win, const struct lpi_image *img,
                   struct lpl_payload *const *loaded, size_t nr_loaded, bool structural,
                   struct lpl_verdict *v);

int lpl_symbol_address(const struct lpl_payload *p, const struct lpe_symbol *y,
                       const struct lpi_image *img, struct lpl_payload *const *loaded,
                       size_t nr_loaded, uint64_t *addr, struct lpl_verdict *v);

#endif
