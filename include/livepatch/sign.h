/*
 * sign.h - signed payloads: the ELF note `.note.Xen.signature` proposed for Xen
 * (note type 1, descriptor = the raw RSA signature) and the earlier form XenServer
 * ships (note type 0, descriptor = an 8-byte header, then the signature).
 *
 * What is signed is the whole payload file with the note's descriptor bytes read as
 * zeroes: RSA PKCS#1 v1.5 over its SHA-256 digest, exactly what
 * `openssl dgst -sha256 -sign KEY` computes over that zeroed file.  All cryptography
 * is OpenSSL's libcrypto; this module only lays the note out, hashes and asks
 * libcrypto to sign or verify.
 *
 * Inserting a signature changes only what it must (see docs/signing.md): the ELF
 * header's e_shoff/e_shnum, the section name table (the name appended when absent),
 * the section header table (one entry added) and the note itself, all written after
 * the last byte of every other section, which stay byte-identical at their offsets.
 * Re-signing with a signature of the same size rewrites the note in place.
 *
 * Library code: never prints or exits; failures come back in an lp_error.
 */
#ifndef LIVEPATCH_SIGN_H
#define LIVEPATCH_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "livepatch/error.h"

#define LPS_SEC_SIGNATURE   ".note.Xen.signature"
#define LPS_NOTE_NAME       "Xen"          /* namesz 4, with its NUL */
#define LPS_NOTE_NAMESZ     4
#define LPS_NOTE_HDR_SIZE   16             /* namesz, descsz, type, "Xen\0" */
#define LPS_NOTE_MAX        1024           /* the whole note stays within 1 KiB */
#define LPS_DESC_MAX        (LPS_NOTE_MAX - LPS_NOTE_HDR_SIZE)

/* Note type bits of the current form: 0-15 version, 16-23 algorithm, 24-31 hash. */
#define LPS_TYPE_VERSION(t)   ((unsigned)((t) & 0xffffu))
#define LPS_TYPE_ALGORITHM(t) ((unsigned)(((t) >> 16) & 0xffu))
#define LPS_TYPE_HASH(t)      ((unsigned)(((t) >> 24) & 0xffu))
#define LPS_ALG_RSA           0
#define LPS_HASH_SHA256       0
#define LPS_TYPE_CURRENT      0x00000001u  /* version 1, RSA, SHA-256 */
#define LPS_TYPE_XENSERVER    0x00000000u

/* The XenServer descriptor header: { u16 version = 1; u8 algorithm; u8 hash; u32 sig_len }. */
#define LPS_XS_HDR_SIZE       8
#define LPS_XS_VERSION        1

#define LPS_DIGEST_SIZE       32           /* SHA-256 */

enum lps_format {
    LPS_FORMAT_NONE = 0,     /* unsigned */
    LPS_FORMAT_CURRENT,      /* note type 1, descriptor = signature */
    LPS_FORMAT_XENSERVER,    /* note type 0, descriptor = header + signature */
};

/* Where a payload's signature lies in the file. */
struct lps_sig {
    enum lps_format format;  /* LPS_FORMAT_NONE: unsigned, the rest is 0 */
    size_t section;          /* section header index of .note.Xen.signature */
    uint64_t sec_offset;     /* the note section's bytes in the file */
    uint64_t sec_size;
    uint32_t note_type;
    uint64_t desc_offset;    /* file offset of the descriptor: the bytes zeroed for the digest */
    uint32_t desc_size;
    uint64_t sig_offset;     /* the RSA signature (desc_offset, or + 8 for XenServer's) */
    uint32_t sig_size;       /* bytes: the signing key's modulus size */
};

/* "current", "xenserver" or "none". */
const char *lps_format_name(enum lps_format f);

/* Parse "current" / "xenserver"; returns 0 and sets *f, or -1. */
int lps_parse_format(const char *s, enum lps_format *f);

/*
 * Find and check the signature note of a payload (buf, len; `name` for messages).
 * 0: *sig describes it (format NONE when there is none).  -1: err says what is wrong;
 * err->code is LP_ERR_FORMAT for a malformed note (section not SHT_NOTE, name not
 * "Xen", unknown type bits, empty or oversized descriptor, a bad XenServer header,
 * two signature notes) and LP_ERR_INVALID when the ELF structure itself cannot be
 * read (not ELF64, section table out of the file...).
 */
