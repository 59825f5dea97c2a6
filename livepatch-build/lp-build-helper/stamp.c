/*
 * stamp.c - `lp-build-helper stamp`: the shell livepatch-build's way to stamp a
 * linked payload.  Options in, lp_stamp_payload() (lib/stamp.c) does the work, and
 * its result out: "warning: ..." lines and "build-id HEX" on stdout, the facts in
 * --facts FILE, exit 3 with the loader's reason when it refuses the payload.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../driver/helper.h"
#include "livepatch/stamp.h"

#define CMD "stamp"

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

/* 0 when parsed, -1 after --help, 2 on a usage error, 1 out of memory. */
static int parse_args(int argc, char **argv, struct lp_stamp *st, const char **facts)
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
    const char **chain = calloc((size_t)argc + 1, sizeof(*chain));
    const char **modinfo = calloc((size_t)argc + 1, sizeof(*modinfo));
    int c;

    st->chain = chain;
    st->modinfo = modinfo;
    if (!chain || !modinfo)
        return helper_fail(CMD, "out of memory");
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': st->in = optarg; break;
        case 'o': st->out = optarg; break;
        case 'w': st->work = optarg; break;
        case 'n': st->name = optarg; break;
        case 'I': st->image = optarg; break;
        case 'f': *facts = optarg; break;
        case 'd': st->depends = optarg; break;
        case 'x': st->xen_depends = optarg; break;
        case 'k': st->check_depends = optarg; break;
        case 'c': chain[st->nr_chain++] = optarg; break;
        case 'm': modinfo[st->nr_modinfo++] = optarg; break;
        case 'h': stamp_usage(stdout); return -1;
        default: stamp_usage(stderr); return 2;
        }
    }
    /* livepatch-build always has an image: only the library leaves the check out. */
    if (!st->in || !st->out || !st->work || !st->name || !st->image || !st->depends ||
        !st->xen_depends || optind != argc) {
        stamp_usage(stderr);
        return 2;
    }
    return 0;
}

/* The facts as one line of JSON members; a payload whose facts cannot be kept goes
 * too, so that a failed step leaves no payload. */
static int write_facts(const char *path, const char *out, const char *facts)
{
    FILE *f = fopen(path, "w");
    int err;

    if (f && fprintf(f, "%s\n", facts) >= 0 && !fclose(f))
        return 0;
    err = errno;
    if (f)
        fclose(f);
    unlink(out);
    return helper_fail(CMD, "cannot write %s: %s", path, strerror(err));
}

int cmd_stamp(int argc, char **argv)
{
    struct lp_stamp st = { 0 };
    struct lp_stamp_result r = { 0 };
    struct lp_error e = { 0 };
    const char *facts = NULL;
    int rc = parse_args(argc, argv, &st, &facts);

    if (rc)
        goto out;
    rc = lp_stamp_payload(&st, &r, &e);
    if (r.warning)
        printf("warning: %s\n", r.warning);
    fflush(stdout);
    if (rc == LP_STAMP_REFUSED)
        fprintf(stderr, "%s\n", e.msg);
    else if (rc)
        rc = helper_fail(CMD, "%s", e.msg);
    else if (facts)
        rc = write_facts(facts, st.out, r.facts);
    if (!rc)
        printf("build-id %s\n", r.build_id);
    lp_stamp_result_free(&r);
out:
    free((void *)st.chain);
    free((void *)st.modinfo);
    return rc < 0 ? 0 : rc;
}
