/*
 * image.c - the target image reader (see include/livepatch/image.h).
 *
 * The runtime names follow the hypervisor's own symbol table: a local symbol is
 * "<file>#<sym>" where <file> is the name of the STT_FILE symbol preceding it in
 * .symtab, a global is its plain name.  Two locals of the same name in the same
 * file make that runtime name ambiguous: lookups report it instead of picking one.
 *
 * lpi_open maps the file and builds no model of its contents: the symbol table is
 * read entry by entry into the index, and everything else (section bytes, DWARF) is
 * only paged in when asked for, so a 24 MB xen-syms costs its symbol and string
 * tables, not its size.
 */
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livepatch/hash.h"
#include "livepatch/image.h"
#include "livepatch/util.h"
#include "elf_internal.h"

/* What the image holds besides its public fields. */
struct lpi_backing {
    const unsigned char *map;  /* the file's bytes: mapped (map_len > 0) or malloc'd */
    size_t map_len;
    bool mapped;
    int fd;                    /* the mapped file, for libdw; -1 for a buffer */
    char *names;               /* the "file#sym" runtime names, one block */
    struct type_size { char *name; size_t size; } *types;  /* DWARF answers so far */
    size_t nr_types;
};

const char *lpi_runtime_name(const char *file, const char *sym, char *buf, size_t size)
{
    if (file)
        snprintf(buf, size, "%s#%s", file, sym);
    else
        snprintf(buf, size, "%s", sym);
    return buf;
}

int lpe_build_id(const struct lpe_object *obj, const unsigned char **id, size_t *len,
                 struct lp_error *err)
{
    size_t i;

    for (i = 1; i < obj->nr_sections; i++) {
        const struct lpe_section *s = obj->sections[i];
        if (s->sh.sh_type != SHT_NOTE || !s->data)
            continue;
        if (lpe_note_build_id(s->data, s->size, s->name, id, len, NULL) == 0)
            return 0;
    }
    return lp_error_set(err, LP_ERR_NOTFOUND, "%s: no GNU build id note", obj->path);
}

static bool wanted(const char *name, unsigned char type, unsigned shndx)
{
    if (!name[0] || type == STT_SECTION || type == STT_FILE)
        return false;
    return shndx != SHN_UNDEF;
}

static void fill(struct lpi_symbol *s, const char *name, const char *file, const GElf_Sym *sym,
                 unsigned char type, unsigned char bind)
{
    memset(s, 0, sizeof(*s));
    s->sym_name = name;
    s->name = name;
    s->addr = sym->st_value;
    s->size = sym->st_size;
    s->type = type;
    s->bind = bind;
    s->file = bind == STB_LOCAL ? file : NULL;
}

/* lpe_open_view's visitor: one symbol table entry into the index. */
static int add_raw(void *ctx, const struct lpe_raw_symbol *y, struct lp_error *err)
{
    struct lpi_image *img = ctx;

    if (!img->syms) {
        img->syms = malloc(y->count * sizeof(*img->syms));
        if (!img->syms)
            return lp_error_set(err, LP_ERR_NOMEM, "out of memory");
    }
    if (!wanted(y->name, y->type, y->sym.st_shndx))
        return 0;
    fill(&img->syms[img->nr_syms++], y->name, y->file, &y->sym, y->type, y->bind);
    return 0;
}

/* The runtime names of the locals (one block), then the name index. */
static int index_names(struct lpi_image *img, struct lp_error *err)
{
    size_t i, len = 0;
    char *p;

    for (i = 0; i < img->nr_syms; i++)
        if (img->syms[i].file)
            len += strlen(img->syms[i].file) + strlen(img->syms[i].sym_name) + 2;
    img->backing->names = p = malloc(len ? len : 1);
    img->by_name = lp_hash_new(img->nr_syms);
    if (!p || !img->by_name)
        return lp_error_set(err, LP_ERR_NOMEM, "out of memory");
    for (i = 0; i < img->nr_syms; i++) {
        struct lpi_symbol *s = &img->syms[i], *first;
        int failed;

        if (s->file) {
            size_t fl = strlen(s->file), nl = strlen(s->sym_name);
            memcpy(p, s->file, fl);
            p[fl] = '#';
            memcpy(p + fl + 1, s->sym_name, nl + 1);
            s->name = p;
            p += fl + nl + 2;
        }
        first = lp_hash_insert(img->by_name, s->name, s, &failed);
        if (failed)
            return lp_error_set(err, LP_ERR_NOMEM, "out of memory");
        if (first) {
            first->ambiguous = true;
            s->ambiguous = true;
            s->next_same_name = first->next_same_name;
            first->next_same_name = s;
        }
    }
    return 0;
}

