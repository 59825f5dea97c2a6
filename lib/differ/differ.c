/*
 * differ.c - lpd_diff(): open the inputs, check they belong together, then run
 * the passes in order (correlate, compare, include, special sections, emit) and
 * turn what they found into one status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/hash.h"
#include "livepatch/payload.h"
#include "differ_internal.h"

/* The GCC version string an object was built with (.comment), or "". */
static const char *producer(const struct lpe_object *o)
{
    const struct lpe_section *s = lpe_find_section(o, ".comment");
    size_t at;

    if (!s || !s->data || !s->size)
        return "";
    /* The string after a leading NUL must be terminated too, inside the section. */
    at = s->data[0] == '\0' && s->size > 1;
    if (!memchr(s->data + at, '\0', s->size - at))
        return "";
    return (const char *)s->data + at;
}

/*
 * Was this object built with -ffunction-sections?  (Some function has its own
 * .text.<fn>.)  Init code does not count: it is never patched, and Xen builds
 * foo.init.o with -DINIT_SECTIONS_ONLY, which puts every function in the one
 * .init.text, so an object with nothing but init code has nothing to tell apart.
 */
static bool split_sections(const struct lpe_object *o)
{
    size_t i, funcs = 0;

    for (i = 1; i < o->nr_symbols; i++) {
        const struct lpe_symbol *s = o->symbols[i];
        if (s->type != STT_FUNC || !s->sec || diff_is_init_section(s->sec->name))
            continue;
        funcs++;
        if (strncmp(s->sec->name, ".text.", 6) == 0)
            return true;
    }
    return funcs == 0;
}

/*
 * The compiler's record of the options an object was built with (DW_AT_producer:
 * "GNU C17 12.2.0 -mno-red-zone -O2 -g ..."), found raw in .debug_str (GCC puts it
 * there), or NULL without DWARF.  Cheaper than reading the DWARF: every pair pays it.
 */
static const char *dwarf_producer(const struct lpe_object *o)
{
    const struct lpe_section *s = lpe_find_section(o, ".debug_str");
    size_t off = 0;

    if (!s || !s->data)
        return NULL;
    while (off < s->size) {
        const char *str = (const char *)s->data + off;
        size_t n = strnlen(str, s->size - off);
        if (n == s->size - off)
            break;
        if ((!strncmp(str, "GNU C", 5) || !strncmp(str, "GNU Assembler", 13)) &&
            strstr(str, " -"))
            return str;
        off += n + 1;
    }
    return NULL;
}

/* The words of a that b does not have, space-separated, into out. */
static void only_in(const char *a, const char *b, char *out, size_t size)
{
    const char *w = a;
    size_t used = 0;

    out[0] = '\0';
    while (*w) {
        size_t n = strcspn(w, " ");
        const char *x = b;
        bool found = false;

        while (n && *x && !found) {
            size_t m = strcspn(x, " ");
            found = m == n && !strncmp(x, w, n);
            x += m + (x[m] == ' ');
        }
        if (n && !found && used + n + 2 < size) {
            used += (size_t)snprintf(out + used, size - used, "%s%.*s", used ? " " : "", (int)n, w);
        }
        w += n + (w[n] == ' ');
    }
}

