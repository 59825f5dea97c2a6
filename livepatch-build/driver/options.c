/*
 * options.c - how a run is asked for: the command line (the options and exit
 * status of Xen's livepatch-build, so existing scripts keep working), the
 * .config it builds for, the helper programs and the compiler and binutils it
 * builds with.  Every refusal here comes before anything is written.
 *
 * Not for: the checks of the patches' paths (patch.c) or of OUTDIR (main.c).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"

static const char usage_text[] =
    "usage: livepatch-build -s SRCDIR -p PATCH -c CONFIG -o OUTDIR [options]\n"
    "       livepatch-build --cache-list | --cache-clean [--cache-dir DIR]\n"
    "\n"
    "Build a live-patch payload OUTDIR/<name>.livepatch for the Xen-shaped tree SRCDIR\n"
    "(which holds xen/) from the source patch PATCH, for the build configured by CONFIG.\n"
    "SRCDIR is never modified: the builds run in a copy.\n"
    "\n"
    "  -h, --help             show this help and exit\n"
    "      --version          show the version and exit\n"
    "  -s, --srcdir DIR       source tree (holds xen/)\n"
    "  -p, --patch FILE       source patch (patch -p1); repeat to combine several patches\n"
    "                         into one cumulative payload named after the first\n"
    "  -c, --config FILE      .config of the running build (needs CONFIG_LIVEPATCH=y)\n"
    "  -o, --output DIR       output directory (must not exist, or be empty)\n"
    "  -j, --cpus N           parallel jobs for make and for diffing (default: all CPUs)\n"
    "  -k, --skip build|diff  skip the build phase (reuse OUTDIR's objects) or the diff phase\n"
    "  -d, --debug            debug output from create-diff-object; keep the work trees\n"
    "      --xen-debug        build a debug hypervisor (when CONFIG does not say)\n"
    "      --xen-syms FILE    the image to patch (default: SRCDIR/xen/xen-syms if built,\n"
    "                         else the image of the unpatched build)\n"
    "      --depends ID|FILE  build id this payload stacks on: hex, or a payload file to\n"
    "                         read it from (default: the image's build id)\n"
    "      --xen-depends ID|FILE\n"
    "                         the hypervisor's build id: hex, or an image file (xen-syms,\n"
    "                         xen.gz or xen.efi) to read it from (default: the image's)\n"
    "      --prelink          resolve references to the image at build time\n"
    "      --strip            remove every symbol not needed for relocation\n"
    "      --metadata KEY=VALUE\n"
    "                         add KEY=VALUE to the payload's .modinfo (repeatable)\n"
    "      --json FILE        write a JSON summary of the build to FILE\n"
    "      --stack            build a series: every patch (-p and extra arguments) gives its\n"
    "                         own payload, each depending on the one before\n"
    "      --no-fix-lines     do not add #line directives that keep the line numbers of code\n"
    "                         below a hunk unchanged\n"
    "      --cache-dir DIR    where unpatched builds are kept for reuse\n"
    "                         (default: $LIVEPATCH_BUILD_CACHE or ~/.cache/livepatch-build)\n"
    "      --no-cache         build the unpatched tree privately and discard it afterwards\n"
    "      --cache-max SIZE   size limit of the cache (K, M, G suffixes; default\n"
    "                         $LIVEPATCH_BUILD_CACHE_MAX or 4G): the least recently used\n"
    "                         builds are removed when a new one is added\n"
    "      --cache-list       list the cached builds (key, size, last use, source tree),\n"
    "                         their total and the limit, and exit\n"
    "      --cache-clean      remove every cached build no running build uses, and exit\n"
    "      --allow-layout-change TYPE\n"
    "                         a reviewed exception: a changed layout of TYPE (e.g.\n"
    "                         'struct domain') that patched code uses is a warning, not a\n"
    "                         refusal; recorded in .modinfo (repeatable)\n"
    "      --sign KEY.pem     sign every payload written (RSA, .note.Xen.signature), then\n"
    "                         check it again with the signature verified\n"
    "      --signature-format current|xenserver\n"
    "                         the signature note's form (default: current, note type 1)\n"
    "\n"
    "Exit status: 0 payload written, 1 failure.\n"
;

/* --- paths ------------------------------------------------------------------------------ */

