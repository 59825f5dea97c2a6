/*
 * stamp.c - the last step of a payload (include/livepatch/stamp.h): give the linked
 * object its dependency ids and .modinfo, drop what only the hook macros needed, check
 * the result with the loader exactly as the hypervisor would (stacked on its
 * predecessors), and only then publish it, atomically.
 *
 * Not for: linking (ld -r --build-id made the input) or reporting (the front ends,
 * lp-build-helper stamp and livepatch-tool stamp, print what the result holds).
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/buildid.h"
#include "livepatch/elf.h"
#include "livepatch/image.h"
#include "livepatch/loader.h"
#include "livepatch/payload.h"
#include "livepatch/stamp.h"
#include "livepatch/util.h"

static int oom(struct lp_error *e)
{
    return lp_error_set(e, LP_ERR_NOMEM, "out of memory");
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_debug_section(const struct lpe_section *s)
{
    return !strncmp(s->name, ".debug", 6) || !strncmp(s->name, ".zdebug", 7);
}

/* Leave debug sections, and the symbols defined in them, out of the output. */
static void omit_debug(struct lpe_object *obj)
{
    size_t i;

    for (i = 1; i < obj->nr_sections; i++)
        if (is_debug_section(obj->sections[i]))
            obj->sections[i]->omit = true;
    for (i = 1; i < obj->nr_symbols; i++) {
        struct lpe_symbol *y = obj->symbols[i];
        if (y->sec && y->sec->omit)
            y->omit = true;
    }
}

/* Replace a section's bytes, or add it; flags and alignment as the loader wants them. */
static int put_section(struct lpe_object *obj, const char *name, const void *data, size_t size,
                       uint64_t align, struct lp_error *e)
{
    struct lpe_section *s = lpe_find_section(obj, name);

    if (!s)
        return lpe_add_section(obj, name, SHT_PROGBITS, SHF_ALLOC, align, 0, data, size, e)
                   ? 0
                   : -1;
    if (lpe_set_section_data(s, data, size, e))
        return -1;
    s->sh.sh_flags = (s->sh.sh_flags | SHF_ALLOC) & ~(uint64_t)SHF_WRITE;
    if (s->sh.sh_addralign < align)
        s->sh.sh_addralign = align;
    return 0;
}

static int put_note(struct lpe_object *obj, const char *name, const char *hex,
                    struct lp_error *e)
{
    unsigned char id[LP_BUILDID_MAX], note[LP_BUILDID_MAX + 32];
    long len = lp_unhex(hex, id, sizeof(id));

    if (len <= 0)
        return lp_error_set(e, LP_ERR_INVALID, "%s: '%s' is not a hex build id", name, hex);
    return put_section(obj, name, note, lp_buildid_note(id, (size_t)len, note), 4, e);
}

/*
 * No entries leave .modinfo as it is rather than make it empty: Xen 4.17 checks the
 * last byte of .modinfo by indexing size - 1, so an empty one is judged by whatever
 * byte precedes it.
 */
static int put_modinfo(struct lpe_object *obj, const struct lp_stamp *st, struct lp_error *e)
{
    size_t i, len = 0;
    char *buf, *p;
    int rc;

    if (!st->nr_modinfo)
        return 0;
    for (i = 0; i < st->nr_modinfo; i++)
        len += strlen(st->modinfo[i]) + 1;
    if (!(buf = p = malloc(len + 1)))
        return oom(e);
    for (i = 0; i < st->nr_modinfo; i++)
        p = stpcpy(p, st->modinfo[i]) + 1;
    rc = put_section(obj, LIVEPATCH_SEC_MODINFO, buf, len, 1, e);
    free(buf);
    return rc;
}

/*
 * The hook macros declare one pointer object per hook (livepatch_<kind>_data_<fn>).
 * Left in, every payload with the same hook would bring the same "new" name; only
 * debug information refers to them, so a payload with hooks goes without it (the
 * loader never reads debug sections).
 */
static void drop_hook_symbols(struct lpe_object *obj)
{
    bool any = false;
    size_t i;

    for (i = 1; i < obj->nr_symbols; i++) {
        struct lpe_symbol *y = obj->symbols[i];
        if (!fnmatch("livepatch_*_data_*", y->name, 0)) {
            y->omit = true;
            any = true;
        }
    }
    if (any)
        omit_debug(obj);
}

/* Write the model to `path` and read the bytes back. */
static int write_and_read(struct lpe_object *obj, const char *path, unsigned char **buf,
                          size_t *len, struct lp_error *e)
{
    return lpe_write(obj, path, e) || lp_read_file(path, buf, len, e) ? -1 : 0;
}

/*
 * The loader's verdict on `buf` stacked on the chain: 0 accepted, LP_STAMP_REFUSED
 * (the loader's reason and errno name in e), -1 when it could not be checked.
 */
