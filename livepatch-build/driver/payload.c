/*
 * payload.c - from the diffed objects of one payload to OUTDIR/NAME.livepatch:
 * link them (ld -r with a build id, in an order that does not depend on the
 * locale), strip them when asked, give the stamp (lib/stamp.c) the payload's
 * .modinfo and dependencies so that it can check the payload with the loader
 * before writing it, and sign it last when asked (the signature covers every
 * other byte; the signed file is checked again before it replaces the unsigned
 * one).
 */
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "livepatch/stamp.h"
#include "livepatch/util.h"

/* Every .o under dir, into objs. */
static void find_objects(const char *dir, struct strv *objs)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        struct stat st;
        char *p;

        if (de->d_name[0] == '.')
            continue;
        if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
            die("out of memory");
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            find_objects(p, objs);
        else if (n > 2 && !strcmp(de->d_name + n - 2, ".o") && S_ISREG(st.st_mode))
            strv_push(objs, p);
        free(p);
    }
    closedir(d);
}

static int path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sha256 of a file, in hex. */
static void sha256_file(const char *path, char hex[65])
{
    struct lp_error e = { 0 };
    unsigned char *buf = NULL, md[32];
    unsigned int mdlen = 0;
    size_t len = 0;

    if (lp_read_file(path, &buf, &len, &e) || !EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL))
        die("cannot checksum %s", strrchr(path, '/') + 1);
    lp_hex(md, mdlen, hex);
    free(buf);
}

static char *work_file(const struct step *s, const char *name)
{
    char *p;

    if (asprintf(&p, "%s/%s", s->work, name) < 0)
        die("out of memory");
    return p;
}

static void sign_payload(struct lpb *b, struct step *s, const char *f)
{
    char *tmp = work_file(s, "signed.livepatch"), *log = work_file(s, "sign.log"),
         *chk = work_file(s, "sign-check.log"), *last;
    struct strv argv = { 0 };
    struct run_opts o = { .log = log };
    size_t i;

    strv_push(&argv, b->lptool);
    strv_push(&argv, "sign");
    strv_push(&argv, f);
    strv_push(&argv, "--key");
    strv_push(&argv, b->sign_key);
    strv_push(&argv, "--signature-format");
    strv_push(&argv, b->sign_format);
    strv_push(&argv, "-o");
    strv_push(&argv, tmp);
    if (run_cmd(strv_argv(&argv), &o)) {
        unlink(f);
        unlink(tmp);
        last = last_lines(log, 3);
        die("signing %s.livepatch with %s failed: %s", s->name, b->sign_key, last);
    }
    strv_free(&argv);
    /* The loader check needs what the payload stacks on; with only a hex --depends it
     * was checked against the image in the stamp, and here the signature alone is. */
    strv_push(&argv, b->lptool);
    if (!b->check_chain.n && strcmp(s->dep_used, b->image_id)) {
        strv_push(&argv, "info");
        strv_push(&argv, tmp);
        strv_push(&argv, "--verify-key");
        strv_push(&argv, b->sign_key);
        strv_push(&argv, "--require-signature");
    } else {
        strv_push(&argv, "check");
        strv_push(&argv, "--image");
        strv_push(&argv, b->image);
        for (i = 0; i < b->check_chain.n; i++)
            strv_push(&argv, b->check_chain.v[i]);
        strv_push(&argv, tmp);
        strv_push(&argv, "--verify-key");
        strv_push(&argv, b->sign_key);
    }
    o.log = chk;
    if (run_cmd(strv_argv(&argv), &o)) {
        unlink(f);
        unlink(tmp);
        last = last_lines(chk, 3);
        die("the signed %s.livepatch does not verify: %s", s->name, last);
    }
    strv_free(&argv);
    if (rename(tmp, f)) {
        unlink(f);
        unlink(tmp);
        die("cannot write the signed %s.livepatch", s->name);
    }
    msg("%s.livepatch signed with %s (%s form)", s->name, b->sign_key, b->sign_format);
    free(tmp);
    free(log);
    free(chk);
}

