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
 *   LIVEPATCH_TWIN      "1": a recorded compile without -g also makes the object's
 *                       layout twin (the unit with debug information, for
 *                       create-diff-object's layout check; see driver/twins.c),
 *                       DIR/.NAME.o.twin.o, by a second compiler run alongside the
 *                       first, so that the twin costs no time after the build.  For
 *                       the patched builds of a tree built without -g.
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

#include "../driver/twins.h"

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
 * a NUL.  When this compile made the twin too (twin: its name in DIR), "lpcmd 2" and
 * that name as a fourth line: a twin the record does not name is no twin of this
 * object.  Written to a temporary name and renamed, so a reader never sees half.
 */
static void keep_command(const char *abs, const char *tree, size_t tl, const char *cwd,
                         char *const *v, const char *twin)
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
        if (twin)
            fprintf(f, "lpcmd 2\n%.*s\n%s\n%s\n", (int)tl, tree, *rel ? rel : ".", twin);
        else
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

/*
 * The object `out` gives (as the compiler was told it), as an absolute path, if it is
 * one to record: a real translation unit's object inside LIVEPATCH_TREE.  NULL if not
 * (*oom set when that is for want of memory).  *tl: the tree's length in the path.
 */
static char *recorded_object(const char *out, const char *tree, size_t *tl, bool *oom)
{
    const char *capture = getenv("LIVEPATCH_CAPTURE"), *base;
    char *abs, *obj, cwd[PATH_MAX];

    *oom = false;
    if (!capture || !*capture || !tree || !*tree || !(obj = object_of(out)))
        return NULL;
    base = strrchr(obj, '/') ? strrchr(obj, '/') + 1 : obj;
    /* Link products every build regenerates are never changes. */
    if (!strcmp(base, "built_in.o") || !strcmp(base, "prelink.o") ||
        (strlen(base) > 6 && !strcmp(base + strlen(base) - 6, ".tmp.o"))) {
        free(obj);
        return NULL;
    }
    if (obj[0] == '/')
        abs = strdup(obj);
    else if (!getcwd(cwd, sizeof(cwd)) || asprintf(&abs, "%s/%s", cwd, obj) < 0)
        abs = NULL;
    free(obj);
    if (!abs) {
        *oom = true;
        return NULL;
    }
    normalise(abs);
    *tl = strlen(tree);
    while (*tl > 1 && tree[*tl - 1] == '/')
        (*tl)--;
    if (strncmp(abs, tree, *tl) || abs[*tl] != '/') {
        free(abs);
        return NULL;
    }
    return abs;
}

/* Is the compiler's folder inside the tree (so the compile can be run again from a
 * copy of it)? */
static bool cwd_in_tree(const char *tree, size_t tl, char *cwd, size_t size)
{
    if (!getcwd(cwd, size))
        return false;
    return !strncmp(cwd, tree, tl) && (cwd[tl] == '/' || !cwd[tl]);
}

/* Record the object abs (see recorded_object) in LIVEPATCH_CAPTURE and keep the
 * command that made it (keep_command), naming the twin made with it, if any. */
static int record(const char *out, const char *abs, const char *tree, size_t tl,
                  char *const *v, const char *twin)
{
    const char *capture = getenv("LIVEPATCH_CAPTURE");
    char cwd[PATH_MAX], *line;
    int fd, rc = 0;
    /* One short O_APPEND write per line: parallel compiles never interleave. */
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
    if (cwd_in_tree(tree, tl, cwd, sizeof(cwd)))
        keep_command(abs, tree, tl, cwd, v, twin);
    return rc;
}

/* Does the compile ask for debug information (any -g option but -g0)?  Then its
 * object has DWARF and needs no twin. */
static bool wants_debug(char *const *v)
{
    for (; *v; v++)
        if (!strncmp(*v, "-g", 2) && strcmp(*v, "-g0"))
            return true;
    return false;
}

/*
 * Start the twin compile of the object abs (LIVEPATCH_TWIN): v without its output
 * options, plus LP_TWIN_FLAGS and "-o TMP", TMP beside the twin's name (*tmp, *twin
 * malloc'd); its messages go nowhere (the compile itself says what is wrong with the
 * unit).  Returns the child's pid, or -1 (then no twin, and nothing to say).
 */
static pid_t start_twin(const char *abs, char *const *v, char **tmp, char **twin)
{
    static const char *const flags[] = { LP_TWIN_FLAGS, NULL };
    const char *slash = strrchr(abs, '/');
    const char **tv;
    size_t n = 0, i, nv = 0;
    pid_t pid = -1;

    *tmp = *twin = NULL;
    while (v[nv])
        nv++;
    if (!slash || !(tv = calloc(nv + sizeof(flags) / sizeof(flags[0]) + 3, sizeof(*tv))))
        return -1;
    if (asprintf(twin, "%.*s/.%s" LP_TWIN_BESIDE, (int)(slash - abs), abs, slash + 1) < 0) {
        *twin = NULL;
        goto out;
    }
    if (asprintf(tmp, "%s.%ld.tmp", *twin, (long)getpid()) < 0) {
        *tmp = NULL;
        goto out;
    }
    unlink(*twin);
    for (i = 0; i < nv; i++) {
        int skip = i ? lp_twin_output_option(v[i]) : 0;
        if (skip) {
            i += (size_t)skip - 1;
            continue;
        }
        tv[n++] = v[i];
    }
    for (i = 0; flags[i]; i++)
        tv[n++] = flags[i];
    tv[n++] = "-o";
    tv[n++] = *tmp;
    tv[n] = NULL;
    pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execvp(tv[0], (char *const *)tv);
        _exit(127);
    }
out:
    free(tv);
    if (pid < 0) {
        free(*tmp);
        free(*twin);
        *tmp = *twin = NULL;
    }
    return pid;
}

