/*
 * elf.c - reading ELF files into the object model (see include/livepatch/elf.h).
 *
 * Every offset, size and index in the input is checked against the file before it
 * is used, because payloads and objects reach us from users and fuzzers alike.
 * Writing lives in elf_write.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/elf.h"
#include "livepatch/hash.h"
#include "livepatch/util.h"
#include "elf_internal.h"

static int oom(struct lp_error *err)
{
    return lp_error_set(err, LP_ERR_NOMEM, "out of memory");
}

int lpe_grow_array(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t ncap;
    void *n;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    n = realloc(*arr, ncap * elem);
    if (!n)
        return -1;
    memset((char *)n + *cap * elem, 0, (ncap - *cap) * elem);
    *arr = n;
    *cap = ncap;
    return 0;
}

int lpe_index_section(struct lpe_object *obj, struct lpe_section *sec, struct lp_error *err)
{
    int failed;
    struct lpe_section *first = lp_hash_insert(obj->sec_by_name, sec->name, sec, &failed);

    if (failed)
        return oom(err);
    if (first) {
        (first->last_same_name ? first->last_same_name : first)->next_same_name = sec;
        first->last_same_name = sec;
    }
    return 0;
}

int lpe_index_symbol(struct lpe_object *obj, struct lpe_symbol *sym, struct lp_error *err)
{
    int failed;
    struct lpe_symbol *first;

    if (!sym->name[0])
        return 0;
    first = lp_hash_insert(obj->sym_by_name, sym->name, sym, &failed);
    if (failed)
        return oom(err);
    if (first) {
        (first->last_same_name ? first->last_same_name : first)->next_same_name = sym;
        first->last_same_name = sym;
    }
    return 0;
}

struct lpe_object *lpe_alloc_object(const char *path, struct lp_error *err)
{
    struct lpe_object *obj = calloc(1, sizeof(*obj));

    if (!obj) {
        oom(err);
        return NULL;
    }
    obj->path = strdup(path);
    obj->sec_by_name = lp_hash_new(64);
    obj->sym_by_name = lp_hash_new(256);
    if (!obj->path || !obj->sec_by_name || !obj->sym_by_name ||
        lpe_grow_array((void **)&obj->sections, &obj->cap_sections, 1, sizeof(void *)) ||
        lpe_grow_array((void **)&obj->symbols, &obj->cap_symbols, 1, sizeof(void *))) {
        lpe_close(obj);
        oom(err);
        return NULL;
    }
    obj->nr_sections = 1;
    obj->nr_symbols = 1;
    return obj;
}

void lpe_close(struct lpe_object *obj)
{
    size_t i;

    if (!obj)
        return;
    for (i = 1; i < obj->nr_sections; i++) {
        struct lpe_section *s = obj->sections[i];
        if (!s)
            continue; /* a read that failed half-way */
        free(s->name);
        if (!s->borrowed)
            free(s->data);
        free(s->relas);
        free(s->by_offset);
        free(s);
    }
    for (i = 1; i < obj->nr_symbols; i++) {
        if (!obj->symbols[i])
            continue;
        free(obj->symbols[i]->name);
        free(obj->symbols[i]);
    }
    free(obj->sections);
    free(obj->symbols);
    free(obj->phdrs);
    lp_hash_free(obj->sec_by_name);
    lp_hash_free(obj->sym_by_name);
    free(obj->path);
    free(obj);
}

struct lpe_section *lpe_find_section(const struct lpe_object *obj, const char *name)
{
    return lp_hash_find(obj->sec_by_name, name);
}

struct lpe_symbol *lpe_find_symbol(const struct lpe_object *obj, const char *name)
{
    return lp_hash_find(obj->sym_by_name, name);
}

/* --- reading ------------------------------------------------------------------ */

struct reader {
    const char *name;
    const unsigned char *buf;
    size_t len;
    Elf *elf;
    struct lpe_object *obj;
    struct lp_error *err;
    /* A view (lpe_open_view): borrow section data, hand symbols to fn, keep no relocations. */
    bool view;
    lpe_symbol_fn fn;
    void *ctx;
    size_t nr_syms;           /* .symtab entries (1 without a table), for relocation checks */
    /* The string table last found sound as a whole, so each name only checks its own bytes. */
    size_t str_shndx;
    const char *str_base;
    size_t str_size;
    bool str_ends_nul;        /* its last byte is NUL: every name in it is terminated */
};

