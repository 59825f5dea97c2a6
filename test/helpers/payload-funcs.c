/*
 * payload-funcs: list the livepatch_func entries of a payload object, one line each:
 *   <name> new=<symbol> new_size=<n> old_size=<n> old_addr=<hex> version=<n> expect=<len>
 * The name is read through its relocation into the string section, as the loader does.
 * Usage: payload-funcs PAYLOAD.o     (used by the differ and driver tests)
 */
#include <stdio.h>
#include <string.h>

#include "livepatch/elf.h"
#include "livepatch/payload.h"

static const struct lpe_rela *rela_at(const struct lpe_section *s, uint64_t off)
{
    size_t n;
    struct lpe_rela *r = lpe_relas_in(s, off, off + 1, &n);
    return n ? r : NULL;
}

int main(int argc, char **argv)
{
    struct lp_error err = { 0 };
    struct lpe_object *o;
    struct lpe_section *f;
    size_t i;

    if (argc != 2) {
        fprintf(stderr, "usage: payload-funcs PAYLOAD.o\n");
        return 2;
    }
    if (lpe_open(argv[1], &o, &err)) {
        fprintf(stderr, "payload-funcs: %s\n", err.msg);
        return 1;
    }
    f = lpe_find_section(o, LIVEPATCH_SEC_FUNCS);
    for (i = 0; f && f->data && i + LIVEPATCH_FUNC_SIZE <= f->size; i += LIVEPATCH_FUNC_SIZE) {
        const struct lpe_rela *nr = rela_at(f, i + LIVEPATCH_FUNC_OFF_NAME);
        const struct lpe_rela *ar = rela_at(f, i + LIVEPATCH_FUNC_OFF_NEW_ADDR);
        struct livepatch_func e;
        const char *name = "?";

        memcpy(&e, f->data + i, sizeof(e));
        if (nr && nr->sym->sec && nr->sym->sec->data &&
            (uint64_t)(nr->sym->sym.st_value + nr->addend) < nr->sym->sec->size)
            name = (const char *)nr->sym->sec->data + nr->sym->sym.st_value + nr->addend;
        printf("%s new=%s new_size=%u old_size=%u old_addr=%llx version=%u expect=%u\n", name,
               ar ? ar->sym->name : "(nop)", e.new_size, e.old_size,
               (unsigned long long)(uintptr_t)e.old_addr, e.version,
               e.expect.enabled ? e.expect.len : 0);
    }
    lpe_close(o);
    return 0;
}
