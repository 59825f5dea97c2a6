/*
 * check.c - every check the hypervisor makes when a payload is uploaded, in its
 * order: ELF header, section table, symbol table (read from the raw bytes, as the
 * hypervisor reads them), placement, symbol resolution, relocation of every loaded
 * section, the required notes, the patching sections, the function entries (read
 * from the relocated copy), hooks, special sections, .modinfo, the target build id
 * and duplicate new symbols.
 *
 * Pure: buffers in, a verdict out (errno value + message naming the payload by its
 * name and the section or symbol).  The same code is livepatch-build's last step
 * and the first step of every offline apply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/hash.h"
#include "livepatch/special.h"
#include "loader_internal.h"

static void free_funcs(struct lpl_payload *p)
{
    size_t i;

    for (i = 0; i < p->nr_funcs; i++)
        free(p->funcs[i].name);
    free(p->funcs);
    p->funcs = NULL;
    p->nr_funcs = 0;
}

void lpl_payload_free(struct lpl_payload *p)
{
    size_t i;

    if (!p)
        return;
    free_funcs(p);
    for (i = 0; i < p->nr_modinfo; i++)
        free(p->modinfo[i]);
    lp_hash_free(p->sym_index);
    free(p->syms);
    free(p->modinfo);
    free(p->addr);
    free(p->name);
    lpe_close(p->elf);
    free(p);
}

const char *lpl_func_label(const struct lpl_func *f, char *buf, size_t size)
{
    if (f->name && f->name[0])
        return f->name;
    snprintf(buf, size, "entry %zu", f->index);
    return buf;
}

/* The hypervisor places every SHF_ALLOC section, empty ones included. */
static bool loaded_section(const struct lpe_section *s)
{
    return s && (s->sh.sh_flags & SHF_ALLOC);
}

/* --- ELF header, section table and symbol table, read raw as the hypervisor does --------- */

/* The name a payload goes by until .modinfo says otherwise: the file's base name
 * without its extension, the name xen-livepatch gives a payload it uploads. */
static char *default_name(const char *file)
{
    const char *b = strrchr(file, '/');
    const char *dot;

    b = b ? b + 1 : file;
    dot = strrchr(b, '.');
    return strndup(b, dot && dot != b ? (size_t)(dot - b) : strlen(b));
}

static int check_header(const unsigned char *b, size_t len, const char *name,
                        struct lpl_verdict *v)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)b;

    if (len > LIVEPATCH_MAX_PAYLOAD_SIZE || !len)
        return lpl_fail(v, EINVAL, "%s: %zu bytes: empty or larger than the %u-byte payload "
                        "limit", name, len, LIVEPATCH_MAX_PAYLOAD_SIZE);
    if (len < sizeof(*eh) || memcmp(b, ELFMAG, SELFMAG) != 0)
        return lpl_fail(v, EINVAL, "%s: ELF header: not an ELF file or truncated header", name);
    if (eh->e_version != EV_CURRENT || b[EI_VERSION] != EV_CURRENT)
        return lpl_fail(v, EOPNOTSUPP, "%s: ELF header: version %u (header %u), not %u", name,
                        eh->e_version, b[EI_VERSION], EV_CURRENT);
    if ((b[EI_OSABI] != ELFOSABI_SYSV && b[EI_OSABI] != ELFOSABI_FREEBSD) ||
        b[EI_ABIVERSION] != 0)
        return lpl_fail(v, EOPNOTSUPP, "%s: ELF header: unsupported OS ABI %u version %u",
                        name, b[EI_OSABI], b[EI_ABIVERSION]);
    if (eh->e_type != ET_REL || eh->e_phnum != 0)
        return lpl_fail(v, EOPNOTSUPP,
                        "%s: ELF header: not a relocatable object without program headers "
                        "(type %u, %u program headers)", name, eh->e_type, eh->e_phnum);
    if (b[EI_CLASS] != ELFCLASS64 || b[EI_DATA] != ELFDATA2LSB)
        return lpl_fail(v, EOPNOTSUPP, "%s: ELF header: not a 64-bit little-endian object",
                        name);
    if (eh->e_machine != EM_X86_64)
        return lpl_fail(v, EOPNOTSUPP, "%s: ELF header: machine %u is not x86-64", name,
                        eh->e_machine);
    if (eh->e_shstrndx == SHN_UNDEF)
        return lpl_fail(v, EINVAL, "%s: ELF header: no section name table", name);
    if (eh->e_shnum >= 1024)
        return lpl_fail(v, EOPNOTSUPP, "%s: ELF header: %u sections (at most 1023)", name,
                        eh->e_shnum);
    if (eh->e_shstrndx >= eh->e_shnum)
        return lpl_fail(v, EINVAL, "%s: ELF header: section name table %u is past the %u "
                        "sections", name, eh->e_shstrndx, eh->e_shnum);
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff >= len ||
        (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > len - eh->e_shoff)
        return lpl_fail(v, EINVAL, "%s: section table: missing, or past the end of the file",
                        name);
    return 0;
}

struct raw {
    const unsigned char *b;
    size_t len;
    const Elf64_Shdr *sh;
    size_t shnum;
};

