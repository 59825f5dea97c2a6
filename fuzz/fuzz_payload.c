/*
 * fuzz_payload.c - libFuzzer target: any byte string as a payload, checked against
 * the sample image its seeds were built for.  The loader must refuse garbage with an
 * errno and never crash, leak or read out of bounds (run under ASan/UBSan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/loader.h"
#include "livepatch/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lpi_image *img;
    struct lpl_payload *p = NULL;
    struct lpl_verdict v;

    if (!img) {
        /* The image the seed payloads were built for (fuzz/data/xen-syms). */
        struct lp_error e = { 0 };
        if (lpi_open(FUZZ_DATA "/xen-syms", &img, &e))
            abort();
    }
    if (lpl_check(data, size, "fuzz", img, NULL, 0, &p, &v) == 0)
        lpl_payload_free(p);
    /* lpl_info leaves what it read even on a refusal. */
    p = NULL;
    lpl_info(data, size, "fuzz", img, &p, &v);
    lpl_payload_free(p);
    /* The signature note's reader and the layout that inserts one. */
    {
        struct lps_sig sig;
        struct lp_error e = { 0 };
        unsigned char digest[LPS_DIGEST_SIZE], *out = NULL;
        size_t len = 0, by;

        if (lps_verify(data, size, "fuzz", NULL, 0, &sig, &by, &e) == LPS_SIGNED &&
            lps_digest(data, size, &sig, digest, &e))
            abort();
        lp_error_clear(&e);
        if (lps_prepare(data, size, "fuzz", LPS_FORMAT_XENSERVER, 256, &out, &len, &sig, &e) == 0)
            free(out);
    }
    return 0;
}
