/*
 * sign.c - the signature note of a payload: find and check it, lay it out in a
 * payload, hash the file with its descriptor zeroed, sign and verify through
 * OpenSSL's libcrypto (see include/livepatch/sign.h, docs/signing.md).
 *
 * The ELF is read raw (bounds-checked copies of the header and section table),
 * as the hypervisor would, so a signature can be checked before anything else
 * interprets the payload, and inserted without rewriting the rest of the file.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "livepatch/sign.h"

struct lps_key {
    EVP_PKEY *pkey;
    char *path;
};

const char *lps_format_name(enum lps_format f)
{
    switch (f) {
    case LPS_FORMAT_CURRENT: return "current";
    case LPS_FORMAT_XENSERVER: return "xenserver";
    case LPS_FORMAT_NONE: break;
    }
    return "none";
}

int lps_parse_format(const char *s, enum lps_format *f)
{
    if (!strcmp(s, "current"))
        *f = LPS_FORMAT_CURRENT;
    else if (!strcmp(s, "xenserver"))
        *f = LPS_FORMAT_XENSERVER;
    else
        return -1;
    return 0;
}

/* The last libcrypto error as text (and the queue emptied). */
static const char *crypto_error(char *buf, size_t size)
{
    unsigned long e = ERR_peek_last_error();

    if (e)
        ERR_error_string_n(e, buf, size);
    else
        snprintf(buf, size, "unknown libcrypto error");
    ERR_clear_error();
    return buf;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return a > 1 ? (v + a - 1) / a * a : v;
}

/* --- the raw ELF: header and section table, copied out of the buffer -------------------- */

struct raw {
    const unsigned char *b;
    size_t len;
    Elf64_Ehdr eh;
    Elf64_Shdr *sh;          /* eh.e_shnum copies */
    size_t shnum;
    const char *shstr;       /* the section name table's bytes */
    size_t shstr_size;
};

static int raw_open(struct raw *r, const void *buf, size_t len, const char *name,
                    struct lp_error *err)
{
    const Elf64_Shdr *st;
    size_t i;

    memset(r, 0, sizeof(*r));
    r->b = buf;
    r->len = len;
    if (len < sizeof(Elf64_Ehdr) || memcmp(buf, ELFMAG, SELFMAG))
        return lp_error_set(err, LP_ERR_INVALID, "%s: not an ELF file", name);
    memcpy(&r->eh, buf, sizeof(r->eh));
    if (r->eh.e_ident[EI_CLASS] != ELFCLASS64 || r->eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        r->eh.e_type != ET_REL)
        return lp_error_set(err, LP_ERR_INVALID, "%s: not a 64-bit little-endian relocatable "
                            "object", name);
    if (r->eh.e_shentsize != sizeof(Elf64_Shdr) || !r->eh.e_shnum ||
        r->eh.e_shnum >= SHN_LORESERVE || r->eh.e_shoff > len ||
        (uint64_t)r->eh.e_shnum * sizeof(Elf64_Shdr) > len - r->eh.e_shoff)
        return lp_error_set(err, LP_ERR_INVALID, "%s: section table missing or past the end of "
                            "the file", name);
    if (!r->eh.e_shstrndx || r->eh.e_shstrndx >= r->eh.e_shnum)
        return lp_error_set(err, LP_ERR_INVALID, "%s: no section name table", name);
    r->shnum = r->eh.e_shnum;
    r->sh = malloc(r->shnum * sizeof(*r->sh));
    if (!r->sh)
        return lp_error_set(err, LP_ERR_NOMEM, "out of memory");
    memcpy(r->sh, r->b + r->eh.e_shoff, r->shnum * sizeof(*r->sh));
    for (i = 1; i < r->shnum; i++)
        if (r->sh[i].sh_type != SHT_NOBITS &&
            (r->sh[i].sh_offset > len || r->sh[i].sh_size > len - r->sh[i].sh_offset))
            return lp_error_set(err, LP_ERR_INVALID, "%s: section %zu: data past the end of the "
                                "file", name, i);
    st = &r->sh[r->eh.e_shstrndx];
    if (st->sh_type != SHT_STRTAB || !st->sh_size)
        return lp_error_set(err, LP_ERR_INVALID, "%s: section name table is not a string table",
                            name);
    r->shstr = (const char *)r->b + st->sh_offset;
    r->shstr_size = st->sh_size;
    return 0;
}