static bool is_dir(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

char *abspath(const char *path)
{
    struct strv parts = { 0 };
    char cwd[PATH_MAX], *p, *tok, *save = NULL, *res = NULL, *real;
    size_t i, len = 1, keep;

    if (path[0] == '/') {
        p = strdup(path);
    } else {
        if (!getcwd(cwd, sizeof(cwd)))
            die("cannot read the current folder: %s", strerror(errno));
        if (asprintf(&p, "%s/%s", cwd, path) < 0)
            p = NULL;
    }
    if (!p)
        die("out of memory");
    /* "." and empty parts go, ".." takes the part before it (as written, not as
     * linked: what exists is resolved below). */
    for (tok = strtok_r(p, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (!strcmp(tok, "."))
            continue;
        if (!strcmp(tok, "..")) {
            if (parts.n)
                free(parts.v[--parts.n]);
            continue;
        }
        strv_push(&parts, tok);
    }
    free(p);
    for (i = 0; i < parts.n; i++)
        len += strlen(parts.v[i]) + 1;
    /* The longest prefix that is a folder, resolved physically; the rest as written. */
    for (keep = parts.n + 1; keep-- > 0;) {
        char *pre = calloc(1, len + 1);

        if (!pre)
            die("out of memory");
        for (i = 0; i < keep; i++) {
            strcat(pre, "/");
            strcat(pre, parts.v[i]);
        }
        if (!keep)
            strcpy(pre, "/");
        if (!is_dir(pre)) {
            free(pre);
            continue;
        }
        real = realpath(pre, NULL);
        if (!real)
            real = strdup(pre);
        free(pre);
        if (!real || !(res = calloc(1, strlen(real) + len + 1)))
            die("out of memory");
        strcpy(res, strcmp(real, "/") ? real : "");
        for (i = keep; i < parts.n; i++) {
            strcat(res, "/");
            strcat(res, parts.v[i]);
        }
        if (!res[0])
            strcpy(res, "/");
        free(real);
        break;
    }
    strv_free(&parts);
    return res;
}

void payload_name(const char *patch, char name[128])
{
    const char *base = strrchr(patch, '/');
    char *n = strdup(base ? base + 1 : patch), *dot;
    size_t i;

    if (!n)
        die("out of memory");
    /* Upstream's rule: the last extension goes when the name says patch or diff. */
    if ((strstr(n, ".patch") || strstr(n, ".diff")) && (dot = strrchr(n, '.')))
        *dot = '\0';
    for (i = 0; n[i]; i++)
        if (!isalnum((unsigned char)n[i]) && n[i] != '_' && n[i] != '-')
            n[i] = '-';
    snprintf(name, 128, "%.127s", n);
    free(n);
}

/* --- options ----------------------------------------------------------------------------- */

/* Online CPUs, from sysfs ("0-3,8"), as getconf would count them. */
static long count_cpus(void)
{
    FILE *f = fopen("/sys/devices/system/cpu/online", "r");
    char line[4096], *tok, *save = NULL;
    long n = 0;

    if (f) {
        if (fgets(line, sizeof(line), f))
            for (tok = strtok_r(line, ",\n", &save); tok; tok = strtok_r(NULL, ",\n", &save)) {
                long a, z;
                int k = sscanf(tok, "%ld-%ld", &a, &z);

                n += k == 2 ? z - a + 1 : 1;
            }
        fclose(f);
    }
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

struct opt {
    const char *name;   /* long name */
    char short_name;    /* or 0 */
    bool arg;
};

static const struct opt opts[] = {
    { "help", 'h', false },         { "version", 0, false },       { "srcdir", 's', true },
    { "patch", 'p', true },         { "config", 'c', true },       { "output", 'o', true },
    { "cpus", 'j', true },          { "skip", 'k', true },         { "debug", 'd', false },
    { "xen-debug", 0, false },      { "xen-syms", 0, true },       { "depends", 0, true },
    { "xen-depends", 0, true },     { "prelink", 0, false },       { "strip", 0, false },
    { "metadata", 0, true },        { "json", 0, true },           { "stack", 0, false },
    { "no-fix-lines", 0, false },   { "cache-dir", 0, true },      { "no-cache", 0, false },
    { "cache-max", 0, true },       { "cache-list", 0, false },    { "cache-clean", 0, false },
    { "sign", 0, true },            { "signature-format", 0, true },
    { "allow-layout-change", 0, true },
};
#define NR_OPTS (sizeof(opts) / sizeof(opts[0]))

static void bad_option(const char *fmt, const char *what)
{
    fprintf(stderr, "%s: ", PROG);
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    die("getopt failed (see --help)");
}

/* GNU getopt's rules: bundled short options (-dj2), values attached or separate,
 * --long=value, unambiguous abbreviations, operands anywhere. */
static const struct opt *find_long(const char *name, size_t len)
{
    const struct opt *hit = NULL;
    size_t i, hits = 0;

    for (i = 0; i < NR_OPTS; i++) {
        if (strncmp(opts[i].name, name, len))
            continue;
        if (strlen(opts[i].name) == len)
            return &opts[i];
        hit = &opts[i];
        hits++;
    }
    return hits == 1 ? hit : hits ? &opts[NR_OPTS] : NULL;   /* one past: ambiguous */
}

static void set_option(struct lpb *b, const struct opt *o, const char *v);

void options_parse(struct lpb *b, int argc, char **argv)
{
    struct strv operands = { 0 };
    int i;

    b->cpus = count_cpus();
    b->fix_lines = true;
    b->sign_format = "current";
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "--")) {
            for (i++; i < argc; i++)
                strv_push(&operands, argv[i]);
            break;
        }
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            char shown[256];
            const struct opt *o = find_long(name, len);

            snprintf(shown, sizeof(shown), "%.*s", (int)len, name);
            if (!o)
                bad_option("unrecognized option '--%s'", shown);
            if (o == &opts[NR_OPTS])
                bad_option("option '--%s' is ambiguous", shown);
            if (o->arg) {
                if (!eq && i + 1 >= argc)
                    bad_option("option '--%s' requires an argument", o->name);
                set_option(b, o, eq ? eq + 1 : argv[++i]);
            } else {
                if (eq)
                    bad_option("option '--%s' doesn't allow an argument", o->name);
                set_option(b, o, NULL);
            }
            continue;
        }
        if (a[0] == '-' && a[1]) {
            for (a++; *a; a++) {
                const struct opt *o = NULL;
                char c[2] = { *a, 0 };
                size_t k;

                for (k = 0; k < NR_OPTS; k++)
                    if (opts[k].short_name == *a)
                        o = &opts[k];
                if (!o)
                    bad_option("invalid option -- '%s'", c);
                if (!o->arg) {
                    set_option(b, o, NULL);
                    continue;
                }
                if (a[1]) {
                    set_option(b, o, a + 1);
                } else {
                    if (i + 1 >= argc)
                        bad_option("option requires an argument -- '%s'", c);
                    set_option(b, o, argv[++i]);
                }
                break;
            }
            continue;
        }
        strv_push(&operands, a);
    }
    if (operands.n) {
        size_t k;

        if (!b->stack)
            die("unexpected argument '%s' (more patches need -p, or --stack)", operands.v[0]);
        for (k = 0; k < operands.n; k++)
            strv_push(&b->patches, operands.v[k]);
    }
    strv_free(&operands);
}