/* A section's name from the raw section name table, or "[N]" when it has none. */
static const char *raw_name(const struct raw *r, size_t i, char *buf, size_t size)
{
    const Elf64_Shdr *st = &r->sh[((const Elf64_Ehdr *)r->b)->e_shstrndx];

    if (st->sh_type != SHT_NOBITS && st->sh_offset <= r->len &&
        st->sh_size <= r->len - st->sh_offset && r->sh[i].sh_name < st->sh_size &&
        memchr(r->b + st->sh_offset + r->sh[i].sh_name, '\0', st->sh_size - r->sh[i].sh_name))
        return (const char *)r->b + st->sh_offset + r->sh[i].sh_name;
    snprintf(buf, size, "[%zu]", i);
    return buf;
}

static bool raw_inside(const struct raw *r, const Elf64_Shdr *s)
{
    return s->sh_offset <= r->len && s->sh_size <= r->len - s->sh_offset;
}

/* .modinfo's "name=" as early as the section table allows, so every message uses it. */
static int early_name(const struct raw *r, struct lpl_payload *p, struct lpl_verdict *v)
{
    char nb[24];
    size_t i;

    for (i = 1; i < r->shnum; i++) {
        const Elf64_Shdr *s = &r->sh[i];
        const char *d;
        size_t off = 0;

        if (strcmp(raw_name(r, i, nb, sizeof(nb)), LIVEPATCH_SEC_MODINFO) ||
            s->sh_type == SHT_NOBITS || !raw_inside(r, s))
            continue;
        d = (const char *)r->b + s->sh_offset;
        while (off < s->sh_size) {
            size_t n = strnlen(d + off, s->sh_size - off);
            if (n > 5 && !memcmp(d + off, "name=", 5) && off + n < s->sh_size) {
                char *name = strndup(d + off + 5, n - 5);
                if (!name)
                    return lpl_fail(v, ENOMEM, "out of memory");
                free(p->name);
                p->name = name;
                return 0;
            }
            off += n + 1;
        }
        return 0;
    }
    return 0;
}

/*
 * What the hypervisor refuses while it reads the section table and the symbol
 * table, before any model of the object exists: data overlapping the ELF header
 * or past the end, alignments, a second symbol table, a section both writable and
 * executable among those it loads, symbols in SHN_COMMON or a reserved index, and
 * relocations against symbol 0 in loaded sections.
 */