static int loader_check(const struct lp_stamp *st, const unsigned char *buf, size_t len,
                        struct lp_error *e)
{
    struct lpl_payload **loaded = calloc(st->nr_chain + 1, sizeof(*loaded));
    struct lpl_verdict v;
    struct lpi_image *img = NULL;
    char *name = NULL;
    size_t i, n = 0;
    int rc = 0;

    if (!loaded || asprintf(&name, "%s.livepatch", st->name) < 0) {
        free(loaded);
        return oom(e);
    }
    if (lpi_open(st->image, &img, e))
        rc = -1;
    /* The chain in order, then this payload on top of it. */
    for (i = 0; !rc && i <= st->nr_chain; i++) {
        unsigned char *pb = NULL;
        const unsigned char *b = buf;
        size_t l = len;

        if (i < st->nr_chain) {
            if (lp_read_file(st->chain[i], &pb, &l, e)) {
                rc = -1;
                break;
            }
            b = pb;
        }
        if (lpl_check_stacked(b, l, i < st->nr_chain ? st->chain[i] : name, img, loaded, n,
                              &loaded[n], &v)) {
            lp_error_set(e, LP_ERR_INVALID, "%s (%s)", v.err.msg, lpl_errno_name(v.errnum));
            rc = LP_STAMP_REFUSED;
        } else {
            n++;
        }
        free(pb);
    }
    for (i = 0; i < n; i++)
        lpl_payload_free(loaded[i]);
    free(loaded);
    free(name);
    if (img)
        lpi_close(img);
    return rc;
}

/* A patched function's name: the target of a new_addr field of .livepatch.funcs. */
static const char *func_name(const struct lpe_symbol *y)
{
    const char *n = y->type == STT_SECTION && y->sec ? y->sec->name : y->name;
    return strncmp(n, ".text.", 6) ? n : n + 6;
}

/* The "size", "functions_patched", "functions" (sorted) and "new_symbols" members. */
static int make_facts(const struct lpe_object *obj, size_t size, char **out, struct lp_error *e)
{
    const struct lpe_section *funcs = lpe_find_section(obj, LIVEPATCH_SEC_FUNCS);
    size_t nr_relas = funcs && funcs->rela ? funcs->rela->nr_relas : 0, nr_names = 0, i, len;
    const char **names = calloc(nr_relas + 1, sizeof(*names));
    bool first = true;
    FILE *f;

    if (!names || !(f = open_memstream(out, &len))) {
        free(names);
        return oom(e);
    }
    /* A patched function is the target of a new_addr field. */
    for (i = 0; i < nr_relas; i++) {
        const struct lpe_rela *r = &funcs->rela->relas[i];
        if (r->offset % LIVEPATCH_FUNC_SIZE == offsetof(struct livepatch_func, new_addr))
            names[nr_names++] = func_name(r->sym);
    }
    qsort(names, nr_names, sizeof(*names), str_cmp);
    fprintf(f, "\"size\": %zu, \"functions_patched\": %zu, \"functions\": [", size,
            funcs ? funcs->size / LIVEPATCH_FUNC_SIZE : 0);
    for (i = 0; i < nr_names; i++) {
        if (i && !strcmp(names[i - 1], names[i]))
            continue;
        fputs(first ? "" : ", ", f);
        lp_json_str(f, names[i]);
        first = false;
    }
    fputs("], \"new_symbols\": [", f);
    first = true;
    for (i = 1; i < obj->nr_symbols; i++) {
        const struct lpe_symbol *y = obj->symbols[i];

        if (y->omit || !lpe_sym_is_defined(y) || (y->type != STT_FUNC && y->type != STT_OBJECT) ||
            bsearch(&y->name, names, nr_names, sizeof(*names), str_cmp))
            continue;
        fputs(first ? "" : ", ", f);
        lp_json_str(f, y->name);
        first = false;
    }
    fputs("]", f);
    free(names);
    if (fclose(f)) {
        free(*out);
        *out = NULL;
        return oom(e);
    }
    return 0;
}

/* An output that is one of the inputs would destroy what it is made from. */
static int check_output(const struct lp_stamp *st, struct lp_error *e)
{
    size_t i;

    if (lp_same_file(st->out, st->in))
        return lp_error_set(e, LP_ERR_INVALID, "output %s is the input %s: an input is never "
                            "overwritten (choose another output)", st->out, st->in);
    if (st->image && lp_same_file(st->out, st->image))
        return lp_error_set(e, LP_ERR_INVALID, "output %s is the image %s: an input is never "
                            "overwritten (choose another output)", st->out, st->image);
    for (i = 0; i < st->nr_chain; i++)
        if (lp_same_file(st->out, st->chain[i]))
            return lp_error_set(e, LP_ERR_INVALID, "output %s is the chain payload %s: an input "
                                "is never overwritten (choose another output)", st->out,
                                st->chain[i]);
    return 0;
}