static const char *srcarg, *configarg, *outputarg, *cpusarg, *skiparg;

static void set_option(struct lpb *b, const struct opt *o, const char *v)
{
    const char *n = o->name;

    if (!strcmp(n, "help")) {
        fputs(usage_text, stdout);
        exit(0);
    } else if (!strcmp(n, "version")) {
        printf("%s %s\n", PROG, LP_VERSION);
        exit(0);
    } else if (!strcmp(n, "srcdir")) {
        srcarg = v;
    } else if (!strcmp(n, "patch")) {
        strv_push(&b->patches, v);
    } else if (!strcmp(n, "config")) {
        configarg = v;
    } else if (!strcmp(n, "output")) {
        outputarg = v;
    } else if (!strcmp(n, "cpus")) {
        cpusarg = v;
    } else if (!strcmp(n, "skip")) {
        skiparg = v;
    } else if (!strcmp(n, "debug")) {
        b->debug = true;
    } else if (!strcmp(n, "xen-debug")) {
        b->xen_debug = true;
    } else if (!strcmp(n, "xen-syms")) {
        free(b->xensyms);
        b->xensyms = abspath(v);
        if (!is_file(b->xensyms))
            die("xen-syms file does not exist: %s", v);
    } else if (!strcmp(n, "depends")) {
        b->depends = v;
    } else if (!strcmp(n, "xen-depends")) {
        b->xen_depends = v;
    } else if (!strcmp(n, "prelink")) {
        b->prelink = true;
    } else if (!strcmp(n, "strip")) {
        b->strip = true;
    } else if (!strcmp(n, "metadata")) {
        const char *eq = strchr(v, '=');

        if (!eq || eq == v || strchr(v, '\n'))
            die("--metadata wants KEY=VALUE, got '%s'", v);
        strv_push(&b->metadata, v);
    } else if (!strcmp(n, "json")) {
        free(b->json);
        b->json = abspath(v);
    } else if (!strcmp(n, "stack")) {
        b->stack = true;
    } else if (!strcmp(n, "no-fix-lines")) {
        b->fix_lines = false;
    } else if (!strcmp(n, "cache-dir")) {
        free(b->cache_dir);
        b->cache_dir = abspath(v);
    } else if (!strcmp(n, "no-cache")) {
        b->no_cache = true;
    } else if (!strcmp(n, "cache-max")) {
        b->cache_max = v;
    } else if (!strcmp(n, "cache-list") || !strcmp(n, "cache-clean")) {
        enum cache_cmd c = n[6] == 'l' ? CACHE_CMD_LIST : CACHE_CMD_CLEAN;

        if (b->cache_cmd && b->cache_cmd != c)
            die("--cache-list and --cache-clean exclude each other");
        b->cache_cmd = c;
    } else if (!strcmp(n, "allow-layout-change")) {
        if (!v[0] || strchr(v, '\n'))
            die("--allow-layout-change wants a type name");
        strv_push(&b->allow_layout, v);
    } else if (!strcmp(n, "sign")) {
        free(b->sign_key);
        b->sign_key = abspath(v);
        if (!is_file(b->sign_key) || access(b->sign_key, R_OK))
            die("--sign: cannot read the key %s", v);
    } else if (!strcmp(n, "signature-format")) {
        if (strcmp(v, "current") && strcmp(v, "xenserver"))
            die("--signature-format wants current or xenserver, got '%s'", v);
        b->sign_format = v;
    }
}