/* The x86 feature bits of a .note.gnu.property (GNU_PROPERTY_X86_FEATURE_1_AND), as text. */
static void x86_features(const struct lpe_object *o, char *out, size_t size)
{
    const struct lpe_section *s = lpe_find_section(o, ".note.gnu.property");
    size_t off = 0;

    snprintf(out, size, "none");
    if (!s || !s->data)
        return;
    while (off + 16 <= s->size) {
        uint32_t namesz, descsz, type, d;
        size_t desc, end, q;

        memcpy(&namesz, s->data + off, 4);
        memcpy(&descsz, s->data + off + 4, 4);
        memcpy(&type, s->data + off + 8, 4);
        desc = (off + 12 + (size_t)namesz + 7) & ~(size_t)7;
        end = (desc + (size_t)descsz + 7) & ~(size_t)7;
        if (namesz > s->size || descsz > s->size || end > s->size)
            return;
        for (q = desc; type == 5 /* NT_GNU_PROPERTY_TYPE_0 */ && q + 8 <= desc + descsz;) {
            uint32_t pt, ps;
            memcpy(&pt, s->data + q, 4);
            memcpy(&ps, s->data + q + 4, 4);
            if (ps > descsz || q + 8 + ps > desc + descsz)
                break;
            if (pt == 0xc0000002u && ps >= 4) { /* GNU_PROPERTY_X86_FEATURE_1_AND */
                memcpy(&d, s->data + q + 8, 4);
                snprintf(out, size, "%s%s%s", d & 1 ? "IBT" : "", (d & 3) == 3 ? "+" : "",
                         d & 2 ? "SHSTK" : (d & 1 ? "" : "none"));
            }
            q += 8 + ((ps + 7u) & ~7u);
        }
        off = end;
    }
}

/*
 * Objects built with different options do not compare: a different -O, -fPIE, code
 * model or thunk choice changes code that the patch did not touch.  What GCC records
 * of the options (DW_AT_producer), whether there is DWARF at all (-g), and the GNU
 * property note (-fcf-protection) must be the same in both.
 */
static int check_flags(struct diff *d)
{
    const struct lpe_object *o = d->orig, *p = d->patched;
    const char *po = dwarf_producer(o), *pp = dwarf_producer(p);
    bool go = lpe_find_section(o, ".debug_info") != NULL;
    bool gp = lpe_find_section(p, ".debug_info") != NULL;
    char a[512], b[512];

    if (go != gp)
        return lp_error_set(d->err, LP_ERR_FORMAT,
                            "%s and %s were built with different flags: only %s has DWARF "
                            "(.debug_info; the other was built without -g, or with -g0)",
                            o->path, p->path, go ? o->path : p->path);
    if (po && pp && strcmp(po, pp)) {
        char what[1400];

        only_in(po, pp, a, sizeof(a));
        only_in(pp, po, b, sizeof(b));
        /* Only the side that has extra words is named ("-O2" added to "-O2 ... -O1" is
         * only on one side); none at all: the same words, in another order (a later
         * option overrides an earlier one, so the order counts). */
        if (a[0] && b[0])
            snprintf(what, sizeof(what), "only %s has \"%s\", only %s has \"%s\"", o->path, a,
                     p->path, b);
        else if (a[0] || b[0])
            snprintf(what, sizeof(what), "only %s has \"%s\"", a[0] ? o->path : p->path,
                     a[0] ? a : b);
        else
            snprintf(what, sizeof(what), "the same options in another order (\"%s\" and "
                     "\"%s\"; a later option overrides an earlier one)", po, pp);
        return lp_error_set(d->err, LP_ERR_FORMAT,
                            "%s and %s were built with different flags (DW_AT_producer): %s: "
                            "build both with the options of the running image", o->path,
                            p->path, what);
    }
    x86_features(o, a, sizeof(a));
    x86_features(p, b, sizeof(b));
    if (strcmp(a, b))
        return lp_error_set(d->err, LP_ERR_FORMAT,
                            "%s and %s were built with different flags: x86 features in "
                            ".note.gnu.property are %s and %s (-fcf-protection)", o->path,
                            p->path, a, b);
    return 0;
}

/*
 * Only 64-bit x86-64 objects: one of another class or machine (x32, i386, AArch64) is
 * refused from its ELF header, before the ELF model reads relocation and symbol
 * encodings it was not built with.  An unreadable or short file is left to lpe_open.
 */