static int check_raw(const struct raw *r, struct lpl_payload *p, struct lpl_verdict *v)
{
    const Elf64_Shdr *symtab = NULL;
    char nb[24];
    size_t i, n;

    for (i = 1; i < r->shnum; i++) {
        const Elf64_Shdr *s = &r->sh[i];
        const char *name = raw_name(r, i, nb, sizeof(nb));

        if (s->sh_offset < sizeof(Elf64_Ehdr))
            return lpl_fail(v, EINVAL, "%s: section %s: data at offset %llu overlaps the ELF "
                            "header", p->name, name, (unsigned long long)s->sh_offset);
        if (s->sh_type != SHT_NOBITS && !raw_inside(r, s))
            return lpl_fail(v, EINVAL, "%s: section %s: data (offset %llu, size %llu) runs "
                            "past the end of the file", p->name, name,
                            (unsigned long long)s->sh_offset, (unsigned long long)s->sh_size);
        if (s->sh_addralign & (s->sh_addralign - 1))
            return lpl_fail(v, EOPNOTSUPP, "%s: section %s: alignment %llu is not a power of "
                            "two", p->name, name, (unsigned long long)s->sh_addralign);
        if (s->sh_addralign && s->sh_addr % s->sh_addralign)
            return lpl_fail(v, EINVAL, "%s: section %s: address 0x%llx is not aligned to %llu",
                            p->name, name, (unsigned long long)s->sh_addr,
                            (unsigned long long)s->sh_addralign);
        if ((s->sh_flags & (SHF_WRITE | SHF_ALLOC)) && s->sh_type == SHT_NOBITS &&
            s->sh_size > LIVEPATCH_MAX_PAYLOAD_SIZE)
            return lpl_fail(v, EINVAL, "%s: section %s: %llu bytes of zeroes is larger than "
                            "the payload limit", p->name, name, (unsigned long long)s->sh_size);
        if (s->sh_type == SHT_SYMTAB) {
            if (symtab)
                return lpl_fail(v, EOPNOTSUPP, "%s: section %s: more than one symbol table",
                                p->name, name);
            symtab = s;
            if (s->sh_link >= r->shnum)
                return lpl_fail(v, EINVAL, "%s: section %s: string table %u is past the %zu "
                                "sections", p->name, name, s->sh_link, r->shnum);
        }
    }
    if (!symtab)
        return lpl_fail(v, EINVAL, "%s: no symbol table", p->name);
    if (!symtab->sh_size || symtab->sh_entsize != sizeof(Elf64_Sym) ||
        symtab->sh_size % sizeof(Elf64_Sym))
        return lpl_fail(v, EINVAL, "%s: symbol table: empty, or entries not %zu bytes",
                        p->name, sizeof(Elf64_Sym));
    /* Sections the hypervisor loads are text (X), rw data (W) or ro data: never W+X. */
    for (i = 1; i < r->shnum; i++) {
        const Elf64_Shdr *s = &r->sh[i];
        if ((s->sh_flags & SHF_ALLOC) && (s->sh_flags & SHF_WRITE) &&
            (s->sh_flags & SHF_EXECINSTR))
            return lpl_fail(v, EOPNOTSUPP, "%s: section %s: both writable and executable",
                            p->name, raw_name(r, i, nb, sizeof(nb)));
    }
    n = symtab->sh_size / sizeof(Elf64_Sym);
    for (i = 1; i < n; i++) {
        Elf64_Sym ys;
        const Elf64_Sym *y = &ys;
        const Elf64_Shdr *st = &r->sh[symtab->sh_link];
        const char *yn = "";

        memcpy(&ys, r->b + symtab->sh_offset + i * sizeof(ys), sizeof(ys));
        if (st->sh_type == SHT_STRTAB && raw_inside(r, st) && y->st_name < st->sh_size &&
            memchr(r->b + st->sh_offset + y->st_name, '\0', st->sh_size - y->st_name))
            yn = (const char *)r->b + st->sh_offset + y->st_name;
        if (y->st_shndx == SHN_COMMON)
            return lpl_fail(v, EINVAL, "%s: symbol %s: in SHN_COMMON (a common symbol; build "
                            "with -fno-common)", p->name, yn);
        if (y->st_shndx == SHN_UNDEF || y->st_shndx == SHN_ABS)
            continue;
        if (y->st_shndx >= SHN_LORESERVE)
            return lpl_fail(v, EOPNOTSUPP, "%s: symbol %s: reserved section index 0x%x%s",
                            p->name, yn, y->st_shndx,
                            y->st_shndx == SHN_XINDEX ? " (SHN_XINDEX)" : "");
        if (y->st_shndx >= r->shnum)
            return lpl_fail(v, EINVAL, "%s: symbol %s: section index %u is past the %zu "
                            "sections", p->name, yn, y->st_shndx, r->shnum);
    }
    for (i = 1; i < r->shnum; i++) {
        const Elf64_Shdr *s = &r->sh[i];
        size_t j;

        if ((s->sh_type != SHT_RELA && s->sh_type != SHT_REL) || s->sh_info >= r->shnum ||
            !(r->sh[s->sh_info].sh_flags & SHF_ALLOC) || !s->sh_size)
            continue;
        if (s->sh_type == SHT_REL)
            return lpl_fail(v, EOPNOTSUPP, "%s: section %s: SHT_REL relocations (only RELA)",
                            p->name, raw_name(r, i, nb, sizeof(nb)));
        if (s->sh_entsize != sizeof(Elf64_Rela))
            continue;
        for (j = 0; j < s->sh_size / sizeof(Elf64_Rela); j++) {
            Elf64_Rela ra;
            memcpy(&ra, r->b + s->sh_offset + j * sizeof(ra), sizeof(ra));
            if (ELF64_R_SYM(ra.r_info) == STN_UNDEF)
                return lpl_fail(v, EOPNOTSUPP, "%s: section %s: relocation %zu refers to "
                                "symbol 0", p->name, raw_name(r, i, nb, sizeof(nb)), j);
        }
    }
    return 0;
}

