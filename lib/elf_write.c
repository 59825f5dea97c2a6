/*
 * elf_write.c - building relocatable objects in the model and writing them out
 * (see include/livepatch/elf.h).
 *
 * The writer owns the layout of the bookkeeping sections: relocated sections are
 * each followed by their .rela section, then .symtab, .strtab and .shstrtab come
 * last; symbols are ordered locals first (in model order), then the rest.  So the
 * output depends only on the model, which keeps payloads byte-identical run to run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livepatch/elf.h"
#include "livepatch/hash.h"
#include "livepatch/util.h"
#include "elf_internal.h"

static int oom(struct lp_error *err)
{
    return lp_error_set(err, LP_ERR_NOMEM, "out of memory");
}

struct lpe_object *lpe_new_object(const struct lpe_object *like, struct lp_error *err)
{
    struct lpe_object *obj = lpe_alloc_object("(new object)", err);

    if (!obj)
        return NULL;
    if (like) {
        memcpy(obj->ehdr.e_ident, like->ehdr.e_ident, EI_NIDENT);
        obj->ehdr.e_machine = like->ehdr.e_machine;
        obj->ehdr.e_flags = like->ehdr.e_flags;
    } else {
        memcpy(obj->ehdr.e_ident, ELFMAG, SELFMAG);
        obj->ehdr.e_ident[EI_CLASS] = ELFCLASS64;
        obj->ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
        obj->ehdr.e_machine = EM_X86_64;
    }
    obj->ehdr.e_ident[EI_VERSION] = EV_CURRENT;
    obj->ehdr.e_type = ET_REL;
    obj->ehdr.e_version = EV_CURRENT;
    return obj;
}

struct lpe_section *lpe_add_section(struct lpe_object *obj, const char *name, uint32_t type,
                                    uint64_t flags, uint64_t align, uint64_t entsize,
                                    const void *data, size_t size, struct lp_error *err)
{
    struct lpe_section *s;

    if (lpe_grow_array((void **)&obj->sections, &obj->cap_sections, obj->nr_sections + 1,
                       sizeof(void *))) {
        oom(err);
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s || !(s->name = strdup(name))) {
        free(s);
        oom(err);
        return NULL;
    }
    s->sh.sh_type = type;
    s->sh.sh_flags = flags;
    s->sh.sh_addralign = align;
    s->sh.sh_entsize = entsize;
    s->sh.sh_size = size;
    s->size = size;
    if (type != SHT_NOBITS && size) {
        s->data = calloc(1, size);
        if (!s->data) {
            free(s->name);
            free(s);
            oom(err);
            return NULL;
        }
        if (data)
            memcpy(s->data, data, size);
    }
    s->index = obj->nr_sections;
    obj->sections[obj->nr_sections++] = s;
    if (lpe_index_section(obj, s, err))
        return NULL;
    return s;
}

int lpe_set_section_data(struct lpe_section *sec, const void *data, size_t size,
                         struct lp_error *err)
{
    unsigned char *n = NULL;

    if (sec->sh.sh_type != SHT_NOBITS && size) {
        n = malloc(size);
        if (!n)
            return oom(err);
        if (data)
            memcpy(n, data, size);
        else
            memset(n, 0, size);
    }
    if (!sec->borrowed)
        free(sec->data);
    sec->borrowed = false;
    sec->data = n;
    sec->size = size;
    sec->sh.sh_size = size;
    return 0;
}

struct lpe_symbol *lpe_add_symbol(struct lpe_object *obj, const char *name, unsigned bind,
                                  unsigned type, struct lpe_section *sec, uint64_t value,
                                  uint64_t size, struct lp_error *err)
{
    struct lpe_symbol *y;

    if (lpe_grow_array((void **)&obj->symbols, &obj->cap_symbols, obj->nr_symbols + 1,
                       sizeof(void *))) {
        oom(err);
        return NULL;
    }
    y = calloc(1, sizeof(*y));
    if (!y || !(y->name = strdup(name))) {
        free(y);
        oom(err);
        return NULL;
    }
    y->bind = (unsigned char)bind;
    y->type = (unsigned char)type;
    y->sec = sec;
    y->sym.st_info = GELF_ST_INFO(bind, type);
    y->sym.st_value = value;
    y->sym.st_size = size;
    y->sym.st_shndx = sec ? (Elf64_Section)sec->index : SHN_UNDEF;
    y->index = obj->nr_symbols;
    obj->symbols[obj->nr_symbols++] = y;
    if (type == STT_SECTION && sec && !sec->secsym)
        sec->secsym = y;
    if (lpe_index_symbol(obj, y, err))
        return NULL;
    return y;
}

int lpe_rename_symbol(struct lpe_object *obj, struct lpe_symbol *sym, const char *name,
                      struct lp_error *err)
{
    char *n = strdup(name);
    struct lpe_symbol *first;

    if (!n)
        return oom(err);
    /* Unlink from the old name's chain; the table's key may be this symbol's name. */
    first = lpe_find_symbol(obj, sym->name);
    if (first == sym) {
        lp_hash_remove(obj->sym_by_name, sym->name);
        if (sym->next_same_name) {
            struct lpe_symbol *next = sym->next_same_name;
            int failed;
            lp_hash_insert(obj->sym_by_name, next->name, next, &failed);
            if (failed) {
                free(n);
                return oom(err);
            }
            next->last_same_name = sym->last_same_name == next ? NULL : sym->last_same_name;
        }
    } else {
        struct lpe_symbol *prev;

        for (prev = first; prev; prev = prev->next_same_name)
            if (prev->next_same_name == sym) {
                prev->next_same_name = sym->next_same_name;
                if (first->last_same_name == sym)
                    first->last_same_name = prev == first ? NULL : prev;
                break;
            }
    }
    sym->last_same_name = NULL;
    sym->next_same_name = NULL;
    free(sym->name);
    sym->name = n;
    return lpe_index_symbol(obj, sym, err);
}

