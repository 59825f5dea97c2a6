/*
 * image.h - the target image as the hypervisor sees itself: its runtime symbol
 * table (locals named "<file>#<sym>" after the preceding STT_FILE, globals by
 * their plain name), sizes, GNU build id, and the map from virtual addresses to
 * file offsets given by the program headers.
 *
 * Not for: parsing payloads (elf.h) or deciding whether a patch applies (loader).
 */
#ifndef LIVEPATCH_IMAGE_H
#define LIVEPATCH_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "livepatch/elf.h"
#include "livepatch/error.h"

#define LPI_BUILD_ID_MAX 64

struct lpi_symbol {
    const char *name;       /* runtime name: "file#sym" for locals, "sym" for globals */
    const char *sym_name;   /* the plain symbol name */
    const char *file;       /* STT_FILE name for locals, NULL for globals */
    uint64_t addr, size;
    unsigned char type, bind;
    bool ambiguous;         /* another symbol has the same runtime name (lpi_symbol_at) */
    struct lpe_symbol *elf; /* the underlying symbol (lpi_from_elf only; NULL otherwise) */
};

struct lpi_backing;

struct lpi_image {
    /*
     * The file's headers and sections.  From lpi_open and lpi_open_memory it is a view
     * (see lib/elf_internal.h): section data points into the mapped file (read-only:
     * never write it) and it has no lpe_symbols (lpi_lookup and lpi_symbol_at read the
     * symbol table).
     */
    struct lpe_object *elf;
    unsigned char build_id[LPI_BUILD_ID_MAX];
    size_t build_id_len;    /* 0 when the image has no build id note */
    uint64_t text_start, text_end; /* lowest and highest address of executable segments */
    struct lpi_backing *backing;   /* private: the mapping, the symbol index, DWARF answers */
};

/*
 * Open an executable image with a symbol table (ET_EXEC or ET_DYN).  Fails when the
 * image has no .symtab (a stripped image cannot be patched against).
 *
 * The file is mapped, not read: opening checks it and notes which .symtab entries are
 * indexed (no name is copied or hashed), its build id and its program headers (see
 * lpi_lookup for the name index); a section's bytes are only paged in when read
 * (lpi_read), the DWARF only when lpi_struct_sizes asks.  The file
 * is checked as lpe_open checks any ELF file, with the same messages.
 */
int lpi_open(const char *path, struct lpi_image **out, struct lp_error *err);
void lpi_close(struct lpi_image *img);

/* The same from a buffer (copied once; `name` is used in messages). */
int lpi_open_memory(const void *buf, size_t len, const char *name, struct lpi_image **out,
                    struct lp_error *err);

/* The same from an already-read ELF object, which the image then owns (even on failure). */
int lpi_from_elf(struct lpe_object *elf, struct lpi_image **out, struct lp_error *err);

/*
 * Look a runtime name up.  Returns the symbol, or NULL with err set: LP_ERR_NOTFOUND,
 * LP_ERR_AMBIGUOUS when two symbols carry the name (same file, same local name), or
 * LP_ERR_NOMEM.  The first look-ups scan the symbol table, later ones go through a
 * name index made then (lpi_set_scan_limit); a symbol is made when first asked for and
 * lives as long as the image.
 */
const struct lpi_symbol *lpi_lookup(const struct lpi_image *img, const char *name,
                                    struct lp_error *err);

/*
 * The indexed symbols (every defined, named symbol but sections and files), in
 * .symtab order: how many, and the i-th (NULL when out of range or out of memory).
 */
size_t lpi_nr_symbols(const struct lpi_image *img);
const struct lpi_symbol *lpi_symbol_at(const struct lpi_image *img, size_t i);

/*
 * How many look-ups are answered by a pass over the symbol table before the name index
 * is made (default 8: a pass costs a twentieth of the index).  Answers are the same
 * either way; the tests hold the two to each other (0: the index at once).
 */
void lpi_set_scan_limit(struct lpi_image *img, size_t n);

/* The runtime name for a symbol `sym` of file `file` (NULL for a global) into buf. */
const char *lpi_runtime_name(const char *file, const char *sym, char *buf, size_t size);

/*
 * Translate [vaddr, vaddr+len) to a file offset through the PT_LOAD segments; fails
 * when the range is not wholly backed by file bytes of one segment.
 */
int lpi_vaddr_to_offset(const struct lpi_image *img, uint64_t vaddr, uint64_t len,
                        uint64_t *offset, struct lp_error *err);

/*
 * Copy len bytes of the image at virtual address vaddr (from the allocated section
 * holding it; NOBITS reads as zeros).  Fails when no section holds the whole range.
 */
int lpi_read(const struct lpi_image *img, uint64_t vaddr, void *buf, size_t len,
             struct lp_error *err);

/*
 * The byte sizes of the named complete struct types in the image's DWARF (a DIE that
 * only declares the type does not count): sizes[i] is set where it is 0 and the type
 * is found.  Returns how many were set; an image without DWARF sets none.  The debug
 * information is read on first use, only until the types are found, and the answers
 * are kept: asking again (for the next object pair) reads nothing.
 */
int lpi_struct_sizes(struct lpi_image *img, const char *const *names, size_t *sizes, size_t n);

/* Read the GNU build id of any ELF object (from a note section or PT_NOTE segment). */
int lpe_build_id(const struct lpe_object *obj, const unsigned char **id, size_t *len,
                 struct lp_error *err);

#endif