static void raw_close(struct raw *r)
{
    free(r->sh);
    r->sh = NULL;
}

static bool raw_is(const struct raw *r, size_t i, const char *want)
{
    size_t n = strlen(want);
    uint32_t off = r->sh[i].sh_name;

    return off < r->shstr_size && r->shstr_size - off > n && !memcmp(r->shstr + off, want, n + 1);
}

/* The signature sections: the first in *k (0: none), their number returned. */
static size_t raw_find_sig(const struct raw *r, size_t *k, size_t *second)
{
    size_t i, n = 0;

    *k = *second = 0;
    for (i = 1; i < r->shnum; i++)
        if (raw_is(r, i, LPS_SEC_SIGNATURE)) {
            if (!n)
                *k = i;
            else if (n == 1)
                *second = i;
            n++;
        }
    return n;
}

/* --- finding and checking the note ---------------------------------------------------- */

/* prepared: the descriptor is still all zeroes (XenServer's header not written yet). */
static int check_note(const struct raw *r, size_t k, const char *name, bool prepared,
                      struct lps_sig *sig, struct lp_error *err)
{
    const Elf64_Shdr *s = &r->sh[k];
    const unsigned char *d;
    uint32_t namesz, descsz, type;
    uint64_t note_size;

    memset(sig, 0, sizeof(*sig));
    if (s->sh_type != SHT_NOTE)
        return lp_error_set(err, LP_ERR_FORMAT, "%s: %s: section type %u, not SHT_NOTE", name,
                            LPS_SEC_SIGNATURE, s->sh_type);
    /* Only now: a SHT_NOBITS section's offset is not checked against the file (raw_open). */
    d = r->b + s->sh_offset;
    if (s->sh_size < LPS_NOTE_HDR_SIZE)
        return lp_error_set(err, LP_ERR_FORMAT, "%s: %s: %llu bytes is too short for a note",
                            name, LPS_SEC_SIGNATURE, (unsigned long long)s->sh_size);
    namesz = get32(d);
    descsz = get32(d + 4);
    type = get32(d + 8);
    if (namesz != LPS_NOTE_NAMESZ || memcmp(d + 12, LPS_NOTE_NAME, LPS_NOTE_NAMESZ))
        return lp_error_set(err, LP_ERR_FORMAT, "%s: %s: note name is not \"%s\"", name,
                            LPS_SEC_SIGNATURE, LPS_NOTE_NAME);
    if (!descsz)
        return lp_error_set(err, LP_ERR_FORMAT, "%s: %s: empty descriptor (no signature)",
                            name, LPS_SEC_SIGNATURE);
    if (descsz > LPS_DESC_MAX)
        return lp_error_set(err, LP_ERR_FORMAT, "%s: %s: descriptor of %u bytes is larger than "
                            "%u (the note must stay within %u bytes)", name, LPS_SEC_SIGNATURE,
                            descsz, LPS_DESC_MAX, LPS_NOTE_MAX);
    note_size = LPS_NOTE_HDR_SIZE + align_up(descsz, 4);
    if (s->sh_size < note_size)
        return lp_error_set(err, LP_ERR_FORMAT, "%s: %s: descriptor of %u bytes runs past the "
                            "%llu-byte section", name, LPS_SEC_SIGNATURE, descsz,
                            (unsigned long long)s->sh_size);
    if (s->sh_size > note_size)
        return lp_error_set(err, LP_ERR_FORMAT, s->sh_size - note_size >= 12
                            ? "%s: %s: two signature notes (a second one after the first, "
                              "%llu bytes more)"
                            : "%s: %s: %llu stray bytes after the note", name,
                            LPS_SEC_SIGNATURE, (unsigned long long)(s->sh_size - note_size));
    sig->section = k;
    sig->sec_offset = s->sh_offset;
    sig->sec_size = s->sh_size;
    sig->note_type = type;
    sig->desc_offset = s->sh_offset + LPS_NOTE_HDR_SIZE;
    sig->desc_size = descsz;
    if (type == LPS_TYPE_CURRENT) {
        sig->format = LPS_FORMAT_CURRENT;
        sig->sig_offset = sig->desc_offset;
        sig->sig_size = descsz;
        return 0;
    }
    if (type == LPS_TYPE_XENSERVER) {
        const unsigned char *h = d + LPS_NOTE_HDR_SIZE;
        unsigned version = (unsigned)h[0] | (unsigned)h[1] << 8;
        uint32_t sl;

        if (descsz <= LPS_XS_HDR_SIZE)
            return lp_error_set(err, LP_ERR_FORMAT, "%s: %s: XenServer form (note type 0) with "
                                "a %u-byte descriptor: no room for its %d-byte header and a "
                                "signature", name, LPS_SEC_SIGNATURE, descsz, LPS_XS_HDR_SIZE);
        sl = get32(h + 4);
        if (prepared && !version && !h[2] && !h[3] && !sl) {
            version = LPS_XS_VERSION;
            sl = descsz - LPS_XS_HDR_SIZE;
        }
        if (version != LPS_XS_VERSION || h[2] != LPS_ALG_RSA || h[3] != LPS_HASH_SHA256)
            return lp_error_set(err, LP_ERR_FORMAT, "%s: %s: XenServer header version %u, "
                                "algorithm %u, hash %u (only version 1, RSA 0, SHA-256 0)",
                                name, LPS_SEC_SIGNATURE, version, h[2], h[3]);
        if (sl != descsz - LPS_XS_HDR_SIZE)
            return lp_error_set(err, LP_ERR_FORMAT, "%s: %s: XenServer header says %u signature "
                                "bytes, the descriptor holds %u", name, LPS_SEC_SIGNATURE, sl,
                                descsz - LPS_XS_HDR_SIZE);
        sig->format = LPS_FORMAT_XENSERVER;
        sig->sig_offset = sig->desc_offset + LPS_XS_HDR_SIZE;
        sig->sig_size = sl;
        return 0;
    }
    memset(sig, 0, sizeof(*sig));
    return lp_error_set(err, LP_ERR_FORMAT, "%s: %s: unsupported note type 0x%08x (version %u, "
                        "algorithm %u, hash %u); known: 0x%08x (version 1, RSA, SHA-256) and "
                        "0 (XenServer's form)", name, LPS_SEC_SIGNATURE, type,
                        LPS_TYPE_VERSION(type), LPS_TYPE_ALGORITHM(type), LPS_TYPE_HASH(type),
                        LPS_TYPE_CURRENT);
}

