/*
 * livepatch-tool - the loader runtime on the command line: check payloads as the
 * hypervisor would, show what they hold, and apply, revert or replace them in an
 * image file; stamp a linked payload object and sign payloads.  All the rules live in
 * lib/loader/, lib/stamp.c and lib/sign.c; this file parses arguments and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livepatch/loader.h"
#include "livepatch/sign.h"
#include "livepatch/stamp.h"
#include "livepatch/util.h"

/* 3-5: the signature's verdicts (docs/signing.md); they win over 2 when both refuse. */
enum {
    EXIT_OK = 0, EXIT_USAGE = 1, EXIT_REFUSED = 2, EXIT_SIG_REJECTED = 3, EXIT_SIG_MISSING = 4,
    EXIT_SIG_MALFORMED = 5,
};

/* What --verify-key / --require-signature ask of every payload. */
struct sigopts {
    struct lps_key **keys;
    size_t nr_keys;
    bool require;
};

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
            "  sign PAYLOAD --key KEY.pem [-o OUT]         sign (re-signing replaces the note)\n"
            "  sign PAYLOAD --digest-out F [--data-out F]  what an HSM must sign (SHA-256 digest,\n"
            "                                   and the file it is the digest of)\n"
            "  sign PAYLOAD --signature SIG [--verify-key PUB] [-o OUT]\n"
            "                                   insert a detached signature made elsewhere\n"
            "  stamp LINKED.o -o OUT --depends HEX --xen-depends HEX [--image IMAGE]\n"
            "        [--chain PAYLOAD]... [--check-depends HEX] [--modinfo KEY=VALUE]...\n"
            "                                   make a payload of an object linked with\n"
            "                                   ld -r --build-id: dependency notes, .modinfo,\n"
            "                                   no hook macro symbols, read-only\n"
            "                                   .livepatch.funcs; with --image it is written\n"
            "                                   only if the loader accepts it there (after\n"
            "                                   the --chain payloads); without, unchecked\n"
            "\n"
            "Options:\n"
            "  --image FILE     the target image (Xen: xen-syms; or an image patched by apply)\n"
            "  -o, --output F   where apply/revert/replace write the new image (never IMAGE\n"
            "                   itself unless given as -o; written atomically), and sign the\n"
            "                   signed payload (default PAYLOAD.signed; never an input), and\n"
            "                   stamp the payload (never an input)\n"
            "  --skip-hooks     apply payloads that have hooks without running them\n"
            "  --json           machine-readable info\n"
            "  --verify-key PUB check/info/sign: verify the signature with this RSA public key\n"
            "                   (repeatable: any one of them may verify it)\n"
            "  --require-signature  check/info: an unsigned payload is refused (needs a key)\n"
            "  --signature-format current|xenserver  sign: note type 1 (default) or XenServer's\n"
            "                   type 0 with its 8-byte header\n"
            "  --key-size BITS  sign --digest-out: the signing key's size (default 2048; or\n"
            "                   taken from --verify-key)\n"
            "  --depends HEX    stamp: .livepatch.depends, the build id it stacks on (the\n"
            "                   image's, or the payload applied before it)\n"
            "  --xen-depends HEX  stamp: .livepatch.xen_depends, the image's build id\n"
            "  --check-depends HEX  stamp: let the loader check a copy depending on HEX\n"
            "                   instead (when the payload before it is known only by its id)\n"
            "  --chain PAYLOAD  stamp: loaded before it for the check, in order (repeatable)\n"
            "  --modinfo K=V    stamp: an entry of .modinfo, e.g. name=fix01 (repeatable)\n"
            "  -h, --help       this help\n"
            "  -V, --version    print the version\n"
            "\n"
            "Exit status: 0 success; 1 usage or I/O error; 2 a payload was refused (the\n"
            "message names the payload by its .modinfo name, the section or symbol, and the\n"
            "errno the hypervisor would return, e.g. EINVAL); 3 no given key verifies the\n"
            "signature (wrong key, or a byte changed); 4 unsigned with --require-signature;\n"
            "5 malformed signature note.  On failure no output file is written.\n");
}

