/*
 * check.c - every check the hypervisor makes when a payload is uploaded, in its
 * order: ELF header, section table, alignment, W+X, the symbol table, string
 * tables, the target build id, placement, symbol resolution, duplicate new
 * symbols, relocations, function entries, hooks, special sections, .modinfo.
 *
 * Pure: buffers in, a verdict out (errno value + message naming the payload and
 * the section or symbol).  The same code is livepatch-build's last step and the
 * first step of every offline apply.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/hash.h"
#include "loader_internal.h"

int lpl_fail(struct lpl_verdict *v, int errnum, const char *fmt, ...)
{
    va_list ap;

    if (v->errnum)
        return -1;
    v->errnum = errnum;
    v->err.code = LP_ERR_INVALID;
    va_start(ap, fmt);
    vsnprintf(v->err.msg, sizeof(v->err.msg), fmt, ap);
    va_end(ap);
    return -1;
}

const char *lpl_errno_name(int e)
{
    switch (e) {
    case 0: return "OK";
    case EINVAL: return "EINVAL";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    case ENOMEM: return "ENOMEM";
    case ENODATA: return "ENODATA";
    case EOVERFLOW: return "EOVERFLOW";
    case ERANGE: return "ERANGE";
    case EBUSY: return "EBUSY";
    case EAGAIN: return "EAGAIN";
    case E2BIG: return "E2BIG";
    case ENOBUFS: return "ENOBUFS";
    case EIO: return "EIO";
    }
    return "E?";
}

void lpl_payload_free(struct lpl_payload *p)
{
    size_t i;

    if (!p)
        return;
    for (i = 0; i < p->nr_funcs; i++)
        free(p->funcs[i].name);
    for (i = 0; i < p->nr_modinfo; i++)
        free(p->modinfo[i]);
    free(p->funcs);
    lp_hash_free(p->sym_index);
    free(p->syms);
    free(p->modinfo);
    free(p->addr);
    free(p->name);
    lpe_close(p->elf);
    free(p);
}

/* --- ELF header and section table --------------------------------------------------- */

static int check_header(const unsigned char *b, size_t len, const char *name,
                        struct lpl_verdict *v)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)b;

    if (len > LIVEPATCH_MAX_PAYLOAD_SIZE)
        return lpl_fail(v, EINVAL, "%s: %zu bytes: larger than the %u-byte payload limit", name,
                        len, LIVEPATCH_MAX_PAYLOAD_SIZE);
    if (len < sizeof(*eh) || memcmp(b, ELFMAG, SELFMAG) != 0)
        return lpl_fail(v, EINVAL, "%s: ELF header: not an ELF file or truncated header", name);
    if (b[EI_CLASS] != ELFCLASS64 || b[EI_DATA] != ELFDATA2LSB)
        return lpl_fail(v, EOPNOTSUPP, "%s: ELF header: not a 64-bit little-endian object",
                        name);
    if (b[EI_VERSION] != EV_CURRENT ||
        (b[EI_OSABI] != ELFOSABI_SYSV && b[EI_OSABI] != ELFOSABI_FREEBSD) ||
        b[EI_ABIVERSION] != 0)
        return lpl_fail(v, EOPNOTSUPP, "%s: ELF header: unsupported version or OS ABI", name);
    if (eh->e_type != ET_REL || eh->e_phnum != 0)
        return lpl_fail(v, EOPNOTSUPP,
                        "%s: ELF header: not a relocatable object without program headers "
                        "(type %u, %u program headers)", name, eh->e_type, eh->e_phnum);
    if (eh->e_machine != EM_X86_64)
        return lpl_fail(v, EOPNOTSUPP, "%s: ELF header: machine %u is not x86-64", name,
                        eh->e_machine);
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || !eh->e_shnum ||
        eh->e_shoff > len || (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > len - eh->e_shoff)
        return lpl_fail(v, EINVAL, "%s: section table: missing, or past the end of the file",
                        name);
    return 0;
}