static int bad(struct reader *r, const char *fmt, const char *what, unsigned long long a,
               unsigned long long b)
{
    char msg[512];

    snprintf(msg, sizeof(msg), fmt, what, a, b);
    return lp_error_set(r->err, LP_ERR_FORMAT, "%s: %s", r->name, msg);
}

/*
 * Whose name is read ("section 3", "symbol 12"): spelled out only when a message needs
 * it, since formatting a label for each of an image's thousands of symbols costs more
 * than reading them.
 */
struct owner {
    const char *kind;
    size_t index;
};

static int bad_name(struct reader *r, struct owner who, const char *fmt, unsigned long long a,
                    unsigned long long b)
{
    char what[64];

    snprintf(what, sizeof(what), "%s %zu", who.kind, who.index);
    return bad(r, fmt, what, a, b);
}

/* A string from a string table section, checked to be inside it and NUL-terminated. */
static const char *strtab_at(struct reader *r, size_t shndx, size_t off, struct owner who)
{
    const char *s;

    if (shndx != r->str_shndx || !shndx) {
        GElf_Shdr sh;
        Elf_Scn *scn;

        if (shndx == 0 || shndx >= r->obj->nr_sections) {
            bad_name(r, who, "%s: string table index %llu out of range (%llu sections)", shndx,
                     r->obj->nr_sections);
            return NULL;
        }
        scn = elf_getscn(r->elf, shndx);
        if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_type != SHT_STRTAB) {
            bad_name(r, who, "%s: section %llu is not a string table%.0llu", shndx, 0);
            return NULL;
        }
        if (sh.sh_offset > r->len || sh.sh_size > r->len - sh.sh_offset) {
            bad_name(r, who,
                     "%s: string table (section %llu) runs past the end of the file (size %llu)",
                     shndx, r->len);
            return NULL;
        }
        r->str_shndx = shndx;
        r->str_base = (const char *)r->buf + sh.sh_offset;
        r->str_size = sh.sh_size;
        r->str_ends_nul = sh.sh_size && r->str_base[sh.sh_size - 1] == '\0';
    }
    if (off >= r->str_size) {
        bad_name(r, who, "%s: name offset %llu past the end of its string table (size %llu)", off,
                 r->str_size);
        return NULL;
    }
    s = r->str_base + off;
    if (!r->str_ends_nul && !memchr(s, '\0', r->str_size - off)) {
        bad_name(r, who, "%s: name at offset %llu is not NUL-terminated%.0llu", off, 0);
        return NULL;
    }
    return s;
}