/* Wait for pid; its exit status, 128+N when killed by signal N, 127 when lost. */
static int wait_for(pid_t pid)
{
    int status, r;

    while ((r = (int)waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        return 127;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
    const char *real = getenv("LIVEPATCH_REAL_CC"), *tree = getenv("LIVEPATCH_TREE");
    const char *flags = getenv("LIVEPATCH_CFLAGS"), *out = NULL, *tw = getenv("LIVEPATCH_TWIN");
    bool compile = false, oom = false;
    char **v, *map = NULL, *words[2] = { NULL, NULL }, *abs = NULL, *tmp = NULL, *twin = NULL;
    char cwd[PATH_MAX];
    int i, n = 0, rc;
    size_t tl = 0;
    pid_t pid, twin_pid = -1;

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
    abs = recorded_object(out, tree, &tl, &oom);
    /* The twin, alongside: only for an object whose command is kept (twins.c reads
     * the twin's name there). */
    if (abs && tw && !strcmp(tw, "1") && !wants_debug(v) && cwd_in_tree(tree, tl, cwd, sizeof(cwd)))
        twin_pid = start_twin(abs, v, &tmp, &twin);
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
        rc = wait_for(pid);
    }
    if (twin_pid > 0) {
        /* A twin that failed, or of a compile that failed, is no twin. */
        if (wait_for(twin_pid) || rc || rename(tmp, twin)) {
            unlink(tmp);
            free(twin);
            twin = NULL;
        }
    }
    if (rc == 0 && oom) {
        fprintf(stderr, "livepatch-gcc: cannot record %s: out of memory\n", out);
        rc = 1;
    } else if (rc == 0 && abs) {
        const char *slash = twin ? strrchr(twin, '/') : NULL;
        rc = record(out, abs, tree, tl, v, slash ? slash + 1 : NULL);
    }
out:
    free(abs);
    free(tmp);
    free(twin);
    free(words[0]);
    free(words[1]);
    free(map);
    free(v);
    return rc;
}
