/*
 * differ_internal.h - state shared by the differ passes in lib/differ.
 *
 * Each symbol of both objects gets a struct dsym in sym->priv, each section a
 * struct dsec in sec->priv (correlate.c makes them); the passes fill them in this
 * order (differ.c runs them):
 *   correlate.c  twin (the same symbol on the other side) by normalised name
 *   compare.c    fingerprint and status (same, changed, new)
 *   boot_data.c  new per-CPU variables and boot-time table entries (refused)
 *   include.c    what the payload carries, and how each reference is expressed
 *   special.c    the entries of .bug_frames/.ex_table/.altinstructions/... to keep
 *   debug.c      the unit's debug sections, minus references to what is not carried
 *   layout.c     changed type layouts the carried code uses (DWARF)
 *   emit.c       the output object and its .livepatch.funcs table
 * and every pass asks target.c what a relocation points at; names.c and report.c
 * (names, relocation types; notes and the log) serve them all.
 */
#ifndef LIVEPATCH_DIFFER_INTERNAL_H
#define LIVEPATCH_DIFFER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "livepatch/differ.h"
#include "livepatch/elf.h"
#include "livepatch/image.h"
#include "livepatch/special.h"

enum dstatus { ST_UNKNOWN, ST_SAME, ST_CHANGED, ST_NEW };

struct dsym {
    struct lpe_symbol *sym;
    struct lpe_symbol *twin;      /* counterpart in the other object */
    char *norm;                   /* normalised name (clone/static suffixes removed) */
    enum dstatus status;
    uint64_t fp;                  /* fingerprint: masked bytes + relocation targets */
    bool fp_done, fp_busy;
    bool included;                /* carried in the payload */
    bool patched;                 /* gets a livepatch_func entry */
    bool is_init;                 /* lives in init code/data */
    bool compiler_made;           /* name.N local the compiler invented (statics, __func__) */
    struct lpe_symbol *out;       /* symbol in the output object */
    struct lpe_section *out_sec;  /* section made for it in the output object */
    struct dsym *parent;          /* for foo.cold / foo.part.N: foo */
    unsigned ref_mark;            /* compare.c: == d->ref_mark when the function looked at
                                   * references it */
};

struct dsec {
    struct lpe_section *sec;
    struct lpe_section *out;      /* its copy, when carried whole (strings, hooks, fixups,
                                   * debug sections) */
    /* target.c: for each relocation of an executable section, end of its instruction
     * minus the field's offset (PC-relative ones only), decoded on first use. */
    signed char *pc_bias;
    bool pc_bias_done;
    bool pc_bias_clean;           /* (every field found in its instruction, nothing logged) */
    bool line_bits;               /* a bug frame table (livepatch/special.h): see diff_target */
};

struct diff {
    const struct lpd_options *opts;
    struct lpe_object *orig, *patched, *out;
    struct lpi_image *image;      /* from d->shared: opened once for every pair */
    struct lpd_image *shared;
    struct lpd_result *res;
    struct lp_error *err;
    struct dsym *osyms, *psyms;   /* arrays parallel to the objects' symbol arrays */
    struct dsec *osecs, *psecs;
    struct lp_hash *undef_out;    /* name -> undefined symbol in the output */
    char suffix[16];              /* ".lp_xxxxxxxx" appended to renamed new locals */
    size_t dwarf_sizes[LP_NR_SPECIAL]; /* special.c: by row of the table, from the image */
    size_t nr_changed, nr_init_changed;
    unsigned ref_mark;            /* compare.c: the last mark given (see struct dsym) */
    bool refused;
    /* Expectations declared with LIVEPATCH_EXPECT, by patched function. */
    struct expect { struct lpe_symbol *func; uint8_t len; uint8_t data[31]; } *expects;
    size_t nr_expects;
};

static inline struct dsym *DS(const struct lpe_symbol *s)
{
    return (struct dsym *)s->priv;
}

static inline struct dsec *DSEC(const struct lpe_section *s)
{
    return (struct dsec *)s->priv;
}

/* names.c */
char *diff_normalise(const char *name);
bool diff_is_compiler_made(const char *name);
bool diff_is_child_piece(const char *name);
bool diff_is_init_section(const char *name);
bool diff_is_special_section(const char *name);
bool diff_is_debug_section(const struct lpe_section *s);
bool diff_is_pc_relative(uint32_t type);
unsigned diff_reloc_width(uint32_t type);
const char *diff_reloc_name(uint32_t type);