static int check_class(const char *path, struct lp_error *err)
{
    unsigned char h[EI_NIDENT + 4];
    uint16_t machine;
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(h, 1, sizeof(h), f) : 0;

    if (f)
        fclose(f);
    if (n < sizeof(h) || memcmp(h, ELFMAG, SELFMAG) || h[EI_DATA] != ELFDATA2LSB)
        return 0;
    machine = (uint16_t)(h[EI_NIDENT + 2] | h[EI_NIDENT + 3] << 8);
    if (h[EI_CLASS] != ELFCLASS64)
        return lp_error_set(err, LP_ERR_FORMAT,
                            "%s: a 32-bit ELF object (ELFCLASS32, machine %u%s): only 64-bit "
                            "x86-64 objects can be diffed", path, machine,
                            machine == EM_X86_64 ? ": the x32 ABI" : machine == EM_386
                                                                     ? ": i386" : "");
    return 0;
}

static int check_pair(struct diff *d)
{
    const struct lpe_object *o = d->orig, *p = d->patched;
    const struct lpe_object *c = o->ehdr.e_ident[EI_CLASS] != ELFCLASS64 ? o : p;

    /* Before anything reads a symbol or relocation: an ELF32 object (x32, i386) has
     * other relocation and symbol encodings. */
    if (c->ehdr.e_ident[EI_CLASS] != ELFCLASS64)
        return lp_error_set(d->err, LP_ERR_FORMAT,
                            "%s: a 32-bit ELF object (ELFCLASS32, machine %u%s): only 64-bit "
                            "x86-64 objects can be diffed", c->path, c->ehdr.e_machine,
                            c->ehdr.e_machine == EM_X86_64 ? ", the x32 ABI"
                            : c->ehdr.e_machine == EM_386 ? ", i386" : "");

    if (o->ehdr.e_type != ET_REL || p->ehdr.e_type != ET_REL)
        return lp_error_set(d->err, LP_ERR_FORMAT, "%s: not a relocatable object (ELF type %u)",
                            o->ehdr.e_type != ET_REL ? o->path : p->path,
                            o->ehdr.e_type != ET_REL ? o->ehdr.e_type : p->ehdr.e_type);
    if (o->ehdr.e_machine != p->ehdr.e_machine ||
        o->ehdr.e_ident[EI_CLASS] != p->ehdr.e_ident[EI_CLASS])
        return lp_error_set(d->err, LP_ERR_FORMAT,
                            "%s and %s are built for different architectures (machine %u and %u)",
                            o->path, p->path, o->ehdr.e_machine, p->ehdr.e_machine);
    if (p->ehdr.e_machine != EM_X86_64)
        return lp_error_set(d->err, LP_ERR_FORMAT,
                            "%s: machine %u is not supported (x86-64 only)", p->path,
                            p->ehdr.e_machine);
    if (d->image->elf->ehdr.e_machine != p->ehdr.e_machine)
        return lp_error_set(d->err, LP_ERR_FORMAT, "%s is built for another architecture than %s",
                            d->image->elf->path, p->path);
    if (strcmp(producer(o), producer(p)) != 0)
        return lp_error_set(d->err, LP_ERR_FORMAT,
                            "%s and %s were built by different compilers (\"%s\" and \"%s\"): "
                            "build both with the compiler of the running image", o->path,
                            p->path, producer(o), producer(p));
    if (check_flags(d))
        return -1;
    if (split_sections(o) != split_sections(p))
        return lp_error_set(d->err, LP_ERR_FORMAT,
                            "%s and %s were built with different flags: only one uses "
                            "-ffunction-sections", o->path, p->path);
    if (!split_sections(p))
        return lp_error_set(d->err, LP_ERR_UNSUPPORTED,
                            "%s was built without -ffunction-sections -fdata-sections: "
                            "functions cannot be told apart", p->path);
    return 0;
}

