/*
 * image.c - the target image reader (see include/livepatch/image.h).
 *
 * The runtime names follow the hypervisor's own symbol table: a local symbol is
 * "<file>#<sym>" where <file> is the name of the STT_FILE symbol preceding it in
 * .symtab, a global is its plain name.  Two locals of the same name in the same
 * file make that runtime name ambiguous: lookups report it instead of picking one.
 *
 * lpi_open maps the file and builds no model of its contents: the symbol table is
 * checked entry by entry and the indexed entries noted by number (12 bytes each).  The
 * first look-ups scan those entries; after a few, the names are hashed into an index
 * (find_entries).  Symbols are made only when asked for, and everything else (section
 * bytes, DWARF) is only paged in when read, so a 24 MB xen-syms costs one pass over
 * its symbol table, not its size, and a differ that looks up a handful of names pays
 * for those names.
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

#define XXH_INLINE_ALL   /* the index hashes thousands of short names: no call each */
#include <xxhash.h>

#include "livepatch/image.h"
#include "livepatch/util.h"
#include "elf_internal.h"

/* The symbol table is read back from the file's bytes, which are little-endian (the
 * reader refuses others). */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "image.c reads the file's little-endian symbol table in place"
#endif

/* What the image holds besides its public fields. */
struct lpi_backing {
    const unsigned char *map;  /* the file's bytes: mapped (map_len > 0) or malloc'd */
    size_t map_len;
    bool mapped;
    int fd;                    /* the mapped file, for libdw; -1 for a buffer */
    /* The indexed symbols, in .symtab order: their .symtab index and that of the
     * STT_FILE symbol before them (locals; 0 for globals and locals of no file). */
    struct entry {
        uint32_t sym, file;
        char first;            /* the first byte of the name, for scans */
    } *entries;
    size_t nr_entries, cap_entries;
    uint32_t cur_file;         /* while reading: the last STT_FILE seen */
    bool model;                /* the entries are read from elf->symbols (lpi_from_elf) */
    /* The name index, made after the first scans (find_entries): open addressing over
     * entry numbers (+1; 0 is an empty slot), keyed by the runtime name's hash.  Only
     * numbers are stored, the names are compared in the symbol table itself, so the
     * index of the 7,106 indexed symbols of Xen 4.17.5 is 64 KiB. */
    uint32_t *slots;
    size_t nr_slots;           /* a power of two, at least twice nr_entries */
    struct made **made;        /* the symbols handed out so far, by entry number */
    struct made *made_list;    /* the same, newest first, to free */
    size_t scans, scan_limit;  /* look-ups answered by a pass over the entries, and how many
                                * may be before the index is made */
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

/* Room for one more entry. */
static int grow_entries(struct lpi_backing *b, size_t hint, struct lp_error *err)
{
    if (b->nr_entries < b->cap_entries)
        return 0;
    if (b->nr_entries >= UINT32_MAX)
        return lp_error_set(err, LP_ERR_UNSUPPORTED, "too many symbols");
    if (lpe_grow_array((void **)&b->entries, &b->cap_entries,
                       hint > b->nr_entries ? hint : 2 * b->nr_entries + 16, sizeof(*b->entries)))
        return lp_error_set(err, LP_ERR_NOMEM, "out of memory");
    return 0;
}

/* Symbol table entry `index` (of `count`), noted if it is indexed.  Nothing of it is
 * copied but its name's first byte: it keeps its place in .symtab, read again when
 * asked for. */
static int note_symbol(struct lpi_backing *b, size_t index, size_t count, const char *name,
                       unsigned char type, unsigned char bind, unsigned shndx,
                       struct lp_error *err)
{
    struct entry *e;

