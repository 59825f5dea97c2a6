/*
 * image_file.c - the loader's offline back end: apply payloads to an image file
 * so that the patched image runs with the new code, and take them off again.
 *
 * An apply never rewrites what is already in the file except the ELF header and
 * the bytes of the trampolines.  Everything new is appended: a read-only/exec
 * segment (a new program header table, then the payload's text and constants),
 * a writable segment, and a record of the applied stack in a note section
 * (".livepatch.applied") with a new section header table.  So reverting the top
 * payload is: cut the file back to its length before that apply, put the old ELF
 * header back and restore the undo bytes, which gives the earlier file byte for
 * byte.
 *
 * Segment addresses keep (vaddr - file offset) equal to the image's first
 * segment, so the program-header address the kernel hands to the program (which
 * static C libraries read to find their TLS segment) is right however it is
 * computed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/util.h"
#include "loader_internal.h"

#define RECORD_SECTION ".livepatch.applied"
#define RECORD_OWNER "LPTOOLS"
#define RECORD_TYPE 0x4c50
#define RECORD_MAGIC "LPSTACK1"

struct undo {
    uint64_t off;          /* file offset of the patched bytes */
    uint8_t len;
    uint8_t bytes[LIVEPATCH_OPAQUE_SIZE];
};

struct entry {
    struct lpl_payload *p;
    unsigned char *raw;
    size_t raw_len;
    char *file_name;
    uint64_t pre_len;
    unsigned char pre_ehdr[sizeof(Elf64_Ehdr)];
    uint64_t text_base, reserve;
    struct undo *undo;
    size_t nr_undo;
};

struct lpl_stack {
    char *path;
    unsigned char *buf;
    size_t len;
    struct lpi_image *img;
    struct entry *e;
    size_t n;
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

size_t lpl_stack_size(const struct lpl_stack *st)
{
    return st->n;
}

const struct lpl_payload *lpl_stack_at(const struct lpl_stack *st, size_t i)
{
    return st->e[i].p;
}

const struct lpi_image *lpl_stack_image(const struct lpl_stack *st)
{
    return st->img;
}

static struct lpl_payload **loaded_list(const struct lpl_stack *st)
{
    struct lpl_payload **l = calloc(st->n + 1, sizeof(*l));
    size_t i;

    for (i = 0; l && i < st->n; i++)
        l[i] = st->e[i].p;
    return l;
}

static void free_entry(struct entry *e)
{
    lpl_payload_free(e->p);
    free(e->raw);
    free(e->undo);
    free(e->file_name);
}

void lpl_image_close(struct lpl_stack *st)
{
    size_t i;

    if (!st)
        return;
    for (i = 0; i < st->n; i++)
        free_entry(&st->e[i]);
    free(st->e);
    lpi_close(st->img);
    free(st->buf);
    free(st->path);
    free(st);
}

static int grow(struct lpl_stack *st, size_t len, struct lpl_verdict *v)
{
    unsigned char *n;

    if (len <= st->len)
        return 0;
    n = realloc(st->buf, len);
    if (!n)
        return lpl_fail(v, ENOMEM, "out of memory growing the image to %zu bytes", len);
    memset(n + st->len, 0, len - st->len);
    st->buf = n;
    st->len = len;
    return 0;
}

static int reparse(struct lpl_stack *st, struct lpl_verdict *v)
{
    struct lp_error e = { 0 };

    lpi_close(st->img);
    st->img = NULL;
    if (lpi_open_memory(st->buf, st->len, st->path, &st->img, &e))
        return lpl_fail(v, EINVAL, "%s", e.msg);
    return 0;
}

/* Base of the image's file-offset/address congruence (first PT_LOAD). */
static uint64_t congruence(const struct lpl_stack *st)
{
    uint64_t base = UINT64_MAX;
    size_t i;

    for (i = 0; i < st->img->elf->nr_phdrs; i++) {
        const GElf_Phdr *ph = &st->img->elf->phdrs[i];
        if (ph->p_type == PT_LOAD && ph->p_vaddr - ph->p_offset < base)
            base = ph->p_vaddr - ph->p_offset;
    }
    return base == UINT64_MAX ? 0 : base;
}

/* --- the record ------------------------------------------------------------------------ */

struct wbuf {
    unsigned char *b;
    size_t len, cap;
    bool failed;
};

static void put(struct wbuf *w, const void *p, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4096;
        unsigned char *nb;
        while (cap < w->len + n)
            cap *= 2;
        nb = realloc(w->b, cap);
        if (!nb) {
            w->failed = true;
            return;
        }
        w->b = nb;
        w->cap = cap;
    }
    memcpy(w->b + w->len, p, n);
    w->len += n;
}