/* The suffix of renamed new locals: a hash of the patched object's contents. */
static void make_suffix(struct diff *d)
{
    uint64_t h = 0;
    size_t i;

    for (i = 1; i < d->patched->nr_sections; i++) {
        const struct lpe_section *s = d->patched->sections[i];
        h = lp_hash_bytes(s->name, strlen(s->name), h);
        if (s->data)
            h = lp_hash_bytes(s->data, s->size, h);
    }
    snprintf(d->suffix, sizeof(d->suffix), ".lp_%08x", (unsigned)(h ^ (h >> 32)));
}

static char *refusals(const struct lpd_result *res)
{
    size_t i, len = 1;
    char *s;

    for (i = 0; i < res->nr_items; i++)
        if (res->items[i].kind == LPD_REFUSED)
            len += strlen(res->items[i].reason) + 2;
    s = calloc(1, len);
    if (!s)
        return NULL;
    for (i = 0; i < res->nr_items; i++)
        if (res->items[i].kind == LPD_REFUSED) {
            if (*s)
                strcat(s, "; ");
            strcat(s, res->items[i].reason);
        }
    return s;
}

static void free_diff(struct diff *d)
{
    size_t i;

    if (d->osecs)
        for (i = 1; i < d->orig->nr_sections; i++)
            free(d->osecs[i].pc_bias);
    if (d->psecs)
        for (i = 1; i < d->patched->nr_sections; i++)
            free(d->psecs[i].pc_bias);
    if (d->osyms)
        for (i = 1; i < d->orig->nr_symbols; i++)
            free(d->osyms[i].norm);
    if (d->psyms)
        for (i = 1; i < d->patched->nr_symbols; i++)
            free(d->psyms[i].norm);
    free(d->osyms);
    free(d->psyms);
    free(d->osecs);
    free(d->psecs);
    free(d->expects);
    lp_hash_free(d->undef_out);
    lpe_close(d->orig);
    lpe_close(d->patched);
    lpe_close(d->out);
}

struct lpd_image {
    char *path;
    bool tried;
    struct lpi_image *img;     /* NULL after a failed open: then err says why */
    struct lp_error err;
};

struct lpd_image *lpd_image_new(const char *path)
{
    struct lpd_image *s = calloc(1, sizeof(*s));

    if (s && !(s->path = strdup(path))) {
        free(s);
        s = NULL;
    }
    return s;
}

void lpd_image_free(struct lpd_image *s)
{
    if (!s)
        return;
    lpi_close(s->img);
    free(s->path);
    free(s);
}

/* The image, opened on first use; a failure is kept and repeated for every pair. */
static int get_image(struct diff *d)
{
    struct lpd_image *s = d->shared;

    if (!s->tried) {
        s->tried = true;
        lpi_open(s->path, &s->img, &s->err);
    }
    if (!s->img)
        return lp_error_set(d->err, s->err.code, "%s", s->err.msg);
    d->image = s->img;
    return 0;
}

enum lpd_status lpd_diff(const char *orig, const char *patched, const char *image,
                         const char *out, const struct lpd_options *opts,
                         struct lpd_result *res, struct lp_error *err)
{
    struct lpd_image *shared = lpd_image_new(image);
    enum lpd_status st;

    if (!shared) {
        memset(res, 0, sizeof(*res));
        lp_error_set(err, LP_ERR_NOMEM, "out of memory");
        res->summary = strdup(err->msg);
        res->status = LPD_ERROR;
        return LPD_ERROR;
    }
    st = lpd_diff_shared(orig, patched, shared, out, opts, res, err);
    lpd_image_free(shared);
    return st;
}

enum lpd_status lpd_diff_shared(const char *orig, const char *patched, struct lpd_image *img,
                                const char *out, const struct lpd_options *opts,
                                struct lpd_result *res, struct lp_error *err)
{
    struct diff d = { .opts = opts, .res = res, .err = err, .shared = img };
    const struct lpe_section *nops;
    enum lpd_status st = LPD_ERROR;
    char msg[1024];
    size_t i;

