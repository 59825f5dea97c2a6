/*
 * buildid.c - find the build id a hypervisor image or payload carries (see
 * include/livepatch/buildid.h).  The parsers work on a byte buffer with explicit
 * bounds checks rather than through libelf/libbfd: the same id has to be found in
 * an ELF64 xen-syms, the ELF32 multiboot `xen`, a gzip stream of it, and a PE32+
 * xen.efi, and a hand-rolled reader of just the note/debug directory is smaller
 * than three library set-ups.
 *
 * Not for: symbols, sections beyond the notes, or writing images.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "livepatch/buildid.h"
#include "livepatch/util.h"

#define NT_GNU_BUILD_ID_TYPE 3
#define SHT_NOTE_TYPE 7
#define PT_NOTE_TYPE 4
#define PE_DEBUG_DIR 6
#define PE_DEBUG_CODEVIEW 2
/* A decompressed image bigger than this is not a hypervisor: refuse, do not exhaust memory. */
#define LP_STR_(x) #x
#define LP_STR(x) LP_STR_(x)
#define GZ_MAX_OUT (1024u * 1024u * 1024u)

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* Is [off, off+len) inside a buffer of size total?  Written to not overflow. */
static int in_bounds(uint64_t off, uint64_t len, size_t total)
{
    return off <= total && len <= total - off;
}

/*
 * Scan one note area for a GNU build-id note; 1 found, 0 not there, -1 the area is cut
 * (a note's name or descriptor runs past its end) or the GNU build-id note is longer
 * than an id can be: *bad is then the offset of that note and *why says which.
 */
static int scan_notes(const unsigned char *p, size_t len, struct lp_buildid *out, size_t *bad,
                      const char **why)
{
    size_t off = 0;

    while (len - off >= 12) {
        uint32_t namesz = rd32(p + off), descsz = rd32(p + off + 4), type = rd32(p + off + 8);
        size_t name_off = off + 12;
        size_t desc_off, next;

        *bad = off;
        *why = "its name or descriptor runs past the end of the notes";
        if (namesz > len || descsz > len)
            return -1;
        desc_off = name_off + ((namesz + 3u) & ~3u);
        next = desc_off + ((descsz + 3u) & ~3u);
        if (desc_off > len || descsz > len - desc_off)
            return -1;
        if (type == NT_GNU_BUILD_ID_TYPE && namesz == 4 && memcmp(p + name_off, "GNU", 4) == 0 &&
            descsz > 0) {
            *why = "the build id is longer than " LP_STR(LP_BUILDID_MAX) " bytes";
            if (descsz > LP_BUILDID_MAX)
                return -1;
            memcpy(out->id, p + desc_off, descsz);
            out->len = descsz;
            return 1;
        }
        if (next <= off)
            return 0;
        off = next;
    }
    return 0;
}

/* The GNU build-id note of an ELF (32 or 64 bit, little endian) from its sections or segments. */
static int elf_buildid(const unsigned char *b, size_t n, const char *name, struct lp_buildid *out,
                       struct lp_error *err)
{
    int is64;
    uint64_t shoff, phoff;
    unsigned shnum, phnum, shentsize, phentsize, i;
    const char *why = NULL;
    size_t bad = 0;
    int rc;

    if (n < 52 || b[5] != 1)
        return lp_error_set(err, LP_ERR_FORMAT, "%s: not a little-endian ELF file", name);
    is64 = b[4] == 2;
    if (!is64 && b[4] != 1)
        return lp_error_set(err, LP_ERR_FORMAT, "%s: unknown ELF class %u", name, b[4]);
    if (is64 && n < 64)
        return lp_error_set(err, LP_ERR_FORMAT, "%s: truncated ELF header", name);
    shoff = is64 ? rd64(b + 0x28) : rd32(b + 0x20);
    phoff = is64 ? rd64(b + 0x20) : rd32(b + 0x1c);
    phentsize = rd16(b + (is64 ? 0x36 : 0x2a));
    phnum = rd16(b + (is64 ? 0x38 : 0x2c));
    shentsize = rd16(b + (is64 ? 0x3a : 0x2e));
    shnum = rd16(b + (is64 ? 0x3c : 0x30));