    if (type == STT_FILE)
        b->cur_file = (uint32_t)index;
    if (!wanted(name, type, shndx))
        return 0;
    if (grow_entries(b, count, err))
        return -1;
    e = &b->entries[b->nr_entries++];
    e->sym = (uint32_t)index;
    e->file = bind == STB_LOCAL ? b->cur_file : 0;
    e->first = name[0];
    return 0;
}

/* lpe_open_view's visitor. */
static int add_raw(void *ctx, const struct lpe_raw_symbol *y, struct lp_error *err)
{
    return note_symbol(((struct lpi_image *)ctx)->backing, y->index, y->count, y->name, y->type,
                       y->bind, y->sym.st_shndx, err);
}

/* --- reading an entry back --------------------------------------------------------- */

/* What an entry of .symtab says, from the mapped table or from the model. */
struct raw {
    const char *name;
    uint64_t value, size;
    unsigned char type, bind;
};

static void read_raw(const struct lpi_image *img, uint32_t index, struct raw *out)
{
    const struct lpe_object *o = img->elf;
    const struct lpe_section *st = o->symtab;

    if (img->backing->model) {      /* lpi_from_elf: the model's symbols */
        const struct lpe_symbol *y = o->symbols[index];
        out->name = y->name;
        out->value = y->sym.st_value;
        out->size = y->sym.st_size;
        out->type = y->type;
        out->bind = y->bind;
        return;
    }
    /* A view: the entry in the file's bytes, checked when the image was opened (the
     * name inside its NUL-terminated string table).  Only little-endian ELF is read. */
    const char *strtab = (const char *)o->sections[st->sh.sh_link]->data;
    unsigned char info;
    uint32_t name;

    if (o->ehdr.e_ident[EI_CLASS] == ELFCLASS64) {
        Elf64_Sym y;
        memcpy(&y, st->data + (size_t)index * sizeof(y), sizeof(y));
        name = y.st_name;
        info = y.st_info;
        out->value = y.st_value;
        out->size = y.st_size;
    } else {
        Elf32_Sym y;
        memcpy(&y, st->data + (size_t)index * sizeof(y), sizeof(y));
        name = y.st_name;
        info = y.st_info;
        out->value = y.st_value;
        out->size = y.st_size;
    }
    out->name = strtab + name;
    out->type = GELF_ST_TYPE(info);
    out->bind = GELF_ST_BIND(info);
}

/* Only the name: st_name leads both Elf32_Sym and Elf64_Sym. */
static const char *raw_name(const struct lpi_image *img, uint32_t index)
{
    const struct lpe_object *o = img->elf;
    const struct lpe_section *st = o->symtab;
    uint32_t name;

    if (img->backing->model)
        return o->symbols[index]->name;
    memcpy(&name, st->data + (size_t)index * st->sh.sh_entsize, sizeof(name));
    return (const char *)o->sections[st->sh.sh_link]->data + name;
}

/* --- the name index ---------------------------------------------------------------- */

/* A runtime name split in two: the file (of a local, if any) and the symbol's name. */
struct key {
    bool has_file;
    const char *file, *sym;
    size_t file_len, sym_len;
};

/* The hash of a key is its name's, seeded by its file's. */
static uint64_t file_seed(const struct key *k)
{
    return k->has_file ? XXH3_64bits(k->file, k->file_len) : 0;
}

static uint64_t key_hash(const struct key *k, uint64_t seed)
{
    return XXH3_64bits_withSeed(k->sym, k->sym_len, seed);
}

static struct key entry_key(const struct lpi_image *img, const struct entry *e)
{
    struct key k = { e->file != 0, "", raw_name(img, e->sym), 0, 0 };