static int check_sections(struct lpl_payload *p, struct lpl_verdict *v)
{
    const struct lpe_object *o = p->elf;
    size_t i;

    for (i = 1; i < o->nr_sections; i++) {
        const struct lpe_section *s = o->sections[i];
        uint64_t f = s->sh.sh_flags;

        if (s->sh.sh_addralign > 1 && (s->sh.sh_addralign & (s->sh.sh_addralign - 1)))
            return lpl_fail(v, EINVAL, "%s: section %s: alignment %llu is not a power of two",
                            p->name, s->name, (unsigned long long)s->sh.sh_addralign);
        if ((f & SHF_WRITE) && (f & SHF_EXECINSTR))
            return lpl_fail(v, EINVAL, "%s: section %s: both writable and executable", p->name,
                            s->name);
        if (s->sh.sh_type == SHT_STRTAB && s->size &&
            (s->data[0] != '\0' || s->data[s->size - 1] != '\0'))
            return lpl_fail(v, EINVAL,
                            "%s: section %s: string table does not start and end with NUL",
                            p->name, s->name);
        if (s->sh.sh_type == SHT_REL)
            return lpl_fail(v, EOPNOTSUPP, "%s: section %s: SHT_REL relocations (only RELA)",
                            p->name, s->name);
    }
    if (!o->symtab)
        return lpl_fail(v, EINVAL, "%s: no symbol table", p->name);
    return 0;
}

/* --- notes and build ids ----------------------------------------------------------------- */

static int read_note(struct lpl_payload *p, const char *sec, unsigned char *id, size_t *len,
                     struct lpl_verdict *v)
{
    const struct lpe_section *s = lpe_find_section(p->elf, sec);
    const unsigned char *desc;
    struct lp_error e = { 0 };

    if (!s || !s->size || !s->data)
        return lpl_fail(v, ENODATA, "%s: %s: missing or empty", p->name, sec);
    if (lpe_note_build_id(s->data, s->size, sec, &desc, len, &e))
        return lpl_fail(v, EINVAL, "%s: %s", p->name, e.msg);
    if (*len > LPL_ID_MAX)
        return lpl_fail(v, EINVAL, "%s: %s: build id of %zu bytes is too long", p->name, sec,
                        *len);
    memcpy(id, desc, *len);
    return 0;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * n] = '\0';
}

static int check_xen_depends(struct lpl_payload *p, const struct lpi_image *img,
                             bool structural, struct lpl_verdict *v)
{
    char want[2 * LPL_ID_MAX + 1], got[2 * LPL_ID_MAX + 1];

    if (read_note(p, LIVEPATCH_SEC_XEN_DEPENDS, p->xen_depends, &p->xen_depends_len, v))
        return -1;
    if (structural)
        return 0;
    if (!img->build_id_len)
        return lpl_fail(v, ENODATA, "%s: the image has no build id to check against",
                        img->elf->path);
    if (p->xen_depends_len != img->build_id_len ||
        memcmp(p->xen_depends, img->build_id, img->build_id_len)) {
        hex(p->xen_depends, p->xen_depends_len, got);
        hex(img->build_id, img->build_id_len, want);
        return lpl_fail(v, EINVAL, "%s: %s: built for image %s, but the image is %s", p->name,
                        LIVEPATCH_SEC_XEN_DEPENDS, got, want);
    }
    return 0;
}

bool lpl_depends_ok(const struct lpl_payload *p, const struct lpl_payload *top,
                    const struct lpi_image *img)
{
    const unsigned char *id = top ? top->id : img->build_id;
    size_t len = top ? top->id_len : img->build_id_len;

    return p->depends_len == len && memcmp(p->depends, id, len) == 0;
}

int lpl_check_stacked(const void *buf, size_t len, const char *name,
                      const struct lpi_image *img, struct lpl_payload *const *loaded,
                      size_t nr_loaded, struct lpl_payload **out, struct lpl_verdict *v)
{
    const struct lpl_payload *top = nr_loaded ? loaded[nr_loaded - 1] : NULL;

    if (lpl_check(buf, len, name, img, loaded, nr_loaded, out, v))
        return -1;
    if (lpl_depends_ok(*out, top, img))
        return 0;
    lpl_fail(v, EINVAL, "%s: %s: depends on a build id that is not %s", (*out)->name,
             LIVEPATCH_SEC_DEPENDS, top ? "the previous payload's" : "the image's");
    lpl_payload_free(*out);
    *out = NULL;
    return -1;
}

/* --- symbols ------------------------------------------------------------------------------ */

static bool loaded_section(const struct lpe_section *s)
{
    return s && (s->sh.sh_flags & SHF_ALLOC) && s->size;
}

