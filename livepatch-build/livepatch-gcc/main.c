/*
 * livepatch-gcc - the compiler wrapper livepatch-build puts in CC.  It runs the
 * real compiler (LIVEPATCH_REAL_CC, e.g. "gcc", "ccache gcc", "distcc gcc") with the
 * flags every live-patchable object needs, and records each object it compiles so
 * the driver knows exactly which translation units a patch made the build redo.
 * A C program rather than a script: make starts it once per object, and a shell's
 * start-up would cost more than many compiles' worth of our own work.
 *
 * Not for: deciding whether an object really changed (the driver compares bytes,
 * create-diff-object compares content).
 *
 * Environment (set by livepatch-build; without it the wrapper is a plain pass-through):
 *   LIVEPATCH_REAL_CC   the compiler command, split on spaces (default: gcc)
 *   LIVEPATCH_CFLAGS    extra flags for compiles (-ffunction-sections -fdata-sections)
 *   LIVEPATCH_TREE      absolute root of the tree being built: mapped to "." in debug
 *                       info and __FILE__ so two copies of a tree give the same bytes
 *   LIVEPATCH_CAPTURE   file that gets one line per object compiled (path relative
 *                       to LIVEPATCH_TREE)
 *
 * Exit status: the compiler's (128+N when it was killed by signal N); 127 when it
 * cannot be started; 1 when it compiled but the object cannot be recorded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Append the space-separated words of s to v; returns the copy they live in. */
static char *split_words(const char *s, char **v, int *n)
{
    char *copy = strdup(s ? s : ""), *save = NULL, *w;

    for (w = copy ? strtok_r(copy, " \t", &save) : NULL; w; w = strtok_r(NULL, " \t", &save))
        v[(*n)++] = w;
    return copy;
}

/* At least the number of words of s: its characters that are not blanks. */
static int max_words(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s != ' ' && *s != '\t';
    return n;
}

/* Drop "." and ".." parts and doubled slashes of an absolute path, in place. */
static void normalise(char *p)
{
    char *out = p, *in = p;

    while (*in) {
        while (*in == '/')
            in++;
        if (!*in)
            break;
        char *end = strchrnul(in, '/');
        size_t len = (size_t)(end - in);
        if (len == 1 && in[0] == '.') {
            /* nothing */
        } else if (len == 2 && in[0] == '.' && in[1] == '.') {
            while (out > p && *--out != '/')
                ;
        } else {
            *out++ = '/';
            memmove(out, in, len);
            out += len;
        }
        in = end;
    }
    if (out == p)
        *out++ = '/';
    *out = '\0';
}

/*
 * The object a compile's output becomes: "DIR/NAME.o" itself, or "DIR/NAME.o" for
 * Xen's intermediate "DIR/.NAME.o.tmp" (with CONFIG_ENFORCE_UNIQUE_SYMBOLS the
 * compiler writes that file and `objcopy --redefine-sym` then makes NAME.o from it,
 * renaming the STT_FILE symbol to the source's path).  NULL for anything else.
 */
static char *object_of(const char *out)
{
    const char *slash = strrchr(out, '/'), *base = slash ? slash + 1 : out;
    size_t len = strlen(out), dir = (size_t)(base - out), bl = strlen(base);
    char *obj;

    if (len >= 2 && !strcmp(out + len - 2, ".o"))
        return strdup(out);
    /* ".NAME.o.tmp": at least one character of NAME. */
    if (bl > 7 && base[0] == '.' && !strcmp(base + bl - 6, ".o.tmp") &&
        asprintf(&obj, "%.*s%.*s", (int)dir, out, (int)(bl - 5), base + 1) > 0)
        return obj;
    return NULL;
}

/*
 * Keep the command that made the object ABS in DIR/.NAME.o.lpcmd, so that the same
 * unit can be compiled again later with -g: livepatch-build's "layout twins" for
 * trees built without debug information (see lp-build-helper's twins.c, which reads
 * this).  The file: "lpcmd 1", the tree's root, the folder the compiler ran in
 * (relative to the root), each a line; then the compiler's argv, each word ended by
 * a NUL.  Written to a temporary name and renamed, so a reader never sees half.
 */
static void keep_command(const char *abs, const char *tree, size_t tl, const char *cwd,
                         char *const *v)
{
    const char *slash = strrchr(abs, '/'), *rel = cwd + tl;
    char *path = NULL, *tmp = NULL;
    FILE *f;
    int i;

    if (!slash || asprintf(&path, "%.*s/.%s.lpcmd", (int)(slash - abs), abs, slash + 1) < 0)
        return;
    if (asprintf(&tmp, "%s.%ld", path, (long)getpid()) < 0) {
        free(path);
        return;
    }
    while (*rel == '/')
        rel++;
    if ((f = fopen(tmp, "we"))) {
        fprintf(f, "lpcmd 1\n%.*s\n%s\n", (int)tl, tree, *rel ? rel : ".");
        for (i = 0; v[i]; i++)
            fwrite(v[i], 1, strlen(v[i]) + 1, f);
        if (fclose(f) == 0 && rename(tmp, path) == 0)
            tmp[0] = '\0';
    }
    if (tmp[0])
        unlink(tmp);
    free(tmp);
    free(path);
}