    /*
     * A truncated file (an image copied or downloaded part way) still holds its first
     * notes: refuse it rather than print the id of a file that is not all there.  Its
     * tables, the sections' bytes and the loaded segments' bytes must all be in it.
     */
    if ((shoff || shnum) && !in_bounds(shoff, (uint64_t)shnum * shentsize, n))
        return lp_error_set(err, LP_ERR_FORMAT, "%s: truncated: section table (offset %llu, %u "
                            "entries) runs past the end of the %zu-byte file", name,
                            (unsigned long long)shoff, shnum, n);
    if ((phoff || phnum) && !in_bounds(phoff, (uint64_t)phnum * phentsize, n))
        return lp_error_set(err, LP_ERR_FORMAT, "%s: truncated: program header table (offset "
                            "%llu, %u entries) runs past the end of the %zu-byte file", name,
                            (unsigned long long)phoff, phnum, n);
    for (i = 0; shoff && shentsize >= (is64 ? 64u : 40u) && i < shnum; i++) {
        const unsigned char *sh = b + shoff + (uint64_t)i * shentsize;
        uint32_t type = rd32(sh + 4);
        uint64_t off = is64 ? rd64(sh + 0x18) : rd32(sh + 0x10);
        uint64_t size = is64 ? rd64(sh + 0x20) : rd32(sh + 0x14);

        if (type != 0 && type != 8 /* SHT_NOBITS */ && !in_bounds(off, size, n))
            return lp_error_set(err, LP_ERR_FORMAT, "%s: truncated: section %u (offset %llu, "
                                "%llu bytes) runs past the end of the %zu-byte file", name, i,
                                (unsigned long long)off, (unsigned long long)size, n);
    }
    for (i = 0; phoff && phentsize >= (is64 ? 56u : 32u) && i < phnum; i++) {
        const unsigned char *ph = b + phoff + (uint64_t)i * phentsize;
        uint64_t off = is64 ? rd64(ph + 8) : rd32(ph + 4);
        uint64_t size = is64 ? rd64(ph + 0x20) : rd32(ph + 0x10);

        if (rd32(ph) == 1 /* PT_LOAD */ && !in_bounds(off, size, n))
            return lp_error_set(err, LP_ERR_FORMAT, "%s: truncated: loadable segment %u (offset "
                                "%llu, %llu bytes) runs past the end of the %zu-byte file", name,
                                i, (unsigned long long)off, (unsigned long long)size, n);
    }

    /*
     * Sections first: a payload (ET_REL) has no segments.  A payload also carries
     * the ids it depends on as notes of the same type, so its own id is the one in
     * .note.gnu.build-id, and .livepatch.* sections are never taken for it.
     */
    if (shoff && shentsize >= (is64 ? 64u : 40u) &&
        in_bounds(shoff, (uint64_t)shnum * shentsize, n)) {
        unsigned shstrndx = rd16(b + (is64 ? 0x3e : 0x32));
        const unsigned char *strsh = shstrndx < shnum ? b + shoff + (uint64_t)shstrndx * shentsize : NULL;
        uint64_t stroff = strsh ? (is64 ? rd64(strsh + 0x18) : rd32(strsh + 0x10)) : 0;
        uint64_t strsize = strsh ? (is64 ? rd64(strsh + 0x20) : rd32(strsh + 0x14)) : 0;
        int pass;

        if (!in_bounds(stroff, strsize, n))
            strsize = 0;
        for (pass = 0; pass < 2; pass++) {
            for (i = 0; i < shnum; i++) {
                const unsigned char *sh = b + shoff + (uint64_t)i * shentsize;
                uint64_t off = is64 ? rd64(sh + 0x18) : rd32(sh + 0x10);
                uint64_t size = is64 ? rd64(sh + 0x20) : rd32(sh + 0x14);
                uint32_t nameoff = rd32(sh);
                const char *secname = "";

                if (nameoff < strsize && memchr(b + stroff + nameoff, 0, strsize - nameoff))
                    secname = (const char *)b + stroff + nameoff;
                if (pass == 0 && strcmp(secname, ".note.gnu.build-id") != 0)
                    continue;
                if (pass == 1 && (rd32(sh + 4) != SHT_NOTE_TYPE ||
                                  strncmp(secname, ".livepatch.", 11) == 0))
                    continue;
                if (!in_bounds(off, size, n))
                    continue;
                rc = scan_notes(b + off, size, out, &bad, &why);
                if (rc > 0)
                    return 0;
                if (rc < 0)
                    return lp_error_set(err, LP_ERR_FORMAT, "%s: section %s: note at offset %zu "
                                        "of %llu bytes: %s", name, secname[0] ? secname : "?",
                                        bad, (unsigned long long)size, why);
            }
        }
    }
    /* Then segments: the ELF32 `xen` wrapper keeps the note only in PT_NOTE. */
    if (phoff && phentsize >= (is64 ? 56u : 32u) &&
        in_bounds(phoff, (uint64_t)phnum * phentsize, n)) {
        for (i = 0; i < phnum; i++) {
            const unsigned char *ph = b + phoff + (uint64_t)i * phentsize;
            uint64_t off = is64 ? rd64(ph + 8) : rd32(ph + 4);
            uint64_t size = is64 ? rd64(ph + 0x20) : rd32(ph + 0x10);

            if (rd32(ph) != PT_NOTE_TYPE || !in_bounds(off, size, n))
                continue;
            rc = scan_notes(b + off, size, out, &bad, &why);
            if (rc > 0)
                return 0;
            if (rc < 0)
                return lp_error_set(err, LP_ERR_FORMAT, "%s: note segment %u: note at offset %zu "
                                    "of %llu bytes: %s", name, i, bad,
                                    (unsigned long long)size, why);
        }
    }
    return lp_error_set(err, LP_ERR_NOTFOUND, "%s: no GNU build id note", name);
}

