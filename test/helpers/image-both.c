/*
 * image-both: what the target-image reader makes of an image, by either road, so the
 * tests can hold the mapped index (lpi_open) to the full ELF model (lpe_open, then
 * lpi_from_elf) on good and on broken images.
 * Usage: image-both view|model|memory IMAGE [SCANS]
 * Prints the build id, the text range, every indexed symbol with its first bytes
 * (lpi_read), the section list, what looking up a few awkward names gives, and the DWARF
 * sizes of bug_frame, exception_table_entry and alt_instr; or "error: MESSAGE" (exit 1).
 * SCANS: how many look-ups scan the symbol table before the index is made
 * (lpi_set_scan_limit; 0 for the index at once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/elf.h"
#include "livepatch/image.h"
#include "livepatch/util.h"

int main(int argc, char **argv)
{
    static const char *const structs[] = { "bug_frame", "exception_table_entry", "alt_instr" };
    static const char *const awkward[] = { "no-such", "x.c#dup", "x.c#", "#", "#dup", "",
                                           "main", "x.c#dup#", "common/basic.c#x.c#dup" };
    struct lp_error err = { 0 };
    struct lpi_image *img = NULL;
    char hex[2 * LPI_BUILD_ID_MAX + 1];
    size_t sizes[3] = { 0 }, i;
    int rc;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: image-both view|model|memory IMAGE [SCANS]\n");
        return 2;
    }
    if (strcmp(argv[1], "view") == 0) {
        rc = lpi_open(argv[2], &img, &err);
    } else if (strcmp(argv[1], "model") == 0) {
        struct lpe_object *o;
        rc = lpe_open(argv[2], &o, &err) || lpi_from_elf(o, &img, &err);
    } else {
        unsigned char *buf = NULL;
        size_t len;
        rc = lp_read_file(argv[2], &buf, &len, &err) ||
             lpi_open_memory(buf, len, argv[2], &img, &err);
        free(buf);
    }
    if (rc) {
        printf("error: %s\n", err.msg);
        return 1;
    }
    if (argc == 4)
        lpi_set_scan_limit(img, strtoul(argv[3], NULL, 0));
    lp_hex(img->build_id, img->build_id_len, hex);
    printf("build-id %s\ntext 0x%llx-0x%llx\n", hex, (unsigned long long)img->text_start,
           (unsigned long long)img->text_end);
    for (i = 1; i < img->elf->nr_sections; i++) {
        const struct lpe_section *s = img->elf->sections[i];
        printf("section %zu %s type %u size %zu%s\n", i, s->name, s->sh.sh_type, s->size,
               s->data ? "" : " (no data)");
    }
    for (i = 0; i < lpi_nr_symbols(img); i++) {
        const struct lpi_symbol *s = lpi_symbol_at(img, i);
        unsigned char head[4] = { 0 };
        const struct lpi_symbol *found;
        bool read;

        if (!s) {
            printf("error: out of memory listing symbol %zu\n", i);
            return 1;
        }
        found = lpi_lookup(img, s->name, NULL);
        read = s->size >= 4 && lpi_read(img, s->addr, head, 4, NULL) == 0;

        printf("%s (%s in %s) 0x%llx %llu type %u bind %u%s%s", s->name, s->sym_name,
               s->file ? s->file : "-", (unsigned long long)s->addr,
               (unsigned long long)s->size, s->type, s->bind, s->ambiguous ? " ambiguous" : "",
               found == s ? "" : found ? " (lookup finds another)" : " (lookup fails)");
        if (read)
            printf(" head %02x%02x%02x%02x", head[0], head[1], head[2], head[3]);
        putchar('\n');
    }
    for (i = 0; i < sizeof(awkward) / sizeof(awkward[0]); i++) {
        struct lp_error e = { 0 };
        const struct lpi_symbol *s = lpi_lookup(img, awkward[i], &e);
        if (s)
            printf("lookup %s: 0x%llx\n", awkward[i], (unsigned long long)s->addr);
        else
            printf("lookup %s: error %d\n", awkward[i], e.code);
    }
    lpi_struct_sizes(img, structs, sizes, 3);
    /* Asked again: the answers are kept, not read twice. */
    lpi_struct_sizes(img, structs, sizes, 3);
    printf("dwarf bug_frame %zu exception_table_entry %zu alt_instr %zu\n", sizes[0], sizes[1],
           sizes[2]);
    lpi_close(img);
    return 0;
}
