/*
 * livepatch-tool - the loader runtime on the command line: check payloads as the
 * hypervisor would, show what they hold, and apply, revert or replace them in an
 * image file.  All the rules live in lib/loader/; this file parses arguments and
 * prints.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/loader.h"
#include "livepatch/util.h"

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_REFUSED = 2 };

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: livepatch-tool COMMAND [options]\n"
            "\n"
            "Commands:\n"
            "  check --image IMAGE PAYLOAD...   run every check the hypervisor makes at upload;\n"
            "                                   later payloads may use symbols of earlier ones\n"
            "                                   and must depend on them, the first on IMAGE (or\n"
            "                                   on the top of the stack apply recorded in it)\n"
            "  info PAYLOAD [--json]            functions, build ids, hooks, metadata, symbols;\n"
            "                                   a refused payload is shown, then why (exit 2)\n"
            "  apply --image IMAGE -o OUT PAYLOAD...   apply on top of what IMAGE has applied\n"
            "  replace --image IMAGE -o OUT PAYLOAD    revert everything, then apply PAYLOAD\n"
            "  revert --image IMAGE -o OUT      revert the top payload (exact original bytes)\n"
            "  list --image IMAGE               the applied stack, bottom first\n"
            "\n"
            "Options:\n"
            "  --image FILE     the target image (Xen: xen-syms; or an image patched by apply)\n"
            "  -o, --output F   where apply/revert/replace write the new image (never IMAGE\n"
            "                   itself unless given as -o; written atomically)\n"
            "  --skip-hooks     apply payloads that have hooks without running them\n"
            "  --json           machine-readable info\n"
            "  -h, --help       this help\n"
            "  -V, --version    print the version\n"
            "\n"
            "Exit status: 0 success; 1 usage or I/O error; 2 a payload was refused (the\n"
            "message names the payload by its .modinfo name, the section or symbol, and the\n"
            "errno the hypervisor would return, e.g. EINVAL).  On failure no output file is\n"
            "written.\n");
}

static void refused(const char *what, const struct lpl_verdict *v)
{
    fprintf(stderr, "livepatch-tool: %s%s%s (%s)\n", what ? what : "", what ? ": " : "",
            v->err.msg, lpl_errno_name(v->errnum));
}

static int read_payload(const char *path, unsigned char **buf, size_t *len)
{
    struct lp_error e = { 0 };

    if (lp_read_file(path, buf, len, &e)) {
        fprintf(stderr, "livepatch-tool: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static void print_id(FILE *f, const unsigned char *id, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++)
        fprintf(f, "%02x", id[i]);
}

/* check runs against what the image holds: its own symbols and, when it was patched
 * by apply, the stack applied to it (so payloads go on top of that stack). */
static int cmd_check(const char *image, char **files, int n)
{
    struct lpl_stack *st;
    struct lpl_payload **loaded;
    struct lpl_verdict v;
    size_t base, k;
    int i, rc = EXIT_OK;

    if (lpl_image_open(image, &st, &v)) {
        refused(image, &v);
        return v.errnum == EIO ? EXIT_USAGE : EXIT_REFUSED;
    }
    base = lpl_stack_size(st);
    loaded = calloc(base + (size_t)n + 1, sizeof(*loaded));
    if (!loaded) {
        fprintf(stderr, "livepatch-tool: out of memory\n");
        lpl_image_close(st);
        return EXIT_USAGE;
    }
    for (k = 0; k < base; k++)
        loaded[k] = (struct lpl_payload *)lpl_stack_at(st, k);
    for (i = 0; i < n && rc == EXIT_OK; i++) {
        struct lpl_payload **slot = &loaded[base + (size_t)i];
        unsigned char *buf;
        size_t len;

        if (read_payload(files[i], &buf, &len)) {
            rc = EXIT_USAGE;
            break;
        }
        if (lpl_check_stacked(buf, len, files[i], lpl_stack_image(st), loaded,
                              base + (size_t)i, slot, &v)) {
            refused(NULL, &v);
            rc = EXIT_REFUSED;
        } else {
            printf("%s: ok (%zu function%s, %zu new symbol%s)\n", files[i], (*slot)->nr_funcs,
                   (*slot)->nr_funcs == 1 ? "" : "s", (*slot)->nr_syms,
                   (*slot)->nr_syms == 1 ? "" : "s");
        }
        free(buf);
    }
    for (i = 0; i < n; i++)
        lpl_payload_free(loaded[base + (size_t)i]);
    free(loaded);
    lpl_image_close(st);
    return rc;
}

static const char *const hook_names[] = { "load", "unload", "preapply", "apply",
                                          "postapply", "prerevert", "revert", "postrevert" };

