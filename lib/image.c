/*
 * image.c - the target image reader (see include/livepatch/image.h).
 *
 * The runtime names follow the hypervisor's own symbol table: a local symbol is
 * "<file>#<sym>" where <file> is the name of the STT_FILE symbol preceding it in
 * .symtab, a global is its plain name.  Two locals of the same name in the same
 * file make that runtime name ambiguous: lookups report it instead of picking one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/hash.h"
#include "livepatch/image.h"

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

static bool wanted(const struct lpe_symbol *y)
{
    if (!y->name[0] || y->type == STT_SECTION || y->type == STT_FILE)
        return false;
    return y->sym.st_shndx != SHN_UNDEF;
}

static int build_names(struct lpi_image *img, struct lp_error *err)
{
    struct lpe_object *elf = img->elf;
    size_t i, n = 0;

    img->syms = calloc(elf->nr_symbols, sizeof(*img->syms));
    img->by_name = lp_hash_new(elf->nr_symbols);
    if (!img->syms || !img->by_name)
        return lp_error_set(err, LP_ERR_NOMEM, "out of memory");
    for (i = 1; i < elf->nr_symbols; i++) {
        struct lpe_symbol *y = elf->symbols[i];
        struct lpi_symbol *s = &img->syms[n];
        struct lpi_symbol *first;
        int failed;

        if (!wanted(y))
            continue;
        s->elf = y;
        s->sym_name = y->name;
        s->addr = y->sym.st_value;
        s->size = y->sym.st_size;
        s->type = y->type;
        s->bind = y->bind;
        if (y->bind == STB_LOCAL && y->file) {
            size_t len = strlen(y->file) + strlen(y->name) + 2;
            char *name = malloc(len);
            if (!name)
                return lp_error_set(err, LP_ERR_NOMEM, "out of memory");
            s->file = y->file;
            s->name = lpi_runtime_name(y->file, y->name, name, len);
        } else {
            s->name = y->name;
        }
        n++;
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
    img->nr_syms = n;
    return 0;
}

int lpi_open(const char *path, struct lpi_image **out, struct lp_error *err)
{
    struct lpe_object *elf;

    if (lpe_open(path, &elf, err))
        return -1;
    return lpi_from_elf(elf, out, err);
}

int lpi_open_memory(const void *buf, size_t len, const char *name, struct lpi_image **out,
                    struct lp_error *err)
{
    struct lpe_object *elf;

    if (lpe_open_memory(buf, len, name, &elf, err))
        return -1;
    return lpi_from_elf(elf, out, err);
}

int lpi_from_elf(struct lpe_object *elf, struct lpi_image **out, struct lp_error *err)
{
    struct lpi_image *img = calloc(1, sizeof(*img));
    const char *path = elf->path;
    const unsigned char *id;
    size_t len, i;

    if (!img) {
        lpe_close(elf);
        return lp_error_set(err, LP_ERR_NOMEM, "out of memory");
    }
    img->elf = elf;
    if (img->elf->ehdr.e_type != ET_EXEC && img->elf->ehdr.e_type != ET_DYN) {
        lp_error_set(err, LP_ERR_FORMAT, "%s: not an executable image (ELF type %u)", path,
                     img->elf->ehdr.e_type);
        goto fail;
    }
    if (!img->elf->symtab || img->elf->nr_symbols <= 1) {
        lp_error_set(err, LP_ERR_FORMAT,
                     "%s: image has no symbol table (stripped?): payloads are built against "
                     "the unstripped image (Xen: xen-syms)", path);
        goto fail;
    }
    if (lpe_build_id(img->elf, &id, &len, NULL) == 0) {
        if (len > LPI_BUILD_ID_MAX) {
            lp_error_set(err, LP_ERR_FORMAT, "%s: build id of %zu bytes is too long", path, len);
            goto fail;
        }
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
    if (build_names(img, err))
        goto fail;
    *out = img;
    return 0;
fail:
    lpi_close(img);
    return -1;
}

void lpi_close(struct lpi_image *img)
{
    size_t i;

    if (!img)
        return;
    for (i = 0; i < img->nr_syms; i++)
        if (img->syms[i].file)
            free((char *)img->syms[i].name);
    free(img->syms);
    lp_hash_free(img->by_name);
    lpe_close(img->elf);
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