/* --- tools --------------------------------------------------------------------------------- */

/* A helper program: on PATH first (so a test or install can choose), then next to
 * this program, then where an install keeps the programs users do not run. */
static char *find_tool(const char *t)
{
    const char *path = getenv("PATH");
    char *dirs = strdup(path ? path : ""), *d, *save = NULL, *p = NULL, self[PATH_MAX];
    ssize_t n;

    if (!dirs)
        die("out of memory");
    for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        if (asprintf(&p, "%s/%s", d, t) < 0)
            die("out of memory");
        if (is_file(p) && !access(p, X_OK)) {
            char *a = d[0] == '/' ? p : abspath(p);

            if (a != p)
                free(p);
            free(dirs);
            return a;
        }
        free(p);
    }
    free(dirs);
    if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
        static const char *const rel[] = { "", "/../libexec/livepatch-tools" };
        size_t k;

        self[n] = '\0';
        *strrchr(self, '/') = '\0';
        for (k = 0; k < 2; k++) {
            if (asprintf(&p, "%s%s/%s", self, rel[k], t) < 0)
                die("out of memory");
            if (is_file(p) && !access(p, X_OK)) {
                char *a = abspath(p);
                free(p);
                return a;
            }
            free(p);
        }
    }
    return NULL;
}

static char *tool(const char *t, const char *why)
{
    char *p = find_tool(t);

    if (!p)
        die("can't find supporting tools: %s%s", t, why);
    return p;
}

/* On PATH (for ld and objcopy: they are only checked for). */
static bool on_path(const char *t)
{
    char *p = find_tool(t);

    free(p);
    return p != NULL;
}

static char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);

    return strdup(v ? v : dflt);
}