int lpe_add_rela(struct lpe_object *obj, struct lpe_section *sec, uint64_t offset,
                 uint32_t type, int64_t addend, struct lpe_symbol *sym, struct lp_error *err)
{
    struct lpe_section *rs = sec->rela;

    if (!sym)
        return lp_error_set(err, LP_ERR_INVALID, "relocation in %s at 0x%llx has no symbol",
                            sec->name, (unsigned long long)offset);
    if (!rs) {
        size_t len = strlen(sec->name) + 6;
        char *name = malloc(len);

        if (!name)
            return oom(err);
        snprintf(name, len, ".rela%s", sec->name);
        rs = lpe_add_section(obj, name, SHT_RELA, SHF_INFO_LINK, 8, sizeof(Elf64_Rela), NULL,
                             0, err);
        free(name);
        if (!rs)
            return -1;
        rs->base = sec;
        sec->rela = rs;
    }
    if (lpe_grow_array((void **)&rs->relas, &rs->cap_relas, rs->nr_relas + 1,
                       sizeof(*rs->relas)))
        return oom(err);
    rs->relas[rs->nr_relas].offset = offset;
    rs->relas[rs->nr_relas].type = type;
    rs->relas[rs->nr_relas].addend = addend;
    rs->relas[rs->nr_relas].sym = sym;
    rs->nr_relas++;
    return 0;
}

/* --- writing ------------------------------------------------------------------- */

struct strtab {
    char *buf;
    size_t len, cap;
    struct lp_hash *seen; /* name -> offset + 1 */
};

static int strtab_init(struct strtab *t, size_t expected, struct lp_error *err)
{
    memset(t, 0, sizeof(*t));
    /* Keys are copied names owned by the model, not pointers into buf (which moves). */
    t->seen = lp_hash_new(expected);
    if (!t->seen || lpe_grow_array((void **)&t->buf, &t->cap, 1, 1)) {
        lp_hash_free(t->seen);
        return oom(err);
    }
    t->buf[0] = '\0';
    t->len = 1;
    return 0;
}

static void strtab_free(struct strtab *t)
{
    lp_hash_free(t->seen);
    free(t->buf);
}