/* Is this symbol the new code of some function entry (it may then share the old name)? */
static bool is_new_addr(const struct lpl_payload *p, const struct lpe_symbol *y)
{
    size_t i;
    for (i = 0; i < p->nr_funcs; i++)
        if (p->funcs[i].new_sec == y->sec && p->funcs[i].new_off == y->sym.st_value)
            return true;
    return false;
}

/* The address of a new symbol of an already-loaded payload with this name, or 0. */
static uint64_t loaded_symbol(struct lpl_payload *const *loaded, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const struct lpl_symbol *y = loaded[i]->sym_index
                                         ? lp_hash_find(loaded[i]->sym_index, name) : NULL;
        if (y)
            return loaded[i]->addr[y->sec->index] + y->value;
    }
    return 0;
}

static int collect_new_symbols(struct lpl_payload *p, const struct lpi_image *img,
                               struct lpl_payload *const *loaded, size_t nr_loaded,
                               bool structural, struct lpl_verdict *v)
{
    const struct lpe_object *o = p->elf;
    struct lp_hash *seen = lp_hash_new(o->nr_symbols);
    size_t i;
    int failed;

    if (!seen)
        return lpl_fail(v, ENOMEM, "out of memory");
    p->syms = calloc(o->nr_symbols, sizeof(*p->syms));
    if (!p->syms) {
        lp_hash_free(seen);
        return lpl_fail(v, ENOMEM, "out of memory");
    }
    for (i = 1; i < o->nr_symbols; i++) {
        const struct lpe_symbol *y = o->symbols[i];
        struct lp_error e = { 0 };

        if (!y->name[0] || y->type == STT_SECTION || y->type == STT_FILE ||
            !loaded_section(y->sec) || strncmp(y->name, ".L", 2) == 0)
            continue;
        if (y->sym.st_value > y->sec->size)
            return lp_hash_free(seen),
                   lpl_fail(v, ERANGE, "%s: symbol %s: value past the end of %s", p->name,
                            y->name, y->sec->name);
        if (is_new_addr(p, y))
            continue;
        if (lp_hash_insert(seen, y->name, (void *)y, &failed) || failed) {
            lp_hash_free(seen);
            return lpl_fail(v, EEXIST, "%s: symbol %s: defined twice in the payload", p->name,
                            y->name);
        }
        if (!structural && (lpi_lookup(img, y->name, &e) || e.code == LP_ERR_AMBIGUOUS)) {
            lp_hash_free(seen);
            return lpl_fail(v, EEXIST, "%s: symbol %s: duplicate new symbol: the image "
                            "already has it", p->name, y->name);
        }
        if (loaded_symbol(loaded, nr_loaded, y->name)) {
            lp_hash_free(seen);
            return lpl_fail(v, EEXIST, "%s: symbol %s: duplicate new symbol: a loaded payload "
                            "already has it", p->name, y->name);
        }
        p->syms[p->nr_syms].name = y->name;
        p->syms[p->nr_syms].sec = y->sec;
        p->syms[p->nr_syms].value = y->sym.st_value;
        p->nr_syms++;
    }
    /* The same names, now pointing at their records, serve later payloads' lookups. */
    for (i = 0; i < p->nr_syms; i++)
        lp_hash_replace(seen, p->syms[i].name, &p->syms[i]);
    p->sym_index = seen;
    return 0;
}

/* Resolve one symbol to an address: payload sections, then image, then loaded payloads. */
int lpl_symbol_address(const struct lpl_payload *p, const struct lpe_symbol *y,
                       const struct lpi_image *img, struct lpl_payload *const *loaded,
                       size_t nr_loaded, uint64_t *addr, struct lpl_verdict *v)
{
    const struct lpi_symbol *is;
    struct lp_error e = { 0 };

    if (y->sec) {
        if (!p->addr[y->sec->index])
            return lpl_fail(v, EINVAL, "%s: symbol %s: in section %s, which is not loaded",
                            p->name, y->name[0] ? y->name : y->sec->name, y->sec->name);
        *addr = p->addr[y->sec->index] + y->sym.st_value;
        return 0;
    }
    if (y->sym.st_shndx == SHN_ABS) {
        *addr = y->sym.st_value;
        return 0;
    }
    if (y->sym.st_shndx != SHN_UNDEF)
        return lpl_fail(v, EINVAL, "%s: symbol %s: unsupported section index %u", p->name,
                        y->name, y->sym.st_shndx);
    is = lpi_lookup(img, y->name, &e);
    if (is) {
        *addr = is->addr;
        return 0;
    }
    if (e.code == LP_ERR_AMBIGUOUS)
        return lpl_fail(v, EINVAL, "%s: symbol %s: ambiguous in the image", p->name, y->name);
    *addr = loaded_symbol(loaded, nr_loaded, y->name);
    if (*addr)
        return 0;
    return lpl_fail(v, ENOENT, "%s: symbol %s: unresolved: not in the image nor in a loaded "
                    "payload", p->name, y->name);
}