/* The compiler's --version (a CC of several words is run as a command line). */
static void compiler_version(struct lpb *b)
{
    struct strv argv = { 0 };
    char *cc = strdup(b->real_cc), *tok, *save = NULL, *text = NULL, *nl;
    size_t len;
    int rc;

    for (tok = strtok_r(cc, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
        strv_push(&argv, tok);
    free(cc);
    strv_push(&argv, "--version");
    {
        /* (its complaints are not the user's: "does not run" says it) */
        struct run_opts o = { .quiet = true };

        rc = argv.n > 1 ? run_capture(strv_argv(&argv), false, &o, &text) : -1;
    }
    strv_free(&argv);
    /* (a compiler that prints its version and then fails still told it) */
    if (rc < 0 || !text || !text[0]) {
        free(text);
        die("compiler '%s' does not run", b->real_cc);
    }
    /* All of it without the final newline (the cache key); the first line (.modinfo). */
    len = strlen(text);
    if (len && text[len - 1] == '\n')
        text[len - 1] = '\0';
    b->cc_version_all = text;
    b->cc_version = strdup(text);
    if ((nl = strchr(b->cc_version, '\n')))
        *nl = '\0';
}

static void read_config(struct lpb *b)
{
    FILE *f = fopen(b->config, "r");
    char *line = NULL;
    size_t cap = 0;
    bool livepatch = false;

    if (!f)
        die(".config does not exist: %s", configarg);
    while (getline(&line, &cap, f) >= 0) {
        if (!strncmp(line, "CONFIG_LIVEPATCH=y", 18))
            livepatch = true;
        if (strstr(line, "CONFIG_DEBUG"))
            b->config_mentions_debug = true;
        if (!strncmp(line, "CONFIG_DEBUG=y", 14))
            b->config_debug_y = true;
    }
    free(line);
    fclose(f);
    if (!livepatch)
        die("CONFIG_LIVEPATCH must be enabled in %s", configarg);
}

static bool positive_number(const char *s)
{
    if (!s || *s < '1' || *s > '9')
        return false;
    while (isdigit((unsigned char)*s))
        s++;
    return !*s;
}

void options_check(struct lpb *b)
{
    size_t i;

    cleanup_keep(b->debug);
    if (!srcarg)
        die("Xen directory not given (-s)");
    if (!b->patches.n)
        die("Patchfile not given (-p)");
    if (!configarg)
        die(".config not given (-c)");
    if (!outputarg)
        die("Output directory not given (-o)");
    if (cpusarg) {
        if (!positive_number(cpusarg) || strlen(cpusarg) > 6)
            die("--cpus wants a positive number, got '%s'", cpusarg);
        b->cpus = strtol(cpusarg, NULL, 10);
    }
    if (skiparg) {
        if (!strcmp(skiparg, "build"))
            b->skip = SKIP_BUILD;
        else if (!strcmp(skiparg, "diff"))
            b->skip = SKIP_DIFF;
        else
            die("--skip wants 'build' or 'diff', got '%s'", skiparg);
    }
    if (b->stack && b->skip)
        die("--skip cannot be combined with --stack");

    b->srcdir = abspath(srcarg);
    b->config = abspath(configarg);
    b->output = abspath(outputarg);
    for (i = 0; i < b->patches.n; i++) {
        char *p = b->patches.v[i];

        if (!is_file(p))
            die("Patchfile does not exist: %s", p);
        b->patches.v[i] = abspath(p);
        free(p);
    }
    if (!is_dir(b->srcdir))
        die("Xen directory does not exist: %s", srcarg);
    {
        char *x;

        if (asprintf(&x, "%s/xen", b->srcdir) < 0)
            die("out of memory");
        if (!is_dir(x))
            die("%s does not look like a Xen tree (no xen/ folder)", srcarg);
        free(x);
    }
    if (!is_file(b->config))
        die(".config does not exist: %s", configarg);
    /* Before anything is written: every file the patches name must be inside SRCDIR. */
    check_patch_paths(b);
    read_config(b);

    b->cdo = tool("create-diff-object", "");
    b->wrapper = tool("livepatch-gcc", "");
    if (b->sign_key)
        b->lptool = tool("livepatch-tool", " (needed by --sign)");

    /* The real compiler: the user's CC (may be a wrapper command such as "ccache gcc"),
     * else the cross compiler CROSS_COMPILE names, as Xen's build would pick it. */
    b->cross = env_or("CROSS_COMPILE", "");
    {
        const char *cc = getenv("CC");

        if (cc && *cc)
            b->real_cc = strdup(cc);
        else if (asprintf(&b->real_cc, "%sgcc", b->cross) < 0)
            die("out of memory");
    }
    b->build_date = getenv("XEN_BUILD_DATE") && *getenv("XEN_BUILD_DATE")
                        ? getenv("XEN_BUILD_DATE") : "livepatch-build";
    b->build_time = getenv("XEN_BUILD_TIME") && *getenv("XEN_BUILD_TIME")
                        ? getenv("XEN_BUILD_TIME") : "00:00:00";
    b->extra_cflags = getenv("EXTRA_CFLAGS") ? getenv("EXTRA_CFLAGS") : "";
    /* The payload is linked (and, for --strip, edited) with the target's binutils, as
     * Xen's build would. */
    if (asprintf(&b->ld, "%sld", b->cross) < 0 || asprintf(&b->objcopy, "%sobjcopy", b->cross) < 0)
        die("out of memory");
    if (!on_path(b->ld) || !on_path(b->objcopy))
        die("can't find %s and %s (binutils for CROSS_COMPILE='%s')", b->ld, b->objcopy, b->cross);
    compiler_version(b);

    /* Upstream's rule for debug builds: a .config that says CONFIG_DEBUG wins, and must
     * agree with --xen-debug; otherwise debug=y|n goes to make. */
    if (b->config_mentions_debug) {
        if (b->xen_debug && !b->config_debug_y)
            die("CONFIG_DEBUG and --xen-debug mismatch");
    } else if (asprintf(&b->make_debug, "debug=%c", b->xen_debug ? 'y' : 'n') < 0) {
        die("out of memory");
    }
}
