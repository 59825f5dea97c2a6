/*
 * loader.h - the loader runtime: check payloads exactly as the hypervisor does
 * when they are uploaded and applied, and apply them to an image file.
 *
 * One loader, two back ends: lpl_check() is pure (buffers in, verdict out) and is
 * what livepatch-build runs before it writes a payload; lpl_image_* apply, revert
 * and replace payloads in an image file, recording the applied stack inside it.
 * Every refusal carries the errno the hypervisor would return (EINVAL,
 * EOPNOTSUPP, ENOENT, EEXIST, EOVERFLOW, ERANGE, ENODATA...).
 *
 * Not for: building payloads (differ.h).
 */
#ifndef LIVEPATCH_LOADER_H
#define LIVEPATCH_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "livepatch/elf.h"
#include "livepatch/error.h"
#include "livepatch/image.h"
#include "livepatch/payload.h"

#define LPL_ID_MAX 64

struct lpl_func {
    size_t index;               /* entry number in .livepatch.funcs */
    char *name;                 /* the string `name` points at after relocation; NULL when
                                 * there is none (legal when old_addr is set) */
    const char *old_sym;        /* symbol of the R_X86_64_64 on old_addr, if any */
    uint64_t old_addr;          /* old_addr after relocation, else `name` resolved */
    uint32_t old_size, new_size;
    struct lpe_section *new_sec;/* where new code lives in the payload (NULL: NOP mode) */
    uint64_t new_off;
    struct livepatch_expectation expect;
    bool endbr;                 /* the old function starts with ENDBR64 */
};

struct lpl_symbol {             /* a new symbol the payload brings */
    const char *name;
    struct lpe_section *sec;
    uint64_t value;
};

struct lpl_payload {
    char *name;                 /* from .modinfo "name=", else the file's base name without
                                 * its extension (what xen-livepatch uploads it as) */
    struct lpe_object *elf;
    unsigned char id[LPL_ID_MAX], depends[LPL_ID_MAX], xen_depends[LPL_ID_MAX];
    size_t id_len, depends_len, xen_depends_len;
    struct lpl_func *funcs;
    size_t nr_funcs;
    struct lpl_symbol *syms;
    size_t nr_syms;
    struct lp_hash *sym_index;  /* name -> struct lpl_symbol, for payloads loaded after */
    unsigned hooks;             /* bit per hook section present (LPL_HOOK_*) */
    char **modinfo;             /* "key=value" strings */
    size_t nr_modinfo;
    size_t nr_relas;
    /* Placement (filled by lpl_place): address of each section (0: not loaded). */
    uint64_t *addr;
    uint64_t text_base, text_size, rw_base, rw_size; /* the two segments */
};

enum {
    LPL_HOOK_LOAD = 1 << 0, LPL_HOOK_UNLOAD = 1 << 1, LPL_HOOK_PREAPPLY = 1 << 2,
    LPL_HOOK_APPLY = 1 << 3, LPL_HOOK_POSTAPPLY = 1 << 4, LPL_HOOK_PREREVERT = 1 << 5,
    LPL_HOOK_REVERT = 1 << 6, LPL_HOOK_POSTREVERT = 1 << 7,
};

/* The errno-style verdict of a check: 0 or a positive errno value; message in err. */
struct lpl_verdict {
    int errnum;
    struct lp_error err;
};

/*
 * Run every upload-time check of the hypervisor on one payload (buf, len; `name`
 * for messages) against img, with `loaded` the payloads already loaded (for symbol
 * resolution and duplicates).  Placement is computed as lpl_image_apply would do it
 * (after `loaded`) so relocation overflows are found too.  On success *out is the
 * parsed payload (free with lpl_payload_free); on failure v->errnum says why.
 */
int lpl_check(const void *buf, size_t len, const char *name, const struct lpi_image *img,
              struct lpl_payload *const *loaded, size_t nr_loaded, struct lpl_payload **out,
              struct lpl_verdict *v);

/*
 * Parse a payload and run only the checks that need no image (structure, notes,
 * entries, relocation types, hooks, special sections), for describing it.  `img`
 * only needs elf (for placement) and may have no symbols.  On a refusal *out is
 * still what could be read before it (free it), or NULL when nothing could.
 */
int lpl_info(const void *buf, size_t len, const char *name, const struct lpi_image *img,
             struct lpl_payload **out, struct lpl_verdict *v);

void lpl_payload_free(struct lpl_payload *p);

/* The build id a payload must depend on to stack after `top` (NULL: on the image). */
bool lpl_depends_ok(const struct lpl_payload *p, const struct lpl_payload *top,
                    const struct lpi_image *img);

/*
 * What the hypervisor checks when it is asked to apply a loaded payload: its
 * .livepatch.depends names `top` (NULL: the image), and every enabled expectation
 * is valid and matches the image's bytes.
 */
int lpl_apply_checks(const struct lpl_payload *p, const struct lpl_payload *top,
                     const struct lpi_image *img, struct lpl_verdict *v);

/* A function entry's name for messages: its name, else "entry N" (in buf). */
const char *lpl_func_label(const struct lpl_func *f, char *buf, size_t size);

/*
 * lpl_check for a payload loaded on top of loaded[0..nr_loaded): every upload check,
 * then its .livepatch.depends must name the top payload (or, with none, the image),
 * as the hypervisor demands before applying it.
 */
int lpl_check_stacked(const void *buf, size_t len, const char *name,
                      const struct lpi_image *img, struct lpl_payload *const *loaded,
                      size_t nr_loaded, struct lpl_payload **out, struct lpl_verdict *v);

/* Name of an errno value as the hypervisor's tools print it ("EINVAL"). */
const char *lpl_errno_name(int errnum);

/* --- offline application to an image file ------------------------------------------ */

struct lpl_stack;  /* what an image records as applied */

/*
 * Open an image file for offline patching: its bytes, its runtime symbols and the
 * stack of payloads already applied to it (recorded by earlier lpl_image_write()).
 */
int lpl_image_open(const char *path, struct lpl_stack **out, struct lpl_verdict *v);
void lpl_image_close(struct lpl_stack *st);

/* The applied payloads, bottom first. */
size_t lpl_stack_size(const struct lpl_stack *st);
const struct lpl_payload *lpl_stack_at(const struct lpl_stack *st, size_t i);
const struct lpi_image *lpl_stack_image(const struct lpl_stack *st);

/*
 * Apply a payload on top of the stack: check it, check its dependency on the top
 * (or the image), place it in new loadable segments, relocate, check
 * expectations, write the trampolines and remember the undo bytes.
 * skip_hooks: allow payloads with hooks (which cannot run offline).
 */
int lpl_image_apply(struct lpl_stack *st, const void *buf, size_t len, const char *name,
                    bool skip_hooks, struct lpl_verdict *v);

/* Revert the top payload: the image returns to its exact bytes before that apply. */
int lpl_image_revert(struct lpl_stack *st, struct lpl_verdict *v);

/* Revert every applied payload, then apply this one (which must depend on the image). */
int lpl_image_replace(struct lpl_stack *st, const void *buf, size_t len, const char *name,
                      bool skip_hooks, struct lpl_verdict *v);

/* Write the image with its stack record to path (atomically; mode of an executable). */
int lpl_image_write(struct lpl_stack *st, const char *path, struct lpl_verdict *v);

#endif