static void put64(struct wbuf *w, uint64_t v)
{
    put(w, &v, 8);
}

static void serialise(const struct lpl_stack *st, struct wbuf *w)
{
    size_t i, j;

    put(w, RECORD_MAGIC, 8);
    put64(w, st->n);
    for (i = 0; i < st->n; i++) {
        const struct entry *e = &st->e[i];
        put64(w, strlen(e->file_name));
        put(w, e->file_name, strlen(e->file_name));
        put64(w, e->raw_len);
        put(w, e->raw, e->raw_len);
        put64(w, e->pre_len);
        put(w, e->pre_ehdr, sizeof(e->pre_ehdr));
        put64(w, e->text_base);
        put64(w, e->reserve);
        put64(w, e->nr_undo);
        for (j = 0; j < e->nr_undo; j++) {
            put64(w, e->undo[j].off);
            put(w, &e->undo[j].len, 1);
            put(w, e->undo[j].bytes, sizeof(e->undo[j].bytes));
        }
    }
}

struct rbuf {
    const unsigned char *b;
    size_t len, at;
    bool bad;
};

static const void *take(struct rbuf *r, size_t n)
{
    const void *p;

    if (r->bad || n > r->len - r->at) {
        r->bad = true;
        return NULL;
    }
    p = r->b + r->at;
    r->at += n;
    return p;
}

static uint64_t take64(struct rbuf *r)
{
    const void *p = take(r, 8);
    uint64_t v = 0;

    if (p)
        memcpy(&v, p, 8);
    return v;
}

/*
 * The function entries as the image now holds them (copied and relocated by the
 * apply that put the payload there), read the way the hypervisor reads them.
 */
static int reread_funcs(struct lpl_stack *st, struct lpl_payload *p,
                        struct lpl_payload *const *loaded, size_t nr_loaded,
                        struct lpl_verdict *v)
{
    uint64_t cong = congruence(st);

    if (p->text_base < cong || p->rw_base + p->rw_size - cong > st->len)
        return lpl_fail(v, EINVAL, "%s: %s: %s is not where the record says", st->path,
                        RECORD_SECTION, p->name);
    return lpl_read_funcs(p, st->buf + (p->text_base - cong), st->img, loaded, nr_loaded,
                          false, v);
}

static int file_offset(struct lpl_stack *st, uint64_t vaddr, uint64_t len, uint64_t *off,
                       struct lpl_verdict *v);
static void write_nops(unsigned char *b, size_t n);

/* Where apply puts function f's trampoline (file offset, length) and its bytes. */
static int trampoline(struct lpl_stack *st, const struct lpl_payload *p, const struct lpl_func *f,
                      uint64_t *off, size_t *len, unsigned char *bytes, struct lpl_verdict *v)
{
    uint64_t skip = f->endbr ? LIVEPATCH_ENDBR_SIZE : 0;

    if (file_offset(st, f->old_addr, f->old_size, off, v))
        return -1;
    *off += skip;
    *len = f->new_sec ? LIVEPATCH_JMP_SIZE : f->new_size - skip;
    if (*len > LIVEPATCH_OPAQUE_SIZE)
        return lpl_fail(v, EINVAL, "%s: %s: a %zu-byte trampoline", p->name, f->name ? f->name : "?",
                        *len);
    if (bytes && f->new_sec) {
        uint64_t to = p->addr[f->new_sec->index] + f->new_off;
        int32_t rel = (int32_t)(to - (f->old_addr + skip + LIVEPATCH_JMP_SIZE));
        bytes[0] = 0xe9;
        memcpy(bytes + 1, &rel, 4);
    } else if (bytes) {
        write_nops(bytes, *len);
    }
    return 0;
}

