/*
 * twins.c - "layout twins": for a tree built without -g (Debian's Xen is), each
 * changed unit compiled once more with -g, original and patched, so that
 * create-diff-object --dwarf-from can check the data layouts the patched code uses.
 * -g never changes what a unit defines or how its types are laid out, so the
 * twin's DWARF describes the object that was built; the object itself is what the
 * payload is made of, and the twin is read for nothing else.
 *
 * The command that made an object is what livepatch-gcc kept next to it
 * (DIR/.NAME.o.lpcmd: "lpcmd 1", the tree's root then, the folder the compiler ran
 * in, then argv, each word NUL-ended).  It is run again from the tree the object now
 * lives in (a cache entry is built in a temporary folder and renamed), with the old
 * root replaced by the new one in every word, its output and dependency-file
 * options dropped and "-g -o TWIN" added: nothing is written into the tree.
 *
 * Not for: deciding anything about layouts (lib/differ/layout.c does), or objects
 * that have DWARF already (they need no twin).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "livepatch/util.h"
#include "helper.h"
#include "twins.h"

#define TWIN_SUFFIX ".dwarf"

/* Does the ELF object at path have a .debug_info section?  (Unreadable: say yes,
 * so no twin is tried; create-diff-object reports the file itself.) */
static bool has_dwarf(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    Elf *e;
    Elf_Scn *scn = NULL;
    size_t shstrndx;
    bool found = true;

    if (fd < 0)
        return true;
    elf_version(EV_CURRENT);
    e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (e && elf_getshdrstrndx(e, &shstrndx) == 0) {
        found = false;
        while (!found && (scn = elf_nextscn(e, scn))) {
            GElf_Shdr sh;
            const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(e, shstrndx, sh.sh_name) : NULL;
            found = name && !strcmp(name, ".debug_info");
        }
    }
    if (e)
        elf_end(e);
    close(fd);
    return found;
}

/* A kept command: the tree's root when it ran, its folder, and argv (in buf). */
struct kept {
    unsigned char *buf;
    const char *root, *cwd;
    const char **argv;
    size_t argc;
};

static void kept_free(struct kept *k)
{
    free(k->buf);
    free(k->argv);
    memset(k, 0, sizeof(*k));
}

/* Read TREE/DIR/.NAME.o.lpcmd for object o; 0 ok, -1 (why in `why`) otherwise. */
static int kept_read(const char *tree, const char *o, struct kept *k, char *why, size_t size)
{
    const char *slash = strrchr(o, '/');
    char *path = NULL, *p, *end;
    struct lp_error e = { 0 };
    size_t len = 0, n = 0;

    memset(k, 0, sizeof(*k));
    if (asprintf(&path, "%s/%.*s%s.%s.lpcmd", tree, slash ? (int)(slash - o) : 0, o,
                 slash ? "/" : "", slash ? slash + 1 : o) < 0)
        return snprintf(why, size, "out of memory"), -1;
    if (lp_read_file(path, &k->buf, &len, &e)) {
        snprintf(why, size, "no record of its compile command (%s)", path);
        free(path);
        return -1;
    }
    free(path);
    /* "lpcmd 1\n" ROOT "\n" CWD "\n" then NUL-ended words; the last byte must be a
     * NUL, so no strlen below runs past the buffer. */
    p = (char *)k->buf;
    end = p + len;
    if (len < 8 || memcmp(p, "lpcmd 1\n", 8))
        goto bad;
    k->root = p += 8;
    if (!(p = memchr(p, '\n', (size_t)(end - p))))
        goto bad;
    *p++ = '\0';
    k->cwd = p;
    if (!(p = memchr(p, '\n', (size_t)(end - p))))
        goto bad;
    *p++ = '\0';
    if (p >= end || end[-1] != '\0')
        goto bad;
    for (char *w = p; w < end; w += strlen(w) + 1)
        n++;
    if (!(k->argv = calloc(n + 1, sizeof(*k->argv))))
        return kept_free(k), snprintf(why, size, "out of memory"), -1;
    for (char *w = p; w < end; w += strlen(w) + 1)
        k->argv[k->argc++] = w;
    return 0;
bad:
    kept_free(k);
    snprintf(why, size, "its compile record is malformed");
    return -1;
}

/* word with every occurrence of root (as a whole path prefix) replaced by to. */
static char *rebase(const char *word, const char *root, const char *to)
{
    size_t rl = strlen(root), tl = strlen(to), cap = strlen(word) + 1, n = 0;
    char *out;
    const char *w = word, *hit;

    for (hit = word; rl && (hit = strstr(hit, root)); hit += rl)
        cap += tl;
    if (!(out = malloc(cap)))
        return NULL;
    while (rl && (hit = strstr(w, root))) {
        char after = hit[rl];
        size_t pre = (size_t)(hit - w);
        memcpy(out + n, w, pre);
        n += pre;
        if (after == '/' || after == '=' || after == ':' || after == '\0') {
            memcpy(out + n, to, tl);
            n += tl;
        } else {
            memcpy(out + n, root, rl);
            n += rl;
        }
        w = hit + rl;
    }
    strcpy(out + n, w);
    return out;
}

