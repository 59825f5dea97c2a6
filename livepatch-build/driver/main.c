/*
 * livepatch-build - one command from a source patch to a verified live-patch
 * payload: copy the tree, build it unpatched (or reuse that build from the cache)
 * and patched, diff the objects that changed, link the payload, stamp its
 * dependency ids and metadata, and check it with the loader before writing
 * OUTDIR/<name>.livepatch.  Options and exit status follow Xen's livepatch-build,
 * so existing scripts keep working.  SRCDIR is only ever read.
 *
 * Not for: comparing objects by hand (create-diff-object), loading or applying
 * payloads (livepatch-tool).
 *
 * Exit status: 0 payloads written, 1 any failure (as upstream), 129/130/143 when
 * interrupted by SIGHUP/SIGINT/SIGTERM.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "helper.h"
#include "livepatch/buildid.h"
#include "livepatch/util.h"

/* The step modules' failures (helper.h), worded as this program's own. */
int helper_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: %s: ", PROG, cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* --- OUTDIR --------------------------------------------------------------------------------- */

static bool starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/*
 * OUTDIR must not exist, or be empty, or hold only what an earlier run of this tool
 * that did not finish (interrupted, or failed) left in it: its logs, its work-*
 * folders, temporary files of runs that no longer run, and this run's --json file.
 * Those are removed and the build goes on.  Anything else (a payload, a file of the
 * user's) is in the way: refused, naming it.
 */
static void check_output(const struct lpb *b)
{
    struct strv left = { 0 }, others = { 0 };
    struct dirent *de;
    struct stat st;
    DIR *d;
    size_t i;

    if (lstat(b->output, &st) < 0)
        return;
    if (stat(b->output, &st) < 0 || !S_ISDIR(st.st_mode))
        die("Output directory exists and is not a folder: %s", b->output);
    if (!(d = opendir(b->output)))
        die("cannot read %s: %s", b->output, strerror(errno));
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        size_t len = strlen(n);
        char *p;

        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        if (asprintf(&p, "%s/%s", b->output, n) < 0)
            die("out of memory");
        if (!strcmp(n, "build_original.log") ||
            (starts(n, "build_patched-") && len > 4 && !strcmp(n + len - 4, ".log")) ||
            (starts(n, "create-diff-object") && len > 4 && !strcmp(n + len - 4, ".log")) ||
            strstr(n, ".livepatch.tmp.")) {
            strv_push(&left, p);
        } else if (starts(n, "work-")) {
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                strv_push(&left, p);
            else
                strv_push(&others, n);
        } else if (starts(n, ".lp-tmp.")) {
            char pid[32];

            /* ".lp-tmp.PID.START" */
            snprintf(pid, sizeof(pid), "%.*s", (int)strcspn(n + 8, "."), n + 8);
            if (pid_alive(pid) && strtol(pid, NULL, 10) != (long)getpid())
                die("Output directory %s is in use by a running build (pid %s): wait for it, "
                    "or give another -o", b->output, pid);
            strv_push(&left, p);
        } else if (b->json && !strcmp(p, b->json)) {
            strv_push(&left, p);
        } else {
            strv_push(&others, n);
        }
        free(p);
    }
    closedir(d);
    if (others.n) {
        char shown[1024] = "";

        qsort(others.v, others.n, sizeof(*others.v), helper_str_cmp);
        for (i = 0; i < others.n && i < 4; i++)
            snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), "%s%s", i ? " " : "",
                     others.v[i]);
        if (others.n > 4)
            snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), " and %zu more",
                     others.n - 4);
        die("Output directory exists: %s holds %s, which an unfinished run of %s does not "
            "leave; give a new or empty folder", b->output, shown, PROG);
    }
    if (left.n) {
        msg("removing what an earlier run that did not finish left in %s (logs, work folders)",
            b->output);
        for (i = 0; i < left.n; i++) {
            if (lstat(left.v[i], &st) == 0 && S_ISDIR(st.st_mode) ? helper_remove_tree(left.v[i])
                                                                  : unlink(left.v[i]))
                die("cannot remove what an earlier run left in %s", b->output);
        }
    }
    strv_free(&left);
    strv_free(&others);
}

/* A path below root, relative to it, or NULL. */
static char *inside(const char *path, const char *root)
{
    size_t n = strlen(root);

    return !strncmp(path, root, n) && path[n] == '/' && path[n + 1] ? strdup(path + n + 1) : NULL;
}

static void make_work_folder(struct lpb *b)
{
    char *src;

    if (asprintf(&b->tmp, "%s/.lp-tmp.%d.%lld", b->output, (int)getpid(), now_us() - run_us()) < 0 ||
        asprintf(&b->src, "%s/src", b->tmp) < 0)
        die("out of memory");
    /* (noted for removal before it is created: a signal may come in between) */
    cleanup_add(b->tmp);
    src = strdup(b->src);
    if (!src || helper_make_dirs(src)) {
        const char *dirs[] = { b->output };

        write_failed(b, "creating the work folder", "", dirs, 1);
        die("cannot create a work folder in %s", b->output);
    }
    free(src);
}