/*
 * One entry of the record against what its apply did: its file length and ELF header
 * before the apply, where its segments start, and one undo per function entry, at the
 * offset and of the length that apply patched, inside the file as it was then.
 */
static int check_entry(struct lpl_stack *st, size_t i, struct lpl_verdict *v)
{
    const struct entry *e = &st->e[i];
    const struct lpl_payload *p = e->p;
    uint64_t cong = congruence(st), prev = i ? st->e[i - 1].pre_len : sizeof(Elf64_Ehdr);
    size_t j;

    if (e->pre_len < prev + (i ? 1 : 0) || e->pre_len >= st->len ||
        memcmp(e->pre_ehdr, ELFMAG, SELFMAG) || e->pre_ehdr[EI_CLASS] != ELFCLASS64)
        return lpl_fail(v, EINVAL, "%s: %s: entry %zu (%s): the file before its apply (%llu "
                        "bytes, ELF header) does not fit this %zu-byte image", st->path,
                        RECORD_SECTION, i, p->name, (unsigned long long)e->pre_len, st->len);
    if (e->text_base < cong || e->text_base - cong < e->pre_len)
        return lpl_fail(v, EINVAL, "%s: %s: entry %zu (%s): segments at 0x%llx are not after "
                        "the file it was applied to", st->path, RECORD_SECTION, i, p->name,
                        (unsigned long long)e->text_base);
    if (e->nr_undo != p->nr_funcs)
        return lpl_fail(v, EINVAL, "%s: %s: entry %zu (%s): %zu undo records for %zu functions",
                        st->path, RECORD_SECTION, i, p->name, e->nr_undo, p->nr_funcs);
    for (j = 0; j < e->nr_undo; j++) {
        const struct undo *u = &e->undo[j];
        uint64_t off;
        size_t len;

        if (trampoline(st, p, &p->funcs[j], &off, &len, NULL, v))
            return -1;
        if (u->off != off || u->len != len || off + len > e->pre_len)
            return lpl_fail(v, EINVAL, "%s: %s: entry %zu (%s): undo %zu (offset %llu, %u "
                            "bytes) is not where %s was patched (offset %llu, %zu bytes)",
                            st->path, RECORD_SECTION, i, p->name, j,
                            (unsigned long long)u->off, u->len,
                            p->funcs[j].name ? p->funcs[j].name : "its function",
                            (unsigned long long)off, len);
    }
    return 0;
}

/* Every trampoline no later payload patched over holds what its apply wrote. */
static int check_trampolines(struct lpl_stack *st, struct lpl_verdict *v)
{
    size_t i, j, k, m;

    for (i = 0; i < st->n; i++)
        for (j = 0; j < st->e[i].nr_undo; j++) {
            const struct undo *u = &st->e[i].undo[j];
            unsigned char want[LIVEPATCH_OPAQUE_SIZE];
            uint64_t off;
            size_t len;
            bool over = false;

            for (k = i + 1; k < st->n && !over; k++)
                for (m = 0; m < st->e[k].nr_undo && !over; m++)
                    over = st->e[k].undo[m].off < u->off + u->len &&
                           u->off < st->e[k].undo[m].off + st->e[k].undo[m].len;
            if (over)
                continue;
            if (trampoline(st, st->e[i].p, &st->e[i].p->funcs[j], &off, &len, want, v))
                return -1;
            if (memcmp(st->buf + off, want, len))
                return lpl_fail(v, EINVAL, "%s: %s: %s's trampoline at offset %llu is not what "
                                "%s wrote there: the image changed after the apply",
                                st->path, RECORD_SECTION,
                                st->e[i].p->funcs[j].name ? st->e[i].p->funcs[j].name : "?",
                                (unsigned long long)off, st->e[i].p->name);
        }
    return 0;
}