static void refused(const char *what, const struct lpl_verdict *v)
{
    size_t n = what ? strlen(what) : 0;

    /* A message that already starts with the file's name ("IMAGE: cannot open: ...")
     * gets it once, not twice. */
    if (what && !strncmp(v->err.msg, what, n) && v->err.msg[n] == ':')
        what = NULL;
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

/*
 * The signature's verdict on one payload under `so`: 0 when it is acceptable (what
 * it is in `ok`, for the success line), else the exit code with the message in `why`.
 * The signature is looked at whether or not keys are given: a malformed note is
 * always refused.  -1: the ELF could not be read to find the note (the loader's
 * refusal says why).
 */
static int sig_check(const unsigned char *buf, size_t len, const char *file,
                     const struct sigopts *so, struct lps_sig *sig, char *ok, size_t oksize,
                     char *why, size_t whysize)
{
    struct lp_error e = { 0 };
    size_t by = 0;
    enum lps_status st = lps_verify(buf, len, file, so->keys, so->nr_keys, sig, &by, &e);

    ok[0] = why[0] = '\0';
    switch (st) {
    case LPS_VERIFIED:
        snprintf(ok, oksize, "signature verified by %s", lps_key_path(so->keys[by]));
        return 0;
    case LPS_SIGNED:
        snprintf(ok, oksize, "signed, %s form, not verified (no --verify-key)",
                 lps_format_name(sig->format));
        return 0;
    case LPS_UNSIGNED:
        if (so->require) {
            snprintf(why, whysize, "%s: unsigned (no %s note), and --require-signature was "
                     "given", file, LPS_SEC_SIGNATURE);
            return EXIT_SIG_MISSING;
        }
        snprintf(ok, oksize, "unsigned");
        return 0;
    case LPS_REJECTED:
        snprintf(why, whysize, "%s", e.msg);
        return EXIT_SIG_REJECTED;
    case LPS_MALFORMED:
        snprintf(why, whysize, "%s (malformed signature note)", e.msg);
        return EXIT_SIG_MALFORMED;
    case LPS_UNREADABLE:
        snprintf(why, whysize, "%s", e.msg);
        return -1;
    case LPS_FAILED:
        break;
    }
    snprintf(why, whysize, "%s", e.msg);
    return EXIT_USAGE;
}

/* The exit code when the loader said `loader_rc` and the signature `sig_rc`: the
 * signature's refusals (3-5) come first; an unreadable ELF is the loader's to report. */
static int combine(int loader_rc, int sig_rc)
{
    if (sig_rc > EXIT_REFUSED || (sig_rc == EXIT_USAGE && !loader_rc))
        return sig_rc;
    if (loader_rc)
        return loader_rc;
    return sig_rc < 0 ? EXIT_SIG_MALFORMED : sig_rc;
}

/* A payload's structure as the loader sees it without an image (what info shows). */
static int structural(const unsigned char *buf, size_t len, const char *file,
                      struct lpl_payload **p, struct lpe_object **elf, struct lpl_verdict *v)
{
    struct lp_error e = { 0 };
    struct lpi_image fake = { 0 };

    *p = NULL;
    /* No image: an empty one, whose only use is a nominal address to place the payload
     * at (the image-dependent checks are skipped). */
    *elf = lpe_new_object(NULL, &e);
    if (!*elf) {
        memset(v, 0, sizeof(*v));
        v->errnum = ENOMEM;
        snprintf(v->err.msg, sizeof(v->err.msg), "%s", e.msg);
        return -1;
    }
    (*elf)->file_size = 1u << 20;
    fake.elf = *elf;   /* and no backing: every look-up finds nothing */
    return lpl_info(buf, len, file, &fake, p, v);
}

/* check runs against what the image holds: its own symbols and, when it was patched
 * by apply, the stack applied to it (so payloads go on top of that stack). */
static int cmd_check(const char *image, char **files, int n, const struct sigopts *so)
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
        {
            /* Every check of the loader and the signature's, on the same bytes. */
            int lr = lpl_check_stacked(buf, len, files[i], lpl_stack_image(st), loaded,
                                       base + (size_t)i, slot, &v) ? EXIT_REFUSED : EXIT_OK;
            char ok[LP_ERROR_MSG_MAX + 64], why[LP_ERROR_MSG_MAX + 64];
            struct lps_sig sig;
            int sr = sig_check(buf, len, files[i], so, &sig, ok, sizeof(ok), why, sizeof(why));

            if (lr)
                refused(NULL, &v);
            if (sr && why[0] && (sr != -1 || !lr))
                fprintf(stderr, "livepatch-tool: %s\n", why);
            rc = combine(lr, sr);
            /* An unsigned payload checked without keys: the line it always had. */
            if (rc == EXIT_OK)
                printf("%s: ok (%zu function%s, %zu new symbol%s)%s%s\n", files[i],
                       (*slot)->nr_funcs, (*slot)->nr_funcs == 1 ? "" : "s", (*slot)->nr_syms,
                       (*slot)->nr_syms == 1 ? "" : "s",
                       sig.format || so->nr_keys ? "; " : "", sig.format || so->nr_keys ? ok : "");
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
static int cmd_info(const char *file, bool json, const struct sigopts *so)
{
    struct lpl_payload *p = NULL;
    unsigned char *buf;
    size_t len, i;
    struct lpe_object *elf = NULL;
    struct lpl_verdict v;
    struct lps_sig sig;
    char lb[32], ok[LP_ERROR_MSG_MAX + 64], why[LP_ERROR_MSG_MAX + 64];
    bool bad;
    int sr, rc;

    if (read_payload(file, &buf, &len))
        return EXIT_USAGE;
    /* A refused payload is shown too, as far as it could be read: the reason follows. */
    bad = structural(buf, len, file, &p, &elf, &v) != 0;
    sr = sig_check(buf, len, file, so, &sig, ok, sizeof(ok), why, sizeof(why));
    rc = combine(bad ? EXIT_REFUSED : EXIT_OK, sr);
    if (!p) {
        refused(NULL, &v);
        if (sr > 0 && why[0])
            fprintf(stderr, "livepatch-tool: %s\n", why);
        lpe_close(elf);
        free(buf);
        return rc;
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
        printf("],\n  \"relocations\": %zu,\n  \"signature\": ", p->nr_relas);
        if (sig.format) {
            printf("{\"format\": \"%s\", \"note_type\": %u, \"bits\": %u, \"section\": %zu, "
                   "\"desc_offset\": %llu, \"desc_size\": %u, \"verified_by\": ",
                   lps_format_name(sig.format), sig.note_type, sig.sig_size * 8, sig.section,
                   (unsigned long long)sig.desc_offset, sig.desc_size);
            if (sr == 0 && so->nr_keys)
                lp_json_str(stdout, ok + strlen("signature verified by "));
            else
                printf("null");
            printf("}");
        } else {
            printf("null");
        }
        printf(",\n  \"refused\": ");
        if (bad || sr) {
            char w[sizeof(v.err.msg) + sizeof(why) + 32];
            if (sr > 0)
                snprintf(w, sizeof(w), "%s", why);
            else
                snprintf(w, sizeof(w), "%s (%s)", v.err.msg, lpl_errno_name(v.errnum));
            lp_json_str(stdout, w);
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
        if (!sig.format) {
            printf("signature:   %s\n", sr == EXIT_SIG_MALFORMED ? "malformed" : "none");
        } else {
            printf("signature:   %s form (note type 0x%08x), RSA %u-bit, SHA-256\n",
                   lps_format_name(sig.format), sig.note_type, sig.sig_size * 8);
            printf("  section:     %zu %s, offset %llu, %llu bytes\n", sig.section,
                   LPS_SEC_SIGNATURE, (unsigned long long)sig.sec_offset,
                   (unsigned long long)sig.sec_size);
            printf("  descriptor:  offset %llu, %u bytes (zeroed for the digest)\n",
                   (unsigned long long)sig.desc_offset, sig.desc_size);
            printf("  signature:   offset %llu, %u bytes\n", (unsigned long long)sig.sig_offset,
                   sig.sig_size);
            if (sr == 0 && so->nr_keys)
                printf("  verified by: %s\n", ok + strlen("signature verified by "));
            else if (!so->nr_keys)
                printf("  verified by: (no --verify-key given)\n");
            else
                printf("  verified by: none of the keys given\n");
        }
    }
    fflush(stdout);
    if (bad)
        refused(NULL, &v);
    if (sr > 0 && why[0])
        fprintf(stderr, "livepatch-tool: %s\n", why);
    lpl_payload_free(p);
    lpe_close(elf);
    free(buf);
    return rc;
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

struct signopts {
    const char *key, *signature, *digest_out, *data_out, *out;
    enum lps_format fmt;
    unsigned key_bits;   /* --key-size; 0 when not given */
};

/* The same file: the same path, or (through links) the same inode. */
static bool same_file(const char *a, const char *b)
{
    return lp_same_file(a, b);
}

static int sign_usage(const char *msg)
{
    fprintf(stderr, "livepatch-tool: sign: %s\n", msg);
    return EXIT_USAGE;
}

/* Write an output atomically (temporary file, then rename); nothing is left on failure. */
static int write_out(const char *path, const void *buf, size_t len, mode_t mode)
{
    struct lp_error e = { 0 };

    if (lp_write_file(path, buf, len, mode, &e)) {
        fprintf(stderr, "livepatch-tool: %s\n", e.msg);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int cmd_sign(const char *file, const struct signopts *o, const struct sigopts *so)
{
    const char *outs[3], *ins[3];
    char *def_out = NULL;
    unsigned char *buf = NULL, *out = NULL, *sigbuf = NULL;
    size_t len = 0, out_len = 0, sig_len = 0, i, j, nouts = 0, nins = 0;
    struct lps_key *key = NULL;
    struct lpl_payload *p = NULL;
    struct lpe_object *elf = NULL;
    struct lpl_verdict v;
    struct lps_sig sig;
    struct lp_error e = { 0 };
    struct stat st;
    mode_t mode = 0644;
    int rc = EXIT_OK;

    if (!!o->key + !!o->signature + !!o->digest_out != 1)
        return sign_usage("give exactly one of --key, --signature, --digest-out");
    if (o->data_out && !o->digest_out)
        return sign_usage("--data-out goes with --digest-out");
    if (o->digest_out && o->out)
        return sign_usage("-o is for --key and --signature (--digest-out writes no payload)");
    if (o->key_bits && !o->digest_out)
        return sign_usage("--key-size goes with --digest-out (a key or signature has its size)");
    /* Refuse to overwrite an input before doing any work. */
    ins[nins++] = file;
    if (o->key)
        ins[nins++] = o->key;
    if (o->signature)
        ins[nins++] = o->signature;
    if (o->digest_out) {
        outs[nouts++] = o->digest_out;
        if (o->data_out)
            outs[nouts++] = o->data_out;
        if (o->data_out && same_file(o->digest_out, o->data_out))
            return sign_usage("--digest-out and --data-out are the same file");
    } else {
        if (!o->out) {
            if (asprintf(&def_out, "%s.signed", file) < 0)
                return sign_usage("out of memory");
        }
        outs[nouts++] = o->out ? o->out : def_out;
    }
    for (i = 0; i < nouts; i++) {
        for (j = 0; j < nins; j++)
            if (same_file(outs[i], ins[j])) {
                fprintf(stderr, "livepatch-tool: sign: output %s is the input %s: an input is "
                        "never overwritten (choose another output)\n", outs[i], ins[j]);
                free(def_out);
                return EXIT_USAGE;
            }
        for (j = 0; j < so->nr_keys; j++)
            if (same_file(outs[i], lps_key_path(so->keys[j]))) {
                fprintf(stderr, "livepatch-tool: sign: output %s is the key %s: an input is "
                        "never overwritten\n", outs[i], lps_key_path(so->keys[j]));
                free(def_out);
                return EXIT_USAGE;
            }
    }
    if (stat(file, &st) == 0)
        mode = st.st_mode & 0777;
    if (read_payload(file, &buf, &len)) {
        free(def_out);
        return EXIT_USAGE;
    }
    /* Only a payload the loader accepts is worth signing. */
    if (structural(buf, len, file, &p, &elf, &v)) {
        fprintf(stderr, "livepatch-tool: not signing %s: the loader refuses it:\n", file);
        refused(NULL, &v);
        rc = EXIT_REFUSED;
        goto out;
    }
    lpl_payload_free(p);
    lpe_close(elf);
    p = NULL;
    elf = NULL;

    if (o->digest_out) {
        unsigned char digest[LPS_DIGEST_SIZE];
        char hex[2 * LPS_DIGEST_SIZE + 1];
        size_t size = 256;

        if (o->key_bits) {
            size = o->key_bits / 8;
        } else if (so->nr_keys) {
            size = lps_key_sig_size(so->keys[0]);
            for (i = 1; i < so->nr_keys; i++)
                if (lps_key_sig_size(so->keys[i]) != size) {
                    rc = sign_usage("--verify-key keys of different sizes: which one signs?");
                    goto out;
                }
        }
        if (lps_prepare(buf, len, file, o->fmt, size, &out, &out_len, &sig, &e) ||
            lps_digest(out, out_len, &sig, digest, &e)) {
            fprintf(stderr, "livepatch-tool: %s\n", e.msg);
            rc = e.code == LP_ERR_FORMAT ? EXIT_SIG_MALFORMED : EXIT_USAGE;
            goto out;
        }
        if ((rc = write_out(o->digest_out, digest, sizeof(digest), 0644)) ||
            (o->data_out && (rc = write_out(o->data_out, out, out_len, 0644)))) {
            unlink(o->digest_out);
            goto out;
        }
        lp_hex(digest, sizeof(digest), hex);
        printf("%s: SHA-256 to sign: %s\n", file, hex);
        printf("  for a %zu-bit RSA key, %s form: descriptor at offset %llu, %u bytes, zeroed\n",
               size * 8, lps_format_name(o->fmt), (unsigned long long)sig.desc_offset,
               sig.desc_size);
        printf("  digest written to %s%s%s\n", o->digest_out, o->data_out ? ", signed data to " : "",
               o->data_out ? o->data_out : "");
        printf("  then: livepatch-tool sign %s --signature SIG%s [--verify-key PUB.pem] "
               "[-o OUT]\n", file, o->fmt == LPS_FORMAT_XENSERVER
               ? " --signature-format xenserver" : "");
        goto out;
    }

    if (o->key) {
        if (lps_key_load(o->key, true, &key, &e)) {
            fprintf(stderr, "livepatch-tool: --key: %s\n", e.msg);
            rc = EXIT_USAGE;
            goto out;
        }
        if (lps_sign(buf, len, file, key, o->fmt, &out, &out_len, &sig, &e)) {
            fprintf(stderr, "livepatch-tool: %s\n", e.msg);
            rc = e.code == LP_ERR_FORMAT ? EXIT_SIG_MALFORMED : EXIT_USAGE;
            goto out;
        }
    } else {
        if (lp_read_file(o->signature, &sigbuf, &sig_len, &e)) {
            fprintf(stderr, "livepatch-tool: %s\n", e.msg);
            rc = EXIT_USAGE;
            goto out;
        }
        /* What --key-size accepts: an RSA signature is as long as its key's modulus. */
        if (sig_len < 64 || sig_len > LPS_DESC_MAX - LPS_XS_HDR_SIZE) {
            fprintf(stderr, "livepatch-tool: sign: %s: %zu bytes is not the size of an RSA "
                    "signature (64 to %d bytes, a 512- to %d-bit key)\n", o->signature, sig_len,
                    LPS_DESC_MAX - LPS_XS_HDR_SIZE, 8 * (LPS_DESC_MAX - LPS_XS_HDR_SIZE));
            rc = EXIT_USAGE;
            goto out;
        }
        if (lps_insert(buf, len, file, o->fmt, sigbuf, sig_len, &out, &out_len, &sig, &e)) {
            fprintf(stderr, "livepatch-tool: %s: %s\n", o->signature, e.msg);
            rc = e.code == LP_ERR_FORMAT ? EXIT_SIG_MALFORMED : EXIT_USAGE;
            goto out;
        }
    }
    /* The result passes every structural check and verifies with the keys given. */
    {
        char ok[LP_ERROR_MSG_MAX + 64], why[LP_ERROR_MSG_MAX + 64];
        struct lps_sig back;
        int sr = sig_check(out, out_len, outs[0], so, &back, ok, sizeof(ok), why, sizeof(why));

        if (structural(out, out_len, outs[0], &p, &elf, &v)) {
            fprintf(stderr, "livepatch-tool: the signed payload would be refused:\n");
            refused(NULL, &v);
            rc = EXIT_REFUSED;
            goto out;
        }
        if (sr) {
            fprintf(stderr, "livepatch-tool: %s (nothing written)\n", why);
            rc = sr < 0 ? EXIT_SIG_MALFORMED : sr;
            goto out;
        }
        if ((rc = write_out(outs[0], out, out_len, mode)))
            goto out;
        printf("%s: signed, %s form (note type 0x%08x), RSA %u-bit: descriptor at offset %llu, "
               "%u bytes; %s\n", outs[0], lps_format_name(sig.format), sig.note_type,
               sig.sig_size * 8, (unsigned long long)sig.desc_offset, sig.desc_size,
               so->nr_keys ? ok : o->key ? "verified with the signing key" : "not verified "
               "(no --verify-key)");
    }
out:
    lpl_payload_free(p);
    lpe_close(elf);
    lps_key_free(key);
    free(sigbuf);
    free(out);
    free(buf);
    free(def_out);
    return rc;
}

/* What stamp is given besides IMAGE and -o. */
struct stampopts {
    const char *depends, *xen_depends, *check_depends;
    const char **chain, **modinfo;
    size_t nr_chain, nr_modinfo;
};

/* The payload's name for the loader's messages: OUT's base name without its extension. */
static char *name_of(const char *out)
{
    const char *base = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
    const char *dot = strrchr(base, '.');

    return strndup(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

/*
 * stamp: lp_stamp_payload() with a temporary folder beside OUT (so that the payload
 * is renamed into place, not copied), which is gone again when it returns.
 */
static int cmd_stamp(const char *in, const char *image, const char *out,
                     const struct stampopts *o)
{
    struct lp_stamp st = { 0 };
    struct lp_stamp_result r = { 0 };
    struct lp_error e = { 0 };
    char *work = NULL, *name = NULL;
    size_t i;
    int rc;

    if (!o->depends || !o->xen_depends) {
        fprintf(stderr, "livepatch-tool: stamp: --depends and --xen-depends are needed (the "
                "build ids it stacks on and is built for; lp-buildid prints them)\n");
        return EXIT_USAGE;
    }
    /* Refuse to overwrite an input before doing any work. */
    for (i = 0; i < o->nr_chain + 2; i++) {
        const char *input = i == 0 ? in : i == 1 ? image : o->chain[i - 2];

        if (input && same_file(out, input)) {
            fprintf(stderr, "livepatch-tool: stamp: output %s is the input %s: an input is "
                    "never overwritten (choose another output)\n", out, input);
            return EXIT_USAGE;
        }
    }
    if (asprintf(&work, "%s.stamp.XXXXXX", out) < 0)
        work = NULL;
    name = name_of(out);
    if (!work || !name) {
        free(work);
        free(name);
        fprintf(stderr, "livepatch-tool: out of memory\n");
        return EXIT_USAGE;
    }
    if (!mkdtemp(work)) {
        fprintf(stderr, "livepatch-tool: stamp: cannot create a temporary folder beside %s: "
                "%s\n", out, strerror(errno));
        free(work);
        free(name);
        return EXIT_USAGE;
    }
    st.in = in;
    st.out = out;
    st.work = work;
    st.name = name;
    st.image = image;
    st.depends = o->depends;
    st.xen_depends = o->xen_depends;
    st.check_depends = o->check_depends;
    st.chain = o->chain;
    st.nr_chain = o->nr_chain;
    st.modinfo = o->modinfo;
    st.nr_modinfo = o->nr_modinfo;
    rc = lp_stamp_payload(&st, &r, &e);
    rmdir(work);
    if (r.warning)
        fprintf(stderr, "livepatch-tool: stamp: warning: %s\n", r.warning);
    if (rc == LP_STAMP_REFUSED) {
        fprintf(stderr, "livepatch-tool: %s\n", e.msg);
        rc = EXIT_REFUSED;
    } else if (rc) {
        fprintf(stderr, "livepatch-tool: stamp: %s\n", e.msg);
        rc = EXIT_USAGE;
    } else if (image) {
        printf("%s: stamped, build id %s; the loader accepts it on %s%s\n", out, r.build_id,
               image, o->nr_chain ? " after the --chain payloads" : "");
    } else {
        printf("%s: stamped, build id %s; not checked (no --image)\n", out, r.build_id);
    }
    lp_stamp_result_free(&r);
    free(work);
    free(name);
    return rc;
}

static int run(const char *cmd, const char *image, const char *out, char **files, int nfiles,
               bool skip_hooks, bool json, const struct sigopts *so, const struct signopts *sg,
               const struct stampopts *sto);

int main(int argc, char **argv)
{
    enum { O_KEY = 256, O_VERIFY_KEY, O_REQUIRE, O_FORMAT, O_DIGEST_OUT, O_DATA_OUT,
           O_SIGNATURE, O_KEY_SIZE, O_DEPENDS, O_XEN_DEPENDS, O_CHECK_DEPENDS, O_CHAIN,
           O_MODINFO };
    static const struct option longopts[] = {
        { "image", required_argument, NULL, 'i' }, { "output", required_argument, NULL, 'o' },
        { "skip-hooks", no_argument, NULL, 's' },  { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },        { "version", no_argument, NULL, 'V' },
        { "key", required_argument, NULL, O_KEY },
        { "verify-key", required_argument, NULL, O_VERIFY_KEY },
        { "require-signature", no_argument, NULL, O_REQUIRE },
        { "signature-format", required_argument, NULL, O_FORMAT },
        { "digest-out", required_argument, NULL, O_DIGEST_OUT },
        { "data-out", required_argument, NULL, O_DATA_OUT },
        { "signature", required_argument, NULL, O_SIGNATURE },
        { "key-size", required_argument, NULL, O_KEY_SIZE },
        { "depends", required_argument, NULL, O_DEPENDS },
        { "xen-depends", required_argument, NULL, O_XEN_DEPENDS },
        { "check-depends", required_argument, NULL, O_CHECK_DEPENDS },
        { "chain", required_argument, NULL, O_CHAIN },
        { "modinfo", required_argument, NULL, O_MODINFO },
        { NULL, 0, NULL, 0 },
    };
    const char *image = NULL, *out = NULL, *cmd;
    bool skip_hooks = false, json = false, fmt_given = false;
    int c, nfiles, rc;
    char **files, *end;
    const char **vkeys;
    size_t nvkeys = 0, k;
    struct sigopts so = { 0 };
    struct signopts sg = { 0 };
    struct stampopts sto = { 0 };
    struct lp_error e = { 0 };

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
    vkeys = calloc((size_t)argc, sizeof(*vkeys));
    sto.chain = calloc((size_t)argc, sizeof(*sto.chain));
    sto.modinfo = calloc((size_t)argc, sizeof(*sto.modinfo));
    if (!vkeys || !sto.chain || !sto.modinfo) {
        rc = EXIT_USAGE;
        goto done;
    }
    sg.fmt = LPS_FORMAT_CURRENT;
    while ((c = getopt_long(argc, argv, "o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': image = optarg; break;
        case 'o': out = optarg; break;
        case 's': skip_hooks = true; break;
        case 'j': json = true; break;
        case 'h': usage(stdout); rc = EXIT_OK; goto done;
        case 'V': printf("livepatch-tool %s\n", LP_VERSION); rc = EXIT_OK; goto done;
        case O_KEY: sg.key = optarg; break;
        case O_VERIFY_KEY: vkeys[nvkeys++] = optarg; break;
        case O_REQUIRE: so.require = true; break;
        case O_FORMAT:
            if (lps_parse_format(optarg, &sg.fmt)) {
                fprintf(stderr, "livepatch-tool: --signature-format: '%s' is neither current nor "
                        "xenserver\n", optarg);
                rc = EXIT_USAGE;
                goto done;
            }
            fmt_given = true;
            break;
        case O_DIGEST_OUT: sg.digest_out = optarg; break;
        case O_DATA_OUT: sg.data_out = optarg; break;
        case O_SIGNATURE: sg.signature = optarg; break;
        case O_DEPENDS: sto.depends = optarg; break;
        case O_XEN_DEPENDS: sto.xen_depends = optarg; break;
        case O_CHECK_DEPENDS: sto.check_depends = optarg; break;
        case O_CHAIN: sto.chain[sto.nr_chain++] = optarg; break;
        case O_MODINFO: sto.modinfo[sto.nr_modinfo++] = optarg; break;
        case O_KEY_SIZE:
            errno = 0;
            sg.key_bits = (unsigned)strtoul(optarg, &end, 10);
            if (errno || *end || sg.key_bits % 8 || sg.key_bits < 512 ||
                sg.key_bits > 8 * (LPS_DESC_MAX - LPS_XS_HDR_SIZE)) {
                fprintf(stderr, "livepatch-tool: --key-size: '%s' is not a key size in bits "
                        "(a multiple of 8, 512 to %d)\n", optarg,
                        8 * (LPS_DESC_MAX - LPS_XS_HDR_SIZE));
                rc = EXIT_USAGE;
                goto done;
            }
            break;
        default: usage(stderr); rc = EXIT_USAGE; goto done;
        }
    }
    files = argv + optind;
    nfiles = argc - optind;
    if (strcmp(cmd, "sign") &&
        (sg.key || sg.signature || sg.digest_out || sg.data_out || sg.key_bits || fmt_given)) {
        fprintf(stderr, "livepatch-tool: --key, --signature, --digest-out, --data-out, "
                "--key-size and --signature-format are options of 'sign'\n");
        rc = EXIT_USAGE;
        goto done;
    }
    if (so.require && strcmp(cmd, "check") && strcmp(cmd, "info")) {
        fprintf(stderr, "livepatch-tool: --require-signature is an option of check and info\n");
        rc = EXIT_USAGE;
        goto done;
    }
    if (so.require && !nvkeys) {
        fprintf(stderr, "livepatch-tool: --require-signature needs --verify-key (a signature no "
                "key checks proves nothing)\n");
        rc = EXIT_USAGE;
        goto done;
    }
    if (strcmp(cmd, "stamp") && (sto.depends || sto.xen_depends || sto.check_depends ||
                                 sto.nr_chain || sto.nr_modinfo)) {
        fprintf(stderr, "livepatch-tool: --depends, --xen-depends, --check-depends, --chain and "
                "--modinfo are options of 'stamp'\n");
        rc = EXIT_USAGE;
        goto done;
    }
    if (nvkeys && strcmp(cmd, "check") && strcmp(cmd, "info") && strcmp(cmd, "sign")) {
        fprintf(stderr, "livepatch-tool: --verify-key is an option of check, info and sign\n");
        rc = EXIT_USAGE;
        goto done;
    }
    so.keys = calloc(nvkeys + 1, sizeof(*so.keys));
    if (!so.keys) {
        rc = EXIT_USAGE;
        goto done;
    }
    for (k = 0; k < nvkeys; k++) {
        if (lps_key_load(vkeys[k], false, &so.keys[k], &e)) {
            fprintf(stderr, "livepatch-tool: --verify-key: %s\n", e.msg);
            rc = EXIT_USAGE;
            goto done;
        }
        so.nr_keys++;
    }
    rc = run(cmd, image, out, files, nfiles, skip_hooks, json, &so, &sg, &sto);
done:
    for (k = 0; k < so.nr_keys; k++)
        lps_key_free(so.keys[k]);
    free(so.keys);
    free(vkeys);
    free(sto.chain);
    free(sto.modinfo);
    return rc;
}

static int run(const char *cmd, const char *image, const char *out, char **files, int nfiles,
               bool skip_hooks, bool json, const struct sigopts *so, const struct signopts *sg,
               const struct stampopts *sto)
{
    static const char *const commands[] = { "check", "info", "apply", "replace", "revert",
                                            "list", "sign", "stamp" };
    size_t c;
    int i;

    for (c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
        if (!strcmp(cmd, commands[c]))
            break;
    if (c == sizeof(commands) / sizeof(commands[0])) {
        fprintf(stderr, "livepatch-tool: unknown command '%s' (commands: check, info, apply, "
                "replace, revert, list, sign, stamp; see --help)\n", cmd);
        return EXIT_USAGE;
    }
    /* The new image never replaces a payload it is made from (IMAGE itself may be -o:
     * it is replaced atomically, and only once everything succeeded). */
    for (i = 0; out && i < nfiles && strcmp(cmd, "sign") && strcmp(cmd, "stamp"); i++)
        if (same_file(out, files[i])) {
            fprintf(stderr, "livepatch-tool: %s: output %s is the payload %s: an input is never "
                    "overwritten (choose another output)\n", cmd, out, files[i]);
            return EXIT_USAGE;
        }
    if (!strcmp(cmd, "sign")) {
        if (nfiles != 1 || image)
            goto bad;
        struct signopts o = *sg;
        o.out = out;
        return cmd_sign(files[0], &o, so);
    }
    if (!strcmp(cmd, "stamp")) {
        if (nfiles != 1 || !out)
            goto bad;
        return cmd_stamp(files[0], image, out, sto);
    }
    if (!strcmp(cmd, "info")) {
        if (nfiles != 1)
            goto bad;
        return cmd_info(files[0], json, so);
    }
    if (!image)
        goto bad;
    if (!strcmp(cmd, "check")) {
        if (nfiles < 1)
            goto bad;
        return cmd_check(image, files, nfiles, so);
    }
    if (!strcmp(cmd, "list")) {
        if (nfiles)
            goto bad;
        return cmd_stack(cmd, image, NULL, NULL, 0, false);
    }
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