/* Map a PE relative virtual address to a file offset through the section table. */
static int pe_rva_to_off(const unsigned char *b, size_t n, uint64_t sects, unsigned nsect,
                         uint32_t rva, uint32_t len, uint64_t *off)
{
    unsigned i;

    for (i = 0; i < nsect; i++) {
        const unsigned char *s = b + sects + (uint64_t)i * 40;
        uint32_t vsize = rd32(s + 8), va = rd32(s + 12), rawsize = rd32(s + 16), raw = rd32(s + 20);
        uint32_t size = vsize > rawsize ? rawsize : vsize;

        if (!vsize)
            size = rawsize;
        if (rva >= va && rva - va < size && len <= size - (rva - va)) {
            *off = (uint64_t)raw + (rva - va);
            return in_bounds(*off, len, n) ? 0 : -1;
        }
    }
    return -1;
}

/*
 * The id of a PE image: the 16-byte signature of the CodeView RSDS record the
 * debug directory points at (what `ld -mi386pep --build-id` writes, and what Xen
 * reports as its build id when booted through EFI).
 */
static int pe_buildid(const unsigned char *b, size_t n, const char *name, struct lp_buildid *out,
                      struct lp_error *err)
{
    uint32_t pe, dir_rva, dir_size, i;
    uint64_t opt, sects, dd, dir_off;
    unsigned nsect, optsize, ndirs;
    uint16_t magic;

    if (n < 0x40 || !in_bounds(pe = rd32(b + 0x3c), 24, n) || memcmp(b + pe, "PE\0\0", 4) != 0)
        return lp_error_set(err, LP_ERR_FORMAT, "%s: MZ file without a PE header", name);
    nsect = rd16(b + pe + 6);
    optsize = rd16(b + pe + 20);
    opt = (uint64_t)pe + 24;
    sects = opt + optsize;
    if (!in_bounds(opt, optsize, n) || optsize < 2 || !in_bounds(sects, (uint64_t)nsect * 40, n))
        return lp_error_set(err, LP_ERR_FORMAT, "%s: truncated PE headers", name);
    magic = rd16(b + opt);
    if (magic == 0x20b)
        dd = opt + 112, ndirs = optsize >= 112 ? rd32(b + opt + 108) : 0;
    else if (magic == 0x10b)
        dd = opt + 96, ndirs = optsize >= 96 ? rd32(b + opt + 92) : 0;
    else
        return lp_error_set(err, LP_ERR_FORMAT, "%s: unknown PE optional header magic %#x", name,
                            magic);
    if (ndirs <= PE_DEBUG_DIR || dd + (PE_DEBUG_DIR + 1) * 8 > opt + optsize)
        return lp_error_set(err, LP_ERR_NOTFOUND, "%s: PE image without a debug directory", name);
    dir_rva = rd32(b + dd + PE_DEBUG_DIR * 8);
    dir_size = rd32(b + dd + PE_DEBUG_DIR * 8 + 4);
    if (!dir_rva || !dir_size)
        return lp_error_set(err, LP_ERR_NOTFOUND, "%s: PE image without a debug directory", name);
    if (pe_rva_to_off(b, n, sects, nsect, dir_rva, dir_size, &dir_off) < 0)
        return lp_error_set(err, LP_ERR_FORMAT, "%s: PE debug directory outside the file", name);
    for (i = 0; i + 28 <= dir_size; i += 28) {
        const unsigned char *e = b + dir_off + i;
        uint32_t size = rd32(e + 16), raw = rd32(e + 24);

        if (rd32(e + 12) != PE_DEBUG_CODEVIEW || size < 24 || !in_bounds(raw, size, n))
            continue;
        if (memcmp(b + raw, "RSDS", 4) != 0)
            continue;
        memcpy(out->id, b + raw + 4, 16);
        out->len = 16;
        out->source = LP_BUILDID_PE;
        return 0;
    }
    return lp_error_set(err, LP_ERR_NOTFOUND, "%s: PE image without a CodeView RSDS record", name);
}