/* An entry that failed before it joined the stack: freed here (close frees the stack's). */
static int entry_fail(struct entry *e, int rc)
{
    free_entry(e);
    memset(e, 0, sizeof(*e));
    return rc;
}

static int load_record(struct lpl_stack *st, struct lpl_verdict *v)
{
    const struct lpe_section *s = lpe_find_section(st->img->elf, RECORD_SECTION);
    struct rbuf r;
    uint32_t namesz, descsz, type;
    uint64_t count, i, j;
    const void *magic;

    if (!s)
        return 0;
    if (!s->data || s->size < 12)
        return lpl_fail(v, EINVAL, "%s: %s: truncated", st->path, RECORD_SECTION);
    memcpy(&namesz, s->data, 4);
    memcpy(&descsz, s->data + 4, 4);
    memcpy(&type, s->data + 8, 4);
    r.b = s->data + 12 + align_up(namesz, 4);
    r.at = 0;
    r.bad = false;
    if (type != RECORD_TYPE || 12 + align_up(namesz, 4) + (uint64_t)descsz > s->size)
        return lpl_fail(v, EINVAL, "%s: %s: not a record of this tool", st->path, RECORD_SECTION);
    r.len = descsz;
    magic = take(&r, 8); /* NULL when the descriptor is shorter than the magic */
    if (!magic || memcmp(magic, RECORD_MAGIC, 8) != 0)
        return lpl_fail(v, EINVAL, "%s: %s: bad magic", st->path, RECORD_SECTION);
    count = take64(&r);
    if (count > 1024)
        return lpl_fail(v, EINVAL, "%s: %s: corrupt", st->path, RECORD_SECTION);
    st->e = calloc(count + 1, sizeof(*st->e));
    if (!st->e)
        return lpl_fail(v, ENOMEM, "out of memory");
    for (i = 0; i < count; i++) {
        struct entry *e = &st->e[i];
        uint64_t n = take64(&r);
        const void *p = take(&r, n);
        struct lpl_payload **loaded;
        int rc;

        e->file_name = p ? strndup(p, n) : NULL;
        e->raw_len = take64(&r);
        p = take(&r, e->raw_len);
        if (r.bad || !e->file_name || !(e->raw = malloc(e->raw_len ? e->raw_len : 1)))
            return entry_fail(e, lpl_fail(v, EINVAL, "%s: %s: corrupt", st->path,
                                          RECORD_SECTION));
        memcpy(e->raw, p, e->raw_len);
        e->pre_len = take64(&r);
        p = take(&r, sizeof(e->pre_ehdr));
        if (p)
            memcpy(e->pre_ehdr, p, sizeof(e->pre_ehdr));
        e->text_base = take64(&r);
        e->reserve = take64(&r);
        e->nr_undo = take64(&r);
        if (r.bad || e->nr_undo > 100000)
            return entry_fail(e, lpl_fail(v, EINVAL, "%s: %s: corrupt", st->path,
                                          RECORD_SECTION));
        e->undo = calloc(e->nr_undo + 1, sizeof(*e->undo));
        if (!e->undo)
            return entry_fail(e, lpl_fail(v, ENOMEM, "out of memory"));
        for (j = 0; j < e->nr_undo; j++) {
            e->undo[j].off = take64(&r);
            p = take(&r, 1);
            e->undo[j].len = p ? *(const uint8_t *)p : 0;
            p = take(&r, sizeof(e->undo[j].bytes));
            if (p)
                memcpy(e->undo[j].bytes, p, sizeof(e->undo[j].bytes));
        }
        if (r.bad)
            return entry_fail(e, lpl_fail(v, EINVAL, "%s: %s: corrupt", st->path,
                                          RECORD_SECTION));
        loaded = loaded_list(st);
        rc = loaded ? lpl_check(e->raw, e->raw_len, e->file_name, st->img, loaded, st->n,
                                &e->p, v)
                    : lpl_fail(v, ENOMEM, "out of memory");
        st->n++;
        if (rc || lpl_place_at(e->p, e->text_base, e->reserve, v) ||
            reread_funcs(st, e->p, loaded, st->n - 1, v) || check_entry(st, st->n - 1, v)) {
            free(loaded);
            return -1;
        }
        free(loaded);
    }
    return check_trampolines(st, v);
}