/* --- relocations ---------------------------------------------------------------------------- */

static int check_relocations(struct lpl_payload *p, const struct lpi_image *img,
                             struct lpl_payload *const *loaded, size_t nr_loaded,
                             bool structural, struct lpl_verdict *v)
{
    const struct lpe_object *o = p->elf;
    size_t i, j;

    for (i = 1; i < o->nr_sections; i++) {
        const struct lpe_section *rs = o->sections[i];
        const struct lpe_section *base = rs->base;

        if (rs->sh.sh_type != SHT_RELA || !loaded_section(base))
            continue;
        for (j = 0; j < rs->nr_relas; j++) {
            const struct lpe_rela *r = &rs->relas[j];
            uint64_t s, pc;
            int64_t val;

            p->nr_relas++;
            if (r->type != R_X86_64_NONE && r->type != R_X86_64_64 &&
                r->type != R_X86_64_PC32 && r->type != R_X86_64_PLT32)
                return lpl_fail(v, EOPNOTSUPP,
                                "%s: section %s: relocation %zu has unsupported type %u", p->name,
                                rs->name, j, r->type);
            if (r->type == R_X86_64_NONE)
                continue;
            if (r->offset + (r->type == R_X86_64_64 ? 8 : 4) > base->size)
                return lpl_fail(v, ERANGE, "%s: section %s: relocation %zu at 0x%llx is past "
                                "the end of %s", p->name, rs->name, j,
                                (unsigned long long)r->offset, base->name);
            if (structural && !r->sym->sec)
                continue;
            if (lpl_symbol_address(p, r->sym, img, loaded, nr_loaded, &s, v))
                return -1;
            if (r->type == R_X86_64_64)
                continue;
            pc = p->addr[base->index] + r->offset;
            val = (int64_t)(s + (uint64_t)r->addend - pc);
            if (val != (int32_t)val)
                return lpl_fail(v, EOVERFLOW, "%s: section %s: relocation %zu against %s "
                                "overflows 32 bits (distance %lld)", p->name, rs->name, j,
                                r->sym->name[0] ? r->sym->name : "a section", (long long)val);
        }
    }
    return 0;
}

/* --- function entries -------------------------------------------------------------------- */

static const struct lpe_rela *rela_at(const struct lpe_section *s, uint64_t off)
{
    size_t n;
    const struct lpe_rela *r = lpe_relas_in(s, off, off + 1, &n);
    return n ? r : NULL;
}

static int check_funcs(struct lpl_payload *p, const struct lpi_image *img, bool structural,
                       struct lpl_verdict *v)
{
    const struct lpe_section *s = lpe_find_section(p->elf, LIVEPATCH_SEC_FUNCS);
    size_t i, n;