static int check_sections(struct lpl_payload *p, struct lpl_verdict *v)
{
    const struct lpe_object *o = p->elf;
    const struct lpe_section *tabs[2];
    size_t i;

    tabs[0] = o->symtab && o->symtab->sh.sh_link < o->nr_sections
                  ? o->sections[o->symtab->sh.sh_link] : NULL;
    tabs[1] = o->sections[o->ehdr.e_shstrndx];
    for (i = 0; i < 2; i++) {
        const struct lpe_section *s = tabs[i];
        if (!s || s->sh.sh_type != SHT_STRTAB || !s->size || !s->data ||
            s->data[0] != '\0' || s->data[s->size - 1] != '\0')
            return lpl_fail(v, EINVAL,
                            "%s: section %s: string table does not start and end with NUL",
                            p->name, s ? s->name : "?");
    }
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
        return lpl_fail(v, EINVAL, "%s: %s: missing or empty", p->name, sec);
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

/* The three notes must be there and not empty (checked before anything reads them). */
static int check_required(struct lpl_payload *p, struct lpl_verdict *v)
{
    static const char *const names[] = { LIVEPATCH_SEC_DEPENDS, LIVEPATCH_SEC_XEN_DEPENDS,
                                         LIVEPATCH_SEC_BUILD_ID };
    size_t i;

    for (i = 0; i < 3; i++) {
        const struct lpe_section *s = lpe_find_section(p->elf, names[i]);
        if (!s || !s->size)
            return lpl_fail(v, EINVAL, "%s: %s: missing or empty", p->name, names[i]);
    }
    return 0;
}

static int check_xen_depends(struct lpl_payload *p, const struct lpi_image *img,
                             bool structural, struct lpl_verdict *v)
{
    char want[2 * LPL_ID_MAX + 1], got[2 * LPL_ID_MAX + 1];

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

int lpl_apply_checks(const struct lpl_payload *p, const struct lpl_payload *top,
                     const struct lpi_image *img, struct lpl_verdict *v)
{
    size_t i;

    if (!lpl_depends_ok(p, top, img))
        return top ? lpl_fail(v, EINVAL, "%s: %s: depends on a build id that is not the "
                              "previous payload's (%s, the top of the stack)", p->name,
                              LIVEPATCH_SEC_DEPENDS, top->name)
                   : lpl_fail(v, EINVAL, "%s: %s: depends on a build id that is not the "
                              "image's", p->name, LIVEPATCH_SEC_DEPENDS);
    for (i = 0; i < p->nr_funcs; i++) {
        const struct lpl_func *f = &p->funcs[i];
        unsigned char now[LIVEPATCH_OPAQUE_SIZE];
        char lb[32];
        const char *fn = lpl_func_label(f, lb, sizeof(lb));

        if (!f->expect.enabled)
            continue;
        if (!f->old_addr)
            return lpl_fail(v, EFAULT, "%s: function %s: an expectation but no old address",
                            p->name, fn);
        /* (len is 5 bits: never more than the 31 bytes of data) */
        if (f->expect.rsv)
            return lpl_fail(v, EINVAL, "%s: function %s: invalid expectation (rsv %u)",
                            p->name, fn, f->expect.rsv);
        if (f->old_size < f->expect.len)
            return lpl_fail(v, ERANGE, "%s: function %s: expectation of %u bytes is longer "
                            "than the function (%u)", p->name, fn, f->expect.len, f->old_size);
        if (lpi_read(img, f->old_addr, now, f->expect.len, NULL) == 0 &&
            memcmp(now, f->expect.data, f->expect.len))
            return lpl_fail(v, EINVAL, "%s: function %s: the first %u bytes in the image are "
                            "not the expected ones", p->name, fn, f->expect.len);
    }
    return 0;
}

int lpl_check_stacked(const void *buf, size_t len, const char *name,
                      const struct lpi_image *img, struct lpl_payload *const *loaded,
                      size_t nr_loaded, struct lpl_payload **out, struct lpl_verdict *v)
{
    const struct lpl_payload *top = nr_loaded ? loaded[nr_loaded - 1] : NULL;

    if (lpl_check(buf, len, name, img, loaded, nr_loaded, out, v))
        return -1;
    if (!lpl_apply_checks(*out, top, img, v))
        return 0;
    lpl_payload_free(*out);
    *out = NULL;
    return -1;
}

/* --- symbols ------------------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The new code's address of every function entry, sorted (NULL when there are none or
 * on ENOMEM: *n says which). */
static uint64_t *new_addrs(const struct lpl_payload *p, size_t *n)
{
    uint64_t *a = malloc((p->nr_funcs ? p->nr_funcs : 1) * sizeof(*a));
    size_t i;

    *n = 0;
    if (!a)
        return NULL;
    for (i = 0; i < p->nr_funcs; i++)
        if (p->funcs[i].new_sec)
            a[(*n)++] = p->addr[p->funcs[i].new_sec->index] + p->funcs[i].new_off;
    qsort(a, *n, sizeof(*a), cmp_u64);
    return a;
}

/* Is this symbol the new code of some function entry (it may then share the old name)? */
static bool is_new_addr(const struct lpl_payload *p, const uint64_t *addrs, size_t n,
                        const struct lpe_symbol *y)
{
    uint64_t at = p->addr[y->sec->index] + y->sym.st_value;

    return n && bsearch(&at, addrs, n, sizeof(*addrs), cmp_u64) != NULL;
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
    struct lp_hash *index = lp_hash_new(o->nr_symbols);
    uint64_t *addrs;
    size_t i, nr_addrs;
    int failed;

    if (!index)
        return lpl_fail(v, ENOMEM, "out of memory");
    addrs = new_addrs(p, &nr_addrs);
    p->syms = calloc(o->nr_symbols, sizeof(*p->syms));
    if (!p->syms || !addrs) {
        free(addrs);
        lp_hash_free(index);
        return lpl_fail(v, ENOMEM, "out of memory");
    }
    for (i = 1; i < o->nr_symbols; i++) {
        const struct lpe_symbol *y = o->symbols[i];
        struct lp_error e = { 0 };

        /* The hypervisor's payload symbols: named, in a loaded section, not a .L label
         * of a mergeable section. */
        if (!y->name[0] || !loaded_section(y->sec) ||
            ((y->sec->sh.sh_flags & SHF_MERGE) && strncmp(y->name, ".L", 2) == 0))
            continue;
        if (is_new_addr(p, addrs, nr_addrs, y))
            continue;
        if (!structural && (lpi_lookup(img, y->name, &e) || e.code == LP_ERR_AMBIGUOUS)) {
            free(addrs);
            lp_hash_free(index);
            return lpl_fail(v, EEXIST, "%s: symbol %s: duplicate new symbol: the image "
                            "already has it", p->name, y->name);
        }
        if (loaded_symbol(loaded, nr_loaded, y->name)) {
            free(addrs);
            lp_hash_free(index);
            return lpl_fail(v, EEXIST, "%s: symbol %s: duplicate new symbol: a loaded payload "
                            "already has it", p->name, y->name);
        }
        p->syms[p->nr_syms].name = y->name;
        p->syms[p->nr_syms].sec = y->sec;
        p->syms[p->nr_syms].value = y->sym.st_value;
        /* A later payload's lookup finds the first of two same-named ones, as the
         * hypervisor's does. */
        failed = 0;
        lp_hash_insert(index, y->name, &p->syms[p->nr_syms], &failed);
        if (failed) {
            free(addrs);
            lp_hash_free(index);
            return lpl_fail(v, ENOMEM, "out of memory");
        }
        p->nr_syms++;
    }
    free(addrs);
    p->sym_index = index;
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
        return lpl_fail(v, EOPNOTSUPP, "%s: symbol %s: unsupported section index %u", p->name,
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

/* Every undefined symbol must resolve, whether or not a relocation uses it. */
static int resolve_symbols(struct lpl_payload *p, const struct lpi_image *img,
                           struct lpl_payload *const *loaded, size_t nr_loaded,
                           bool structural, struct lpl_verdict *v)
{
    const struct lpe_object *o = p->elf;
    size_t i;
    uint64_t a;

    if (structural)
        return 0;
    for (i = 1; i < o->nr_symbols; i++) {
        const struct lpe_symbol *y = o->symbols[i];
        if (y->sym.st_shndx == SHN_UNDEF &&
            lpl_symbol_address(p, y, img, loaded, nr_loaded, &a, v))
            return -1;
    }
    return 0;
}

/* --- copying and relocating: the payload as the hypervisor has it in memory ---------------- */

int lpl_load(struct lpl_payload *p, unsigned char *win, const struct lpi_image *img,
             struct lpl_payload *const *loaded, size_t nr_loaded, bool structural,
             struct lpl_verdict *v)
{
    const struct lpe_object *o = p->elf;
    size_t i, j;

    p->nr_relas = 0;
    for (i = 1; i < o->nr_sections; i++) {
        const struct lpe_section *s = o->sections[i];
        if (p->addr[i] && s->data && s->size && s->sh.sh_type != SHT_NOBITS)
            memcpy(win + (p->addr[i] - p->text_base), s->data, s->size);
    }
    for (i = 1; i < o->nr_sections; i++) {
        const struct lpe_section *rs = o->sections[i];
        const struct lpe_section *base = rs->base;

        if (rs->sh.sh_type != SHT_RELA || !loaded_section(base))
            continue;
        for (j = 0; j < rs->nr_relas; j++) {
            const struct lpe_rela *r = &rs->relas[j];
            uint64_t s = 0, pc = p->addr[base->index] + r->offset;
            unsigned char *at = win + (pc - p->text_base);
            size_t width = r->type == R_X86_64_64 ? 8 : 4;
            int64_t val;
            int32_t v32;

            p->nr_relas++;
            if (!(structural && !r->sym->sec && r->sym->sym.st_shndx == SHN_UNDEF) &&
                lpl_symbol_address(p, r->sym, img, loaded, nr_loaded, &s, v))
                return -1;
            if (r->type == R_X86_64_NONE)
                continue;
            if (r->type != R_X86_64_64 && r->type != R_X86_64_PC32 &&
                r->type != R_X86_64_PLT32)
                return lpl_fail(v, EOPNOTSUPP,
                                "%s: section %s: relocation %zu has unsupported type %u", p->name,
                                rs->name, j, r->type);
            if (r->offset >= base->size || r->offset + width > base->size)
                return lpl_fail(v, EINVAL, "%s: section %s: relocation %zu at 0x%llx is past "
                                "the end of %s", p->name, rs->name, j,
                                (unsigned long long)r->offset, base->name);
            if (structural && !r->sym->sec && r->sym->sym.st_shndx == SHN_UNDEF)
                continue; /* nothing to resolve it against */
            if (r->type == R_X86_64_64) {
                uint64_t v64 = s + (uint64_t)r->addend;
                memcpy(at, &v64, 8);
                continue;
            }
            val = (int64_t)(s + (uint64_t)r->addend - pc);
            v32 = (int32_t)val;
            if (val != v32)
                return lpl_fail(v, EOVERFLOW, "%s: section %s: relocation %zu against %s "
                                "overflows 32 bits (distance %lld)", p->name, rs->name, j,
                                r->sym->name[0] ? r->sym->name : "a section", (long long)val);
            memcpy(at, &v32, 4);
        }
    }
    return 0;
}

/* --- function entries, read from the relocated copy -------------------------------------- */

/* The payload section (placed) that holds a runtime address, and the offset in it. */
static struct lpe_section *section_at(const struct lpl_payload *p, uint64_t addr,
                                      uint64_t *off)
{
    struct lpe_section *best = NULL;
    size_t i;

    for (i = 1; i < p->elf->nr_sections; i++) {
        struct lpe_section *s = p->elf->sections[i];
        if (!p->addr[i] || addr < p->addr[i] || addr - p->addr[i] > s->size)
            continue;
        if (addr - p->addr[i] < s->size || !best) {
            best = s;
            *off = addr - p->addr[i];
            if (addr - p->addr[i] < s->size)
                break;
        }
    }
    return best;
}

/* A NUL-terminated string at a runtime address: in the payload, a loaded payload or the
 * image.  NULL when none of them has one there. */
static char *string_at(const struct lpl_payload *p, const unsigned char *win, uint64_t addr,
                       const struct lpi_image *img, struct lpl_payload *const *loaded,
                       size_t nr_loaded)
{
    char buf[LIVEPATCH_NAME_MAX + 1];
    const struct lpe_section *s;
    uint64_t off = 0;
    size_t i, k;

    s = section_at(p, addr, &off);
    if (s && off < s->size) {
        const char *at = (const char *)win + (addr - p->text_base);
        if (s->sh.sh_type != SHT_NOBITS && memchr(at, '\0', s->size - off))
            return strdup(at);
        return NULL;
    }
    for (i = 0; i < nr_loaded; i++) {
        s = section_at(loaded[i], addr, &off);
        if (s && off < s->size && s->data && memchr(s->data + off, '\0', s->size - off))
            return strdup((const char *)s->data + off);
    }
    for (k = 0; k < sizeof(buf) - 1; k++) {
        if (lpi_read(img, addr + k, &buf[k], 1, NULL))
            return NULL;
        if (!buf[k])
            return strdup(buf);
    }
    return NULL;
}

int lpl_read_funcs(struct lpl_payload *p, const unsigned char *win, const struct lpi_image *img,
                   struct lpl_payload *const *loaded, size_t nr_loaded, bool structural,
                   struct lpl_verdict *v)
{
    const struct lpe_section *s = lpe_find_section(p->elf, LIVEPATCH_SEC_FUNCS);
    size_t i, n;

    free_funcs(p);
    if (!s)
        return 0;
    if (s->size % LIVEPATCH_FUNC_SIZE)
        return lpl_fail(v, EINVAL, "%s: %s: size %zu is not a multiple of %d", p->name,
                        s->name, s->size, LIVEPATCH_FUNC_SIZE);
    if (!p->addr[s->index])
        return lpl_fail(v, EINVAL, "%s: %s: not loaded (no SHF_ALLOC)", p->name, s->name);
    n = s->size / LIVEPATCH_FUNC_SIZE;
    p->funcs = calloc(n + 1, sizeof(*p->funcs));
    if (!p->funcs)
        return lpl_fail(v, ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        uint64_t off = i * LIVEPATCH_FUNC_SIZE;
        const unsigned char *raw = win + (p->addr[s->index] - p->text_base) + off;
        const struct lpe_rela *orl = NULL;
        struct livepatch_func e;
        struct lpl_func *f = &p->funcs[i];
        unsigned char head[4] = { 0 };
        uint64_t min, name_ptr, new_addr;
        size_t nr;
        char lb[32];
        const char *fn;

        memcpy(&e, raw, sizeof(e));
        p->nr_funcs++;
        f->index = i;
        if (s->rela) {
            orl = lpe_relas_in(s, off + LIVEPATCH_FUNC_OFF_OLD_ADDR,
                               off + LIVEPATCH_FUNC_OFF_OLD_ADDR + 1, &nr);
            if (nr && orl->type == R_X86_64_64)
                f->old_sym = orl->sym->name[0] ? orl->sym->name : NULL;
        }
        name_ptr = (uint64_t)(uintptr_t)e.name;
        if (name_ptr)
            f->name = string_at(p, win, name_ptr, img, loaded, nr_loaded);
        fn = lpl_func_label(f, lb, sizeof(lb));
        if (e.version != LIVEPATCH_PAYLOAD_VERSION)
            return lpl_fail(v, EOPNOTSUPP, "%s: %s: entry %zu has version %u (only %d)",
                            p->name, s->name, i, e.version, LIVEPATCH_PAYLOAD_VERSION);
        if (!e.old_size)
            return lpl_fail(v, EINVAL, "%s: function %s: old_size is 0", p->name, fn);
        f->old_size = e.old_size;
        f->new_size = e.new_size;
        f->expect = e.expect;
        f->old_addr = (uint64_t)(uintptr_t)e.old_addr;
        if (!f->old_addr && !structural) {
            /* Only now does the name matter: the hypervisor resolves it. */
            struct lp_error le = { 0 };
            const struct lpi_symbol *is;

            if (!name_ptr || !f->name)
                return lpl_fail(v, EINVAL, "%s: %s: entry %zu has neither old_addr nor a "
                                "readable name", p->name, s->name, i);
            is = f->name[0] ? lpi_lookup(img, f->name, &le) : NULL;
            if (is)
                f->old_addr = is->addr;
            else if (le.code == LP_ERR_AMBIGUOUS)
                return lpl_fail(v, ENOENT, "%s: function %s: ambiguous in the image", p->name,
                                fn);
            else if (!(f->old_addr = loaded_symbol(loaded, nr_loaded, f->name)))
                return lpl_fail(v, ENOENT, "%s: function %s: not found in the image",
                                p->name, f->name[0] ? f->name : "(empty name)");
        }
        new_addr = (uint64_t)(uintptr_t)e.new_addr;
        if (new_addr) {
            f->new_sec = section_at(p, new_addr, &f->new_off);
            if (!f->new_sec)
                return lpl_fail(v, EINVAL, "%s: function %s: new_addr 0x%llx is not in the "
                                "payload", p->name, fn, (unsigned long long)new_addr);
        }
        if (!structural && lpi_read(img, f->old_addr, head, 4, NULL) == 0)
            f->endbr = livepatch_is_endbr(head);
        if (!f->new_sec) {
            /* NOP mode: overwrite new_size bytes with NOPs. */
            if (f->new_size > LIVEPATCH_OPAQUE_SIZE)
                return lpl_fail(v, EOPNOTSUPP, "%s: function %s: NOP mode of %u bytes (at most "
                                "%d)", p->name, fn, f->new_size, LIVEPATCH_OPAQUE_SIZE);
            if (f->new_size > f->old_size)
                return lpl_fail(v, EINVAL, "%s: function %s: NOP mode of %u bytes is longer "
                                "than the function (%u)", p->name, fn, f->new_size,
                                f->old_size);
            if (f->endbr && f->new_size < LIVEPATCH_ENDBR_SIZE)
                return lpl_fail(v, EINVAL, "%s: function %s: NOP mode of %u bytes would cut "
                                "its ENDBR64 instruction", p->name, fn, f->new_size);
            continue;
        }
        min = LIVEPATCH_JMP_SIZE + (f->endbr ? LIVEPATCH_ENDBR_SIZE : 0);
        if (f->old_size < min)
            return lpl_fail(v, EINVAL, "%s: function %s: %u bytes cannot take the %llu-byte "
                            "jump%s", p->name, fn, f->old_size, (unsigned long long)min,
                            f->endbr ? " after its ENDBR64" : "");
        if (!structural) {
            int64_t d = (int64_t)(f->old_addr - new_addr);
            if (d < -(int64_t)0x80000000ll || d >= (int64_t)0x80000000ll)
                return lpl_fail(v, EOVERFLOW, "%s: function %s: new code is more than 2 GiB "
                                "away from the old", p->name, fn);
        }
    }
    return 0;
}

/* --- patching sections, hooks, special sections, .modinfo ----------------------------------- */

static const char *const hook_sections[8] = {
    LIVEPATCH_SEC_HOOK_LOAD,      LIVEPATCH_SEC_HOOK_UNLOAD,    LIVEPATCH_SEC_HOOK_PREAPPLY,
    LIVEPATCH_SEC_HOOK_APPLY,     LIVEPATCH_SEC_HOOK_POSTAPPLY, LIVEPATCH_SEC_HOOK_PREREVERT,
    LIVEPATCH_SEC_HOOK_REVERT,    LIVEPATCH_SEC_HOOK_POSTREVERT,
};

/* .livepatch.funcs and the hook sections: each one present is not empty; one at least. */
static int check_patching(struct lpl_payload *p, struct lpl_verdict *v)
{
    const struct lpe_section *s = lpe_find_section(p->elf, LIVEPATCH_SEC_FUNCS);
    bool any = s != NULL;
    size_t i;

    if (s && !s->size)
        return lpl_fail(v, EINVAL, "%s: %s: empty", p->name, s->name);
    for (i = 0; i < 8; i++) {
        s = lpe_find_section(p->elf, hook_sections[i]);
        if (!s)
            continue;
        if (!s->size)
            return lpl_fail(v, EINVAL, "%s: %s: empty", p->name, s->name);
        any = true;
    }
    if (!any)
        return lpl_fail(v, EINVAL, "%s: neither %s nor any hook section: nothing to do",
                        p->name, LIVEPATCH_SEC_FUNCS);
    return 0;
}

static int check_hooks(struct lpl_payload *p, struct lpl_verdict *v)
{
    size_t i;

    for (i = 0; i < 8; i++) {
        const struct lpe_section *s = lpe_find_section(p->elf, hook_sections[i]);
        bool multi = i < 2;
        if (!s)
            continue;
        if (multi && s->size % LIVEPATCH_HOOK_PTR_SIZE)
            return lpl_fail(v, EINVAL, "%s: %s: size %zu is not a multiple of %d",
                            p->name, s->name, s->size, LIVEPATCH_HOOK_PTR_SIZE);
        if (!multi && s->size != LIVEPATCH_HOOK_PTR_SIZE)
            return lpl_fail(v, EINVAL, "%s: %s: must hold exactly one %d-byte pointer (size %zu)",
                            p->name, s->name, LIVEPATCH_HOOK_PTR_SIZE, s->size);
        p->hooks |= 1u << i;
    }
    return 0;
}

/* The tables of livepatch/special.h hold whole entries. */
static int check_special(struct lpl_payload *p, struct lpl_verdict *v)
{
    const struct lpe_object *o = p->elf;
    size_t i;

    for (i = 1; i < o->nr_sections; i++) {
        const struct lpe_section *s = o->sections[i];
        const struct lp_special *sp = lp_special_find(s->name);

        /* Only the first section of a name counts, as in the hypervisor's look-ups. */
        if (!sp || !lp_special_loader_name(sp, s->name) || lpe_find_section(o, s->name) != s)
            continue;
        if (sp->loader == LP_SPECIAL_WHOLE_ENTRIES && s->size % sp->entry_size)
            return lpl_fail(v, EINVAL, "%s: %s: size %zu is not a multiple of its %zu-byte "
                            "entries", p->name, s->name, s->size, sp->entry_size);
    }
    return 0;
}

/* Metadata strings; an unterminated last string is reported by check_modinfo(), late,
 * where the hypervisor checks it. */
static int read_modinfo(struct lpl_payload *p, struct lpl_verdict *v)
{
    const struct lpe_section *s = lpe_find_section(p->elf, LIVEPATCH_SEC_MODINFO);
    size_t off = 0;

    if (!s || !s->size || !s->data)
        return 0;
    p->modinfo = calloc(s->size, sizeof(char *));
    if (!p->modinfo)
        return lpl_fail(v, ENOMEM, "out of memory");
    while (off < s->size) {
        const char *str = (const char *)s->data + off;
        size_t n = strnlen(str, s->size - off);
        /* Never look past the n bytes that are there. */
        if (n) {
            char *copy = strndup(str, n);
            if (!copy)
                return lpl_fail(v, ENOMEM, "out of memory");
            p->modinfo[p->nr_modinfo++] = copy;
        }
        off += n + 1;
    }
    return 0;
}

static int check_modinfo(struct lpl_payload *p, struct lpl_verdict *v)
{
    const struct lpe_section *s = lpe_find_section(p->elf, LIVEPATCH_SEC_MODINFO);

    /* An empty one is let through: Xen 4.17 then reads the byte before the section
     * (its check indexes size - 1), so its verdict depends on what lies there. */
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

/* Copy and relocate the payload into a scratch image of its memory, then read its
 * function entries from there. */
static int load_and_read(struct lpl_payload *p, const struct lpi_image *img,
                         struct lpl_payload *const *loaded, size_t nr_loaded, bool structural,
                         struct lpl_verdict *v)
{
    unsigned char *win = calloc(1, p->rw_base + p->rw_size - p->text_base + 1);
    int rc;

    if (!win)
        return lpl_fail(v, ENOMEM, "out of memory");
    rc = lpl_load(p, win, img, loaded, nr_loaded, structural, v);
    if (!rc)
        rc = lpl_read_funcs(p, win, img, loaded, nr_loaded, structural, v);
    free(win);
    return rc;
}

static int check_payload(const void *buf, size_t len, const char *file,
                         const struct lpi_image *img, struct lpl_payload *const *loaded,
                         size_t nr_loaded, bool structural, struct lpl_payload **out,
                         struct lpl_verdict *v)
{
    const Elf64_Ehdr *eh = buf;
    struct lpl_payload *p;
    struct lp_error e = { 0 };
    Elf64_Shdr *shdrs = NULL;
    struct raw r;

    memset(v, 0, sizeof(*v));
    *out = NULL;
    p = calloc(1, sizeof(*p));
    if (!p || !(p->name = default_name(file))) {
        free(p);
        return lpl_fail(v, ENOMEM, "out of memory");
    }
    if (check_header(buf, len, file, v))
        goto fail;
    r.b = buf;
    r.len = len;
    r.shnum = eh->e_shnum;
    /* A copy: e_shoff need not be aligned, and the hypervisor does not ask it to be. */
    shdrs = malloc(r.shnum * sizeof(*shdrs) + 1);
    if (!shdrs) {
        lpl_fail(v, ENOMEM, "out of memory");
        goto fail;
    }
    memcpy(shdrs, (const unsigned char *)buf + eh->e_shoff, r.shnum * sizeof(*shdrs));
    r.sh = shdrs;
    if (early_name(&r, p, v) || check_raw(&r, p, v))
        goto fail;
    free(shdrs);
    shdrs = NULL;
    if (lpe_open_memory(buf, len, p->name, &p->elf, &e)) {
        lpl_fail(v, EINVAL, "%s", e.msg);
        goto fail;
    }
    if (check_sections(p, v) || read_modinfo(p, v) || lpl_place(p, img, loaded, nr_loaded, v) ||
        resolve_symbols(p, img, loaded, nr_loaded, structural, v) ||
        check_required(p, v) || check_patching(p, v) ||
        load_and_read(p, img, loaded, nr_loaded, structural, v) || check_hooks(p, v) ||
        read_note(p, LIVEPATCH_SEC_BUILD_ID, p->id, &p->id_len, v) ||
        check_duplicate_id(p, loaded, nr_loaded, v) ||
        read_note(p, LIVEPATCH_SEC_DEPENDS, p->depends, &p->depends_len, v) ||
        read_note(p, LIVEPATCH_SEC_XEN_DEPENDS, p->xen_depends, &p->xen_depends_len, v) ||
        check_special(p, v) || check_modinfo(p, v) ||
        check_xen_depends(p, img, structural, v) ||
        collect_new_symbols(p, img, loaded, nr_loaded, structural, v))
        goto fail;
    *out = p;
    return 0;
fail:
    free(shdrs);
    if (structural)
        *out = p;
    else
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