    memset(res, 0, sizeof(*res));
    if (check_class(orig, err) || check_class(patched, err) ||
        lpe_open(orig, &d.orig, err) || lpe_open(patched, &d.patched, err) ||
        get_image(&d) || check_pair(&d))
        goto done;
    d.out = lpe_new_object(d.patched, err);
    d.undef_out = lp_hash_new(64);
    if (!d.out || !d.undef_out) {
        lp_error_set(err, LP_ERR_NOMEM, "out of memory");
        goto done;
    }
    make_suffix(&d);
    if (diff_correlate(&d) || diff_compare(&d) || diff_boot_data(&d))
        goto done;
    if (d.refused)
        goto refused;
    if (!d.nr_changed) {
        /* New globals, hooks or NOP requests alone still make a payload object (another
         * object may use the globals). */
        bool anything = false;
        size_t named = 0;
        for (i = 1; !anything && i < d.patched->nr_symbols; i++) {
            const struct dsym *ds = DS(d.patched->symbols[i]);
            const struct lpe_symbol *s = ds->sym;
            anything = ds->status == ST_NEW && s->bind != STB_LOCAL && s->sec &&
                       (s->sec->sh.sh_flags & SHF_ALLOC) && !ds->is_init &&
                       strncmp(s->sec->name, ".livepatch.", 11) != 0;
        }
        for (i = 1; !anything && i < d.patched->nr_sections; i++)
            anything = strncmp(d.patched->sections[i]->name, ".livepatch.hooks.", 17) == 0 ||
                       (strcmp(d.patched->sections[i]->name, LIVEPATCH_SEC_NOPS) == 0 &&
                        d.patched->sections[i]->size);
        if (!anything) {
            if (d.nr_init_changed)
                snprintf(msg, sizeof(msg),
                         "%s: only init code changed: init code cannot be live patched (it has "
                         "already run and been freed)", patched);
            else
                snprintf(msg, sizeof(msg), "%s: no functional change", patched);
            for (i = 0; i < res->nr_items && d.nr_init_changed; i++)
                if (res->items[i].kind == LPD_IGNORED) {
                    size_t l = strlen(msg);
                    snprintf(msg + l, sizeof(msg) - l, "%s%s", named++ ? ", " : " (",
                             res->items[i].name);
                }
            if (d.nr_init_changed)
                strncat(msg, ")", sizeof(msg) - strlen(msg) - 1);
            res->summary = strdup(msg);
            st = LPD_NO_CHANGE;
            goto done;
        }
    }
    if (diff_include(&d) || diff_special(&d) || diff_debug(&d) || diff_layout(&d))
        goto done;
    if (d.refused)
        goto refused;
    if (diff_emit(&d, out))
        goto done;
    if (d.refused)
        goto refused;
    snprintf(msg, sizeof(msg), "%s: %zu function%s patched", out, d.nr_changed,
             d.nr_changed == 1 ? "" : "s");
    nops = lpe_find_section(d.patched, LIVEPATCH_SEC_NOPS);
    if (nops && nops->size >= LIVEPATCH_NOP_DECL_SIZE) {
        size_t l = strlen(msg), n = nops->size / LIVEPATCH_NOP_DECL_SIZE;
        snprintf(msg + l, sizeof(msg) - l, ", %zu NOPped", n);
    }
    res->summary = strdup(msg);
    st = LPD_WRITTEN;
    goto done;
refused:
    res->summary = refusals(res);
    lp_error_set(err, LP_ERR_UNSUPPORTED, "%s", res->summary ? res->summary : "refused");
    st = LPD_UNSUPPORTED;
done:
    if (st == LPD_ERROR && err->code == LP_ERR_UNSUPPORTED)
        st = LPD_UNSUPPORTED;
    if (st == LPD_ERROR && !res->summary)
        res->summary = strdup(err->msg);
    res->status = st;
    free_diff(&d);
    return st;
}