static int find(const void *buf, size_t len, const char *name, bool prepared,
                struct lps_sig *sig, struct lp_error *err)
{
    struct raw r;
    size_t k, second, n;
    int rc = 0;

    memset(sig, 0, sizeof(*sig));
    if (raw_open(&r, buf, len, name, err)) {
        raw_close(&r);
        return -1;
    }
    n = raw_find_sig(&r, &k, &second);
    if (n > 1)
        rc = lp_error_set(err, LP_ERR_FORMAT, "%s: two signature notes: sections %zu and %zu "
                          "are both %s", name, k, second, LPS_SEC_SIGNATURE);
    else if (n == 1)
        rc = check_note(&r, k, name, prepared, sig, err);
    raw_close(&r);
    return rc;
}

int lps_find(const void *buf, size_t len, const char *name, struct lps_sig *sig,
             struct lp_error *err)
{
    return find(buf, len, name, false, sig, err);
}

/* --- digest ------------------------------------------------------------------------- */

int lps_digest(const void *buf, size_t len, const struct lps_sig *sig,
               unsigned char out[LPS_DIGEST_SIZE], struct lp_error *err)
{
    static const unsigned char zeroes[LPS_DESC_MAX];
    const unsigned char *b = buf;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    char eb[256];
    int ok;

    if (!ctx)
        return lp_error_set(err, LP_ERR_NOMEM, "out of memory");
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    if (sig && sig->format != LPS_FORMAT_NONE) {
        if (sig->desc_size > LPS_DESC_MAX || sig->desc_offset > len ||
            sig->desc_size > len - sig->desc_offset) {
            EVP_MD_CTX_free(ctx);
            return lp_error_set(err, LP_ERR_INVALID, "signature descriptor out of the file");
        }
        ok = ok && EVP_DigestUpdate(ctx, b, sig->desc_offset) == 1 &&
             EVP_DigestUpdate(ctx, zeroes, sig->desc_size) == 1 &&
             EVP_DigestUpdate(ctx, b + sig->desc_offset + sig->desc_size,
                              len - sig->desc_offset - sig->desc_size) == 1;
    } else {
        ok = ok && EVP_DigestUpdate(ctx, b, len) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == LPS_DIGEST_SIZE;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return lp_error_set(err, LP_ERR_UNSUPPORTED, "SHA-256: %s", crypto_error(eb, sizeof(eb)));
    return 0;
}

/* --- laying the note out -------------------------------------------------------------- */

static void put_shdr(unsigned char *out, const Elf64_Ehdr *eh, size_t i, const Elf64_Shdr *s)
{
    memcpy(out + eh->e_shoff + i * sizeof(*s), s, sizeof(*s));
}

int lps_prepare(const void *buf, size_t len, const char *name, enum lps_format fmt,
                size_t sig_size, unsigned char **out, size_t *out_len, struct lps_sig *sig,
                struct lp_error *err)
{
    struct raw r;
    unsigned char note[LPS_NOTE_MAX];
    size_t k, second, i, desc_size, note_size, nshnum, name_off = 0, str_size;
    uint64_t cut = sizeof(Elf64_Ehdr), base, o, str_off = 0, note_off, sh_off;
    bool tail, move_str, add_name = false;
    unsigned char *ob = NULL;
    Elf64_Shdr ns;
    Elf64_Ehdr eh;
    struct lp_error fe = { 0 };

    *out = NULL;
    *out_len = 0;
    if (fmt != LPS_FORMAT_CURRENT && fmt != LPS_FORMAT_XENSERVER)
        return lp_error_set(err, LP_ERR_INVALID, "no signature format given");
    desc_size = sig_size + (fmt == LPS_FORMAT_XENSERVER ? LPS_XS_HDR_SIZE : 0);
    if (!sig_size || desc_size > LPS_DESC_MAX)
        return lp_error_set(err, LP_ERR_INVALID, "%s: a %zu-byte signature does not fit the "
                            "note (1 to %zu bytes)", name, sig_size,
                            (size_t)LPS_DESC_MAX - (fmt == LPS_FORMAT_XENSERVER
                                                    ? LPS_XS_HDR_SIZE : 0));
    if (raw_open(&r, buf, len, name, err))
        goto fail;
    if (raw_find_sig(&r, &k, &second) > 1) {
        lp_error_set(err, LP_ERR_FORMAT, "%s: two signature notes: sections %zu and %zu are "
                     "both %s", name, k, second, LPS_SEC_SIGNATURE);
        goto fail;
    }
    if (k && k == r.eh.e_shstrndx) {
        lp_error_set(err, LP_ERR_FORMAT, "%s: %s is the section name table", name,
                     LPS_SEC_SIGNATURE);
        goto fail;
    }
    note_size = LPS_NOTE_HDR_SIZE + align_up(desc_size, 4);
    memset(note, 0, sizeof(note));
    put32(note, LPS_NOTE_NAMESZ);
    put32(note + 4, (uint32_t)desc_size);
    put32(note + 8, fmt == LPS_FORMAT_CURRENT ? LPS_TYPE_CURRENT : LPS_TYPE_XENSERVER);
    memcpy(note + 12, LPS_NOTE_NAME, LPS_NOTE_NAMESZ);

    memset(&ns, 0, sizeof(ns));
    ns.sh_type = SHT_NOTE;
    ns.sh_addralign = 4;
    ns.sh_size = note_size;

    /* Re-signing with a note of the same size: rewrite it where it is. */
    if (k && r.sh[k].sh_type != SHT_NOBITS && r.sh[k].sh_size == note_size &&
        r.sh[k].sh_offset % 4 == 0) {
        ob = malloc(len);
        if (!ob) {
            lp_error_set(err, LP_ERR_NOMEM, "out of memory");
            goto fail;
        }
        memcpy(ob, buf, len);
        memcpy(ob + r.sh[k].sh_offset, note, note_size);
        ns.sh_name = r.sh[k].sh_name;
        ns.sh_offset = r.sh[k].sh_offset;
        put_shdr(ob, &r.eh, k, &ns);
        *out_len = len;
        goto done;
    }

    /* Everything but the name table, the section table and an old signature keeps its
     * bytes and offsets: the new tail starts after the last of them. */
    for (i = 1; i < r.shnum; i++) {
        uint64_t end;
        if (i == r.eh.e_shstrndx || i == k)
            continue;
        end = r.sh[i].sh_offset + (r.sh[i].sh_type == SHT_NOBITS ? 0 : r.sh[i].sh_size);
        if (end > cut)
            cut = end;
    }
    if (r.eh.e_phnum && r.eh.e_phoff + (uint64_t)r.eh.e_phnum * r.eh.e_phentsize > cut)
        cut = r.eh.e_phoff + (uint64_t)r.eh.e_phnum * r.eh.e_phentsize;
    tail = r.sh[r.eh.e_shstrndx].sh_offset >= cut && r.eh.e_shoff >= cut &&
           (!k || r.sh[k].sh_type == SHT_NOBITS || r.sh[k].sh_offset >= cut);
    base = tail ? cut : len;

    /* The section's name: reuse the old entry's, or any copy of the string, else append. */
    str_size = r.shstr_size;
    if (k) {
        name_off = r.sh[k].sh_name;
    } else {
        const char *hit = memmem(r.shstr, r.shstr_size, LPS_SEC_SIGNATURE,
                                 sizeof(LPS_SEC_SIGNATURE));
        if (hit) {
            name_off = (size_t)(hit - r.shstr);
        } else {
            add_name = true;
            name_off = r.shstr_size;
            str_size += sizeof(LPS_SEC_SIGNATURE);
        }
    }
    move_str = tail || add_name;
    nshnum = r.shnum + (k ? 0 : 1);
    if (nshnum >= SHN_LORESERVE || nshnum >= 1024) {
        lp_error_set(err, LP_ERR_UNSUPPORTED, "%s: no room for another section (%zu)", name,
                     r.shnum);
        goto fail;
    }
    o = base;
    if (move_str) {
        /* Its file offset only matters to tools: keep a small power-of-two alignment. */
        uint64_t a = r.sh[r.eh.e_shstrndx].sh_addralign;
        o = align_up(o, a && !(a & (a - 1)) && a <= 8 ? a : 1);
        str_off = o;
        o += str_size;
    }
    note_off = o = align_up(o, 4);
    o += note_size;
    sh_off = o = align_up(o, 8);
    o += nshnum * sizeof(Elf64_Shdr);
    ob = calloc(1, o);
    if (!ob) {
        lp_error_set(err, LP_ERR_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(ob, buf, base);
    /* An old note left behind in the middle of the file is dead: clear it. */
    if (!tail && k && r.sh[k].sh_type != SHT_NOBITS)
        memset(ob + r.sh[k].sh_offset, 0, r.sh[k].sh_size);
    if (move_str) {
        memcpy(ob + str_off, r.shstr, r.shstr_size);
        if (add_name)
            memcpy(ob + str_off + r.shstr_size, LPS_SEC_SIGNATURE, sizeof(LPS_SEC_SIGNATURE));
        r.sh[r.eh.e_shstrndx].sh_offset = str_off;
        r.sh[r.eh.e_shstrndx].sh_size = str_size;
    }
    memcpy(ob + note_off, note, note_size);
    eh = r.eh;
    eh.e_shoff = sh_off;
    eh.e_shnum = (Elf64_Half)nshnum;
    memcpy(ob, &eh, sizeof(eh));
    ns.sh_name = (Elf64_Word)name_off;
    ns.sh_offset = note_off;
    for (i = 0; i < r.shnum; i++)
        put_shdr(ob, &eh, i, &r.sh[i]);
    if (!k)
        k = r.shnum;
    put_shdr(ob, &eh, k, &ns);
    *out_len = o;
done:
    raw_close(&r);
    if (find(ob, *out_len, name, true, sig, &fe) || sig->format != fmt ||
        sig->section != k) {
        free(ob);
        *out_len = 0;
        return lp_error_set(err, LP_ERR_INVALID, "%s: internal error: the note written does not "
                            "read back: %s", name, fe.msg);
    }
    *out = ob;
    return 0;
fail:
    raw_close(&r);
    free(ob);
    return -1;
}

int lps_fill(unsigned char *buf, size_t len, const struct lps_sig *sig,
             const unsigned char *signature, size_t sig_len, struct lp_error *err)
{
    unsigned char *d;

    if (sig->format == LPS_FORMAT_NONE || sig->desc_offset > len ||
        sig->desc_size > len - sig->desc_offset)
        return lp_error_set(err, LP_ERR_INVALID, "no signature note to fill");
    if (sig_len != sig->sig_size)
        return lp_error_set(err, LP_ERR_INVALID, "signature of %zu bytes for a note prepared for "
                            "%u", sig_len, sig->sig_size);
    d = buf + sig->desc_offset;
    if (sig->format == LPS_FORMAT_XENSERVER) {
        d[0] = LPS_XS_VERSION & 0xff;
        d[1] = LPS_XS_VERSION >> 8;
        d[2] = LPS_ALG_RSA;
        d[3] = LPS_HASH_SHA256;
        put32(d + 4, (uint32_t)sig_len);
    }
    memcpy(buf + sig->sig_offset, signature, sig_len);
    return 0;
}

/* --- keys ----------------------------------------------------------------------------- */

/* Never ask for a passphrase: an encrypted key fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

int lps_key_load(const char *path, bool private_key, struct lps_key **out,
                 struct lp_error *err)
{
    struct lps_key *k;
    EVP_PKEY *pk = NULL;
    BIO *bio;
    char eb[256];
    FILE *f = fopen(path, "r");

    *out = NULL;
    if (!f)
        return lp_error_set(err, LP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    fclose(f);
    bio = BIO_new_file(path, "r");
    if (!bio)
        return lp_error_set(err, LP_ERR_IO, "%s: cannot open: %s", path,
                            crypto_error(eb, sizeof(eb)));
    if (!private_key) {
        pk = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
        if (!pk && BIO_reset(bio) == 0)
            pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    } else {
        pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    }
    BIO_free(bio);
    if (!pk)
        return lp_error_set(err, LP_ERR_FORMAT, "%s: not a PEM %s key (an encrypted key is "
                            "not read: no passphrase is asked for): %s", path,
                            private_key ? "private" : "public or private",
                            crypto_error(eb, sizeof(eb)));
    ERR_clear_error();
    if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
        EVP_PKEY_free(pk);
        return lp_error_set(err, LP_ERR_UNSUPPORTED, "%s: not an RSA key (the signature format "
                            "knows RSA only)", path);
    }
    if (EVP_PKEY_get_size(pk) <= 0 || (size_t)EVP_PKEY_get_size(pk) >
        LPS_DESC_MAX - LPS_XS_HDR_SIZE) {
        EVP_PKEY_free(pk);
        return lp_error_set(err, LP_ERR_UNSUPPORTED, "%s: a %d-bit key makes signatures too "
                            "large for the note (at most %d bytes)", path,
                            EVP_PKEY_get_bits(pk), LPS_DESC_MAX - LPS_XS_HDR_SIZE);
    }
    k = calloc(1, sizeof(*k));
    if (!k || !(k->path = strdup(path))) {
        free(k);
        EVP_PKEY_free(pk);
        return lp_error_set(err, LP_ERR_NOMEM, "out of memory");
    }
    k->pkey = pk;
    *out = k;
    return 0;
}

void lps_key_free(struct lps_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k->path);
    free(k);
}

unsigned lps_key_bits(const struct lps_key *k)
{
    return (unsigned)EVP_PKEY_get_bits(k->pkey);
}

size_t lps_key_sig_size(const struct lps_key *k)
{
    return (size_t)EVP_PKEY_get_size(k->pkey);
}

const char *lps_key_path(const struct lps_key *k)
{
    return k->path;
}

static EVP_PKEY_CTX *rsa_ctx(const struct lps_key *k, bool sign)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k->pkey, NULL);

    if (!ctx)
        return NULL;
    if ((sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int lps_rsa_sign(const struct lps_key *k, const unsigned char digest[LPS_DIGEST_SIZE],
                 unsigned char *sig, size_t sig_cap, size_t *sig_len, struct lp_error *err)
{
    EVP_PKEY_CTX *ctx = rsa_ctx(k, true);
    char eb[256];
    size_t n = sig_cap;

    if (!ctx || EVP_PKEY_sign(ctx, sig, &n, digest, LPS_DIGEST_SIZE) <= 0) {
        EVP_PKEY_CTX_free(ctx);
        return lp_error_set(err, LP_ERR_UNSUPPORTED, "%s: signing failed: %s", k->path,
                            crypto_error(eb, sizeof(eb)));
    }
    EVP_PKEY_CTX_free(ctx);
    *sig_len = n;
    return 0;
}

bool lps_rsa_verify(const struct lps_key *k, const unsigned char digest[LPS_DIGEST_SIZE],
                    const unsigned char *sig, size_t sig_len)
{
    EVP_PKEY_CTX *ctx = rsa_ctx(k, false);
    bool ok = ctx && EVP_PKEY_verify(ctx, sig, sig_len, digest, LPS_DIGEST_SIZE) == 1;

    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* --- whole operations ----------------------------------------------------------------- */

int lps_insert(const void *buf, size_t len, const char *name, enum lps_format fmt,
               const unsigned char *signature, size_t sig_len, unsigned char **out,
               size_t *out_len, struct lps_sig *sig, struct lp_error *err)
{
    if (lps_prepare(buf, len, name, fmt, sig_len, out, out_len, sig, err))
        return -1;
    if (lps_fill(*out, *out_len, sig, signature, sig_len, err)) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int lps_sign(const void *buf, size_t len, const char *name, const struct lps_key *key,
             enum lps_format fmt, unsigned char **out, size_t *out_len, struct lps_sig *sig,
             struct lp_error *err)
{
    unsigned char digest[LPS_DIGEST_SIZE], s[LPS_DESC_MAX];
    size_t n = 0;

    if (lps_prepare(buf, len, name, fmt, lps_key_sig_size(key), out, out_len, sig, err))
        return -1;
    if (lps_digest(*out, *out_len, sig, digest, err) ||
        lps_rsa_sign(key, digest, s, sizeof(s), &n, err) ||
        lps_fill(*out, *out_len, sig, s, n, err))
        goto fail;
    if (!lps_rsa_verify(key, digest, *out + sig->sig_offset, sig->sig_size)) {
        lp_error_set(err, LP_ERR_INVALID, "%s: the signature made with %s does not verify",
                     name, key->path);
        goto fail;
    }
    return 0;
fail:
    free(*out);
    *out = NULL;
    *out_len = 0;
    return -1;
}

enum lps_status lps_verify(const void *buf, size_t len, const char *name,
                           struct lps_key *const *keys, size_t nr_keys, struct lps_sig *sig,
                           size_t *by, struct lp_error *err)
{
    unsigned char digest[LPS_DIGEST_SIZE];
    char tried[512];
    size_t i, used = 0;

    struct lp_error fe = { 0 };

    *by = 0;
    if (lps_find(buf, len, name, sig, &fe)) {
        lp_error_set(err, fe.code, "%s", fe.msg);
        return fe.code == LP_ERR_FORMAT ? LPS_MALFORMED
               : fe.code == LP_ERR_NOMEM ? LPS_FAILED : LPS_UNREADABLE;
    }
    if (sig->format == LPS_FORMAT_NONE)
        return LPS_UNSIGNED;
    if (!nr_keys)
        return LPS_SIGNED;
    if (lps_digest(buf, len, sig, digest, err))
        return LPS_FAILED;
    tried[0] = '\0';
    for (i = 0; i < nr_keys; i++) {
        int n;
        if (lps_rsa_verify(keys[i], digest, (const unsigned char *)buf + sig->sig_offset,
                           sig->sig_size)) {
            *by = i;
            return LPS_VERIFIED;
        }
        n = snprintf(tried + used, sizeof(tried) - used, "%s%s (%u-bit)", i ? ", " : "",
                     keys[i]->path, lps_key_bits(keys[i]));
        if (n > 0 && (size_t)n < sizeof(tried) - used)
            used += (size_t)n;
    }
    lp_error_set(err, LP_ERR_INVALID, "%s: %s: no key verifies the %u-bit RSA signature (%s "
                 "form; tried %s): signed by another key, or the file changed after signing",
                 name, LPS_SEC_SIGNATURE, sig->sig_size * 8, lps_format_name(sig->format),
                 tried);
    return LPS_REJECTED;
}