/* The payload's own id (ld --build-id), in hex. */
static int own_build_id(const struct lp_stamp *st, const struct lpe_object *obj, char *hex,
                        struct lp_error *e)
{
    const struct lpe_section *s = lpe_find_section(obj, LIVEPATCH_SEC_BUILD_ID);
    const unsigned char *id;
    size_t id_len;

    if (!s)
        return lp_error_set(e, LP_ERR_INVALID, "%s: no %s: was it linked with --build-id?",
                            st->in, LIVEPATCH_SEC_BUILD_ID);
    if (lpe_note_build_id(s->data, s->size, s->name, &id, &id_len, e))
        return -1;
    lp_hex(id, id_len, hex);
    return 0;
}

/* Set the notes, .modinfo and flags of the payload in the model, and write it. */
static int stamp_model(const struct lp_stamp *st, struct lpe_object *obj, const char *stamped,
                       unsigned char **buf, size_t *len, struct lp_stamp_result *r,
                       struct lp_error *e)
{
    struct lpe_section *s;

    if (put_note(obj, LIVEPATCH_SEC_DEPENDS, st->depends, e) ||
        put_note(obj, LIVEPATCH_SEC_XEN_DEPENDS, st->xen_depends, e) || put_modinfo(obj, st, e))
        return -1;
    drop_hook_symbols(obj);
    if ((s = lpe_find_section(obj, LIVEPATCH_SEC_FUNCS)))
        s->sh.sh_flags = (s->sh.sh_flags | SHF_ALLOC) & ~(uint64_t)SHF_WRITE;
    if (write_and_read(obj, stamped, buf, len, e))
        return -1;
    /* The loader refuses payloads over 2 MiB, and a large unit's debug information
     * alone can pass that: debug sections are never loaded, so they go first. */
    if (*len > LIVEPATCH_MAX_PAYLOAD_SIZE) {
        size_t before = *len;

        omit_debug(obj);
        free(*buf);
        *buf = NULL;
        if (write_and_read(obj, stamped, buf, len, e))
            return -1;
        if (asprintf(&r->warning, "%s.livepatch: %zu bytes is over the loader's 2 MiB limit: "
                     "debug sections removed (%zu bytes left)", st->name, before, *len) < 0) {
            r->warning = NULL;
            return oom(e);
        }
    }
    return 0;
}

int lp_stamp_payload(const struct lp_stamp *st, struct lp_stamp_result *r, struct lp_error *e)
{
    struct lpe_object *obj = NULL;
    unsigned char *buf = NULL;
    char *stamped = NULL, *chk = NULL;
    size_t len = 0;
    int rc = -1;

    memset(r, 0, sizeof(*r));
    if (!st->in || !st->out || !st->work || !st->name || !st->depends || !st->xen_depends)
        return lp_error_set(e, LP_ERR_INVALID, "stamp: the input, output, work folder, name, "
                            "depends and xen_depends ids are all needed");
    if (check_output(st, e))
        return -1;
    if (asprintf(&stamped, "%s/payload.stamped", st->work) < 0) {
        stamped = NULL;
        return oom(e);
    }
    if (asprintf(&chk, "%s/payload.chk", st->work) < 0) {
        chk = NULL;
        oom(e);
        goto out;
    }
    if (lpe_open(st->in, &obj, e) || stamp_model(st, obj, stamped, &buf, &len, r, e))
        goto out;

    if (!st->image) {
        rc = 0;
    } else if (st->check_depends) {
        /* The predecessor is known only by its id: check everything else on a copy
         * that depends on the image. */
        unsigned char *cbuf;
        size_t clen;

        if (put_note(obj, LIVEPATCH_SEC_DEPENDS, st->check_depends, e) ||
            write_and_read(obj, chk, &cbuf, &clen, e)) {
            remove(chk);
            goto out;
        }
        rc = loader_check(st, cbuf, clen, e);
        free(cbuf);
        remove(chk);
    } else {
        rc = loader_check(st, buf, len, e);
    }
    if (rc)
        goto out;
    rc = -1;
    /* Everything that can fail comes before the payload is published. */
    if (own_build_id(st, obj, r->build_id, e) || make_facts(obj, len, &r->facts, e))
        goto out;
    /* The checked file itself becomes the payload (a copy only across file systems). */
    if (rename(stamped, st->out) && (errno != EXDEV || lp_write_file(st->out, buf, len, 0644, e))) {
        lp_error_set(e, LP_ERR_IO, "cannot write %s: %s", st->out, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    /* Gone after the rename; after a failure or a copy it must not stay behind. */
    remove(stamped);
    if (rc) {
        free(r->facts);
        r->facts = NULL;
        r->build_id[0] = '\0';
    }
    free(buf);
    free(stamped);
    free(chk);
    if (obj)
        lpe_close(obj);
    return rc;
}

void lp_stamp_result_free(struct lp_stamp_result *r)
{
    free(r->facts);
    free(r->warning);
    r->facts = NULL;
    r->warning = NULL;
}