static struct lpi_image *new_image(struct lp_error *err)
{
    struct lpi_image *img = calloc(1, sizeof(*img));

    if (img)
        img->backing = calloc(1, sizeof(*img->backing));
    if (!img || !img->backing) {
        free(img);
        lp_error_set(err, LP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    img->backing->fd = -1;
    return img;
}

/* What every image must be and have, once its ELF is read and its symbols listed. */
static int finish(struct lpi_image *img, size_t nr_entries, struct lp_error *err)
{
    const char *path = img->elf->path;
    const unsigned char *id;
    size_t len, i;

    if (img->elf->ehdr.e_type != ET_EXEC && img->elf->ehdr.e_type != ET_DYN)
        return lp_error_set(err, LP_ERR_FORMAT, "%s: not an executable image (ELF type %u)",
                            path, img->elf->ehdr.e_type);
    if (!img->elf->symtab || nr_entries <= 1)
        return lp_error_set(err, LP_ERR_FORMAT,
                            "%s: image has no symbol table (stripped?): payloads are built "
                            "against the unstripped image (Xen: xen-syms)", path);
    if (lpe_build_id(img->elf, &id, &len, NULL) == 0) {
        if (len > LPI_BUILD_ID_MAX)
            return lp_error_set(err, LP_ERR_FORMAT, "%s: build id of %zu bytes is too long",
                                path, len);
        memcpy(img->build_id, id, len);
        img->build_id_len = len;
    }
    img->text_start = UINT64_MAX;
    for (i = 0; i < img->elf->nr_phdrs; i++) {
        const GElf_Phdr *p = &img->elf->phdrs[i];
        if (p->p_type != PT_LOAD || !(p->p_flags & PF_X))
            continue;
        if (p->p_vaddr < img->text_start)
            img->text_start = p->p_vaddr;
        if (p->p_vaddr + p->p_memsz > img->text_end)
            img->text_end = p->p_vaddr + p->p_memsz;
    }
    if (img->text_start == UINT64_MAX)
        img->text_start = 0;
    return index_names(img, err);
}

/* The image over the bytes in img->backing (which it owns from now on). */
static int open_view(struct lpi_image *img, const char *name, struct lpi_image **out,
                     struct lp_error *err)
{
    const struct lpi_backing *b = img->backing;
    const struct lpe_section *st;

    if (lpe_open_view(b->map, b->map_len, name, add_raw, img, &img->elf, err))
        goto fail;
    st = img->elf->symtab;
    if (finish(img, st && st->sh.sh_entsize ? st->size / st->sh.sh_entsize : 0, err))
        goto fail;
    *out = img;
    return 0;
fail:
    lpi_close(img);
    return -1;
}

int lpi_open(const char *path, struct lpi_image **out, struct lp_error *err)
{
    struct lpi_image *img = new_image(err);
    struct lpi_backing *b;
    struct stat st;
    unsigned char *buf;
    size_t len;

    if (!img)
        return -1;
    b = img->backing;
    b->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (b->fd < 0) {
        lp_error_set(err, LP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if (fstat(b->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        lp_error_set(err, LP_ERR_IO, "%s: not a regular file", path);
        goto fail;
    }
    if (st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, b->fd, 0);
        if (m != MAP_FAILED) {
            b->map = m;
            b->map_len = (size_t)st.st_size;
            b->mapped = true;
            return open_view(img, path, out, err);
        }
    }
    /* An empty file (refused as such by the reader), or one that cannot be mapped. */
    if (lp_read_file(path, &buf, &len, err))
        goto fail;
    b->map = buf;
    b->map_len = len;
    return open_view(img, path, out, err);
fail:
    lpi_close(img);
    return -1;
}

int lpi_open_memory(const void *buf, size_t len, const char *name, struct lpi_image **out,
                    struct lp_error *err)
{
    struct lpi_image *img = new_image(err);
    unsigned char *copy;

    if (!img)
        return -1;
    copy = malloc(len ? len : 1);
    if (!copy) {
        lpi_close(img);
        return lp_error_set(err, LP_ERR_NOMEM, "out of memory");
    }
    memcpy(copy, buf, len);
    img->backing->map = copy;
    img->backing->map_len = len;
    return open_view(img, name, out, err);
}

int lpi_from_elf(struct lpe_object *elf, struct lpi_image **out, struct lp_error *err)
{
    struct lpi_image *img = new_image(err);
    size_t i;

    if (!img) {
        lpe_close(elf);
        return -1;
    }
    img->elf = elf;
    img->syms = malloc((elf->nr_symbols ? elf->nr_symbols : 1) * sizeof(*img->syms));
    if (!img->syms) {
        lp_error_set(err, LP_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (i = 1; i < elf->nr_symbols; i++) {
        struct lpe_symbol *y = elf->symbols[i];
        if (!wanted(y->name, y->type, y->sym.st_shndx))
            continue;
        fill(&img->syms[img->nr_syms], y->name, y->file, &y->sym, y->type, y->bind);
        img->syms[img->nr_syms++].elf = y;
    }
    if (finish(img, elf->nr_symbols, err))
        goto fail;
    *out = img;
    return 0;
fail:
    lpi_close(img);
    return -1;
}

void lpi_close(struct lpi_image *img)
{
    struct lpi_backing *b;
    size_t i;

    if (!img)
        return;
    b = img->backing;
    free(img->syms);
    lp_hash_free(img->by_name);
    lpe_close(img->elf);
    if (b) {
        if (b->mapped)
            munmap((void *)b->map, b->map_len);
        else
            free((void *)b->map);
        if (b->fd >= 0)
            close(b->fd);
        free(b->names);
        for (i = 0; i < b->nr_types; i++)
            free(b->types[i].name);
        free(b->types);
        free(b);
    }
    free(img);
}

const struct lpi_symbol *lpi_lookup(const struct lpi_image *img, const char *name,
                                    struct lp_error *err)
{
    const struct lpi_symbol *s = lp_hash_find(img->by_name, name);

    if (!s) {
        lp_error_set(err, LP_ERR_NOTFOUND, "%s: symbol %s not found", img->elf->path, name);
        return NULL;
    }
    if (s->ambiguous) {
        lp_error_set(err, LP_ERR_AMBIGUOUS,
                     "%s: symbol %s is ambiguous: defined at 0x%llx and 0x%llx", img->elf->path,
                     name, (unsigned long long)s->addr,
                     (unsigned long long)s->next_same_name->addr);
        return NULL;
    }
    return s;
}

int lpi_vaddr_to_offset(const struct lpi_image *img, uint64_t vaddr, uint64_t len,
                        uint64_t *offset, struct lp_error *err)
{
    size_t i;

    for (i = 0; i < img->elf->nr_phdrs; i++) {
        const GElf_Phdr *p = &img->elf->phdrs[i];
        if (p->p_type != PT_LOAD)
            continue;
        if (vaddr >= p->p_vaddr && vaddr - p->p_vaddr <= p->p_filesz &&
            len <= p->p_filesz - (vaddr - p->p_vaddr)) {
            *offset = p->p_offset + (vaddr - p->p_vaddr);
            return 0;
        }
    }
    return lp_error_set(err, LP_ERR_NOTFOUND,
                        "%s: address 0x%llx (+%llu) is not backed by file bytes of a loadable "
                        "segment", img->elf->path, (unsigned long long)vaddr,
                        (unsigned long long)len);
}

int lpi_read(const struct lpi_image *img, uint64_t vaddr, void *buf, size_t len,
             struct lp_error *err)
{
    size_t i;

    for (i = 1; i < img->elf->nr_sections; i++) {
        const struct lpe_section *s = img->elf->sections[i];
        uint64_t a = s->sh.sh_addr;

        if (!(s->sh.sh_flags & SHF_ALLOC) || vaddr < a || vaddr - a > s->size ||
            len > s->size - (vaddr - a))
            continue;
        if (s->data)
            memcpy(buf, s->data + (vaddr - a), len);
        else
            memset(buf, 0, len);
        return 0;
    }
    return lp_error_set(err, LP_ERR_NOTFOUND, "%s: no section holds 0x%llx (+%zu)",
                        img->elf->path, (unsigned long long)vaddr, len);
}

/* --- DWARF ------------------------------------------------------------------------ */

/* The first complete struct type of each name, CU by CU, until all are found. */
static void scan_dwarf(Dwarf *dw, const char *const *names, size_t *sizes, size_t n)
{
    Dwarf_Off off = 0, next;
    size_t hsize, found = 0, i;

    while (found < n && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu, die;

        if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0) {
            do {
                const char *name;
                Dwarf_Attribute decl;
                int size;

                if (dwarf_tag(&die) != DW_TAG_structure_type ||
                    dwarf_attr(&die, DW_AT_declaration, &decl) || !(name = dwarf_diename(&die)))
                    continue;
                size = dwarf_bytesize(&die);
                for (i = 0; i < n; i++)
                    if (!sizes[i] && size > 0 && strcmp(name, names[i]) == 0) {
                        sizes[i] = (size_t)size;
                        found++;
                    }
            } while (dwarf_siblingof(&die, &die) == 0);
        }
        off = next;
    }
}

/* Scan the image's DWARF for the complete struct types named (sizes[i] set where 0). */
static void scan_struct_sizes(struct lpi_image *img, const char *const *names, size_t *sizes,
                              size_t n)
{
    const struct lpi_backing *b = img->backing;
    int fd = b->fd;
    Elf *elf = NULL;
    Dwarf *dw;

    /* A mapped file goes through libdw's own read-only mapping (libdw may decompress a
     * section, which rewrites its header); a private buffer through libelf over it; an
     * image made from a model (lpi_from_elf) through the file the model was read from,
     * as libdw cannot take the model's sections. */
    if (fd < 0 && !b->map)
        fd = open(img->elf->path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        dw = dwarf_begin(fd, DWARF_C_READ);
    } else if (b->map) {
        elf = elf_memory((char *)b->map, b->map_len);
        dw = elf ? dwarf_begin_elf(elf, DWARF_C_READ, NULL) : NULL;
    } else {
        dw = NULL;
    }
    if (dw) {
        scan_dwarf(dw, names, sizes, n);
        dwarf_end(dw);
    }
    if (elf)
        elf_end(elf);
    if (fd >= 0 && fd != b->fd)
        close(fd);
}

static const struct type_size *known_type(const struct lpi_backing *b, const char *name)
{
    size_t i;

    for (i = 0; i < b->nr_types; i++)
        if (strcmp(b->types[i].name, name) == 0)
            return &b->types[i];
    return NULL;
}

int lpi_struct_sizes(struct lpi_image *img, const char *const *names, size_t *sizes, size_t n)
{
    struct lpi_backing *b = img->backing;
    const char **ask = NULL;
    size_t *got = NULL, nask = 0, i, set = 0;

    if (!b)
        return 0;
    /* The names not asked before, scanned for together. */
    for (i = 0; i < n; i++)
        if (!known_type(b, names[i]))
            nask++;
    if (nask) {
        struct type_size *t = realloc(b->types, (b->nr_types + nask) * sizeof(*t));
        ask = calloc(nask, sizeof(*ask));
        got = calloc(nask, sizeof(*got));
        if (t)
            b->types = t;
        if (!t || !ask || !got) {
            free(ask);
            free(got);
            return 0;   /* as if absent: the caller falls back to its defaults */
        }
        nask = 0;
        for (i = 0; i < n; i++) {
            size_t k;
            if (known_type(b, names[i]))
                continue;
            for (k = 0; k < nask && strcmp(ask[k], names[i]); k++)
                ;
            if (k == nask)
                ask[nask++] = names[i];
        }
        scan_struct_sizes(img, ask, got, nask);
        for (i = 0; i < nask; i++) {
            char *copy = strdup(ask[i]);
            if (!copy)
                break;
            b->types[b->nr_types].name = copy;
            b->types[b->nr_types++].size = got[i];
        }
        free(ask);
        free(got);
    }
    for (i = 0; i < n; i++) {
        const struct type_size *t = known_type(b, names[i]);
        if (!sizes[i] && t && t->size) {
            sizes[i] = t->size;
            set++;
        }
    }
    return (int)set;
}