    k.sym_len = strlen(k.sym);
    if (k.has_file) {
        k.file = raw_name(img, e->file);
        k.file_len = strlen(k.file);
    }
    return k;
}

static bool same_key(const struct key *a, const struct key *b)
{
    return a->has_file == b->has_file && a->sym_len == b->sym_len &&
           a->file_len == b->file_len && memcmp(a->sym, b->sym, a->sym_len) == 0 &&
           memcmp(a->file, b->file, a->file_len) == 0;
}

static int build_index(const struct lpi_image *img)
{
    struct lpi_backing *b = img->backing;
    uint32_t last_file = 0;
    uint64_t seed = 0;
    size_t i, n = 16;

    while (n < 2 * b->nr_entries)
        n *= 2;
    b->slots = calloc(n, sizeof(*b->slots));
    if (!b->slots)
        return -1;
    b->nr_slots = n;
    for (i = 0; i < b->nr_entries; i++) {
        const struct entry *e = &b->entries[i];
        struct key k = { false, "", raw_name(img, e->sym), 0, 0 };
        size_t at;

        /* The file's part of the hash once per file, the run of its locals after it. */
        if (e->file != last_file) {
            struct key f = entry_key(img, e);
            last_file = e->file;
            seed = file_seed(&f);
        }
        k.sym_len = strlen(k.sym);
        for (at = key_hash(&k, seed) & (n - 1); b->slots[at]; at = (at + 1) & (n - 1))
            ;
        b->slots[at] = (uint32_t)i + 1;
    }
    return 0;
}

/*
 * The entries whose runtime name is k: how many (any number), and the first two in
 * .symtab order.
 */
static size_t probe(const struct lpi_image *img, const struct key *k, size_t found[2],
                    size_t nfound)
{
    const struct lpi_backing *b = img->backing;
    size_t at = key_hash(k, file_seed(k)) & (b->nr_slots - 1);

    for (; b->slots[at]; at = (at + 1) & (b->nr_slots - 1)) {
        size_t i = b->slots[at] - 1;
        struct key c = entry_key(img, &b->entries[i]);

        if (!same_key(&c, k))
            continue;
        if (nfound == 0) {
            found[0] = i;
        } else if (i < found[0]) {
            found[1] = found[0];
            found[0] = i;
        } else if (nfound == 1 || i < found[1]) {
            found[1] = i;
        }
        nfound++;
    }
    return nfound;
}

/*
 * Every entry a runtime name can mean: a symbol of no file by the whole name, and a
 * local of file F named S for each '#' that splits it into "F#S".
 */
static size_t find_name(const struct lpi_image *img, const char *name, size_t found[2])
{
    struct key k = { false, "", name, 0, strlen(name) };
    size_t n = probe(img, &k, found, 0);
    const char *h;

    for (h = strchr(name, '#'); h; h = strchr(h + 1, '#')) {
        k.has_file = true;
        k.file = name;
        k.file_len = (size_t)(h - name);
        k.sym = h + 1;
        k.sym_len = strlen(h + 1);
        n = probe(img, &k, found, n);
    }
    return n;
}

/*
 * The same answer as find_name's without the index: one pass over the entries, in
 * .symtab order.  A file's run of locals is passed over at once when the name does not
 * start with "FILE#"; only names of the right first byte (noted at open) are read.
 */
static size_t scan_name(const struct lpi_image *img, const char *name, size_t found[2])
{
    const struct lpi_backing *b = img->backing;
    size_t len = strlen(name), flen = 0, n = 0, i;
    uint32_t run = 0;
    bool run_ok = false;

    for (i = 0; i < b->nr_entries; i++) {
        const struct entry *e = &b->entries[i];
        const char *s, *want = name;

        if (e->file) {
            if (e->file != run) {
                const char *f = raw_name(img, e->file);
                run = e->file;
                flen = strlen(f);
                run_ok = flen < len && name[flen] == '#' && memcmp(f, name, flen) == 0;
            }
            if (!run_ok)
                continue;
            want = name + flen + 1;
        }
        if (e->first != want[0])
            continue;
        s = raw_name(img, e->sym);
        if (strcmp(s, want) != 0)
            continue;
        if (n < 2)
            found[n] = i;
        n++;
    }
    return n;
}

/*
 * A look-up: by scanning while few have been asked (a pass costs about a twentieth of
 * making the index: for Xen's 7,106 symbols some 10 us against 240 us, and the differ
 * asks a handful of names on a small object pair), then through the index.  SIZE_MAX
 * when the index cannot be made.
 */
static bool indexed(const struct lpi_image *img);

static size_t find_entries(const struct lpi_image *img, const char *name, size_t found[2])
{
    struct lpi_backing *b = img->backing;

    if (!b->slots && b->scans < b->scan_limit) {
        b->scans++;
        return scan_name(img, name, found);
    }
    if (!indexed(img))
        return SIZE_MAX;
    return find_name(img, name, found);
}

/* A symbol handed out, with its runtime name. */
struct made {
    struct made *next;
    struct lpi_symbol sym;
    char name[];
};

/* The symbol of entry i, made on first use and kept. */
static struct lpi_symbol *make_symbol(const struct lpi_image *img, size_t i)
{
    struct lpi_backing *b = img->backing;
    const struct entry *e = &b->entries[i];
    struct lpi_symbol *s;
    struct made *m;
    struct key k;
    struct raw r;
    char *name;

