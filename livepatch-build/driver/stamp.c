/*
 * stamp.c - the last step of a payload: give the linked object its dependency
 * ids and .modinfo, drop what only the hook macros needed, check the result with
 * the loader exactly as the hypervisor would (stacked on its predecessors), and
 * only then write OUTDIR/<name>.livepatch, atomically.
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "livepatch/buildid.h"
#include "livepatch/elf.h"
#include "livepatch/image.h"
#include "livepatch/loader.h"
#include "livepatch/payload.h"
#include "livepatch/util.h"

#define CMD "stamp"

struct stamp {
    const char *in, *out, *work, *name, *image, *facts;
    const char *depends, *xen_depends, *check_depends;
    const char **chain, **modinfo;
    size_t nr_chain, nr_modinfo;
    bool strip_debug;
};

static void stamp_usage(FILE *f)
{
    fprintf(f, "usage: lp-build-helper stamp --in OBJ --out PAYLOAD --work DIR --name NAME\n"
               "         --image IMAGE --depends HEX --xen-depends HEX [--check-depends HEX]\n"
               "         [--chain PAYLOAD]... [--modinfo KEY=VALUE]... [--facts FILE]\n"
               "Adds .livepatch.depends, .livepatch.xen_depends and .modinfo to OBJ (the\n"
               "linked payload), removes the hook macros' helper symbols, makes\n"
               ".livepatch.funcs read-only, checks the result against IMAGE after the\n"
               "--chain payloads (with --check-depends: on a copy depending on HEX), and\n"
               "writes PAYLOAD.  Prints \"warning: ...\" lines and \"build-id HEX\".\n"
               "--facts FILE gets the payload's size, patched functions and new symbols as\n"
               "JSON members.  Exit status 3: the loader refuses the payload.\n");
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

static int put_modinfo(struct lpe_object *obj, const struct stamp *st, struct lp_error *e)
{
    size_t i, len = 0;
    char *buf, *p;
    int rc;

    for (i = 0; i < st->nr_modinfo; i++)
        len += strlen(st->modinfo[i]) + 1;
    if (!(buf = p = malloc(len + 1)))
        return lp_error_set(e, LP_ERR_NOMEM, "out of memory");
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
 * The loader's verdict on `buf` stacked on the chain: 0 accepted, 1 could not check,
 * 3 refused (the reason on stderr, as the loader words it).
 */