/* --- build ids ------------------------------------------------------------------------------ */

/* A build id given as hex or as a file to read it from (payload, image, xen.gz, xen.efi). */
static void resolve_id(const char *what, const char *v, char out[HEX_ID_MAX])
{
    struct stat st;
    size_t i, n;

    if (stat(v, &st) == 0 && S_ISREG(st.st_mode)) {
        struct lp_buildid id;
        struct lp_error e = { 0 };

        if (lp_buildid_read(v, &id, &e))
            die("%s: cannot read a build id from %s", what, v);
        lp_hex(id.id, id.len, out);
        return;
    }
    if (!strncmp(v, "0x", 2))
        v += 2;
    n = strlen(v);
    for (i = 0; i < n; i++)
        if (!strchr("0123456789abcdefABCDEF", v[i]))
            break;
    if (!n || i < n || n % 2 || n >= HEX_ID_MAX)
        die("%s: '%s' is neither a hex build id nor a file", what, v);
    for (i = 0; i <= n; i++)
        out[i] = (char)(v[i] >= 'A' && v[i] <= 'F' ? v[i] + 32 : v[i]);
}

/* The image's id, read when first needed (and the dependencies it is the default of). */
static void image_id_ready(struct lpb *b)
{
    struct lp_buildid id;
    struct lp_error e = { 0 };

    if (b->image_id[0])
        return;
    if (lp_buildid_read(b->image, &id, &e))
        die("cannot read the build id of %s: %s", b->image, e.msg);
    lp_hex(id.id, id.len, b->image_id);
    if (!b->xdep[0])
        snprintf(b->xdep, sizeof(b->xdep), "%s", b->image_id);
    if (!b->dep[0])
        snprintf(b->dep, sizeof(b->dep), "%s", b->image_id);
    msg("image %s (build id %s)", b->image, b->image_id);
}

/* --- the steps ------------------------------------------------------------------------------ */

/* Lines of a file written by an earlier run (--skip build). */
static void read_list(const char *work, const char *name, struct strv *into)
{
    char *p, *line = NULL;
    size_t cap = 0;
    FILE *f;

    if (asprintf(&p, "%s/%s", work, name) < 0)
        die("out of memory");
    if ((f = fopen(p, "r"))) {
        ssize_t n;

        while ((n = getline(&line, &cap, f)) >= 0) {
            line[strcspn(line, "\n")] = '\0';
            if (line[0])
                strv_push(into, line);
        }
        fclose(f);
    }
    free(line);
    free(p);
}

static void step_free(struct step *s)
{
    strv_free(&s->patches);
    strv_free(&s->targets);
    strv_free(&s->objs.changed);
    strv_free(&s->objs.fresh);
    strv_free(&s->objs.same);
    strv_free(&s->objs.nochange);
    free(s->desc);
    free(s->work);
    free(s->tree);
    free(s->capture);
    free(s->facts);
    memset(s, 0, sizeof(*s));
}

static void step_setup(struct lpb *b, struct step *s, size_t index)
{
    size_t i;

    step_free(s);
    s->index = index;
    if (b->stack)
        strv_push(&s->patches, b->patches.v[index - 1]);
    else
        for (i = 0; i < b->patches.n; i++)
            strv_push(&s->patches, b->patches.v[i]);
    payload_name(s->patches.v[0], s->name);
    {
        struct strv names = { 0 };

        for (i = 0; i < s->patches.n; i++)
            strv_push(&names, strrchr(s->patches.v[i], '/') + 1);
        s->desc = strv_join(&names, names.n, ", ");
        strv_free(&names);
    }
    if (asprintf(&s->work, "%s/work-%s", b->output, s->name) < 0 ||
        asprintf(&s->tree, "%s/tree-%zu", b->tmp, index) < 0)
        die("out of memory");
}

/* The next step's originals: this tree's objects, then (for those a targeted build did
 * not make) the trees before it.  A full tree makes the older ones useless, except the
 * shared base. */
static void advance_trees(struct lpb *b, const struct step *s)
{
    struct strv next = { 0 };
    size_t i;

    strv_push(&next, s->tree);
    for (i = 0; i < b->prev_trees.n; i++) {
        const char *t = b->prev_trees.v[i];

        if (s->targets.n)
            strv_push(&next, t);
        else if (strcmp(t, b->base) && !b->debug)
            helper_remove_tree(t);
    }
    strv_free(&b->prev_trees);
    b->prev_trees = next;
}

/* The run's state lives as long as the run (and stays reachable to the end, so a
 * leak checker sees only real leaks). */
static struct lpb b;
static struct strv touched;   /* every file the patches touched so far */
static struct step step;

