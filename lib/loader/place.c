/*
 * place.c - where a payload's sections go in memory: text and read-only data in
 * one segment, writable data in another, each section at its own alignment, the
 * whole after the image and the payloads already loaded, so that the new code
 * is within reach (+-2 GiB) of the code it replaces.
 */
#include <errno.h>
#include <stdlib.h>

#include "loader_internal.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return a > 1 ? (v + a - 1) & ~(a - 1) : v;
}

/* A payload's memory is allocated page by page: no section can ask for more than a
 * page's alignment, and no payload for more memory than this (checked before the
 * loader allocates a copy of it). */
#define LPL_MAX_ALIGN LPL_PAGE
#define LPL_MAX_MEMORY (1ull << 30)

uint64_t lpl_next_address(const struct lpi_image *img, struct lpl_payload *const *loaded,
                          size_t nr_loaded, uint64_t file_len)
{
    uint64_t end = 0, base = UINT64_MAX;
    size_t i;

    for (i = 0; i < img->elf->nr_phdrs; i++) {
        const GElf_Phdr *ph = &img->elf->phdrs[i];
        if (ph->p_type != PT_LOAD)
            continue;
        if (ph->p_vaddr + ph->p_memsz > end)
            end = ph->p_vaddr + ph->p_memsz;
        if (ph->p_vaddr - ph->p_offset < base)
            base = ph->p_vaddr - ph->p_offset;
    }
    for (i = 0; i < nr_loaded; i++)
        if (loaded[i]->rw_base + loaded[i]->rw_size > end)
            end = loaded[i]->rw_base + loaded[i]->rw_size;
    if (base == UINT64_MAX)
        base = 0;
    /* Keep vaddr - file offset equal to the image's first segment (see image_file.c). */
    if (base + file_len > end)
        end = base + file_len;
    return align_up(end, LPL_PAGE);
}

int lpl_place_at(struct lpl_payload *p, uint64_t base, uint64_t reserve, struct lpl_verdict *v)
{
    const struct lpe_object *o = p->elf;
    uint64_t at;
    size_t i;
    int pass;

    if (reserve > LPL_MAX_MEMORY || base > UINT64_MAX - 4 * LPL_MAX_MEMORY)
        return lpl_fail(v, EINVAL, "%s: payload base %#llx (%#llx bytes reserved) is out of range",
                        p->name, (unsigned long long)base, (unsigned long long)reserve);
    free(p->addr);
    p->addr = calloc(o->nr_sections, sizeof(*p->addr));
    if (!p->addr)
        return lpl_fail(v, ENOMEM, "out of memory");
    p->text_base = base;
    at = base + reserve;
    for (pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            p->text_size = at - p->text_base;
            p->rw_base = at = align_up(at, LPL_PAGE);
        }
        for (i = 1; i < o->nr_sections; i++) {
            const struct lpe_section *s = o->sections[i];
            /* Empty sections too: the hypervisor gives them an address. */
            if (!(s->sh.sh_flags & SHF_ALLOC) ||
                ((s->sh.sh_flags & SHF_WRITE) != 0) != (pass == 1))
                continue;
            if (s->sh.sh_addralign > LPL_MAX_ALIGN)
                return lpl_fail(v, EINVAL,
                                "%s: section %s: alignment %#llx is larger than a page (%#llx)",
                                p->name, s->name, (unsigned long long)s->sh.sh_addralign,
                                (unsigned long long)LPL_MAX_ALIGN);
            at = align_up(at, s->sh.sh_addralign ? s->sh.sh_addralign : 1);
            p->addr[i] = at;
            if (s->size > LPL_MAX_MEMORY || at + s->size - base > LPL_MAX_MEMORY)
                return lpl_fail(v, EINVAL,
                                "%s: section %s: %#llx bytes take the payload past %llu MiB "
                                "of memory",
                                p->name, s->name, (unsigned long long)s->size,
                                LPL_MAX_MEMORY >> 20);
            at += s->size;
        }
    }
    p->rw_size = at - p->rw_base;
    return 0;
}

int lpl_place(struct lpl_payload *p, const struct lpi_image *img,
              struct lpl_payload *const *loaded, size_t nr_loaded, struct lpl_verdict *v)
{
    uint64_t reserve = (img->elf->nr_phdrs + 2 * (nr_loaded + 1)) * sizeof(Elf64_Phdr);

    return lpl_place_at(p, lpl_next_address(img, loaded, nr_loaded, img->elf->file_size),
                        align_up(reserve, 64), v);
}
