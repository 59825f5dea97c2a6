/*
 * fuzz_image.c - libFuzzer target: any byte string as a hypervisor image.  The
 * build-id reader (ELF note, gzip'd ELF as xen.gz, PE xen.efi's CodeView record), the
 * image reader (symbol index, program headers, address reads, DWARF type sizes) and
 * the ELF model's own build-id lookup must refuse garbage without a crash, leak or
 * out-of-bounds access.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/buildid.h"
#include "livepatch/elf.h"
#include "livepatch/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use_image(struct lpi_image *img)
{
    static const char *const types[] = { "domain", "vcpu", "livepatch_func" };
    size_t sizes[3] = { 0 }, i;
    struct lp_error e = { 0 };
    unsigned char buf[64];

    for (i = 0; i < lpi_nr_symbols(img) && i < 256; i++) {
        const struct lpi_symbol *s = lpi_symbol_at(img, i);
        uint64_t off;

        if (!s)
            break;
        lpi_lookup(img, s->name, &e);
        lp_error_clear(&e);
        lpi_vaddr_to_offset(img, s->addr, s->size ? s->size : 1, &off, &e);
        lp_error_clear(&e);
        lpi_read(img, s->addr, buf, s->size < sizeof(buf) ? s->size : sizeof(buf), &e);
        lp_error_clear(&e);
    }
    lpi_lookup(img, "no-such#symbol", &e);
    lp_error_clear(&e);
    lpi_read(img, img->text_start, buf, sizeof(buf), &e);
    lp_error_clear(&e);
    lpi_struct_sizes(img, types, sizes, 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lp_error e = { 0 };
    struct lp_buildid id;
    struct lpi_image *img = NULL;
    struct lpe_object *obj = NULL;

    if (lp_buildid_from_buffer(data, size, "fuzz", &id, &e) == 0 && id.len > LP_BUILDID_MAX)
        abort();
    lp_error_clear(&e);
    if (lpi_open_memory(data, size, "fuzz", &img, &e) == 0) {
        if (img->build_id_len > LPI_BUILD_ID_MAX)
            abort();
        use_image(img);
        lpi_close(img);
    }
    lp_error_clear(&e);
    if (lpe_open_memory(data, size, "fuzz", &obj, &e) == 0) {
        const unsigned char *bid;
        size_t len;

        lpe_build_id(obj, &bid, &len, &e);
        lpe_close(obj);
    }
    lp_error_clear(&e);
    return 0;
}