/* info needs no image: a payload is described by what it holds. */
static int cmd_info(const char *file, bool json)
{
    struct lpl_payload *p = NULL;
    unsigned char *buf;
    size_t len, i;
    struct lp_error e = { 0 };
    struct lpe_object *elf;
    struct lpi_image fake = { 0 };
    struct lpl_verdict v;
    char lb[32];
    bool bad;

    if (read_payload(file, &buf, &len))
        return EXIT_USAGE;
    /* No image: an empty one, whose only use is a nominal address to place the payload
     * at (the image-dependent checks are skipped). */
    elf = lpe_new_object(NULL, &e);
    if (!elf) {
        fprintf(stderr, "livepatch-tool: %s\n", e.msg);
        free(buf);
        return EXIT_USAGE;
    }
    elf->file_size = 1u << 20;
    fake.elf = elf;
    fake.by_name = NULL;
    /* A refused payload is shown too, as far as it could be read: the reason follows. */
    bad = lpl_info(buf, len, file, &fake, &p, &v) != 0;
    if (!p) {
        refused(NULL, &v);
        lpe_close(elf);
        free(buf);
        return EXIT_REFUSED;
    }
    if (json) {
        printf("{\n  \"name\": ");
        lp_json_str(stdout, p->name);
        printf(",\n  \"build_id\": \"");
        print_id(stdout, p->id, p->id_len);
        printf("\",\n  \"depends\": \"");
        print_id(stdout, p->depends, p->depends_len);
        printf("\",\n  \"xen_depends\": \"");
        print_id(stdout, p->xen_depends, p->xen_depends_len);
        printf("\",\n  \"functions\": [");
        for (i = 0; i < p->nr_funcs; i++) {
            const struct lpl_func *f = &p->funcs[i];
            printf("%s\n    {\"name\": ", i ? "," : "");
            if (f->name)
                lp_json_str(stdout, f->name);
            else
                printf("null");
            printf(", \"old_addr\": ");
            if (f->old_sym)
                lp_json_str(stdout, f->old_sym);
            else
                printf("\"0x%llx\"", (unsigned long long)f->old_addr);
            printf(", \"old_size\": %u, \"new_size\": %u, \"nop\": %s, \"expect\": \"",
                   f->old_size, f->new_size, f->new_sec ? "false" : "true");
            if (f->expect.enabled)
                print_id(stdout, f->expect.data, f->expect.len);
            printf("\"}");
        }
        printf("%s],\n  \"hooks\": [", p->nr_funcs ? "\n  " : "");
        for (i = 0; i < 8; i++)
            if (p->hooks & (1u << i)) {
                printf("%s", (p->hooks & ((1u << i) - 1)) ? ", " : "");
                lp_json_str(stdout, hook_names[i]);
            }
        printf("],\n  \"metadata\": [");
        for (i = 0; i < p->nr_modinfo; i++) {
            printf("%s", i ? ", " : "");
            lp_json_str(stdout, p->modinfo[i]);
        }
        printf("],\n  \"new_symbols\": [");
        for (i = 0; i < p->nr_syms; i++) {
            printf("%s", i ? ", " : "");
            lp_json_str(stdout, p->syms[i].name);
        }
        printf("],\n  \"relocations\": %zu,\n  \"refused\": ", p->nr_relas);
        if (bad) {
            char why[sizeof(v.err.msg) + 32];
            snprintf(why, sizeof(why), "%s (%s)", v.err.msg, lpl_errno_name(v.errnum));
            lp_json_str(stdout, why);
        } else {
            printf("null");
        }
        printf("\n}\n");
    } else {
        printf("name:        %s\nbuild id:    ", p->name);
        print_id(stdout, p->id, p->id_len);
        printf("\ndepends:     ");
        print_id(stdout, p->depends, p->depends_len);
        printf("\nxen_depends: ");
        print_id(stdout, p->xen_depends, p->xen_depends_len);
        printf("\nfunctions:   %zu\n", p->nr_funcs);
        for (i = 0; i < p->nr_funcs; i++) {
            const struct lpl_func *f = &p->funcs[i];
            printf("  %s  old_size=%u new_size=%u%s", lpl_func_label(f, lb, sizeof(lb)),
                   f->old_size, f->new_size, f->new_sec ? "" : " (NOP mode)");
            if (f->old_sym)
                printf(" old_addr=%s", f->old_sym);
            else if (f->old_addr)
                printf(" old_addr=0x%llx", (unsigned long long)f->old_addr);
            if (f->expect.enabled) {
                size_t k;
                printf(" expect=");
                for (k = 0; k < f->expect.len; k++)
                    printf("%02x", f->expect.data[k]);
            }
            putchar('\n');
        }
        printf("hooks:      ");
        for (i = 0; i < 8; i++)
            if (p->hooks & (1u << i))
                printf(" %s", hook_names[i]);
        printf("%s\nmetadata:\n", p->hooks ? "" : " none");
        for (i = 0; i < p->nr_modinfo; i++)
            printf("  %s\n", p->modinfo[i]);
        printf("new symbols: %zu\n", p->nr_syms);
        for (i = 0; i < p->nr_syms; i++)
            printf("  %s\n", p->syms[i].name);
        printf("relocations: %zu\n", p->nr_relas);
    }
    fflush(stdout);
    if (bad)
        refused(NULL, &v);
    lpl_payload_free(p);
    lpe_close(elf);
    free(buf);
    return bad ? EXIT_REFUSED : EXIT_OK;
}