    if (!s)
        return 0;
    if (!s->size || s->size % LIVEPATCH_FUNC_SIZE || !s->data)
        return lpl_fail(v, EINVAL, "%s: %s: size %zu is not a non-zero multiple of %d",
                        p->name, s->name, s->size, LIVEPATCH_FUNC_SIZE);
    if (s->sh.sh_flags & SHF_WRITE)
        return lpl_fail(v, EINVAL, "%s: %s: must be read-only", p->name, s->name);
    n = s->size / LIVEPATCH_FUNC_SIZE;
    p->funcs = calloc(n, sizeof(*p->funcs));
    if (!p->funcs)
        return lpl_fail(v, ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        uint64_t off = i * LIVEPATCH_FUNC_SIZE;
        const struct lpe_rela *nr = rela_at(s, off + LIVEPATCH_FUNC_OFF_NAME);
        const struct lpe_rela *ar = rela_at(s, off + LIVEPATCH_FUNC_OFF_NEW_ADDR);
        struct livepatch_func e;
        struct lpl_func *f = &p->funcs[i];
        const char *name = NULL;
        unsigned char head[4] = { 0 };
        uint64_t min;

        memcpy(&e, s->data + off, sizeof(e));
        p->nr_funcs++;
        if (e.version != LIVEPATCH_PAYLOAD_VERSION)
            return lpl_fail(v, EOPNOTSUPP, "%s: %s: entry %zu has version %u (only %d)",
                            p->name, s->name, i, e.version, LIVEPATCH_PAYLOAD_VERSION);
        if (nr && nr->type == R_X86_64_64 && nr->sym->sec && nr->sym->sec->data) {
            uint64_t at = nr->sym->sym.st_value + (uint64_t)nr->addend;
            if (at < nr->sym->sec->size &&
                memchr(nr->sym->sec->data + at, '\0', nr->sym->sec->size - at))
                name = (const char *)nr->sym->sec->data + at;
        }
        if (!name || !*name)
            return lpl_fail(v, EINVAL, "%s: %s: entry %zu has no name", p->name, s->name, i);
        f->name = strdup(name);
        if (!f->name)
            return lpl_fail(v, ENOMEM, "out of memory");
        if (!e.old_size)
            return lpl_fail(v, EINVAL, "%s: function %s: old_size is 0", p->name, name);
        f->old_size = e.old_size;
        f->new_size = e.new_size;
        f->expect = e.expect;
        if (ar && ar->type == R_X86_64_64) {
            struct lpe_symbol *t = ar->sym;
            if (!t->sec || !(t->sec->sh.sh_flags & SHF_EXECINSTR))
                return lpl_fail(v, EINVAL, "%s: function %s: new_addr does not point at code "
                                "in the payload", p->name, name);
            f->new_sec = t->sec;
            f->new_off = t->sym.st_value + (uint64_t)ar->addend;
        } else if (e.new_addr) {
            return lpl_fail(v, EINVAL, "%s: function %s: new_addr is an absolute address",
                            p->name, name);
        }
        if (e.old_addr || structural) {
            f->old_addr = (uint64_t)(uintptr_t)e.old_addr;
        } else {
            struct lp_error le = { 0 };
            const struct lpi_symbol *is = lpi_lookup(img, name, &le);
            if (!is)
                return lpl_fail(v, ENOENT, "%s: function %s: %s", p->name, name,
                                le.code == LP_ERR_AMBIGUOUS ? "ambiguous in the image"
                                                            : "not found in the image");
            f->old_addr = is->addr;
        }
        if (!structural && lpi_read(img, f->old_addr, head, 4, NULL) == 0)
            f->endbr = livepatch_is_endbr(head);
        min = LIVEPATCH_JMP_SIZE + (f->endbr ? LIVEPATCH_ENDBR_SIZE : 0);
        if (f->new_sec && f->old_size < min)
            return lpl_fail(v, EINVAL, "%s: function %s: %u bytes cannot take the %llu-byte "
                            "jump%s", p->name, name, f->old_size, (unsigned long long)min,
                            f->endbr ? " after its ENDBR64" : "");
        if (!f->new_sec) {
            /* NOP mode: overwrite new_size bytes with NOPs. */
            if (f->new_size > LIVEPATCH_OPAQUE_SIZE || f->new_size > f->old_size || !f->new_size)
                return lpl_fail(v, EINVAL, "%s: function %s: NOP mode needs 0 < new_size <= %d "
                                "and <= old_size (new_size %u, old_size %u)", p->name, name,
                                LIVEPATCH_OPAQUE_SIZE, f->new_size, f->old_size);
            if (f->endbr && f->new_size < LIVEPATCH_ENDBR_SIZE)
                return lpl_fail(v, EINVAL, "%s: function %s: NOP mode of %u bytes would cut "
                                "its ENDBR64 instruction", p->name, name, f->new_size);
        }
        if (f->expect.enabled &&
            (f->expect.rsv || f->expect.len > LIVEPATCH_OPAQUE_SIZE || f->expect.len > f->old_size))
            return lpl_fail(v, EINVAL, "%s: function %s: invalid expectation (len %u, rsv %u)",
                            p->name, name, f->expect.len, f->expect.rsv);
    }
    return 0;
}

static int check_distances(struct lpl_payload *p, bool structural, struct lpl_verdict *v)
{
    size_t i;

    if (structural)
        return 0;
    for (i = 0; i < p->nr_funcs; i++) {
        const struct lpl_func *f = &p->funcs[i];
        int64_t d;

        if (!f->new_sec)
            continue;
        d = (int64_t)(p->addr[f->new_sec->index] + f->new_off - (f->old_addr + 5));
        if (d != (int32_t)d)
            return lpl_fail(v, EOVERFLOW, "%s: function %s: new code is more than 2 GiB away "
                            "from the old", p->name, f->name);
    }
    return 0;
}