int lps_find(const void *buf, size_t len, const char *name, struct lps_sig *sig,
             struct lp_error *err);

/* SHA-256 of buf with sig's descriptor read as zeroes (unsigned: of buf as it is). */
int lps_digest(const void *buf, size_t len, const struct lps_sig *sig,
               unsigned char out[LPS_DIGEST_SIZE], struct lp_error *err);

/*
 * The payload laid out with a signature note of format `fmt` for a sig_size-byte
 * signature, its descriptor all zeroes: exactly the bytes that are signed.  An
 * existing signature note is replaced (in place when the new note has its size).
 * *out is malloc'd (free it); *sig describes the new note.
 */
int lps_prepare(const void *buf, size_t len, const char *name, enum lps_format fmt,
                size_t sig_size, unsigned char **out, size_t *out_len, struct lps_sig *sig,
                struct lp_error *err);

/* Write the descriptor of a prepared payload: the header (XenServer form) and the
 * signature, whose length must be sig->sig_size. */
int lps_fill(unsigned char *buf, size_t len, const struct lps_sig *sig,
             const unsigned char *signature, size_t sig_len, struct lp_error *err);

/* --- keys (RSA only, PEM) ------------------------------------------------------------- */

struct lps_key;

/*
 * Read a PEM key.  private_key: a private key to sign with (an encrypted one is
 * refused: no passphrase is ever asked for).  Otherwise a public key ("PUBLIC KEY"),
 * or a private key file whose public half is used.
 */
int lps_key_load(const char *path, bool private_key, struct lps_key **out,
                 struct lp_error *err);
void lps_key_free(struct lps_key *k);
unsigned lps_key_bits(const struct lps_key *k);   /* modulus size in bits */
size_t lps_key_sig_size(const struct lps_key *k); /* signature size in bytes */
const char *lps_key_path(const struct lps_key *k);

/* RSA PKCS#1 v1.5 with SHA-256 over a digest (libcrypto's EVP_PKEY_sign/verify). */
int lps_rsa_sign(const struct lps_key *k, const unsigned char digest[LPS_DIGEST_SIZE],
                 unsigned char *sig, size_t sig_cap, size_t *sig_len, struct lp_error *err);
bool lps_rsa_verify(const struct lps_key *k, const unsigned char digest[LPS_DIGEST_SIZE],
                    const unsigned char *sig, size_t sig_len);

/* --- whole operations ------------------------------------------------------------------ */

/* Sign a payload with a private key: prepare, digest, sign, fill, verify back. */
int lps_sign(const void *buf, size_t len, const char *name, const struct lps_key *key,
             enum lps_format fmt, unsigned char **out, size_t *out_len, struct lps_sig *sig,
             struct lp_error *err);

/* Insert a detached signature made elsewhere (an HSM): prepare for its size, fill. */
int lps_insert(const void *buf, size_t len, const char *name, enum lps_format fmt,
               const unsigned char *signature, size_t sig_len, unsigned char **out,
               size_t *out_len, struct lps_sig *sig, struct lp_error *err);

enum lps_status {
    LPS_VERIFIED = 0,   /* a given key verifies it (*by says which) */
    LPS_SIGNED,         /* signed and well-formed; no key was given */
    LPS_UNSIGNED,       /* no signature note */
    LPS_REJECTED,       /* signed, but no given key verifies it: wrong key or changed bytes */
    LPS_MALFORMED,      /* the signature note breaks the format (err says how) */
    LPS_UNREADABLE,     /* the ELF structure cannot be read to look for the note */
    LPS_FAILED,         /* could not check (memory, libcrypto): err says why */
};

/*
 * Find the signature and verify it against keys[0..nr_keys) (either form).  *sig is
 * filled whenever the note could be read; *by is the index of the key that verified
 * it.  err carries the message of every status but VERIFIED, SIGNED and UNSIGNED.
 */
enum lps_status lps_verify(const void *buf, size_t len, const char *name,
                           struct lps_key *const *keys, size_t nr_keys, struct lps_sig *sig,
                           size_t *by, struct lp_error *err);

#endif
