/*
 * image-syms: print what the target-image reader sees.
 * Usage: image-syms IMAGE                 list "runtime-name addr size" and the build id
 *        image-syms IMAGE NAME...         look names up (exit 1 on the first failure)
 */
#include <stdio.h>

#include "livepatch/image.h"
#include "livepatch/util.h"

int main(int argc, char **argv)
{
    struct lp_error err = { 0 };
    struct lpi_image *img;
    char hex[2 * LPI_BUILD_ID_MAX + 1];
    size_t i;
    int a;

    if (argc < 2) {
        fprintf(stderr, "usage: image-syms IMAGE [NAME...]\n");
        return 2;
    }
    if (lpi_open(argv[1], &img, &err)) {
        fprintf(stderr, "image-syms: %s\n", err.msg);
        return 1;
    }
    if (argc == 2) {
        lp_hex(img->build_id, img->build_id_len, hex);
        printf("build-id %s\n", hex);
        for (i = 0; i < lpi_nr_symbols(img); i++) {
            const struct lpi_symbol *s = lpi_symbol_at(img, i);
            if (!s) {
                fprintf(stderr, "image-syms: out of memory listing symbol %zu\n", i);
                lpi_close(img);
                return 1;
            }
            printf("%s 0x%llx %llu%s\n", s->name, (unsigned long long)s->addr,
                   (unsigned long long)s->size, s->ambiguous ? " ambiguous" : "");
        }
    }
    for (a = 2; a < argc; a++) {
        const struct lpi_symbol *s = lpi_lookup(img, argv[a], &err);
        if (!s) {
            fprintf(stderr, "image-syms: %s\n", err.msg);
            lpi_close(img);
            return 1;
        }
        printf("%s 0x%llx %llu\n", s->name, (unsigned long long)s->addr,
               (unsigned long long)s->size);
    }
    lpi_close(img);
    return 0;
}
