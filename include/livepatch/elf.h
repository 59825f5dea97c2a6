/*
 * elf.h - the ELF object model every stage works on: one relocatable object or
 * executable image held as arrays of sections, symbols and RELA relocations,
 * indexed by name in hash tables, plus symbol-by-(section, offset) lookup.  The
 * same model builds new relocatable objects and writes them out atomically.
 *
 * Not for: deciding what a symbol means to the hypervisor (image.h) or what
 * changed between two objects (the differ).
 *
 * Ownership: the lpe_object owns every section, symbol, name and data buffer
 * reachable from it; lpe_close() frees them all.  Indices in the structures are
 * the ones of the file as read; lpe_write() renumbers.
 */
#ifndef LIVEPATCH_ELF_H
#define LIVEPATCH_ELF_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "livepatch/error.h"

struct lp_hash;
struct lpe_symbol;

struct lpe_rela {
    uint64_t offset;          /* within the relocated section */
    uint32_t type;            /* R_X86_64_* */
    int64_t addend;
    struct lpe_symbol *sym;   /* never NULL: symbol 0 is refused at read time */
};

struct lpe_section {
    size_t index;             /* section header index as read (0 for new ones until written) */
    char *name;
    GElf_Shdr sh;             /* sh_name/sh_offset/sh_link/sh_info are recomputed on write */
    unsigned char *data;      /* sh_size bytes; NULL for SHT_NOBITS */
    size_t size;              /* == sh.sh_size */

    /* For a relocated section: its SHT_RELA section.  For SHT_RELA: the base and entries. */
    struct lpe_section *rela;
    struct lpe_section *base;
    struct lpe_rela *relas;
    size_t nr_relas, cap_relas;

    struct lpe_symbol *secsym;        /* the STT_SECTION symbol, if any */
    struct lpe_symbol **by_offset;    /* defined non-section symbols, sorted by value (as
                                       * read: lpe_add_symbol does not add to it) */
    size_t nr_by_offset;

    /* Sections of the same name, in index order; the first of a chain (the one
     * lpe_find_section returns) also knows its last, so adding one is O(1). */
    struct lpe_section *next_same_name, *last_same_name;
    void *priv;                       /* free for the stage using the model */
    bool omit;                        /* lpe_write leaves it (and its relocations) out */
    bool borrowed;                    /* data points into a buffer the object does not own
                                       * (an image view, see image.h): never freed */
};

struct lpe_symbol {
    size_t index;             /* .symtab index as read */
    char *name;
    GElf_Sym sym;
    unsigned char bind, type; /* GELF_ST_BIND/TYPE of sym.st_info */
    struct lpe_section *sec;  /* NULL for undefined, absolute and common symbols */
    const char *file;         /* for locals: name of the preceding STT_FILE symbol, else NULL */
    struct lpe_symbol *next_same_name, *last_same_name; /* as for sections */
    void *priv;
    bool omit;                /* lpe_write leaves it out (it must not be referenced) */
};

struct lpe_object {
    char *path;
    GElf_Ehdr ehdr;
    struct lpe_section **sections;  /* sections[0] is NULL (the null section) */
    size_t nr_sections, cap_sections;
    struct lpe_symbol **symbols;    /* symbols[0] is NULL (the null symbol) */
    size_t nr_symbols, cap_symbols;
    GElf_Phdr *phdrs;
    size_t nr_phdrs;
    struct lpe_section *symtab;     /* the single SHT_SYMTAB, or NULL */
    struct lp_hash *sec_by_name;
    struct lp_hash *sym_by_name;
    size_t file_size;
};

/*
 * Read an ELF file (relocatable object or executable).  Checks every header,
 * offset, index and string reference against the file size; on failure returns
 * -1 with err naming the file and what is wrong, and *out untouched.
 */
int lpe_open(const char *path, struct lpe_object **out, struct lp_error *err);

/* The same, from a buffer (copied); `name` is used in messages. */
int lpe_open_memory(const void *buf, size_t len, const char *name,
                    struct lpe_object **out, struct lp_error *err);