static int loader_check(const struct stamp *st, const unsigned char *buf, size_t len)
{
    struct lpl_payload **loaded = calloc(st->nr_chain + 1, sizeof(*loaded));
    struct lp_error e = { 0 };
    struct lpl_verdict v;
    struct lpi_image *img = NULL;
    char *name = NULL;
    size_t i, n = 0;
    int rc = 0;

    if (!loaded || asprintf(&name, "%s.livepatch", st->name) < 0) {
        free(loaded);
        return helper_fail(CMD, "out of memory");
    }
    if (lpi_open(st->image, &img, &e))
        rc = helper_fail(CMD, "%s", e.msg);
    /* The chain in order, then this payload on top of it. */
    for (i = 0; !rc && i <= st->nr_chain; i++) {
        unsigned char *pb = NULL;
        const unsigned char *b = buf;
        size_t l = len;

        if (i < st->nr_chain) {
            if (lp_read_file(st->chain[i], &pb, &l, &e)) {
                rc = helper_fail(CMD, "%s", e.msg);
                break;
            }
            b = pb;
        }
        if (lpl_check_stacked(b, l, i < st->nr_chain ? st->chain[i] : name, img, loaded, n,
                              &loaded[n], &v)) {
            fprintf(stderr, "%s (%s)\n", v.err.msg, lpl_errno_name(v.errnum));
            rc = 3;
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

/* "size", "functions_patched", "functions" (sorted) and "new_symbols" members for --json. */
static int write_facts(const struct stamp *st, const struct lpe_object *obj, size_t size)
{
    const struct lpe_section *funcs = lpe_find_section(obj, LIVEPATCH_SEC_FUNCS);
    size_t nr_relas = funcs && funcs->rela ? funcs->rela->nr_relas : 0, nr_names = 0, i;
    const char **names = calloc(nr_relas + 1, sizeof(*names));
    bool first = true;
    FILE *f;

    if (!names)
        return helper_fail(CMD, "out of memory");
    /* A patched function is the target of a new_addr field. */
    for (i = 0; i < nr_relas; i++) {
        const struct lpe_rela *r = &funcs->rela->relas[i];
        if (r->offset % LIVEPATCH_FUNC_SIZE == offsetof(struct livepatch_func, new_addr))
            names[nr_names++] = func_name(r->sym);
    }
    qsort(names, nr_names, sizeof(*names), helper_str_cmp);
    if (!(f = fopen(st->facts, "w"))) {
        free(names);
        return helper_fail(CMD, "cannot write %s: %s", st->facts, strerror(errno));
    }
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
            bsearch(&y->name, names, nr_names, sizeof(*names), helper_str_cmp))
            continue;
        fputs(first ? "" : ", ", f);
        lp_json_str(f, y->name);
        first = false;
    }
    fputs("]\n", f);
    free(names);
    if (fclose(f))
        return helper_fail(CMD, "cannot write %s", st->facts);
    return 0;
}

static int parse_args(int argc, char **argv, struct stamp *st)
{
    static const struct option opts[] = {
        { "in", required_argument, NULL, 'i' },          { "out", required_argument, NULL, 'o' },
        { "work", required_argument, NULL, 'w' },        { "name", required_argument, NULL, 'n' },
        { "image", required_argument, NULL, 'I' },       { "facts", required_argument, NULL, 'f' },
        { "depends", required_argument, NULL, 'd' },     { "xen-depends", required_argument, NULL, 'x' },
        { "check-depends", required_argument, NULL, 'k' }, { "chain", required_argument, NULL, 'c' },
        { "modinfo", required_argument, NULL, 'm' },     { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    st->chain = calloc((size_t)argc + 1, sizeof(*st->chain));
    st->modinfo = calloc((size_t)argc + 1, sizeof(*st->modinfo));
    if (!st->chain || !st->modinfo)
        return helper_fail(CMD, "out of memory");
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': st->in = optarg; break;
        case 'o': st->out = optarg; break;
        case 'w': st->work = optarg; break;
        case 'n': st->name = optarg; break;
        case 'I': st->image = optarg; break;
        case 'f': st->facts = optarg; break;
        case 'd': st->depends = optarg; break;
        case 'x': st->xen_depends = optarg; break;
        case 'k': st->check_depends = optarg; break;
        case 'c': st->chain[st->nr_chain++] = optarg; break;
        case 'm': st->modinfo[st->nr_modinfo++] = optarg; break;
        case 'h': stamp_usage(stdout); return -1;
        default: stamp_usage(stderr); return 2;
        }
    }
    if (!st->in || !st->out || !st->work || !st->name || !st->image || !st->depends ||
        !st->xen_depends || optind != argc) {
        stamp_usage(stderr);
        return 2;
    }
    return 0;
}

int cmd_stamp(int argc, char **argv)
{
    struct stamp st = { 0 };
    struct lp_error e = { 0 };
    struct lpe_object *obj = NULL;
    struct lpe_section *s;
    unsigned char *buf = NULL;
    char *stamped = NULL, *chk = NULL, hex[2 * LP_BUILDID_MAX + 1];
    const unsigned char *id;
    size_t len = 0, id_len;
    int rc = parse_args(argc, argv, &st);

    if (rc)
        goto out_args;
    rc = 1;
    if (asprintf(&stamped, "%s/payload.stamped", st.work) < 0 ||
        asprintf(&chk, "%s/payload.chk", st.work) < 0) {
        helper_fail(CMD, "out of memory");
        goto out;
    }
    if (lpe_open(st.in, &obj, &e) || put_note(obj, LIVEPATCH_SEC_DEPENDS, st.depends, &e) ||
        put_note(obj, LIVEPATCH_SEC_XEN_DEPENDS, st.xen_depends, &e) || put_modinfo(obj, &st, &e))
        goto fail;
    drop_hook_symbols(obj);
    if ((s = lpe_find_section(obj, LIVEPATCH_SEC_FUNCS)))
        s->sh.sh_flags = (s->sh.sh_flags | SHF_ALLOC) & ~(uint64_t)SHF_WRITE;
    if (write_and_read(obj, stamped, &buf, &len, &e))
        goto fail;
    /* The loader refuses payloads over 2 MiB, and a large unit's debug information
     * alone can pass that: debug sections are never loaded, so they go first. */
    if (len > LIVEPATCH_MAX_PAYLOAD_SIZE) {
        size_t before = len;
        omit_debug(obj);
        free(buf);
        buf = NULL;
        if (write_and_read(obj, stamped, &buf, &len, &e))
            goto fail;
        printf("warning: %s.livepatch: %zu bytes is over the loader's 2 MiB limit: debug "
               "sections removed (%zu bytes left)\n", st.name, before, len);
    }

    if (st.check_depends) {
        /* The predecessor is known only by its id: check everything else on a copy
         * that depends on the image. */
        unsigned char *cbuf;
        size_t clen;
        if (put_note(obj, LIVEPATCH_SEC_DEPENDS, st.check_depends, &e) ||
            write_and_read(obj, chk, &cbuf, &clen, &e))
            goto fail;
        rc = loader_check(&st, cbuf, clen);
        free(cbuf);
        remove(chk);
    } else {
        rc = loader_check(&st, buf, len);
    }
    if (rc)
        goto out;
    rc = 1;
    /* Everything that can fail comes before the payload is published. */
    s = lpe_find_section(obj, LIVEPATCH_SEC_BUILD_ID);
    if (!s) {
        lp_error_set(&e, LP_ERR_INVALID, "%s: no %s: was it linked with --build-id?", st.in,
                     LIVEPATCH_SEC_BUILD_ID);
        goto fail;
    }
    if (lpe_note_build_id(s->data, s->size, s->name, &id, &id_len, &e))
        goto fail;
    lp_hex(id, id_len, hex);
    if (st.facts && write_facts(&st, obj, len))
        goto out;
    /* The checked file itself becomes the payload (a copy only across file systems). */
    if (rename(stamped, st.out) && (errno != EXDEV || lp_write_file(st.out, buf, len, 0644, &e))) {
        if (!e.msg[0])
            lp_error_set(&e, LP_ERR_IO, "cannot write %s: %s", st.out, strerror(errno));
        goto fail;
    }
    printf("build-id %s\n", hex);
    rc = 0;
    goto out;
fail:
    helper_fail(CMD, "%s", e.msg);
    rc = 1;
out:
    free(buf);
    free(stamped);
    free(chk);
    if (obj)
        lpe_close(obj);
out_args:
    free(st.chain);
    free(st.modinfo);
    return rc < 0 ? 0 : rc;
}
