/*
 * differ.h - the differ behind create-diff-object: from the original and the
 * patched object of one translation unit and the target image, build the payload
 * object for that unit.
 *
 * The work is a list of named passes (lib/differ/, in this order): correlate the two
 * objects, fingerprint and compare every function and data object relocation-aware,
 * refuse new boot-time data, decide what the payload must carry, keep the
 * special-section entries of what it carries, carry the debug sections, check the
 * layouts of the types the carried code uses, and emit the object with its
 * .livepatch.funcs table.
 *
 * Not for: building trees or linking payloads (livepatch-build), or checking what a
 * hypervisor would accept (the loader).
 */
#ifndef LIVEPATCH_DIFFER_H
#define LIVEPATCH_DIFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "livepatch/error.h"

/* Outcomes, equal to create-diff-object's exit statuses. */
enum lpd_status {
    LPD_WRITTEN = 0,      /* a payload object was written */
    LPD_ERROR = 1,        /* tool error: unreadable input, I/O... */
    LPD_UNSUPPORTED = 2,  /* a difference a payload cannot carry */
    LPD_NO_CHANGE = 3,    /* nothing (patchable) differs */
};

struct lpd_options {
    bool resolve;          /* -r: write old_addr from the image instead of leaving it to the loader */
    FILE *log;             /* -d / --explain: per-function reasons go here (NULL: silent) */
    bool explain;          /* disassemble the first differing instruction of each changed function */
    /* Special-section entry sizes (0: from the environment, else the image's DWARF, else
     * payload.h; see livepatch/special.h). */
    size_t bug_frame_size, ex_table_size, altinstr_size;
    /* --allow-layout-change: reviewed types ("struct foo", or "foo" for any kind) whose
     * changed layout is a warning instead of a refusal; recorded in the output's
     * .livepatch.allowed_layout section. */
    const char *const *allow_layout;
    size_t nr_allow_layout;
    /* --dwarf-from SUFFIX: when an object has no DWARF (a tree built without -g), the
     * layout check reads it from OBJECT<SUFFIX>, the same unit compiled again with -g
     * (livepatch-build makes these "layout twins"); NULL: only the objects' own. */
    const char *dwarf_suffix;
};

/* What happened to one symbol, for reports (--json) and tests. */
enum lpd_item_kind {
    LPD_CHANGED_FUNC,     /* patched: gets a livepatch_func entry */
    LPD_NEW_FUNC,         /* carried: new code (incl. .cold/.part pieces of patched functions) */
    LPD_NEW_DATA,         /* carried: new variable or constant */
    LPD_IGNORED,          /* changed but left out (init code, ignored function/section) */
    LPD_REFUSED,          /* a change a payload cannot carry */
    LPD_WARNING,          /* carried, but a person should know (allowed layout change, no DWARF) */
    LPD_NOTE,             /* for the record (a layout change no carried code uses) */
};

struct lpd_item {
    enum lpd_item_kind kind;
    char *name;           /* symbol name in the patched object (renamed name for new locals) */
    char *reason;         /* why it is in this list */
};

struct lpd_result {
    enum lpd_status status;
    struct lpd_item *items;
    size_t nr_items;
    char *summary;        /* one line; for NO_CHANGE/UNSUPPORTED the message to show */
};

/*
 * Diff ORIG against PATCHED for IMAGE and, when something patchable changed,
 * write the payload object to OUT (atomically; nothing is written otherwise).
 * Returns the status; err holds the message for LPD_ERROR and LPD_UNSUPPORTED.
 */
enum lpd_status lpd_diff(const char *orig, const char *patched, const char *image,
                         const char *out, const struct lpd_options *opts,
                         struct lpd_result *res, struct lp_error *err);

/*
 * One image for many diffs (create-diff-object --pairs): the first diff that gets as
 * far as the image opens it, and every later one uses that index, or meets the same
 * error, at the same point a diff of its own would have: each pair's outcome and
 * messages are those of lpd_diff on that pair.  NULL on ENOMEM.
 */
struct lpd_image;
struct lpd_image *lpd_image_new(const char *path);
void lpd_image_free(struct lpd_image *img);

/* lpd_diff with a shared image. */
enum lpd_status lpd_diff_shared(const char *orig, const char *patched, struct lpd_image *img,
                                const char *out, const struct lpd_options *opts,
                                struct lpd_result *res, struct lp_error *err);

/* Free the lists in a result. */
void lpd_result_free(struct lpd_result *res);

/* Write a result as JSON to f. */
void lpd_result_json(const struct lpd_result *res, FILE *f);

#endif