/* Inflate a whole gzip stream into a malloc'd buffer. */
static int gunzip(const unsigned char *in, size_t n, const char *name, unsigned char **outp,
                  size_t *outlen, struct lp_error *err)
{
    z_stream zs;
    size_t cap = n * 4 + 4096, used = 0;
    unsigned char *out = malloc(cap);
    int rc;

    if (!out)
        return lp_error_set(err, LP_ERR_NOMEM, "%s: out of memory", name);
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        free(out);
        return lp_error_set(err, LP_ERR_NOMEM, "%s: cannot start zlib", name);
    }
    zs.next_in = (unsigned char *)in;
    zs.avail_in = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
    for (;;) {
        if (used == cap) {
            unsigned char *bigger;

            if (cap >= GZ_MAX_OUT) {
                rc = Z_MEM_ERROR;
                break;
            }
            cap *= 2;
            bigger = realloc(out, cap);
            if (!bigger) {
                rc = Z_MEM_ERROR;
                break;
            }
            out = bigger;
        }
        zs.next_out = out + used;
        zs.avail_out = (uInt)(cap - used > UINT32_MAX ? UINT32_MAX : cap - used);
        rc = inflate(&zs, Z_NO_FLUSH);
        used = (size_t)(zs.next_out - out);
        if (rc == Z_STREAM_END || (rc != Z_OK && rc != Z_BUF_ERROR))
            break;
        if (rc == Z_BUF_ERROR && zs.avail_in == 0)
            break;
    }
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return lp_error_set(err, LP_ERR_FORMAT, "%s: bad or truncated gzip data (%s)", name,
                            zs.msg ? zs.msg : "unexpected end");
    }
    *outp = out;
    *outlen = used;
    return 0;
}

int lp_buildid_from_buffer(const unsigned char *buf, size_t len, const char *name,
                           struct lp_buildid *out, struct lp_error *err)
{
    memset(out, 0, sizeof(*out));
    if (len >= 4 && memcmp(buf, "\177ELF", 4) == 0) {
        out->source = LP_BUILDID_ELF;
        return elf_buildid(buf, len, name, out, err);
    }
    if (len >= 2 && buf[0] == 'M' && buf[1] == 'Z')
        return pe_buildid(buf, len, name, out, err);
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        unsigned char *raw = NULL;
        size_t rawlen = 0;
        int rc;

        if (gunzip(buf, len, name, &raw, &rawlen, err) < 0)
            return -1;
        if (rawlen >= 4 && memcmp(raw, "\177ELF", 4) == 0)
            rc = elf_buildid(raw, rawlen, name, out, err);
        else
            rc = lp_error_set(err, LP_ERR_FORMAT, "%s: gzip data is not an ELF file", name);
        free(raw);
        out->source = LP_BUILDID_ELF_GZ;
        return rc;
    }
    return lp_error_set(err, LP_ERR_FORMAT, "%s: neither ELF, gzip'd ELF nor PE", name);
}

int lp_buildid_read(const char *path, struct lp_buildid *out, struct lp_error *err)
{
    unsigned char *buf;
    size_t len;
    int rc;

    if (lp_read_file(path, &buf, &len, err) < 0)
        return -1;
    rc = lp_buildid_from_buffer(buf, len, path, out, err);
    free(buf);
    return rc;
}

size_t lp_buildid_note_size(size_t len)
{
    return 12 + 4 + ((len + 3) & ~(size_t)3);
}

size_t lp_buildid_note(const unsigned char *id, size_t len, unsigned char *out)
{
    size_t total = lp_buildid_note_size(len);
    uint32_t hdr[3] = { 4, (uint32_t)len, NT_GNU_BUILD_ID_TYPE };
    unsigned i;

    memset(out, 0, total);
    for (i = 0; i < 3; i++) {
        out[4 * i] = (unsigned char)hdr[i];
        out[4 * i + 1] = (unsigned char)(hdr[i] >> 8);
        out[4 * i + 2] = (unsigned char)(hdr[i] >> 16);
        out[4 * i + 3] = (unsigned char)(hdr[i] >> 24);
    }
    memcpy(out + 12, "GNU", 4);
    memcpy(out + 16, id, len);
    return total;
}