/* Add with a key that outlives the table (a model-owned name). */
static long strtab_add_stable(struct strtab *t, const char *s, struct lp_error *err)
{
    size_t n = strlen(s) + 1;
    void *prev;
    int failed;

    if (!*s)
        return 0;
    prev = lp_hash_find(t->seen, s);
    if (prev)
        return (long)((uintptr_t)prev - 1);
    if (lpe_grow_array((void **)&t->buf, &t->cap, t->len + n, 1))
        return oom(err);
    memcpy(t->buf + t->len, s, n);
    lp_hash_insert(t->seen, s, (void *)(uintptr_t)(t->len + 1), &failed);
    if (failed)
        return oom(err);
    t->len += n;
    return (long)(t->len - n);
}

struct layout {
    struct lpe_section **order;  /* output order of the model's sections kept */
    size_t nr;
    size_t *newidx;              /* model section index -> output index (0: dropped) */
    size_t *symidx;              /* model symbol index -> output index */
    Elf64_Sym *syms;
    size_t nr_syms, first_global;
};

static bool is_bookkeeping(const struct lpe_object *obj, const struct lpe_section *s)
{
    if (s == obj->symtab || s->sh.sh_type == SHT_RELA)
        return true;
    if (obj->symtab && s->index == obj->symtab->sh.sh_link && s->sh.sh_type == SHT_STRTAB)
        return true;
    return s->sh.sh_type == SHT_STRTAB && obj->ehdr.e_shstrndx && s->index == obj->ehdr.e_shstrndx;
}

static int plan_sections(struct lpe_object *obj, struct layout *l, struct lp_error *err)
{
    size_t i;

    l->order = calloc(obj->nr_sections + 1, sizeof(*l->order));
    l->newidx = calloc(obj->nr_sections + 1, sizeof(*l->newidx));
    if (!l->order || !l->newidx)
        return oom(err);
    for (i = 1; i < obj->nr_sections; i++) {
        struct lpe_section *s = obj->sections[i];

        if (is_bookkeeping(obj, s) || s->omit)
            continue;
        if (s->sh.sh_type == SHT_GROUP)
            return lp_error_set(err, LP_ERR_UNSUPPORTED,
                                "%s: section group %s cannot be written", obj->path, s->name);
        l->order[l->nr++] = s;
        l->newidx[i] = l->nr;
        if (s->rela && s->rela->nr_relas) {
            l->order[l->nr++] = s->rela;
            l->newidx[s->rela->index] = l->nr;
        }
    }
    return 0;
}

static int plan_symbols(struct lpe_object *obj, struct layout *l, struct strtab *str,
                        struct lp_error *err)
{
    size_t i, n = 1;
    int pass;

    l->symidx = calloc(obj->nr_symbols + 1, sizeof(*l->symidx));
    l->syms = calloc(obj->nr_symbols + 1, sizeof(*l->syms));
    if (!l->symidx || !l->syms)
        return oom(err);
    for (pass = 0; pass < 2; pass++) {
        if (pass == 1)
            l->first_global = n;
        for (i = 1; i < obj->nr_symbols; i++) {
            struct lpe_symbol *y = obj->symbols[i];
            Elf64_Sym *o = &l->syms[n];
            long name;

            if ((y->bind == STB_LOCAL) != (pass == 0) || y->omit)
                continue;
            name = strtab_add_stable(str, y->name, err);
            if (name < 0)
                return -1;
            o->st_name = (Elf64_Word)name;
            o->st_info = GELF_ST_INFO(y->bind, y->type);
            o->st_other = y->sym.st_other;
            o->st_value = y->sym.st_value;
            o->st_size = y->sym.st_size;
            if (y->sec) {
                if (!l->newidx[y->sec->index])
                    return lp_error_set(err, LP_ERR_INVALID,
                                        "%s: symbol %s is in section %s, which is not written",
                                        obj->path, y->name, y->sec->name);
                o->st_shndx = (Elf64_Section)l->newidx[y->sec->index];
            } else {
                o->st_shndx = y->sym.st_shndx < SHN_LORESERVE ? SHN_UNDEF : y->sym.st_shndx;
            }
            l->symidx[i] = n++;
        }
    }
    l->nr_syms = n;
    return 0;
}