static int cmd_stack(const char *cmd, const char *image, const char *out, char **files, int n,
                     bool skip_hooks)
{
    struct lpl_stack *st;
    struct lpl_verdict v;
    int i, rc = EXIT_OK;

    if (lpl_image_open(image, &st, &v)) {
        refused(image, &v);
        return v.errnum == EIO ? EXIT_USAGE : EXIT_REFUSED;
    }
    if (!strcmp(cmd, "list")) {
        size_t k;
        if (!lpl_stack_size(st))
            printf("no payload applied\n");
        for (k = 0; k < lpl_stack_size(st); k++) {
            const struct lpl_payload *p = lpl_stack_at(st, k);
            printf("%zu %s build-id=", k + 1, p->name);
            print_id(stdout, p->id, p->id_len);
            printf(" functions=%zu\n", p->nr_funcs);
        }
        lpl_image_close(st);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "revert")) {
        if (lpl_image_revert(st, &v)) {
            refused(image, &v);
            rc = EXIT_REFUSED;
        }
    } else {
        for (i = 0; i < n && rc == EXIT_OK; i++) {
            unsigned char *buf;
            size_t len;
            int r;

            if (read_payload(files[i], &buf, &len)) {
                rc = EXIT_USAGE;
                break;
            }
            r = !strcmp(cmd, "replace") ? lpl_image_replace(st, buf, len, files[i], skip_hooks, &v)
                                        : lpl_image_apply(st, buf, len, files[i], skip_hooks, &v);
            free(buf);
            if (r) {
                refused(NULL, &v);
                rc = EXIT_REFUSED;
            }
        }
    }
    if (rc == EXIT_OK && lpl_image_write(st, out, &v)) {
        refused(out, &v);
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_OK)
        fprintf(stderr, "livepatch-tool: %s: %zu payload%s applied\n", out, lpl_stack_size(st),
                lpl_stack_size(st) == 1 ? "" : "s");
    lpl_image_close(st);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "image", required_argument, NULL, 'i' }, { "output", required_argument, NULL, 'o' },
        { "skip-hooks", no_argument, NULL, 's' },  { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *image = NULL, *out = NULL, *cmd;
    bool skip_hooks = false, json = false;
    int c, nfiles;
    char **files;

    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return EXIT_OK;
    }
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
        printf("livepatch-tool %s\n", LP_VERSION);
        return EXIT_OK;
    }
    if (argc < 2 || argv[1][0] == '-') {
        usage(stderr);
        return EXIT_USAGE;
    }
    cmd = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': image = optarg; break;
        case 'o': out = optarg; break;
        case 's': skip_hooks = true; break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        case 'V': printf("livepatch-tool %s\n", LP_VERSION); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    files = argv + optind;
    nfiles = argc - optind;
    if (!strcmp(cmd, "info")) {
        if (nfiles != 1)
            goto bad;
        return cmd_info(files[0], json);
    }
    if (!image)
        goto bad;
    if (!strcmp(cmd, "check")) {
        if (nfiles < 1)
            goto bad;
        return cmd_check(image, files, nfiles);
    }
    if (!strcmp(cmd, "list"))
        return nfiles ? (usage(stderr), EXIT_USAGE) : cmd_stack(cmd, image, NULL, NULL, 0, false);
    if (!out)
        goto bad;
    if (!strcmp(cmd, "revert") && !nfiles)
        return cmd_stack(cmd, image, out, NULL, 0, false);
    if ((!strcmp(cmd, "apply") && nfiles >= 1) || (!strcmp(cmd, "replace") && nfiles == 1))
        return cmd_stack(cmd, image, out, files, nfiles, skip_hooks);
bad:
    fprintf(stderr, "livepatch-tool: missing or unexpected arguments for '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
