/*
 * fuzz_notes.c - libFuzzer target: .modinfo and ELF note parsing.  The input is up to
 * four parts separated by FUZZ_SEP: the bytes of .modinfo, .livepatch.depends,
 * .livepatch.xen_depends and .note.gnu.build-id.  They replace those sections of the
 * sample payload fuzz/data/fix01.livepatch (built for fuzz/data/xen-syms),
 * which is then written by the ELF model and read by the checker (lpl_check against
 * the image, lpl_info) and the build-id reader.  Each part is also read directly as a
 * note (lpe_note_build_id); an id found there must survive lp_buildid_note and a
 * second read unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/buildid.h"
#include "livepatch/elf.h"
#include "livepatch/image.h"
#include "livepatch/loader.h"
#include "livepatch/util.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sections[] = {
    ".modinfo", ".livepatch.depends", ".livepatch.xen_depends", ".note.gnu.build-id",
};
#define NR_PARTS (sizeof(sections) / sizeof(sections[0]))

static void note_roundtrip(const uint8_t *p, size_t n)
{
    const unsigned char *desc, *desc2;
    size_t len, len2;
    struct lp_error e = { 0 };
    unsigned char *note;

    if (lpe_note_build_id(p, n, "fuzz", &desc, &len, &e)) {
        lp_error_clear(&e);
        return;
    }
    if (desc < p || len > n || (size_t)(desc - p) > n - len)
        abort(); /* the descriptor is not inside the note bytes */
    note = malloc(lp_buildid_note_size(len) + 1);
    if (!note)
        abort();
    if (lp_buildid_note(desc, len, note) != lp_buildid_note_size(len) ||
        lpe_note_build_id(note, lp_buildid_note_size(len), "again", &desc2, &len2, &e) ||
        len2 != len || memcmp(desc, desc2, len))
        abort(); /* an id that does not survive being written as a note */
    free(note);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lpi_image *img;
    static char path[PATH_MAX];
    struct fuzz_part part[NR_PARTS], rest = { data, size };
    size_t nparts = 0, i;
    struct lp_error e = { 0 };
    struct lpe_object *obj = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;

    if (!img) {
        if (lpi_open(FUZZ_DATA "/xen-syms", &img, &e))
            abort();
        snprintf(path, sizeof(path), "%s/payload.o", fuzz_scratch());
    }
    while (nparts < NR_PARTS) {
        struct fuzz_part a, b;
        int more = fuzz_split(rest.p, rest.n, &a, &b, 0);

        part[nparts++] = a;
        if (!more)
            break;
        rest = b;
    }
    for (i = 0; i < nparts; i++)
        note_roundtrip(part[i].p, part[i].n);

    if (lpe_open(FUZZ_DATA "/fix01.livepatch", &obj, &e))
        abort();
    for (i = 0; i < nparts; i++) {
        struct lpe_section *s = lpe_find_section(obj, sections[i]);

        if (s && lpe_set_section_data(s, part[i].p, part[i].n, &e))
            abort();
    }
    if (lpe_write(obj, path, &e))
        abort(); /* the model refused to write what it holds */
    lpe_close(obj);
    if (lp_read_file(path, &buf, &len, &e))
        abort();
    unlink(path);
    {
        struct lpl_payload *p = NULL;
        struct lpl_verdict v;
        struct lp_buildid id;

        if (lpl_check(buf, len, "fuzz", img, NULL, 0, &p, &v) == 0)
            lpl_payload_free(p);
        else if (getenv("FUZZ_VERBOSE"))
            fprintf(stderr, "check: %s\n", v.err.msg);
        p = NULL;
        lpl_info(buf, len, "fuzz", img, &p, &v);
        lpl_payload_free(p);
        lp_buildid_from_buffer(buf, len, "fuzz", &id, &e);
        lp_error_clear(&e);
    }
    free(buf);
    return 0;
}
