/*
 * buildid.h - read the build id a hypervisor checks payloads against, from any
 * form the image ships in: an ELF file (xen-syms, the ELF32 `xen` wrapper, a
 * payload) through its GNU build-id note, a gzip'd ELF (xen.gz), or a PE image
 * (xen.efi) through its CodeView RSDS debug record; and build the ELF note bytes
 * that carry an id in a payload's .livepatch.depends / .livepatch.xen_depends.
 *
 * Not for: symbol tables or anything else about images (image.h).
 */
#ifndef LIVEPATCH_BUILDID_H
#define LIVEPATCH_BUILDID_H

#include <stddef.h>
#include <stdint.h>

#include "livepatch/error.h"

/* Longest id we handle: real ids are 16 (PE) or 20 (sha1) bytes, md5/uuid/sha256 fit too. */
#define LP_BUILDID_MAX 256

enum lp_buildid_source {
    LP_BUILDID_ELF,     /* NT_GNU_BUILD_ID note of an ELF file */
    LP_BUILDID_ELF_GZ,  /* the same, inside a gzip stream */
    LP_BUILDID_PE,      /* 16-byte signature of a CodeView RSDS record */
};

struct lp_buildid {
    unsigned char id[LP_BUILDID_MAX];
    size_t len;
    enum lp_buildid_source source;
};

/* Read the build id from a file in memory (ELF, gzip'd ELF or PE); name is for messages. */
int lp_buildid_from_buffer(const unsigned char *buf, size_t len, const char *name,
                           struct lp_buildid *out, struct lp_error *err);

/* Read the build id of the file at path. */
int lp_buildid_read(const char *path, struct lp_buildid *out, struct lp_error *err);

/*
 * Encode id as an ELF note (name "GNU", type NT_GNU_BUILD_ID) into out, which must
 * hold at least lp_buildid_note_size(len) bytes; returns the number of bytes written.
 */
size_t lp_buildid_note_size(size_t len);
size_t lp_buildid_note(const unsigned char *id, size_t len, unsigned char *out);

#endif