int lpl_image_open(const char *path, struct lpl_stack **out, struct lpl_verdict *v)
{
    struct lpl_stack *st = calloc(1, sizeof(*st));
    struct lp_error e = { 0 };

    memset(v, 0, sizeof(*v));
    if (!st)
        return lpl_fail(v, ENOMEM, "out of memory");
    st->path = strdup(path);
    if (!st->path || lp_read_file(path, &st->buf, &st->len, &e)) {
        lpl_image_close(st);
        return lpl_fail(v, EIO, "%s", e.msg[0] ? e.msg : "out of memory");
    }
    if (reparse(st, v) || load_record(st, v)) {
        lpl_image_close(st);
        return -1;
    }
    if (st->img->elf->ehdr.e_ident[EI_CLASS] != ELFCLASS64 || !st->img->elf->nr_phdrs) {
        lpl_image_close(st);
        return lpl_fail(v, EOPNOTSUPP, "%s: not a 64-bit image with program headers", path);
    }
    *out = st;
    return 0;
}

/* --- applying ------------------------------------------------------------------------------ */

static int file_offset(struct lpl_stack *st, uint64_t vaddr, uint64_t len, uint64_t *off,
                       struct lpl_verdict *v)
{
    struct lp_error e = { 0 };

    if (lpi_vaddr_to_offset(st->img, vaddr, len, off, &e))
        return lpl_fail(v, EFAULT, "%s", e.msg);
    return 0;
}

