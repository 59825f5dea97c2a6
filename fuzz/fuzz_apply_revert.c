/*
 * fuzz_apply_revert.c - libFuzzer target: offline apply and revert (lpl_image_*) on
 * the fixed sample image fuzz/data/xen-syms.  The input is PAYLOAD [FUZZ_SEP RECORD].
 *
 * Without RECORD: PAYLOAD is applied to the plain image.  When that succeeds, the
 * apply is reverted twice, in memory and from the written file, and both must give
 * the image back byte for byte.
 *
 * With RECORD: the image with fix01 and stack09 applied (built once, at start) gets
 * RECORD as the descriptor of its ".livepatch.applied" note (cut to the note's size),
 * as an edited or corrupt file would have it.  Opening it must validate the record;
 * when it opens, PAYLOAD (if any) is applied on top and the whole stack reverted.
 * Nothing may crash, leak or touch memory it should not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/elf.h"
#include "livepatch/loader.h"
#include "livepatch/util.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IMAGE FUZZ_DATA "/xen-syms"

static char p_img[PATH_MAX], p_out[PATH_MAX], p_out2[PATH_MAX];
static unsigned char *base, *stacked; /* the plain image, and with two payloads applied */
static size_t base_len, stacked_len;
static size_t rec_note, rec_desc, rec_slot; /* the note, its descriptor and the room for it */

static unsigned char *slurp(const char *path, size_t *len)
{
    unsigned char *b;
    struct lp_error e = { 0 };

    if (lp_read_file(path, &b, len, &e))
        abort();
    return b;
}

static void apply_file(struct lpl_stack *st, const char *path)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    struct lpl_verdict v;

    if (lpl_image_apply(st, b, n, path, true, &v)) {
        fprintf(stderr, "fuzz_apply_revert: %s: %s\n", path, v.err.msg);
        abort();
    }
    free(b);
}

static void init(void)
{
    struct lpl_stack *st;
    struct lpl_verdict v;
    struct lpe_object *obj;
    struct lp_error e = { 0 };
    const struct lpe_section *s;
    uint32_t namesz;

    snprintf(p_img, sizeof(p_img), "%s/image", fuzz_scratch());
    snprintf(p_out, sizeof(p_out), "%s/out", fuzz_scratch());
    snprintf(p_out2, sizeof(p_out2), "%s/out2", fuzz_scratch());
    base = slurp(IMAGE, &base_len);
    if (lpl_image_open(IMAGE, &st, &v))
        abort();
    apply_file(st, FUZZ_DATA "/fix01.livepatch");
    apply_file(st, FUZZ_DATA "/stack09.livepatch");
    if (lpl_image_write(st, p_out, &v))
        abort();
    lpl_image_close(st);
    stacked = slurp(p_out, &stacked_len);
    unlink(p_out);
    if (lpe_open_memory(stacked, stacked_len, "stacked", &obj, &e) ||
        !(s = lpe_find_section(obj, ".livepatch.applied")) || s->size < 12)
        abort();
    rec_note = s->sh.sh_offset;
    memcpy(&namesz, stacked + rec_note, 4);
    rec_desc = s->sh.sh_offset + 12 + ((namesz + 3) & ~3u);
    rec_slot = s->sh.sh_offset + s->size - rec_desc;
    lpe_close(obj);
    if (getenv("FUZZ_DUMP_RECORD")) /* for making seeds */
        fuzz_write(getenv("FUZZ_DUMP_RECORD"), stacked + rec_desc, rec_slot);
}

static void same_as_base(const char *path)
{
    size_t n;
    unsigned char *b = slurp(path, &n);

    if (n != base_len || memcmp(b, base, n))
        abort(); /* revert did not give the image back byte for byte */
    free(b);
}

static void plain(const uint8_t *p, size_t n)
{
    struct lpl_stack *st, *st2;
    struct lpl_verdict v;

    if (lpl_image_open(IMAGE, &st, &v))
        abort();
    if (lpl_image_apply(st, p, n, "fuzz", true, &v) && getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "apply: %s\n", v.err.msg);
    else if (lpl_stack_size(st)) {
        if (lpl_stack_size(st) != 1 || lpl_image_write(st, p_out, &v))
            abort();
        if (lpl_image_open(p_out, &st2, &v))
            abort(); /* an image written by apply that open refuses */
        if (lpl_image_revert(st2, &v) || lpl_image_write(st2, p_out2, &v))
            abort();
        lpl_image_close(st2);
        same_as_base(p_out2);
        if (lpl_image_revert(st, &v) || lpl_image_write(st, p_out2, &v))
            abort();
        same_as_base(p_out2);
        unlink(p_out);
        unlink(p_out2);
    }
    lpl_image_close(st);
}

static void with_record(const uint8_t *p, size_t n, const uint8_t *r, size_t rn)
{
    struct lpl_stack *st;
    struct lpl_verdict v;
    uint32_t descsz = (uint32_t)(rn < rec_slot ? rn : rec_slot);

    memcpy(stacked + rec_note + 4, &descsz, 4);
    memset(stacked + rec_desc, 0, rec_slot);
    memcpy(stacked + rec_desc, r, descsz);
    fuzz_write(p_img, stacked, stacked_len);
    if (lpl_image_open(p_img, &st, &v) == 0) {
        if (n)
            lpl_image_apply(st, p, n, "fuzz", true, &v);
        while (lpl_stack_size(st) && lpl_image_revert(st, &v) == 0)
            ;
        if (lpl_image_write(st, p_out, &v) == 0)
            unlink(p_out);
        lpl_image_close(st);
    } else if (getenv("FUZZ_VERBOSE")) {
        fprintf(stderr, "open: %s\n", v.err.msg);
    }
    unlink(p_img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_part a, b;

    if (!base)
        init();
    if (fuzz_split(data, size, &a, &b, 0))
        with_record(a.p, a.n, b.p, b.n);
    else
        plain(a.p, a.n);
    return 0;
}