/* --- hooks, special sections, .modinfo ------------------------------------------------------- */

static int check_hooks(struct lpl_payload *p, struct lpl_verdict *v)
{
    static const char *const multi[] = { LIVEPATCH_SEC_HOOK_LOAD, LIVEPATCH_SEC_HOOK_UNLOAD };
    static const char *const single[] = { LIVEPATCH_SEC_HOOK_PREAPPLY, LIVEPATCH_SEC_HOOK_APPLY,
                                          LIVEPATCH_SEC_HOOK_POSTAPPLY,
                                          LIVEPATCH_SEC_HOOK_PREREVERT,
                                          LIVEPATCH_SEC_HOOK_REVERT,
                                          LIVEPATCH_SEC_HOOK_POSTREVERT };
    size_t i;

    for (i = 0; i < 2; i++) {
        const struct lpe_section *s = lpe_find_section(p->elf, multi[i]);
        if (!s)
            continue;
        if (!s->size || s->size % LIVEPATCH_HOOK_PTR_SIZE)
            return lpl_fail(v, EINVAL, "%s: %s: size %zu is not a non-zero multiple of %d",
                            p->name, s->name, s->size, LIVEPATCH_HOOK_PTR_SIZE);
        p->hooks |= 1u << i;
    }
    for (i = 0; i < 6; i++) {
        const struct lpe_section *s = lpe_find_section(p->elf, single[i]);
        if (!s)
            continue;
        if (s->size != LIVEPATCH_HOOK_PTR_SIZE)
            return lpl_fail(v, EINVAL, "%s: %s: must hold exactly one %d-byte pointer (size %zu)",
                            p->name, s->name, LIVEPATCH_HOOK_PTR_SIZE, s->size);
        p->hooks |= 1u << (i + 2);
    }
    if (!p->nr_funcs && !p->hooks)
        return lpl_fail(v, EINVAL, "%s: neither %s nor any hook section: nothing to do",
                        p->name, LIVEPATCH_SEC_FUNCS);
    return 0;
}

static int check_special(struct lpl_payload *p, struct lpl_verdict *v)
{
    const struct lpe_object *o = p->elf;
    size_t i;

    for (i = 1; i < o->nr_sections; i++) {
        const struct lpe_section *s = o->sections[i];
        size_t esize = 0;

        if (strncmp(s->name, LIVEPATCH_SEC_BUG_FRAMES, strlen(LIVEPATCH_SEC_BUG_FRAMES)) == 0)
            esize = LIVEPATCH_BUG_FRAME_SIZE;
        else if (strcmp(s->name, LIVEPATCH_SEC_EX_TABLE) == 0)
            esize = LIVEPATCH_EX_TABLE_SIZE;
        else if (strcmp(s->name, LIVEPATCH_SEC_ALTINSTR) == 0)
            esize = LIVEPATCH_ALTINSTR_SIZE;
        else if (strcmp(s->name, LIVEPATCH_SEC_ALT_CALL_SITES) == 0)
            esize = LIVEPATCH_ALT_CALL_SITE_SIZE;
        if (esize && s->size % esize)
            return lpl_fail(v, EINVAL, "%s: %s: size %zu is not a multiple of its %zu-byte "
                            "entries", p->name, s->name, s->size, esize);
        if (strncmp(s->name, LIVEPATCH_SEC_BUG_FRAMES, strlen(LIVEPATCH_SEC_BUG_FRAMES)) == 0 &&
            (s->name[strlen(LIVEPATCH_SEC_BUG_FRAMES)] < '0' ||
             s->name[strlen(LIVEPATCH_SEC_BUG_FRAMES)] >= '0' + LIVEPATCH_NR_BUG_FRAMES))
            return lpl_fail(v, EINVAL, "%s: %s: unknown bug frame type", p->name, s->name);
    }
    return 0;
}

/* Metadata strings; an unterminated last string is reported by check_modinfo(), late,
 * where the hypervisor checks it, but the name is wanted for every message before. */