/* The standard multi-byte NOPs, 1 to 8 bytes. */
static void write_nops(unsigned char *b, size_t n)
{
    static const unsigned char nops[9][8] = {
        { 0 },
        { 0x90 },
        { 0x66, 0x90 },
        { 0x0f, 0x1f, 0x00 },
        { 0x0f, 0x1f, 0x40, 0x00 },
        { 0x0f, 0x1f, 0x44, 0x00, 0x00 },
        { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
        { 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
        { 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
    };

    while (n) {
        size_t k = n > 8 ? 8 : n;
        memcpy(b, nops[k], k);
        b += k;
        n -= k;
    }
}

static int write_segments(struct lpl_stack *st, struct entry *e, uint64_t cong,
                          struct lpl_verdict *v)
{
    struct lpl_payload *p = e->p;
    Elf64_Ehdr eh;
    Elf64_Phdr *ph;
    size_t i, old_n;
    uint64_t table_off = p->text_base - cong;

    memcpy(&eh, st->buf, sizeof(eh));
    old_n = eh.e_phnum;
    if (grow(st, p->rw_base + p->rw_size - cong, v))
        return -1;
    /* The new program header table: the old entries plus the two new segments. */
    if ((old_n + 2) * sizeof(Elf64_Phdr) > e->reserve)
        return lpl_fail(v, ENOBUFS, "%s: no room for the program header table", st->path);
    memcpy(st->buf + table_off, st->buf + eh.e_phoff, old_n * sizeof(Elf64_Phdr));
    ph = (Elf64_Phdr *)(st->buf + table_off);
    for (i = 0; i < old_n; i++)
        if (ph[i].p_type == PT_PHDR) {
            ph[i].p_offset = table_off;
            ph[i].p_vaddr = ph[i].p_paddr = p->text_base;
            ph[i].p_filesz = ph[i].p_memsz = (old_n + 2) * sizeof(Elf64_Phdr);
        }
    ph[old_n] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X,
                              .p_offset = table_off, .p_vaddr = p->text_base,
                              .p_paddr = p->text_base, .p_filesz = p->text_size,
                              .p_memsz = p->text_size, .p_align = LPL_PAGE };
    ph[old_n + 1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W,
                                  .p_offset = p->rw_base - cong, .p_vaddr = p->rw_base,
                                  .p_paddr = p->rw_base, .p_filesz = p->rw_size,
                                  .p_memsz = p->rw_size, .p_align = LPL_PAGE };
    if (!p->rw_size)
        ph[old_n + 1].p_type = PT_NULL;
    eh.e_phoff = table_off;
    eh.e_phnum = (Elf64_Half)(old_n + 2);
    memcpy(st->buf, &eh, sizeof(eh));
    return 0;
}

static int write_trampolines(struct lpl_stack *st, struct entry *e, struct lpl_verdict *v)
{
    struct lpl_payload *p = e->p;
    size_t i;

    e->undo = calloc(p->nr_funcs + 1, sizeof(*e->undo));
    if (!e->undo)
        return lpl_fail(v, ENOMEM, "out of memory");
    for (i = 0; i < p->nr_funcs; i++) {
        struct undo *u = &e->undo[e->nr_undo];
        unsigned char bytes[LIVEPATCH_OPAQUE_SIZE];
        uint64_t off;
        size_t len;

        if (trampoline(st, p, &p->funcs[i], &off, &len, bytes, v))
            return -1;
        u->off = off;
        u->len = (uint8_t)len;
        memcpy(u->bytes, st->buf + u->off, len);
        e->nr_undo++;
        memcpy(st->buf + u->off, bytes, len);
    }
    return 0;
}

/* Append the record and a section header table that lists it. */
static int write_record(struct lpl_stack *st, struct lpl_verdict *v)
{
    struct wbuf w = { 0 }, d = { 0 };
    Elf64_Ehdr eh;
    const Elf64_Shdr *old;
    Elf64_Shdr *sh;
    size_t i, n = 0, rec_off, str_off, sh_off, name_off;
    uint32_t namesz = sizeof(RECORD_OWNER), type = RECORD_TYPE, descsz;
    const Elf64_Shdr *oldstr;
    static const char zero[8];

    memcpy(&eh, st->buf, sizeof(eh));
    if (!eh.e_shnum || eh.e_shstrndx >= eh.e_shnum)
        return lpl_fail(v, EINVAL, "%s: no section header table", st->path);
    serialise(st, &d);
    if (d.failed)
        return lpl_fail(v, ENOMEM, "out of memory");
    descsz = (uint32_t)d.len;
    put(&w, &namesz, 4);
    put(&w, &descsz, 4);
    put(&w, &type, 4);
    put(&w, RECORD_OWNER, namesz);
    put(&w, zero, align_up(namesz, 4) - namesz);
    put(&w, d.b, d.len);
    put(&w, zero, align_up(d.len, 4) - d.len);
    free(d.b);
    /* Section names: the old table's, plus ours. */
    oldstr = (const Elf64_Shdr *)(st->buf + eh.e_shoff) + eh.e_shstrndx;
    rec_off = align_up(st->len, 8);
    str_off = rec_off + w.len;
    name_off = oldstr->sh_size;
    sh_off = align_up(str_off + oldstr->sh_size + sizeof(RECORD_SECTION), 8);
    if (w.failed || grow(st, sh_off + (eh.e_shnum + 1) * sizeof(Elf64_Shdr), v)) {
        free(w.b);
        return w.failed ? lpl_fail(v, ENOMEM, "out of memory") : -1;
    }
    memcpy(st->buf + rec_off, w.b, w.len);
    free(w.b);
    old = (const Elf64_Shdr *)(st->buf + eh.e_shoff);
    oldstr = old + eh.e_shstrndx;
    memcpy(st->buf + str_off, st->buf + oldstr->sh_offset, oldstr->sh_size);
    memcpy(st->buf + str_off + name_off, RECORD_SECTION, sizeof(RECORD_SECTION));
    sh = (Elf64_Shdr *)(st->buf + sh_off);
    for (i = 0; i < eh.e_shnum; i++) {
        /* A record from an earlier apply is replaced by this one. */
        if (i && old[i].sh_type == SHT_NOTE && oldstr->sh_offset + old[i].sh_name < st->len &&
            strcmp((const char *)st->buf + oldstr->sh_offset + old[i].sh_name,
                   RECORD_SECTION) == 0)
            continue;
        sh[n] = old[i];
        if (i == eh.e_shstrndx) {
            sh[n].sh_offset = str_off;
            sh[n].sh_size = oldstr->sh_size + sizeof(RECORD_SECTION);
            eh.e_shstrndx = (Elf64_Half)n;
        }
        n++;
    }
    sh[n] = (Elf64_Shdr){ .sh_name = (Elf64_Word)name_off, .sh_type = SHT_NOTE,
                          .sh_offset = rec_off, .sh_size = w.len, .sh_addralign = 4 };
    n++;
    eh.e_shoff = sh_off;
    eh.e_shnum = (Elf64_Half)n;
    memcpy(st->buf, &eh, sizeof(eh));
    st->len = sh_off + n * sizeof(Elf64_Shdr);
    return 0;
}

static int apply_one(struct lpl_stack *st, const void *buf, size_t len, const char *name,
                     bool skip_hooks, bool on_image, struct lpl_verdict *v)
{
    struct lpl_payload **loaded = loaded_list(st);
    struct entry e = { 0 };
    struct entry *grown;
    uint64_t cong, reserve;
    unsigned char *saved = NULL;
    size_t saved_len = st->len;

    memset(v, 0, sizeof(*v));
    if (!loaded)
        return lpl_fail(v, ENOMEM, "out of memory");
    if (lpl_check(buf, len, name, st->img, loaded, st->n, &e.p, v))
        goto fail;
    if (lpl_apply_checks(e.p, on_image || !st->n ? NULL : st->e[st->n - 1].p, st->img, v))
        goto fail;
    if (e.p->hooks && !skip_hooks) {
        lpl_fail(v, EOPNOTSUPP, "%s: has hooks, which cannot run in an offline apply "
                 "(use --skip-hooks to apply without running them)", e.p->name);
        goto fail;
    }
    /* Keep the bytes we may need to give back if a later step fails. */
    saved = malloc(st->len);
    e.raw = malloc(len ? len : 1);
    e.file_name = strdup(name);
    grown = realloc(st->e, (st->n + 1) * sizeof(*st->e));
    if (!saved || !e.raw || !e.file_name || !grown) {
        lpl_fail(v, ENOMEM, "out of memory");
        goto fail;
    }
    st->e = grown;
    memcpy(saved, st->buf, st->len);
    memcpy(e.raw, buf, len);
    e.raw_len = len;
    e.pre_len = st->len;
    memcpy(e.pre_ehdr, st->buf, sizeof(e.pre_ehdr));
    cong = congruence(st);
    reserve = align_up((st->img->elf->nr_phdrs + 2) * sizeof(Elf64_Phdr), 64);
    e.text_base = lpl_next_address(st->img, loaded, st->n, st->len);
    e.reserve = reserve;
    /* Placed for good now: copy, relocate and read the entries again, from the image. */
    if (lpl_place_at(e.p, e.text_base, reserve, v) || write_segments(st, &e, cong, v) ||
        lpl_load(e.p, st->buf + (e.p->text_base - cong), st->img, loaded, st->n, false, v) ||
        lpl_read_funcs(e.p, st->buf + (e.p->text_base - cong), st->img, loaded, st->n, false,
                       v) ||
        write_trampolines(st, &e, v))
        goto restore;
    st->e[st->n++] = e;
    if (write_record(st, v) || reparse(st, v)) {
        st->n--;
        goto restore;
    }
    free(saved);
    free(loaded);
    return 0;
restore:
    memcpy(st->buf, saved, saved_len);
    st->len = saved_len;
    reparse(st, &(struct lpl_verdict){ 0 });
fail:
    free(saved);
    free_entry(&e);
    free(loaded);
    return -1;
}

int lpl_image_apply(struct lpl_stack *st, const void *buf, size_t len, const char *name,
                    bool skip_hooks, struct lpl_verdict *v)
{
    return apply_one(st, buf, len, name, skip_hooks, false, v);
}

int lpl_image_revert(struct lpl_stack *st, struct lpl_verdict *v)
{
    struct entry *e;
    size_t i;

    memset(v, 0, sizeof(*v));
    if (!st->n)
        return lpl_fail(v, ENOENT, "%s: no payload is applied", st->path);
    e = &st->e[st->n - 1];
    /* load_record checked every undo against the image; check again before writing. */
    if (e->pre_len > st->len)
        return lpl_fail(v, EINVAL, "%s: record is inconsistent with the file", st->path);
    for (i = 0; i < e->nr_undo; i++)
        if (e->undo[i].len > LIVEPATCH_OPAQUE_SIZE || e->undo[i].off > e->pre_len ||
            e->undo[i].len > e->pre_len - e->undo[i].off)
            return lpl_fail(v, EINVAL, "%s: %s: undo %zu (offset %llu, %u bytes) is outside the "
                            "image", st->path, RECORD_SECTION, i,
                            (unsigned long long)e->undo[i].off, e->undo[i].len);
    st->len = e->pre_len;
    memcpy(st->buf, e->pre_ehdr, sizeof(e->pre_ehdr));
    for (i = e->nr_undo; i-- > 0;)
        memcpy(st->buf + e->undo[i].off, e->undo[i].bytes, e->undo[i].len);
    free_entry(e);
    st->n--;
    return reparse(st, v);
}

int lpl_image_replace(struct lpl_stack *st, const void *buf, size_t len, const char *name,
                      bool skip_hooks, struct lpl_verdict *v)
{
    const unsigned pre_post = LPL_HOOK_PREAPPLY | LPL_HOOK_POSTAPPLY | LPL_HOOK_PREREVERT |
                              LPL_HOOK_POSTREVERT;
    size_t i;

    memset(v, 0, sizeof(*v));
    for (i = 0; i < st->n; i++)
        if (st->e[i].p->hooks & pre_post)
            return lpl_fail(v, EBUSY, "%s: has pre/post hooks: it cannot be replaced",
                            st->e[i].p->name);
    while (st->n)
        if (lpl_image_revert(st, v))
            return -1;
    if (apply_one(st, buf, len, name, skip_hooks, true, v))
        return -1;
    if (st->e[st->n - 1].p->hooks & pre_post) {
        lpl_image_revert(st, &(struct lpl_verdict){ 0 });
        return lpl_fail(v, EBUSY, "%s: has pre/post hooks: it cannot replace others", name);
    }
    return 0;
}

int lpl_image_write(struct lpl_stack *st, const char *path, struct lpl_verdict *v)
{
    struct lp_error e = { 0 };

    memset(v, 0, sizeof(*v));
    if (lp_write_file(path, st->buf, st->len, 0755, &e))
        return lpl_fail(v, EIO, "%s", e.msg);
    return 0;
}