/* Record the object `out` gives (as the compiler was told it) in LIVEPATCH_CAPTURE,
 * if it is a real translation unit's object inside LIVEPATCH_TREE, and keep the
 * command that made it (keep_command). */
static int record(const char *out, char *const *v)
{
    const char *capture = getenv("LIVEPATCH_CAPTURE"), *tree = getenv("LIVEPATCH_TREE");
    const char *base;
    size_t tl;
    char *abs, *obj, cwd[PATH_MAX];
    int fd, rc = 0;

    if (!capture || !*capture || !tree || !*tree || !(obj = object_of(out)))
        return 0;
    base = strrchr(obj, '/') ? strrchr(obj, '/') + 1 : obj;
    /* Link products every build regenerates are never changes. */
    if (!strcmp(base, "built_in.o") || !strcmp(base, "prelink.o") ||
        (strlen(base) > 6 && !strcmp(base + strlen(base) - 6, ".tmp.o"))) {
        free(obj);
        return 0;
    }
    if (!getcwd(cwd, sizeof(cwd)))
        cwd[0] = '\0';
    if (obj[0] == '/')
        abs = strdup(obj);
    else if (!cwd[0] || asprintf(&abs, "%s/%s", cwd, obj) < 0)
        abs = NULL;
    free(obj);
    if (!abs) {
        fprintf(stderr, "livepatch-gcc: cannot record %s: out of memory\n", out);
        return 1;
    }
    normalise(abs);
    tl = strlen(tree);
    while (tl > 1 && tree[tl - 1] == '/')
        tl--;
    if (!strncmp(abs, tree, tl) && abs[tl] == '/') {
        /* One short O_APPEND write per line: parallel compiles never interleave. */
        char *line;
        int n = asprintf(&line, "%s\n", abs + tl + 1);
        /* An object left out of the record would never be diffed: its change would be
         * dropped without a word.  So a record that cannot be written fails the compile. */
        fd = n > 0 ? open(capture, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
        if (fd < 0 || write(fd, line, (size_t)n) != n || close(fd)) {
            fprintf(stderr, "livepatch-gcc: cannot record %s in %s: %s\n", out, capture,
                    n > 0 ? strerror(errno) : "out of memory");
            rc = 1;
        }
        if (n > 0)
            free(line);
        /* Only a compile run inside the tree can be run again from a copy of it. */
        if (!strncmp(cwd, tree, tl) && (cwd[tl] == '/' || !cwd[tl]))
            keep_command(abs, tree, tl, cwd, v);
    }
    free(abs);
    return rc;
}

int main(int argc, char **argv)
{
    const char *real = getenv("LIVEPATCH_REAL_CC"), *tree = getenv("LIVEPATCH_TREE");
    const char *flags = getenv("LIVEPATCH_CFLAGS"), *out = NULL;
    bool compile = false;
    char **v, *map = NULL, *words[2] = { NULL, NULL };
    int i, n = 0, status, rc;
    pid_t pid;

    if (!real || !*real)
        real = "gcc";
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c"))
            compile = true;
        else if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[i + 1];
        else if (!strncmp(argv[i], "-o", 2) && argv[i][2])
            out = argv[i] + 2;
    }
    v = calloc((size_t)(max_words(real) + max_words(flags) + argc + 2), sizeof(*v));
    if (!v)
        return 127;
    words[0] = split_words(real, v, &n);
    if (!n) {
        fprintf(stderr, "livepatch-gcc: LIVEPATCH_REAL_CC names no compiler\n");
        rc = 127;
        goto out;
    }
    if (compile) {
        words[1] = split_words(flags, v, &n);
        if (tree && *tree && asprintf(&map, "-ffile-prefix-map=%s=.", tree) > 0)
            v[n++] = map;
    }
    for (i = 1; i < argc; i++)
        v[n++] = argv[i];
    v[n] = NULL;

    if (!compile || !out || !getenv("LIVEPATCH_CAPTURE")) {
        execvp(v[0], v);
        fprintf(stderr, "livepatch-gcc: cannot run %s: %s\n", v[0], strerror(errno));
        rc = 127;
        goto out;
    }
    pid = fork();
    if (pid == 0) {
        execvp(v[0], v);
        fprintf(stderr, "livepatch-gcc: cannot run %s: %s\n", v[0], strerror(errno));
        _exit(127);
    }
    if (pid < 0) {
        fprintf(stderr, "livepatch-gcc: cannot fork: %s\n", strerror(errno));
        rc = 127;
    } else {
        while ((rc = (int)waitpid(pid, &status, 0)) < 0 && errno == EINTR)
            ;
        if (rc < 0)
            rc = 127;
        else if (WIFSIGNALED(status))
            rc = 128 + WTERMSIG(status);
        else
            rc = WEXITSTATUS(status);
    }
    if (rc == 0)
        rc = record(out, v);
out:
    free(words[0]);
    free(words[1]);
    free(map);
    free(v);
    return rc;
}