static int read_modinfo(struct lpl_payload *p, const char *fallback, struct lpl_verdict *v)
{
    const struct lpe_section *s = lpe_find_section(p->elf, LIVEPATCH_SEC_MODINFO);
    size_t off = 0;

    if (s && s->size && s->data) {
        p->modinfo = calloc(s->size, sizeof(char *));
        if (!p->modinfo)
            return lpl_fail(v, ENOMEM, "out of memory");
        while (off < s->size) {
            const char *str = (const char *)s->data + off;
            size_t n = strnlen(str, s->size - off);
            /* The last string may lack its NUL (check_modinfo refuses that
             * later): never look past the n bytes that are there. */
            if (n) {
                char *copy = strndup(str, n);
                if (!copy)
                    return lpl_fail(v, ENOMEM, "out of memory");
                p->modinfo[p->nr_modinfo++] = copy;
                if (n >= 5 && !memcmp(copy, "name=", 5) && !p->name &&
                    !(p->name = strdup(copy + 5)))
                    return lpl_fail(v, ENOMEM, "out of memory");
            }
            off += n + 1;
        }
    }
    if (!p->name)
        p->name = strdup(fallback);
    return p->name ? 0 : lpl_fail(v, ENOMEM, "out of memory");
}

static int check_modinfo(struct lpl_payload *p, struct lpl_verdict *v)
{
    const struct lpe_section *s = lpe_find_section(p->elf, LIVEPATCH_SEC_MODINFO);

    if (s && s->size && (!s->data || s->data[s->size - 1] != '\0'))
        return lpl_fail(v, EINVAL, "%s: %s: not NUL-terminated", p->name, s->name);
    return 0;
}

static int check_duplicate_id(struct lpl_payload *p, struct lpl_payload *const *loaded,
                              size_t nr_loaded, struct lpl_verdict *v)
{
    size_t i;

    for (i = 0; i < nr_loaded; i++)
        if (loaded[i]->id_len == p->id_len && !memcmp(loaded[i]->id, p->id, p->id_len))
            return lpl_fail(v, EEXIST, "%s: build id is the same as loaded payload %s's", p->name,
                            loaded[i]->name);
    return 0;
}

static int check_payload(const void *buf, size_t len, const char *name,
                         const struct lpi_image *img, struct lpl_payload *const *loaded,
                         size_t nr_loaded, bool structural, struct lpl_payload **out,
                         struct lpl_verdict *v)
{
    struct lpl_payload *p;
    struct lp_error e = { 0 };

    memset(v, 0, sizeof(*v));
    if (check_header(buf, len, name, v))
        return -1;
    p = calloc(1, sizeof(*p));
    if (!p)
        return lpl_fail(v, ENOMEM, "out of memory");
    if (lpe_open_memory(buf, len, name, &p->elf, &e)) {
        free(p);
        return lpl_fail(v, EINVAL, "%s", e.msg);
    }
    /* The name is only known from .modinfo; until then messages use the file name. */
    p->name = strdup(name);
    if (!p->name || check_sections(p, v))
        goto fail;
    free(p->name);
    p->name = NULL;
    if (read_modinfo(p, name, v) || check_xen_depends(p, img, structural, v) ||
        read_note(p, LIVEPATCH_SEC_DEPENDS, p->depends, &p->depends_len, v) ||
        read_note(p, LIVEPATCH_SEC_BUILD_ID, p->id, &p->id_len, v))
        goto fail;
    if (lpl_place(p, img, loaded, nr_loaded, v) || check_funcs(p, img, structural, v) ||
        collect_new_symbols(p, img, loaded, nr_loaded, structural, v) ||
        check_relocations(p, img, loaded, nr_loaded, structural, v) ||
        check_distances(p, structural, v) || check_hooks(p, v) || check_special(p, v) ||
        check_modinfo(p, v) || check_duplicate_id(p, loaded, nr_loaded, v))
        goto fail;
    *out = p;
    return 0;
fail:
    lpl_payload_free(p);
    return -1;
}

int lpl_check(const void *buf, size_t len, const char *name, const struct lpi_image *img,
              struct lpl_payload *const *loaded, size_t nr_loaded, struct lpl_payload **out,
              struct lpl_verdict *v)
{
    return check_payload(buf, len, name, img, loaded, nr_loaded, false, out, v);
}

int lpl_info(const void *buf, size_t len, const char *name, const struct lpi_image *img,
             struct lpl_payload **out, struct lpl_verdict *v)
{
    return check_payload(buf, len, name, img, NULL, 0, true, out, v);
}