void link_payload(struct lpb *b, struct step *s)
{
    const char *dirs[] = { b->output };
    struct strv argv = { 0 }, modinfo = { 0 };
    struct lp_stamp_result r = { 0 };
    struct lp_error e = { 0 };
    struct run_opts o = { 0 };
    char *out = work_file(s, "payload.o"), *outdir = work_file(s, "output"), *ldlog, *last;
    char *payload, *pat;
    size_t i, first;
    int rc;

    stage_start("link:%s", s->name);
    /* Sorted the same in every locale, so the payload is reproducible (input paths do
     * not reach ld's output, only their order does). */
    strv_push(&argv, b->ld);
    strv_push(&argv, "-r");
    strv_push(&argv, "--build-id=sha1");
    strv_push(&argv, "-o");
    strv_push(&argv, out);
    first = argv.n;
    find_objects(outdir, &argv);
    if (argv.n == first)
        die("no objects to link for %s", s->name);
    qsort(argv.v + first, argv.n - first, sizeof(*argv.v), path_cmp);
    ldlog = work_file(s, "ld.log");
    o.log = ldlog;
    if (run_cmd(strv_argv(&argv), &o)) {
        last = last_lines(ldlog, 3);
        write_failed(b, "linking the payload", last, dirs, 1);
        die("linking the payload failed: %s", last);
    }
    strv_free(&argv);
    if (b->strip) {
        char *log = work_file(s, "objcopy.log");

        strv_push(&argv, b->objcopy);
        strv_push(&argv, "--strip-unneeded");
        strv_push(&argv, out);
        o.log = log;
        if (run_cmd(strv_argv(&argv), &o)) {
            last = last_lines(log, 3);
            die("stripping the payload failed: %s", last);
        }
        strv_free(&argv);
        free(log);
    }

    strv_pushf(&modinfo, "name=%s", s->name);
    for (i = 0; i < s->patches.n; i++) {
        char hex[65];

        sha256_file(s->patches.v[i], hex);
        strv_pushf(&modinfo, "patch=%s sha256:%s", strrchr(s->patches.v[i], '/') + 1, hex);
    }
    strv_pushf(&modinfo, "base_build_id=%s", b->image_id);
    strv_pushf(&modinfo, "depends=%s", s->dep_used);
    strv_pushf(&modinfo, "xen_depends=%s", b->xdep);
    strv_pushf(&modinfo, "tool=%s %s", PROG, LP_VERSION);
    strv_pushf(&modinfo, "compiler=%s", b->cc_version);
    /* The reviewed exceptions the payload carries (create-diff-object recorded the types
     * that some carried code needed in .livepatch.allowed_layout). */
    for (i = 0; i < b->allow_layout.n; i++)
        strv_pushf(&modinfo, "allowed_layout=%s", b->allow_layout.v[i]);
    for (i = 0; i < b->metadata.n; i++)
        strv_push(&modinfo, b->metadata.v[i]);

    struct lp_stamp st = {
        .in = out, .work = s->work, .name = s->name, .image = b->image,
        .depends = s->dep_used, .xen_depends = b->xdep,
        .chain = (const char *const *)b->check_chain.v, .nr_chain = b->check_chain.n,
        .modinfo = (const char *const *)modinfo.v, .nr_modinfo = modinfo.n,
    };
    /* The loader checks a stacked payload after the ones it depends on.  When only the
     * id of the predecessor is known (--depends HEX), the dependency itself cannot be
     * checked here: everything else is, on a copy depending on the image. */
    if (!b->check_chain.n && strcmp(s->dep_used, b->image_id)) {
        st.check_depends = b->image_id;
        warn("depends on %s, which is not here to check against: checking the rest against "
             "the image", s->dep_used);
    }
    stage_end();

    stage_start("check:%s", s->name);
    msg("checking %s.livepatch with the loader against %s", s->name, strrchr(b->image, '/') + 1);
    if (asprintf(&payload, "%s/%s.livepatch", b->output, s->name) < 0 ||
        asprintf(&pat, "%s/%s.livepatch.tmp.*", b->output, s->name) < 0)
        die("out of memory");
    cleanup_add(pat);
    free(pat);
    if (asprintf(&pat, "%s/payload.*.tmp.*", s->work) < 0)
        die("out of memory");
    cleanup_add(pat);
    free(pat);
    written_add(payload);
    st.out = payload;
    rc = lp_stamp_payload(&st, &r, &e);
    if (r.warning)
        warn("%s", r.warning);
    proc_check_stop();
    if (rc == LP_STAMP_REFUSED)
        die("the loader would refuse %s.livepatch: %s", s->name, e.msg);
    if (rc) {
        char what[256];

        snprintf(what, sizeof(what), "writing %s.livepatch", s->name);
        write_failed(b, what, e.msg, dirs, 1);
        die("stamping the payload failed: %s", e.msg);
    }
    snprintf(s->payload_id, sizeof(s->payload_id), "%s", r.build_id);
    s->facts = r.facts;
    r.facts = NULL;
    lp_stamp_result_free(&r);
    if (!s->payload_id[0])
        die("written payload has no build id");
    if (b->sign_key)
        sign_payload(b, s, payload);
    stage_end();
    msg("%s.livepatch created successfully (build id %s)", s->name, s->payload_id);
    strv_free(&modinfo);
    free(out);
    free(outdir);
    free(ldlog);
    free(payload);
}