static void free_layout(struct layout *l)
{
    free(l->order);
    free(l->newidx);
    free(l->symidx);
    free(l->syms);
}

static int add_scn(Elf *elf, const GElf_Shdr *tmpl, size_t name, void *buf, size_t size,
                   Elf_Type type, const char *what, struct lp_error *err)
{
    Elf_Scn *scn = elf_newscn(elf);
    Elf_Data *d;
    GElf_Shdr sh;

    if (!scn || !(d = elf_newdata(scn)) || !gelf_getshdr(scn, &sh))
        return lp_error_set(err, LP_ERR_IO, "cannot add section %s: %s", what, elf_errmsg(-1));
    d->d_buf = buf;
    d->d_size = size;
    d->d_type = type;
    d->d_align = tmpl->sh_addralign ? tmpl->sh_addralign : 1;
    d->d_version = EV_CURRENT;
    sh = *tmpl;
    sh.sh_name = (Elf64_Word)name;
    sh.sh_offset = 0;
    sh.sh_size = size;
    sh.sh_addr = 0;
    if (!gelf_update_shdr(scn, &sh))
        return lp_error_set(err, LP_ERR_IO, "cannot set up section %s: %s", what,
                            elf_errmsg(-1));
    return 0;
}

int lpe_write(struct lpe_object *obj, const char *path, struct lp_error *err)
{
    struct layout l = { 0 };
    struct strtab str, shstr;
    Elf64_Rela **relbufs = NULL;
    size_t i, symtab_idx, strtab_idx, shstrtab_idx;
    long *secname = NULL, nsym, nstr, nshstr;
    char tmp[4096];
    int fd = -1, ret = -1;
    Elf *elf = NULL;
    GElf_Ehdr eh;

    if (elf_version(EV_CURRENT) == EV_NONE)
        return lp_error_set(err, LP_ERR_IO, "libelf initialisation failed");
    if (obj->ehdr.e_ident[EI_CLASS] != ELFCLASS64)
        return lp_error_set(err, LP_ERR_UNSUPPORTED, "%s: only ELF64 objects can be written",
                            path);
    if (strtab_init(&str, obj->nr_symbols, err))
        return -1;
    if (strtab_init(&shstr, obj->nr_sections, err)) {
        strtab_free(&str);
        return -1;
    }
    if (plan_sections(obj, &l, err) || plan_symbols(obj, &l, &str, err))
        goto out;
    symtab_idx = l.nr + 1;
    strtab_idx = l.nr + 2;
    shstrtab_idx = l.nr + 3;

    secname = calloc(l.nr + 1, sizeof(*secname));
    relbufs = calloc(l.nr + 1, sizeof(*relbufs));
    if (!secname || !relbufs) {
        oom(err);
        goto out;
    }
    for (i = 0; i < l.nr; i++)
        if ((secname[i] = strtab_add_stable(&shstr, l.order[i]->name, err)) < 0)
            goto out;
    if ((nsym = strtab_add_stable(&shstr, ".symtab", err)) < 0 ||
        (nstr = strtab_add_stable(&shstr, ".strtab", err)) < 0 ||
        (nshstr = strtab_add_stable(&shstr, ".shstrtab", err)) < 0)
        goto out;

    /* Relocation entries, with symbol indices in the output numbering. */
    for (i = 0; i < l.nr; i++) {
        struct lpe_section *s = l.order[i];
        size_t j;

        if (s->sh.sh_type != SHT_RELA)
            continue;
        relbufs[i] = calloc(s->nr_relas, sizeof(Elf64_Rela));
        if (!relbufs[i]) {
            oom(err);
            goto out;
        }
        for (j = 0; j < s->nr_relas; j++) {
            const struct lpe_rela *r = &s->relas[j];
            if (!l.symidx[r->sym->index]) {
                lp_error_set(err, LP_ERR_INVALID, "%s: relocation in %s refers to a symbol "
                             "that is not written (%s)", obj->path, s->name, r->sym->name);
                goto out;
            }
            relbufs[i][j].r_offset = r->offset;
            relbufs[i][j].r_info = ELF64_R_INFO(l.symidx[r->sym->index], r->type);
            relbufs[i][j].r_addend = r->addend;
        }
    }

    fd = lp_create_temp(path, tmp, sizeof(tmp), err);
    if (fd < 0)
        goto out;
    elf = elf_begin(fd, ELF_C_WRITE, NULL);
    if (!elf || !gelf_newehdr(elf, ELFCLASS64) || !gelf_getehdr(elf, &eh)) {
        lp_error_set(err, LP_ERR_IO, "%s: cannot start ELF output: %s", path, elf_errmsg(-1));
        goto out;
    }
    memcpy(eh.e_ident, obj->ehdr.e_ident, EI_NIDENT);
    eh.e_type = ET_REL;
    eh.e_machine = obj->ehdr.e_machine;
    eh.e_version = EV_CURRENT;
    eh.e_flags = obj->ehdr.e_flags;
    eh.e_entry = 0;
    eh.e_phoff = 0;
    eh.e_shstrndx = (Elf64_Half)shstrtab_idx;

    for (i = 0; i < l.nr; i++) {
        struct lpe_section *s = l.order[i];
        GElf_Shdr sh = s->sh;

        sh.sh_link = 0;
        sh.sh_info = 0;
        if (s->sh.sh_type == SHT_RELA) {
            sh.sh_link = (Elf64_Word)symtab_idx;
            sh.sh_info = (Elf64_Word)l.newidx[s->base->index];
            sh.sh_flags |= SHF_INFO_LINK;
            sh.sh_entsize = sizeof(Elf64_Rela);
            sh.sh_addralign = 8;
            if (add_scn(elf, &sh, (size_t)secname[i], relbufs[i],
                        s->nr_relas * sizeof(Elf64_Rela), ELF_T_RELA, s->name, err))
                goto out;
            continue;
        }
        if ((s->sh.sh_flags & SHF_LINK_ORDER) && s->sh.sh_link < obj->nr_sections)
            sh.sh_link = (Elf64_Word)l.newidx[s->sh.sh_link];
        if (add_scn(elf, &sh, (size_t)secname[i], s->data, s->size, ELF_T_BYTE, s->name, err))
            goto out;
    }
    {
        GElf_Shdr sh = { .sh_type = SHT_SYMTAB, .sh_addralign = 8,
                         .sh_entsize = sizeof(Elf64_Sym), .sh_link = (Elf64_Word)strtab_idx,
                         .sh_info = (Elf64_Word)l.first_global };
        GElf_Shdr st = { .sh_type = SHT_STRTAB, .sh_addralign = 1 };

        if (add_scn(elf, &sh, (size_t)nsym, l.syms, l.nr_syms * sizeof(Elf64_Sym), ELF_T_SYM,
                    ".symtab", err) ||
            add_scn(elf, &st, (size_t)nstr, str.buf, str.len, ELF_T_BYTE, ".strtab", err) ||
            add_scn(elf, &st, (size_t)nshstr, shstr.buf, shstr.len, ELF_T_BYTE, ".shstrtab",
                    err))
            goto out;
    }
    if (!gelf_update_ehdr(elf, &eh) || elf_update(elf, ELF_C_WRITE) < 0) {
        lp_error_set(err, LP_ERR_IO, "%s: cannot write ELF: %s", path, elf_errmsg(-1));
        goto out;
    }
    elf_end(elf);
    elf = NULL;
    ret = lp_commit_file(fd, tmp, path, 0644, err);
    fd = -1;
    tmp[0] = '\0';

out:
    if (elf)
        elf_end(elf);
    if (fd >= 0)
        lp_abort_file(fd, tmp);
    if (relbufs)
        for (i = 0; i < l.nr; i++)
            free(relbufs[i]);
    free(relbufs);
    free(secname);
    free_layout(&l);
    strtab_free(&str);
    strtab_free(&shstr);
    return ret;
}