static int read_header(struct reader *r)
{
    GElf_Ehdr *eh = &r->obj->ehdr;
    size_t shnum, phnum, shstrndx;

    if (r->len == 0)
        return lp_error_set(r->err, LP_ERR_FORMAT, "%s: empty file", r->name);
    if (r->len < EI_NIDENT || memcmp(r->buf, ELFMAG, SELFMAG) != 0)
        return lp_error_set(r->err, LP_ERR_FORMAT, "%s: not an ELF file (bad magic)", r->name);
    if (r->buf[EI_CLASS] != ELFCLASS64 && r->buf[EI_CLASS] != ELFCLASS32)
        return lp_error_set(r->err, LP_ERR_FORMAT, "%s: unknown ELF class %u", r->name,
                            r->buf[EI_CLASS]);
    if (r->len < (r->buf[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
        return lp_error_set(r->err, LP_ERR_FORMAT,
                            "%s: truncated ELF header (%zu bytes, file ends inside it)",
                            r->name, r->len);
    if (r->buf[EI_DATA] != ELFDATA2LSB)
        return lp_error_set(r->err, LP_ERR_UNSUPPORTED,
                            "%s: big-endian ELF is not supported", r->name);

    r->elf = elf_memory((char *)r->buf, r->len);
    if (!r->elf || elf_kind(r->elf) != ELF_K_ELF || !gelf_getehdr(r->elf, eh))
        return lp_error_set(r->err, LP_ERR_FORMAT, "%s: unreadable ELF header: %s", r->name,
                            elf_errmsg(-1));
    if (eh->e_shoff > r->len ||
        (eh->e_shnum && eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize > r->len))
        return bad(r, "%s table past end of file (offset %llu, file size %llu)",
                   "section header", eh->e_shoff, r->len);
    if (eh->e_phoff > r->len ||
        (eh->e_phnum && eh->e_phoff + (uint64_t)eh->e_phnum * eh->e_phentsize > r->len))
        return bad(r, "%s table past end of file (offset %llu, file size %llu)",
                   "program header", eh->e_phoff, r->len);
    if (elf_getshdrnum(r->elf, &shnum) || elf_getphdrnum(r->elf, &phnum))
        return lp_error_set(r->err, LP_ERR_FORMAT, "%s: bad header counts: %s", r->name,
                            elf_errmsg(-1));
    if (shnum && eh->e_shentsize != (eh->e_ident[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Shdr)
                                                                          : sizeof(Elf32_Shdr)))
        return bad(r, "%s entry size %llu is wrong%.0llu", "section header",
                   eh->e_shentsize, 0);
    if (elf_getshdrstrndx(r->elf, &shstrndx))
        return lp_error_set(r->err, LP_ERR_FORMAT, "%s: bad section name table index: %s",
                            r->name, elf_errmsg(-1));
    if (shnum && (shstrndx == 0 || shstrndx >= shnum))
        return bad(r, "%s index %llu out of range (%llu sections)", "section name string table",
                   shstrndx, shnum);
    if (lpe_grow_array((void **)&r->obj->sections, &r->obj->cap_sections, shnum ? shnum : 1,
                       sizeof(void *)))
        return oom(r->err);
    r->obj->nr_sections = shnum ? shnum : 1;
    if (phnum) {
        size_t i;
        r->obj->phdrs = calloc(phnum, sizeof(GElf_Phdr));
        if (!r->obj->phdrs)
            return oom(r->err);
        if (eh->e_phentsize != (eh->e_ident[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Phdr)
                                                                     : sizeof(Elf32_Phdr)))
            return bad(r, "%s entry size %llu is wrong%.0llu", "program header",
                       eh->e_phentsize, 0);
        for (i = 0; i < phnum; i++) {
            const GElf_Phdr *ph = &r->obj->phdrs[i];
            if (!gelf_getphdr(r->elf, i, &r->obj->phdrs[i]))
                return bad(r, "%s %llu unreadable%.0llu", "program header", i, 0);
            /* What is loaded from the file must be in the file: whatever maps an
             * address to file bytes (check, apply) relies on it. */
            if (ph->p_type == PT_LOAD &&
                (ph->p_offset > r->len || ph->p_filesz > r->len - ph->p_offset))
                return lp_error_set(r->err, LP_ERR_FORMAT,
                                    "%s: program header %zu (PT_LOAD at 0x%llx): file bytes at "
                                    "offset %llu, %llu bytes, run past the end of the file "
                                    "(%zu bytes)", r->name, i, (unsigned long long)ph->p_vaddr,
                                    (unsigned long long)ph->p_offset,
                                    (unsigned long long)ph->p_filesz, r->len);
        }
        r->obj->nr_phdrs = phnum;
    }
    return 0;
}

static int read_sections(struct reader *r)
{
    struct lpe_object *obj = r->obj;
    size_t shstrndx, i, n = obj->nr_sections;

    if (n <= 1)
        return 0;
    elf_getshdrstrndx(r->elf, &shstrndx);
    for (i = 1; i < n; i++) {
        struct lpe_section *s = calloc(1, sizeof(*s));
        Elf_Scn *scn = elf_getscn(r->elf, i);
        const char *name;

        if (!s)
            return oom(r->err);
        obj->sections[i] = s;
        s->index = i;
        if (!scn || !gelf_getshdr(scn, &s->sh))
            return bad(r, "%s %llu unreadable%.0llu", "section header", i, 0);
        name = strtab_at(r, shstrndx, s->sh.sh_name, (struct owner){ "section", i });
        if (!name)
            return -1;
        s->name = strdup(name);
        if (!s->name)
            return oom(r->err);
        s->size = s->sh.sh_size;
        if (s->sh.sh_type != SHT_NOBITS && s->sh.sh_type != SHT_NULL) {
            if (s->sh.sh_offset > r->len || s->sh.sh_size > r->len - s->sh.sh_offset)
                return lp_error_set(r->err, LP_ERR_FORMAT,
                                    "%s: section %s: contents (offset %llu, size %llu) run "
                                    "past end of file (size %zu)", r->name, s->name,
                                    (unsigned long long)s->sh.sh_offset,
                                    (unsigned long long)s->sh.sh_size, r->len);
            if (s->size && r->view) {
                s->data = (unsigned char *)r->buf + s->sh.sh_offset;
                s->borrowed = true;
            } else if (s->size) {
                s->data = malloc(s->size);
                if (!s->data)
                    return oom(r->err);
                memcpy(s->data, r->buf + s->sh.sh_offset, s->size);
            }
        }
        if (s->sh.sh_addralign > 1 && (s->sh.sh_addralign & (s->sh.sh_addralign - 1)))
            return lp_error_set(r->err, LP_ERR_FORMAT,
                                "%s: section %s: alignment %llu is not a power of two",
                                r->name, s->name, (unsigned long long)s->sh.sh_addralign);
        if (s->sh.sh_type == SHT_SYMTAB) {
            if (obj->symtab)
                return lp_error_set(r->err, LP_ERR_FORMAT,
                                    "%s: more than one symbol table (%s and %s)", r->name,
                                    obj->symtab->name, s->name);
            obj->symtab = s;
        }
        if (lpe_index_section(obj, s, r->err))
            return -1;
    }
    return 0;
}

/*
 * Every link between sections, checked once before anything follows one: an sh_link
 * out of range, a relocation section without a symbol table or a target section, and
 * an sh_info that SHF_INFO_LINK says is a section index.  The dynamic relocations of
 * a linked image (loaded, SHF_ALLOC) may have no symbol table or target (sh_link or
 * sh_info 0); every other relocation section needs both.
 */
static int check_links(struct reader *r)
{
    struct lpe_object *obj = r->obj;
    size_t i, n = obj->nr_sections;

    for (i = 1; i < n; i++) {
        const struct lpe_section *s = obj->sections[i];
        bool rel = s->sh.sh_type == SHT_RELA || s->sh.sh_type == SHT_REL;
        bool dynamic = rel && obj->ehdr.e_type != ET_REL && (s->sh.sh_flags & SHF_ALLOC);

        if (s->sh.sh_link >= n)
            return lp_error_set(r->err, LP_ERR_FORMAT,
                                "%s: section %s: linked section (sh_link) %u is out of range "
                                "(%zu sections)", r->name, s->name, s->sh.sh_link, n);
        if ((rel || (s->sh.sh_flags & SHF_INFO_LINK)) && s->sh.sh_info >= n)
            return lp_error_set(r->err, LP_ERR_FORMAT,
                                "%s: section %s: target section (sh_info) %u is out of range "
                                "(%zu sections)", r->name, s->name, s->sh.sh_info, n);
        if (rel && !dynamic && !s->sh.sh_link)
            return lp_error_set(r->err, LP_ERR_FORMAT,
                                "%s: relocation section %s: no symbol table (sh_link 0)",
                                r->name, s->name);
        if (rel && !dynamic && !s->sh.sh_info)
            return lp_error_set(r->err, LP_ERR_FORMAT,
                                "%s: relocation section %s: no target section (sh_info 0)",
                                r->name, s->name);
        if ((s->sh.sh_type == SHT_SYMTAB || s->sh.sh_type == SHT_DYNSYM) && !s->sh.sh_link)
            return lp_error_set(r->err, LP_ERR_FORMAT,
                                "%s: symbol table %s: no string table (sh_link 0)", r->name,
                                s->name);
    }
    return 0;
}

/*
 * A symbol lies inside its section: its value (an offset in an object, an address in a
 * linked image) and its size end within the section's bytes.  Whatever reads a symbol's
 * bytes (the differ, which copies any symbol it carries, the loader) relies on it.  In
 * an object that holds for every symbol (a label may end its section); in a linked image
 * only functions and objects are checked, as the linker places symbols such as _end
 * past the section they are given.
 */
static int check_symbol_bounds(struct reader *r, const struct lpe_raw_symbol *y,
                               const struct lpe_section *sec)
{
    bool rel = r->obj->ehdr.e_type == ET_REL;
    uint64_t base = rel ? 0 : sec->sh.sh_addr;
    uint64_t v = y->sym.st_value, sz = y->sym.st_size;
    const char *kind = y->type == STT_FUNC      ? "function"
                       : y->type == STT_OBJECT  ? "object"
                       : y->type == STT_NOTYPE  ? "label"
                       : y->type == STT_SECTION ? "section symbol"
                                                : NULL;

    if (!rel && y->type != STT_FUNC && y->type != STT_OBJECT)
        return 0;
    if (v < base || sz > sec->sh.sh_size || v - base > sec->sh.sh_size - sz) {
        char where[64] = "", other[32];
        if (!rel)
            snprintf(where, sizeof(where), "at 0x%llx, ", (unsigned long long)base);
        if (!kind) {
            snprintf(other, sizeof(other), "symbol of type %u", y->type);
            kind = other;
        }
        return lp_error_set(r->err, LP_ERR_FORMAT,
                            "%s: symbol %s: %s at 0x%llx of %llu bytes runs past its section %s "
                            "(%s%llu bytes)", r->name, y->name, kind, (unsigned long long)v,
                            (unsigned long long)sz, sec->name, where,
                            (unsigned long long)sec->sh.sh_size);
    }
    return 0;
}

static int read_symbols(struct reader *r)
{
    struct lpe_object *obj = r->obj;
    struct lpe_section *st = obj->symtab;
    const char *file = NULL;
    bool direct;
    size_t i, n;
    Elf_Data *d;

    if (!st)
        return 0;
    if (st->sh.sh_entsize != (obj->ehdr.e_ident[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Sym)
                                                                         : sizeof(Elf32_Sym)))
        return lp_error_set(r->err, LP_ERR_FORMAT, "%s: %s: bad symbol entry size %llu",
                            r->name, st->name, (unsigned long long)st->sh.sh_entsize);
    n = st->size / st->sh.sh_entsize;
    if (n == 0)
        return 0;
    d = elf_getdata(elf_getscn(r->elf, st->index), NULL);
    if (!d)
        return lp_error_set(r->err, LP_ERR_FORMAT, "%s: %s: unreadable: %s", r->name,
                            st->name, elf_errmsg(-1));
    if (!r->view) {
        if (lpe_grow_array((void **)&obj->symbols, &obj->cap_symbols, n, sizeof(void *)))
            return oom(r->err);
        obj->nr_symbols = n;
    }
    r->nr_syms = n;
    direct = obj->ehdr.e_ident[EI_CLASS] == ELFCLASS64 && d->d_type == ELF_T_SYM &&
             d->d_buf && d->d_size / sizeof(Elf64_Sym) >= n;
    for (i = 1; i < n; i++) {
        struct lpe_raw_symbol raw = { .index = i, .count = n };
        struct lpe_symbol *s = NULL;
        struct lpe_section *sec = NULL;

        if (!r->view) {
            s = calloc(1, sizeof(*s));
            if (!s)
                return oom(r->err);
            obj->symbols[i] = s;
            s->index = i;
        }
        /* A 64-bit table's data is GElf's own layout: copied here as gelf_getsym would
         * copy it, without a call per entry (an image has thousands). */
        if (direct)
            memcpy(&raw.sym, (const Elf64_Sym *)d->d_buf + i, sizeof(raw.sym));
        else if (!gelf_getsym(d, (int)i, &raw.sym))
            return bad(r, "%s: symbol %llu unreadable%.0llu", st->name, i, 0);
        raw.name = strtab_at(r, st->sh.sh_link, raw.sym.st_name, (struct owner){ "symbol", i });
        if (!raw.name)
            return -1;
        raw.bind = GELF_ST_BIND(raw.sym.st_info);
        raw.type = GELF_ST_TYPE(raw.sym.st_info);
        if (raw.sym.st_shndx == SHN_XINDEX)
            return lp_error_set(r->err, LP_ERR_UNSUPPORTED,
                                "%s: symbol %s uses extended section indices", r->name,
                                raw.name);
        if (raw.sym.st_shndx != SHN_UNDEF && raw.sym.st_shndx < SHN_LORESERVE) {
            if (raw.sym.st_shndx >= obj->nr_sections)
                return lp_error_set(r->err, LP_ERR_FORMAT,
                                    "%s: symbol %zu (%s): section index %u out of range "
                                    "(%zu sections)", r->name, i, raw.name, raw.sym.st_shndx,
                                    obj->nr_sections);
            sec = obj->sections[raw.sym.st_shndx];
            if (check_symbol_bounds(r, &raw, sec))
                return -1;
        }
        if (raw.type == STT_FILE)
            file = raw.name;
        else if (raw.bind == STB_LOCAL)
            raw.file = file;
        if (r->view) {
            if (r->fn && r->fn(r->ctx, &raw, r->err))
                return -1;
            continue;
        }
        s->name = strdup(raw.name);
        if (!s->name)
            return oom(r->err);
        s->sym = raw.sym;
        s->bind = raw.bind;
        s->type = raw.type;
        s->sec = sec;
        if (sec && s->type == STT_SECTION && !sec->secsym)
            sec->secsym = s;
        if (s->type == STT_FILE)
            file = s->name;   /* the copy: it outlives the file's bytes */
        else if (s->bind == STB_LOCAL)
            s->file = file;
        if (lpe_index_symbol(obj, s, r->err))
            return -1;
    }
    return 0;
}

static int read_relas(struct reader *r)
{
    struct lpe_object *obj = r->obj;
    size_t i, j;

    for (i = 1; i < obj->nr_sections; i++) {
        struct lpe_section *s = obj->sections[i];
        Elf_Data *d;
        size_t n;

        if (s->sh.sh_type == SHT_REL)
            return lp_error_set(r->err, LP_ERR_UNSUPPORTED,
                                "%s: section %s: SHT_REL relocations are not supported "
                                "(only SHT_RELA)", r->name, s->name);
        if (s->sh.sh_type != SHT_RELA)
            continue;
        /* Dynamic relocations of a linked image (.rela.dyn, .rela.plt: loaded, against
         * .dynsym or no symbol at all) are the dynamic loader's business, not the model's. */
        if (obj->ehdr.e_type != ET_REL &&
            ((s->sh.sh_flags & SHF_ALLOC) ||
             (s->sh.sh_link < obj->nr_sections &&
              obj->sections[s->sh.sh_link]->sh.sh_type == SHT_DYNSYM)))
            continue;
        if (!obj->symtab || s->sh.sh_link != obj->symtab->index)
            return lp_error_set(r->err, LP_ERR_FORMAT,
                                "%s: relocation section %s: its symbol table (section %u) "
                                "is missing or not the symbol table", r->name, s->name,
                                s->sh.sh_link);
        if (s->sh.sh_info == 0 || s->sh.sh_info >= obj->nr_sections)
            return lp_error_set(r->err, LP_ERR_FORMAT,
                                "%s: relocation section %s: target section %u out of range",
                                r->name, s->name, s->sh.sh_info);
        if (s->sh.sh_entsize != (obj->ehdr.e_ident[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Rela)
                                                                            : sizeof(Elf32_Rela)))
            return lp_error_set(r->err, LP_ERR_FORMAT,
                                "%s: relocation section %s: bad entry size %llu", r->name,
                                s->name, (unsigned long long)s->sh.sh_entsize);
        s->base = obj->sections[s->sh.sh_info];
        if (s->base->rela)
            return lp_error_set(r->err, LP_ERR_FORMAT,
                                "%s: section %s has two relocation sections (%s and %s)",
                                r->name, s->base->name, s->base->rela->name, s->name);
        s->base->rela = s;
        n = s->size / s->sh.sh_entsize;
        if (!n)
            continue;
        d = elf_getdata(elf_getscn(r->elf, i), NULL);
        if (!d)
            return lp_error_set(r->err, LP_ERR_FORMAT, "%s: %s: unreadable: %s", r->name,
                                s->name, elf_errmsg(-1));
        if (!r->view) {
            s->relas = calloc(n, sizeof(*s->relas));
            if (!s->relas)
                return oom(r->err);
            s->nr_relas = s->cap_relas = n;
        }
        for (j = 0; j < n; j++) {
            GElf_Rela ra;
            size_t symi;

            if (!gelf_getrela(d, (int)j, &ra))
                return lp_error_set(r->err, LP_ERR_FORMAT, "%s: %s: entry %zu unreadable",
                                    r->name, s->name, j);
            /* gelf_getrela gives ELF32 entries in the 64-bit encoding too. */
            symi = GELF_R_SYM(ra.r_info);
            if (symi == 0 || symi >= r->nr_syms)
                return lp_error_set(r->err, LP_ERR_FORMAT,
                                    "%s: %s: entry %zu refers to symbol %zu, which does not "
                                    "exist (%zu symbols)", r->name, s->name, j, symi,
                                    r->nr_syms);
            if (!r->view) {
                s->relas[j].offset = ra.r_offset;
                s->relas[j].type = GELF_R_TYPE(ra.r_info);
                s->relas[j].addend = ra.r_addend;
                s->relas[j].sym = obj->symbols[symi];
            }
            if (s->base->sh.sh_type != SHT_NOBITS && ra.r_offset > s->base->size)
                return lp_error_set(r->err, LP_ERR_FORMAT,
                                    "%s: %s: entry %zu offset 0x%llx is past the end of %s",
                                    r->name, s->name, j, (unsigned long long)ra.r_offset,
                                    s->base->name);
        }
    }
    return 0;
}

static int cmp_sym_value(const void *a, const void *b)
{
    const struct lpe_symbol *x = *(struct lpe_symbol *const *)a;
    const struct lpe_symbol *y = *(struct lpe_symbol *const *)b;

    if (x->sym.st_value != y->sym.st_value)
        return x->sym.st_value < y->sym.st_value ? -1 : 1;
    /* Larger symbols first, so a covering function wins over an inner label. */
    if (x->sym.st_size != y->sym.st_size)
        return x->sym.st_size > y->sym.st_size ? -1 : 1;
    return x->index < y->index ? -1 : (x->index > y->index);
}

static int cmp_rela_offset(const void *a, const void *b)
{
    const struct lpe_rela *x = a, *y = b;
    return x->offset < y->offset ? -1 : (x->offset > y->offset);
}

int lpe_build_offset_index(struct lpe_object *obj, struct lp_error *err)
{
    size_t i;

    for (i = 1; i < obj->nr_sections; i++) {
        struct lpe_section *s = obj->sections[i];
        free(s->by_offset);
        s->by_offset = NULL;
        s->nr_by_offset = 0;
        if (s->sh.sh_type == SHT_RELA && s->nr_relas > 1)
            qsort(s->relas, s->nr_relas, sizeof(*s->relas), cmp_rela_offset);
    }
    for (i = 1; i < obj->nr_symbols; i++) {
        struct lpe_symbol *y = obj->symbols[i];
        if (y->sec && y->type != STT_SECTION && y->type != STT_FILE)
            y->sec->nr_by_offset++;
    }
    for (i = 1; i < obj->nr_sections; i++) {
        struct lpe_section *s = obj->sections[i];
        if (s->nr_by_offset) {
            s->by_offset = malloc(s->nr_by_offset * sizeof(void *));
            if (!s->by_offset)
                return oom(err);
            s->nr_by_offset = 0;
        }
    }
    for (i = 1; i < obj->nr_symbols; i++) {
        struct lpe_symbol *y = obj->symbols[i];
        if (y->sec && y->type != STT_SECTION && y->type != STT_FILE)
            y->sec->by_offset[y->sec->nr_by_offset++] = y;
    }
    for (i = 1; i < obj->nr_sections; i++) {
        struct lpe_section *s = obj->sections[i];
        if (s->nr_by_offset > 1)
            qsort(s->by_offset, s->nr_by_offset, sizeof(void *), cmp_sym_value);
    }
    return 0;
}

struct lpe_symbol *lpe_symbol_at(const struct lpe_section *sec, uint64_t offset)
{
    size_t lo = 0, hi = sec->nr_by_offset, i;
    struct lpe_symbol *best = NULL;

    /* Last symbol with value <= offset. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sec->by_offset[mid]->sym.st_value <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Walk back over the symbols starting at or before offset.  Functions and objects
     * do not overlap, so the first one that does not cover offset ends the search. */
    for (i = lo; i-- > 0;) {
        struct lpe_symbol *y = sec->by_offset[i];
        uint64_t v = y->sym.st_value, sz = y->sym.st_size;
        bool covers = (sz && offset < v + sz) || (!sz && offset == v);
        bool sized = y->type == STT_FUNC || y->type == STT_OBJECT;

        if (covers && sized)
            return y;
        if (covers && !best)
            best = y;
        if (sized && !covers)
            break;
    }
    return best;
}

struct lpe_rela *lpe_relas_in(const struct lpe_section *sec, uint64_t start, uint64_t end,
                              size_t *count)
{
    const struct lpe_section *rs = sec->rela;
    size_t lo = 0, hi, first;

    *count = 0;
    if (!rs || !rs->nr_relas)
        return NULL;
    hi = rs->nr_relas;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rs->relas[mid].offset < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    first = lo;
    while (lo < rs->nr_relas && rs->relas[lo].offset < end)
        lo++;
    *count = lo - first;
    return *count ? &rs->relas[first] : NULL;
}

static int open_reader(struct reader *r, struct lpe_object **out)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return lp_error_set(r->err, LP_ERR_FORMAT, "libelf initialisation failed");
    r->obj = lpe_alloc_object(r->name, r->err);
    if (!r->obj)
        return -1;
    r->obj->file_size = r->len;
    r->nr_syms = r->obj->nr_symbols;
    if (read_header(r) || read_sections(r) || check_links(r) || read_symbols(r) || read_relas(r) ||
        (!r->view && lpe_build_offset_index(r->obj, r->err))) {
        if (r->elf)
            elf_end(r->elf);
        lpe_close(r->obj);
        return -1;
    }
    elf_end(r->elf);
    *out = r->obj;
    return 0;
}

int lpe_open_view(const void *buf, size_t len, const char *name, lpe_symbol_fn fn, void *ctx,
                  struct lpe_object **out, struct lp_error *err)
{
    struct reader r = { .name = name, .buf = buf, .len = len, .err = err, .view = true,
                        .fn = fn, .ctx = ctx };

    return open_reader(&r, out);
}

int lpe_open_memory(const void *buf, size_t len, const char *name, struct lpe_object **out,
                    struct lp_error *err)
{
    struct reader r = { .name = name, .buf = buf, .len = len, .err = err };

    return open_reader(&r, out);
}

int lpe_open(const char *path, struct lpe_object **out, struct lp_error *err)
{
    unsigned char *buf;
    size_t len;
    int ret;

    if (lp_read_file(path, &buf, &len, err))
        return -1;
    ret = lpe_open_memory(buf, len, path, out, err);
    free(buf);
    return ret;
}

int lpe_note_build_id(const unsigned char *data, size_t size, const char *where,
                      const unsigned char **desc, size_t *len, struct lp_error *err)
{
    size_t off = 0;

    while (off + 12 <= size) {
        uint32_t namesz, descsz, type;
        size_t name_off, desc_off, next;

        memcpy(&namesz, data + off, 4);
        memcpy(&descsz, data + off + 4, 4);
        memcpy(&type, data + off + 8, 4);
        name_off = off + 12;
        desc_off = name_off + (((size_t)namesz + 3) & ~(size_t)3);
        next = desc_off + (((size_t)descsz + 3) & ~(size_t)3);
        if (namesz > size || descsz > size || desc_off > size || desc_off + descsz > size)
            return lp_error_set(err, LP_ERR_FORMAT,
                                "%s: malformed note at offset %zu (name %u, desc %u bytes "
                                "in a %zu-byte section)", where, off, namesz, descsz, size);
        if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(data + name_off, "GNU", 4) == 0) {
            if (descsz == 0)
                return lp_error_set(err, LP_ERR_FORMAT, "%s: build id note is empty", where);
            *desc = data + desc_off;
            *len = descsz;
            return 0;
        }
        off = next;
    }
    return lp_error_set(err, LP_ERR_NOTFOUND, "%s: no GNU build id note", where);
}