/* Free an object and everything it owns.  NULL is fine. */
void lpe_close(struct lpe_object *obj);

/* First section / symbol with this name (walk next_same_name for the others), or NULL. */
struct lpe_section *lpe_find_section(const struct lpe_object *obj, const char *name);
struct lpe_symbol *lpe_find_symbol(const struct lpe_object *obj, const char *name);

/*
 * The symbol of `sec` covering `offset` (value <= offset < value + size, or
 * value == offset for a zero-sized symbol); prefers STT_FUNC/STT_OBJECT.  NULL if none.
 * Sees the symbols the object was read with (by_offset), not ones added since.
 */
struct lpe_symbol *lpe_symbol_at(const struct lpe_section *sec, uint64_t offset);

/* Is the symbol defined: in a section, or absolute (not undefined or common)? */
static inline bool lpe_sym_is_defined(const struct lpe_symbol *s)
{
    return s->sec != NULL || s->sym.st_shndx == SHN_ABS;
}

/* Relocations of `sec` whose offset lies in [start, end), as a sub-array.  Relies on them
 * being sorted by offset, as they are once read (lpe_add_rela appends in call order). */
struct lpe_rela *lpe_relas_in(const struct lpe_section *sec, uint64_t start, uint64_t end,
                              size_t *count);

/* --- building a new relocatable object ------------------------------------------ */

/* An empty ET_REL object with the class, data encoding and machine of `like` (may be NULL: x86-64). */
struct lpe_object *lpe_new_object(const struct lpe_object *like, struct lp_error *err);

/*
 * Append a section; `data` (size bytes, may be NULL for zero fill or SHT_NOBITS) is
 * copied.  sh_entsize and sh_addralign are taken from the arguments.  NULL on ENOMEM.
 */
struct lpe_section *lpe_add_section(struct lpe_object *obj, const char *name, uint32_t type,
                                    uint64_t flags, uint64_t align, uint64_t entsize,
                                    const void *data, size_t size, struct lp_error *err);

/* Grow or replace a section's contents (copied); keeps relocations. */
int lpe_set_section_data(struct lpe_section *sec, const void *data, size_t size,
                         struct lp_error *err);

/* Append a symbol; sec NULL means undefined (SHN_UNDEF).  The first STT_SECTION symbol of
 * a section becomes sec->secsym. */
struct lpe_symbol *lpe_add_symbol(struct lpe_object *obj, const char *name, unsigned bind,
                                  unsigned type, struct lpe_section *sec, uint64_t value,
                                  uint64_t size, struct lp_error *err);

/* Rename a symbol (the name is copied); keeps the name index up to date. */
int lpe_rename_symbol(struct lpe_object *obj, struct lpe_symbol *sym, const char *name,
                      struct lp_error *err);

/* Add a relocation to `sec`, creating its ".rela<name>" section on first use. */
int lpe_add_rela(struct lpe_object *obj, struct lpe_section *sec, uint64_t offset,
                 uint32_t type, int64_t addend, struct lpe_symbol *sym, struct lp_error *err);

/*
 * Write the object as ET_REL to `path`: symbol and string tables are rebuilt (locals
 * first, as ELF requires), RELA sections regenerated from their entries, and the file
 * is written to a temporary name and renamed, so `path` is either the complete new
 * file or untouched.  Output is a function of the model only (deterministic).
 */
int lpe_write(struct lpe_object *obj, const char *path, struct lp_error *err);

/* --- notes ------------------------------------------------------------------------ */

/*
 * Find the first note with owner "GNU" and type NT_GNU_BUILD_ID in a note section's
 * bytes; sets *desc and *len to its descriptor.  Returns 0, or -1 (err says why:
 * malformed note, or no build id).
 */
int lpe_note_build_id(const unsigned char *data, size_t size, const char *where,
                      const unsigned char **desc, size_t *len, struct lp_error *err);

#endif
