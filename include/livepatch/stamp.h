/*
 * stamp.h - the last step of every payload: a linked payload object (ld -r
 * --build-id) gets its two dependency notes and .modinfo, loses the hook macros'
 * helper symbols, has .livepatch.funcs made read-only, is checked with the loader
 * exactly as the hypervisor would check it (after the payloads it stacks on), and
 * only then becomes the payload file, atomically.  livepatch-build, livepatch-tool
 * stamp and the test suites all stamp through this one module.
 */
#ifndef LIVEPATCH_STAMP_H
#define LIVEPATCH_STAMP_H

#include <stddef.h>

#include "livepatch/buildid.h"
#include "livepatch/error.h"

struct lp_stamp {
    const char *in;            /* the linked payload object; only read */
    const char *out;           /* the payload to write (appears only when all passed) */
    const char *work;          /* a folder for the temporary files of this step */
    const char *name;          /* the payload's name (messages, the loader's check) */
    const char *image;         /* the image the loader checks against; NULL: no loader
                                * check (test payloads the loader is meant to refuse) */
    const char *depends;       /* hex build id for .livepatch.depends */
    const char *xen_depends;   /* hex build id for .livepatch.xen_depends */
    const char *check_depends; /* NULL, or: check a copy that depends on this hex id */
    const char *const *chain;  /* payloads loaded before this one, in order */
    size_t nr_chain;
    const char *const *modinfo; /* "KEY=VALUE" entries of .modinfo, in order (none: a
                                 * .modinfo of the input is kept, none is added) */
    size_t nr_modinfo;
};

struct lp_stamp_result {
    char build_id[2 * LP_BUILDID_MAX + 1];  /* the payload's own id, in hex */
    char *facts;    /* malloc'd JSON members: "size", "functions_patched", "functions",
                     * "new_symbols" (livepatch-build --json); no trailing newline */
    char *warning;  /* malloc'd, or NULL: e.g. debug sections dropped to fit 2 MiB
                     * (one line, without a "warning: " prefix) */
};

#define LP_STAMP_REFUSED 3

/*
 * Stamp st->in into st->out.  Returns 0 when the payload is written (r filled in),
 * LP_STAMP_REFUSED when the loader refuses it (e->msg: the loader's reason, then
 * its errno name in parentheses), -1 on any other failure (e->msg), an output that
 * is the input, the image or a chain payload included (refused before any work).
 * Nothing is left at st->out unless 0 is returned, nor in st->work; st->in is never
 * changed.  r->warning may be set whatever is returned: show it, then call
 * lp_stamp_result_free() in every case.
 */
int lp_stamp_payload(const struct lp_stamp *st, struct lp_stamp_result *r, struct lp_error *e);
void lp_stamp_result_free(struct lp_stamp_result *r);

#endif