/*
 * target.c: what a relocation of section `sec` points at, the one function every pass
 * asks (see the top of target.c for the rule).  With A' the relocation's addend minus
 * `extra` and bias = end of instruction - P for a PC-relative field in code (else 0):
 *   the place meant:  sec + off, off = S + A' + bias (S: the symbol's offset in sec)
 *   the target:       a named symbol itself; through a section symbol or label, the
 *                     function or object covering the place
 * and a relocation written in the output keeps the field's value with
 *   against sym:                  addend + extra
 *   against sec's section symbol: sec_addend + extra
 * The addends are sums modulo 2^64, as the relocation itself computes S + A (a hostile
 * object may give any value and addend: the sum is defined, diff_addend_add).  off is
 * not: a place whose sum does not fit in 64 bits is no place in sec, never one wrapped
 * back into it.
 */
struct diff_target {
    /* The function or object referred to: the relocation's own symbol when it names one
     * (externs, named symbols), else the one covering the target; NULL for a place that
     * no function or object covers. */
    struct lpe_symbol *sym;
    struct lpe_symbol *ref;       /* sym, or the relocation's own symbol when sym is NULL */
    int64_t addend;               /* S + A' as an addend against sym (against sec when sym is NULL) */
    int64_t bias;                 /* end of instruction - P, or 0 (see off) */
    /* The part of the addend that is no offset: the line-number bits of a bug frame
     * field (line_bits in livepatch/special.h), else 0.  Left out of every other field. */
    int64_t extra;
    /* The symbol is defined in a section (not undefined, absolute or common): */
    struct lpe_section *sec;      /* the section the target is in, else NULL */
    int64_t sec_addend;           /* S + A' as an addend against the start of sec */
    /* The place decided the target (a section symbol or a label): */
    bool via_section;
    /* The target's offset in sec, the byte meant: set when via_section, and for a named
     * symbol when asked for with DIFF_PLACE (it may decode the section's instructions,
     * which a named target does not otherwise need).  Negative is no place in sec:
     * before it, or INT64_MIN for S + A' + bias past 64 bits (DIFF_NO_PLACE). */
    int64_t off;
};
#define DIFF_NO_PLACE INT64_MIN
/* t's place in words, for the log and refusals: "sec+0x10", "sec-4", or "a place of sec
 * past 64 bits" for DIFF_NO_PLACE. */
void diff_place_words(const struct diff_target *t, char *buf, size_t size);

/* a + b modulo 2^64: a relocation's addend arithmetic, defined for any input. */
static inline int64_t diff_addend_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}
#define DIFF_PLACE 1u
void diff_resolve(struct diff *d, const struct lpe_section *sec, const struct lpe_rela *r,
                  unsigned want, struct diff_target *t);

/* diff_resolve's ref: the function or object a relocation points at, or its own symbol. */
static inline struct lpe_symbol *diff_rela_target(struct diff *d, const struct lpe_section *sec,
                                                  const struct lpe_rela *r)
{
    struct diff_target t;

    diff_resolve(d, sec, r, 0, &t);
    return t.ref;
}

/* compare.c (boot_data.c uses it too): bytes of [start, start+size) with relocation
 * fields zeroed (caller frees); NULL for bytes sec does not hold (.bss: callers take a
 * SHT_NOBITS symbol as zero without a copy). */
unsigned char *diff_masked_bytes(const struct lpe_section *sec, uint64_t start, uint64_t size);

/* report.c */
int diff_note(struct diff *d, enum lpd_item_kind kind, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void diff_log(struct diff *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diff_explain(struct diff *d, const struct lpe_symbol *o, const struct lpe_symbol *p);

/* The passes, in order. */
int diff_correlate(struct diff *d);
int diff_compare(struct diff *d);
/* boot_data.c: new per-CPU variables and new entries of boot-time tables (refused). */
int diff_boot_data(struct diff *d);
int diff_include(struct diff *d);
int diff_special(struct diff *d);
int diff_debug(struct diff *d);
/* layout.c: changed struct/union/enum/typedef layouts the carried code uses (DWARF). */
int diff_layout(struct diff *d);
int diff_emit(struct diff *d, const char *out);

/* include.c, used by special.c too: express a relocation of section sec of the patched
 * object in the output: the symbol to write it against and the addend that keeps the
 * field's value (see struct diff_target). */
int diff_map_rela(struct diff *d, const struct lpe_section *sec, const struct lpe_rela *r,
                  struct lpe_symbol **sym, int64_t *addend, const char *user);
/* include.c: carry a whole section (strings, hooks, fixup code) into the output. */
struct lpe_section *diff_carry_section(struct diff *d, struct lpe_section *src);
/* include.c: the output symbol standing for a symbol of the patched object. */
struct lpe_symbol *diff_map_symbol(struct diff *d, struct lpe_symbol *s, const char *user);
/* include.c: the output section made from [start, start+size) of src (bytes, flags,
 * alignment). */
struct lpe_section *diff_out_section(struct diff *d, struct lpe_section *src, uint64_t start,
                                     uint64_t size, const char *name);

#endif