/* Options that name an output of the compile: dropped (the twin writes only -o). */
static int output_option(const char *w)
{
    static const char *const alone[] = { "-MD", "-MMD", "-MP", "-MG", NULL };
    static const char *const with_next[] = { "-o", "-MF", "-MT", "-MQ", NULL };
    size_t i;

    for (i = 0; alone[i]; i++)
        if (!strcmp(w, alone[i]))
            return 1;
    for (i = 0; with_next[i]; i++) {
        if (!strcmp(w, with_next[i]))
            return 2;
        if (!strncmp(w, with_next[i], strlen(with_next[i])))
            return 1;
    }
    if (!strncmp(w, "-Wp,-MD,", 8) || !strncmp(w, "-Wp,-MMD,", 9) ||
        !strncmp(w, "-save-temps", 11) || !strncmp(w, "-fstack-usage", 13) ||
        !strncmp(w, "-fdump-", 7) || !strncmp(w, "-fcallgraph-info", 16))
        return 1;
    return 0;
}

struct twin {
    const char *o, *side, *tree;  /* object, "original"/"patched", tree it lives in */
    char *out, *log;
    pid_t pid;
};

/* Start the twin compile of t; 0 started, -1 not (why in `why`). */
static int twin_start(struct twin *t, char *why, size_t size)
{
    struct kept k;
    const char **argv;
    char *dir = NULL;
    size_t i, n = 0;

    if (kept_read(t->tree, t->o, &k, why, size))
        return -1;
    if (!(argv = calloc(k.argc + 4, sizeof(*argv))) ||
        asprintf(&dir, "%s/%s", t->tree, k.cwd) < 0) {
        free(argv);
        kept_free(&k);
        return snprintf(why, size, "out of memory"), -1;
    }
    for (i = 0; i < k.argc; i++) {
        int skip = i ? output_option(k.argv[i]) : 0;
        if (skip) {
            i += (size_t)skip - 1;
            continue;
        }
        if (!(argv[n] = rebase(k.argv[i], k.root, t->tree))) {
            snprintf(why, size, "out of memory");
            goto fail;
        }
        n++;
    }
    argv[n] = "-g";
    argv[n + 1] = "-o";
    argv[n + 2] = t->out;
    fflush(NULL);
    t->pid = fork();
    if (t->pid == 0) {
        int fd = open(t->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        signal(SIGPIPE, SIG_DFL);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || chdir(dir))
            _exit(126);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (t->pid < 0)
        snprintf(why, size, "cannot fork: %s", strerror(errno));
fail:
    for (i = 0; i < n; i++)   /* the rebased words; the three added ones are constants */
        free((char *)argv[i]);
    free(argv);
    free(dir);
    kept_free(&k);
    return t->pid > 0 ? 0 : -1;
}

int helper_layout_twins(const char *cmd, const char *work, char *const *objs, int nobj,
                        const char *const *orig_tree, const char *patched_tree, long jobs)
{
    struct twin *t = calloc((size_t)nobj * 2 + 1, sizeof(*t));
    int nt = 0, made = 0, i, next = 0, running = 0;
    char why[512];

    if (!t)
        return helper_fail(cmd, "out of memory"), -1;
    /* The pairs that need one: a side whose object has no DWARF. */
    for (i = 0; i < nobj; i++) {
        for (int s = 0; s < 2; s++) {
            const char *side = s ? "patched" : "original";
            char *obj = NULL;
            bool need;

            if (asprintf(&obj, "%s/%s/%s", work, side, objs[i]) < 0)
                continue;
            need = !has_dwarf(obj);
            if (need && asprintf(&t[nt].out, "%s%s", obj, TWIN_SUFFIX) > 0 &&
                asprintf(&t[nt].log, "%s/logs/%s%s-%s.log", work, objs[i], TWIN_SUFFIX, side) > 0) {
                t[nt].o = objs[i];
                t[nt].side = side;
                t[nt].tree = s ? patched_tree : orig_tree[i];
                unlink(t[nt].out);
                nt++;
            } else if (need) {
                free(t[nt].out);
                t[nt].out = NULL;
            }
            free(obj);
        }
    }
    if (nt)
        fprintf(stderr, "layout twins: %d unit(s) without DWARF compiled again with -g\n", nt);
    while (next < nt || running) {
        if (next < nt && running < jobs) {
            struct twin *x = &t[next++];
            char *parent = strdup(x->log);
            if (!parent || helper_make_parent(parent) || twin_start(x, why, sizeof(why))) {
                fprintf(stderr, "layout twin of %s (%s) not made: %s\n", x->o, x->side,
                        parent ? why : "out of memory");
                x->pid = 0;
            } else {
                running++;
            }
            free(parent);
            continue;
        }
        int st;
        pid_t pid = wait(&st);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (i = 0; i < nt; i++) {
            if (t[i].pid != pid)
                continue;
            running--;
            t[i].pid = 0;
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
                made++;
            } else {
                fprintf(stderr, "layout twin of %s (%s) failed (see %s): its layouts are "
                        "not checked\n", t[i].o, t[i].side, t[i].log);
                unlink(t[i].out);
            }
        }
    }
    for (i = 0; i < nt; i++) {
        free(t[i].out);
        free(t[i].log);
    }
    free(t);
    return made;
}