    if (!b->made && !(b->made = calloc(b->nr_entries, sizeof(*b->made))))
        return NULL;
    if (b->made[i])
        return &b->made[i]->sym;
    read_raw(img, e->sym, &r);
    k = entry_key(img, e);
    m = calloc(1, sizeof(*m) + k.file_len + k.sym_len + 2);
    if (!m)
        return NULL;
    m->next = b->made_list;
    b->made_list = m;
    b->made[i] = m;
    s = &m->sym;
    name = m->name;
    lpi_runtime_name(k.has_file ? k.file : NULL, k.sym, name, k.file_len + k.sym_len + 2);
    s->name = name;
    s->sym_name = r.name;
    s->file = k.has_file ? k.file : NULL;
    s->addr = r.value;
    s->size = r.size;
    s->type = r.type;
    s->bind = r.bind;
    if (b->model)
        s->elf = img->elf->symbols[e->sym];
    return s;
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
    img->backing->scan_limit = 8;
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
    return 0;
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
    struct lpi_backing *b;
    size_t i;

    if (!img) {
        lpe_close(elf);
        return -1;
    }
    img->elf = elf;
    b = img->backing;
    b->model = true;
    for (i = 1; i < elf->nr_symbols; i++) {
        const struct lpe_symbol *y = elf->symbols[i];
        if (note_symbol(b, i, elf->nr_symbols, y->name, y->type, y->bind, y->sym.st_shndx, err))
            goto fail;
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
    lpe_close(img->elf);
    if (b) {
        if (b->mapped)
            munmap((void *)b->map, b->map_len);
        else
            free((void *)b->map);
        if (b->fd >= 0)
            close(b->fd);
        while (b->made_list) {
            struct made *m = b->made_list;
            b->made_list = m->next;
            free(m);
        }
        free(b->made);
        free(b->slots);
        free(b->entries);
        for (i = 0; i < b->nr_types; i++)
            free(b->types[i].name);
        free(b->types);
        free(b);
    }
    free(img);
}

void lpi_set_scan_limit(struct lpi_image *img, size_t n)
{
    if (img->backing)
        img->backing->scan_limit = n;
}

size_t lpi_nr_symbols(const struct lpi_image *img)
{
    return img->backing ? img->backing->nr_entries : 0;
}

/* The index, made on first use; false when it cannot be (out of memory). */
static bool indexed(const struct lpi_image *img)
{
    return img->backing->slots || build_index(img) == 0;
}

const struct lpi_symbol *lpi_symbol_at(const struct lpi_image *img, size_t i)
{
    struct lpi_symbol *s;
    size_t found[2];

    if (i >= lpi_nr_symbols(img))
        return NULL;
    if (img->backing->made && img->backing->made[i])
        return &img->backing->made[i]->sym;
    s = make_symbol(img, i);
    if (s) {
        size_t n = find_entries(img, s->name, found);
        if (n == SIZE_MAX)
            return NULL;
        s->ambiguous = n > 1;
    }
    return s;
}

const struct lpi_symbol *lpi_lookup(const struct lpi_image *img, const char *name,
                                    struct lp_error *err)
{
    const struct lpi_symbol *s;
    size_t found[2], n;
    struct raw a, b;

    n = lpi_nr_symbols(img) ? find_entries(img, name, found) : 0;
    if (n == SIZE_MAX) {
        lp_error_set(err, LP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (n == 0) {
        lp_error_set(err, LP_ERR_NOTFOUND, "%s: symbol %s not found", img->elf->path, name);
        return NULL;
    }
    if (n > 1) {
        read_raw(img, img->backing->entries[found[0]].sym, &a);
        read_raw(img, img->backing->entries[found[1]].sym, &b);
        lp_error_set(err, LP_ERR_AMBIGUOUS,
                     "%s: symbol %s is ambiguous: defined at 0x%llx and 0x%llx", img->elf->path,
                     name, (unsigned long long)a.value, (unsigned long long)b.value);
        return NULL;
    }
    s = make_symbol(img, found[0]);
    if (!s)
        lp_error_set(err, LP_ERR_NOMEM, "out of memory");
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