int main(int argc, char **argv)
{
    size_t i;

    proc_init();
    report_init(&b);
    options_parse(&b, argc, argv);
    cache_setup(&b);
    if (b.cache_cmd)
        cache_command(&b);
    options_check(&b);

    if (b.skip != SKIP_BUILD) {
        check_output(&b);
    } else {
        struct stat st;

        if (stat(b.output, &st) < 0 || !S_ISDIR(st.st_mode))
            die("Output directory does not exist: %s (needed by --skip build)", b.output);
    }
    make_work_folder(&b);
    b.out_in_src = inside(b.output, b.srcdir);
    b.cache_in_src = inside(b.cache_root, b.srcdir);

    {
        char first[128];

        payload_name(b.patches.v[0], first);
        b.first_name = strdup(first);
    }
    if (b.stack)
        msg("building live patch %s (stack of %zu)", b.first_name, b.patches.n);
    else
        msg("building live patch %s", b.first_name);
    msg("Xen directory: %s; .config: %s; output: %s; compiler: %s", b.srcdir, b.config,
        b.output, b.real_cc);
    /* Steps: one per payload.  A stack has one step per patch; otherwise all patches go
     * into a single cumulative payload. */
    b.nr_steps = b.stack ? b.patches.n : 1;
    for (i = 0; b.stack && i < b.patches.n; i++) {
        char n1[128], n2[128];
        size_t k;

        payload_name(b.patches.v[i], n1);
        for (k = 0; k < i; k++) {
            payload_name(b.patches.v[k], n2);
            if (!strcmp(n1, n2))
                die("two patches of the stack give the same payload name '%s'", n1);
        }
    }
    if (b.xen_depends)
        resolve_id("--xen-depends", b.xen_depends, b.xdep);
    if (b.depends)
        resolve_id("--depends", b.depends, b.dep);

    if (b.skip == SKIP_BUILD) {
        char *work, *img;
        struct strv lines = { 0 };

        if (asprintf(&work, "%s/work-%s", b.output, b.first_name) < 0 ||
            asprintf(&img, "%s/image", work) < 0)
            die("out of memory");
        {
            char *co;

            if (asprintf(&co, "%s/changed_objs", work) < 0)
                die("out of memory");
            if (access(co, F_OK) || access(img, F_OK))
                die("nothing built in %s to diff (--skip build)", b.output);
            free(co);
        }
        read_list(work, "image", &lines);
        b.image = strdup(lines.n ? lines.v[0] : "");
        strv_free(&lines);
        free(work);
        free(img);
    } else {
        prepare_base(&b);
        strv_push(&b.prev_trees, b.base);
        if (!b.xensyms) {
            char *own;

            if (asprintf(&own, "%s/xen/xen-syms", b.srcdir) < 0)
                die("out of memory");
            if (access(own, F_OK) == 0) {
                b.xensyms = own;
            } else {
                free(own);
                if (asprintf(&b.xensyms, "%s/xen/xen-syms", b.base) < 0)
                    die("out of memory");
            }
        }
        b.image = strdup(b.xensyms);
    }
    {
        struct stat st;

        if (stat(b.image, &st) < 0 || !S_ISREG(st.st_mode))
            die("no image to build against: %s", b.image);
    }
    /* Payloads the loader must see before ours: a predecessor given as a file. */
    if (b.depends && access(b.depends, F_OK) == 0) {
        struct stat st;

        if (stat(b.depends, &st) == 0 && S_ISREG(st.st_mode)) {
            char *p = abspath(b.depends);

            strv_push(&b.check_chain, p);
            free(p);
        }
    }

    for (i = 1; i <= b.nr_steps; i++) {
        struct step *s = &step;
        size_t k;

        step_setup(&b, s, i);
        if (b.stack)
            msg("stack step %zu of %zu: %s", i, b.nr_steps, s->name);
        if (b.skip == SKIP_BUILD) {
            read_list(s->work, "changed_objs", &s->objs.changed);
            read_list(s->work, "new_objs", &s->objs.fresh);
        } else {
            stage_start("prepare:%s", s->name);
            msg("applying %s", s->desc);
            for (k = 0; k < s->patches.n; k++)
                apply_patch(&b, s->patches.v[k], b.src, &touched);
            build_patched(&b, s, &touched);
            if (b.skip == SKIP_DIFF)
                collect_objects(&b, s);
        }
        if (b.skip != SKIP_DIFF) {
            image_id_ready(&b);
            stage_start("diff:%s", s->name);
            run_diffs(&b, s, b.skip != SKIP_BUILD);
            stage_end();
        }
        if (b.skip != SKIP_BUILD)
            advance_trees(&b, s);
        if (b.skip == SKIP_DIFF) {
            msg("build done, diff skipped (-k diff)");
            continue;
        }
        memcpy(s->dep_used, b.dep, sizeof(s->dep_used));
        link_payload(&b, s);
        report_payload(&b, s);
        /* The next payload of a stack stacks on this one. */
        memcpy(b.dep, s->payload_id, sizeof(b.dep));
        strv_pushf(&b.check_chain, "%s/%s.livepatch", b.output, s->name);
    }

    if (b.json) {
        image_id_ready(&b);
        if (report_json(NULL))
            die("cannot write %s", b.json);
    }
    msg("done");
    return 0;
}
