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
 * in, then argv, each word NUL-ended; "lpcmd 2" has the name of the twin made with
 * the object after the folder).  It is run again from the tree the object now
 * lives in (a cache entry is built in a temporary folder and renamed), with the old
 * root replaced by the new one in every word, its output and dependency-file
 * options dropped and LP_TWIN_FLAGS plus "-o TWIN" added: nothing is written into
 * the tree but the cached twin below.
 *
 * What a twin costs: the layout check reads types, members, enumerators, and each
 * carried function's DIE with its parameters, variables and inlined subroutines
 * (lib/differ/layout.c), never a location.  So the twin is compiled without variable
 * tracking (-fno-var-tracking -fno-var-tracking-assignments), which is most of what
 * -g adds to a compile at -O2 (Xen 4.17's grant_table.c: -g alone 1.4x the CPU time
 * of the plain compile, with these 1.15x) and changes neither the code (the same
 * bytes and symbols once the debug sections are stripped) nor any DIE the check reads
 * (the same types, members, parameters, variables and inlined subroutines; only
 * location lists and call-site DIEs go).  The optimisation level is the build's:
 * another one would inline differently, and the check follows inlined subroutines.
 *
 * Where a twin comes from, first found first:
 *   - made with the object: livepatch-gcc under LIVEPATCH_TWIN=1 runs the twin's
 *     compile alongside the object's (the same command and flags) and names the twin
 *     in the object's kept command ("lpcmd 2"); a twin file the record does not name
 *     belongs to an older compile and is not taken;
 *   - an original kept in its cache entry (below);
 *   - compiled here, `jobs` at a time, after the build.
 *
 * The original twin is kept in the cache entry the original object came from (a
 * published entry: its .complete is there), as DIR/.NAME.o.twin-KEY.o beside the
 * object, KEY a hash of the twin's whole command and of the object's bytes: an entry
 * never changes once published, so a later fix of the same unit (or the same fix
 * built again) copies it instead of compiling.  The ".o" ending keeps it out of the
 * targeted builds' copies of the entry (which take no objects); it is written under
 * a temporary name that ends the same way and renamed into place, an older KEY's twin
 * of the same unit is removed, and so is the entry's .size: the cache's next scan
 * measures the entry again (as for an entry without one), so the size limit counts
 * the twins.
 *
 * Not for: deciding anything about layouts (lib/differ/layout.c does), or objects
 * that have DWARF already (they need no twin).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "livepatch/hash.h"
#include "livepatch/util.h"
#include "helper.h"
#include "twins.h"

#define TWIN_SUFFIX ".dwarf"
/* What the twin compile adds to the kept command (see the top of this file). */
static const char *const twin_flags[] = { LP_TWIN_FLAGS, NULL };
#define NR_TWIN_FLAGS (sizeof(twin_flags) / sizeof(twin_flags[0]) - 1)
/* The cached twin's name beside its object: ".NAME.o" CACHE_MID KEY ".o". */
#define CACHE_MID ".twin-"
#define CACHE_FORMAT "twin 1"

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

/* A kept command: the tree's root when it ran, its folder, the twin livepatch-gcc
 * made with the object ("" when none), and argv (all in buf). */
struct kept {
    unsigned char *buf;
    const char *root, *cwd, *twin;
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
    /* "lpcmd 1\n" ROOT "\n" CWD "\n", or "lpcmd 2\n" ROOT "\n" CWD "\n" TWIN "\n" (the
     * twin's name in the object's folder), then NUL-ended words; the last byte must be
     * a NUL, so no strlen below runs past the buffer. */
    p = (char *)k->buf;
    end = p + len;
    if (len < 8 || (memcmp(p, "lpcmd 1\n", 8) && memcmp(p, "lpcmd 2\n", 8)))
        goto bad;
    k->twin = p[6] == '2' ? NULL : "";
    k->root = p += 8;
    if (!(p = memchr(p, '\n', (size_t)(end - p))))
        goto bad;
    *p++ = '\0';
    k->cwd = p;
    if (!(p = memchr(p, '\n', (size_t)(end - p))))
        goto bad;
    *p++ = '\0';
    if (!k->twin) {
        k->twin = p;
        if (!(p = memchr(p, '\n', (size_t)(end - p))) || strchr(k->twin, '/'))
            goto bad;
        *p++ = '\0';
    }
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

struct twin {
    const char *o, *side, *tree;  /* object, "original"/"patched", tree it lives in */
    char *out, *log;
    const char **argv;            /* the compile; words [0, nr_own) are malloc'd */
    size_t nr_own;
    char *dir;                    /* the folder it runs in */
    char *with;                   /* the twin livepatch-gcc made with the object */
    char *cached;                 /* original side of a cache entry: its kept twin */
    bool reused;                  /* copied from `with` or `cached`, not compiled */
    pid_t pid;
};

static void twin_free(struct twin *t)
{
    size_t i;

    for (i = 0; t->argv && i < t->nr_own; i++)
        free((char *)t->argv[i]);
    free(t->argv);
    free(t->dir);
    free(t->with);
    free(t->cached);
    free(t->out);
    free(t->log);
}

/* The twin compile of t from its kept command (t->argv, t->dir); 0, or -1 (why). */
static int twin_command(struct twin *t, char *why, size_t size)
{
    struct kept k;
    size_t i, n = 0;

    if (kept_read(t->tree, t->o, &k, why, size))
        return -1;
    if (!(t->argv = calloc(k.argc + NR_TWIN_FLAGS + 3, sizeof(*t->argv))) ||
        asprintf(&t->dir, "%s/%s", t->tree, k.cwd) < 0) {
        t->dir = NULL;
        kept_free(&k);
        return snprintf(why, size, "out of memory"), -1;
    }
    for (i = 0; i < k.argc; i++) {
        int skip = i ? lp_twin_output_option(k.argv[i]) : 0;
        if (skip) {
            i += (size_t)skip - 1;
            continue;
        }
        if (!(t->argv[n] = rebase(k.argv[i], k.root, t->tree))) {
            kept_free(&k);
            return snprintf(why, size, "out of memory"), -1;
        }
        t->nr_own = ++n;
    }
    if (k.twin[0]) {
        const char *slash = strrchr(t->o, '/');
        if (asprintf(&t->with, "%s/%.*s%s", t->tree, slash ? (int)(slash - t->o + 1) : 0, t->o,
                     k.twin) < 0)
            t->with = NULL;
    }
    kept_free(&k);
    for (i = 0; twin_flags[i]; i++)
        t->argv[n++] = twin_flags[i];
    t->argv[n++] = "-o";
    t->argv[n] = t->out;
    return 0;
}

/*
 * For an original twin whose object lives in a published cache entry, the name its
 * kept twin has there (t->cached): ".NAME.o" CACHE_MID KEY ".o" beside the object, KEY
 * hashing the twin's command (all but the output) and the object's bytes.  Left NULL
 * otherwise (a patched tree, a user's own tree, an earlier step of a stack).
 */
static void twin_cache_name(struct twin *t)
{
    const char *slash = strrchr(t->o, '/'), *base = slash ? slash + 1 : t->o;
    unsigned char *obj = NULL;
    struct lp_error e = { 0 };
    char *path = NULL;
    size_t len = 0, i;
    uint64_t h;

    if (strcmp(t->side, "original") || asprintf(&path, "%s/.complete", t->tree) < 0)
        return;
    if (access(path, F_OK) == 0) {
        free(path);
        path = NULL;
        if (asprintf(&path, "%s/%s", t->tree, t->o) > 0 && !lp_read_file(path, &obj, &len, &e)) {
            h = lp_hash_bytes(CACHE_FORMAT, sizeof(CACHE_FORMAT), 0);
            h = lp_hash_bytes(t->dir, strlen(t->dir) + 1, h);
            for (i = 0; t->argv[i] && t->argv[i] != t->out; i++)
                if (strcmp(t->argv[i], "-o") || t->argv[i + 1] != t->out)
                    h = lp_hash_bytes(t->argv[i], strlen(t->argv[i]) + 1, h);
            h = lp_hash_bytes(obj, len, h);
            if (asprintf(&t->cached, "%s/%.*s.%s" CACHE_MID "%016" PRIx64 ".o", t->tree,
                         slash ? (int)(slash - t->o + 1) : 0, t->o, base, h) < 0)
                t->cached = NULL;
        }
    }
    free(obj);
    free(path);
}

/* Copy the bytes of src to the new file dst (mode 0644, atomically); 0 or -1. */
static int copy_bytes(const char *src, const char *dst)
{
    unsigned char *buf = NULL;
    struct lp_error e = { 0 };
    size_t len = 0;
    int rc;

    if (lp_read_file(src, &buf, &len, &e))
        return -1;
    rc = lp_write_file(dst, buf, len, 0644, &e);
    free(buf);
    return rc ? -1 : 0;
}

/* Is name "<prefix>" 16 hex digits ".o" (a kept twin of the unit, any KEY)? */
static bool kept_twin_name(const char *name, const char *prefix, size_t pl)
{
    size_t i;

    if (strncmp(name, prefix, pl) || strlen(name) != pl + 18 || strcmp(name + pl + 16, ".o"))
        return false;
    for (i = pl; i < pl + 16; i++)
        if (!strchr("0123456789abcdef", name[i]))
            return false;
    return true;
}

/*
 * Keep the original twin t->out in its cache entry as t->cached: written under a
 * temporary name ending in ".o" (copies of the entry for targeted builds take no
 * objects, so they never meet it) and renamed into place; the unit's twins of other
 * KEYs go, and so does the entry's .size, so that the next look at the cache measures
 * the entry again.  Best effort: a cache this user may only write to in part, or a
 * full disk, leaves the twin unkept, which only costs a compile next time.
 */
static void twin_cache_store(const struct twin *t)
{
    const char *slash = strrchr(t->cached, '/');
    unsigned char *buf = NULL;
    struct lp_error e = { 0 };
    char *tmp = NULL, *dir = NULL, *prefix = NULL, *size = NULL;
    size_t len = 0, pl;
    DIR *d;
    struct dirent *de;
    int fd = -1;
    bool ok = false;

    if (!slash || lp_read_file(t->out, &buf, &len, &e) ||
        asprintf(&tmp, "%.*s.tmp-XXXXXX.o", (int)(strlen(t->cached) - 2), t->cached) < 0) {
        tmp = NULL;
        goto out;
    }
    if ((fd = mkstemps(tmp, 2)) < 0) {
        free(tmp);
        tmp = NULL;
        goto out;
    }
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n <= 0)
            goto out;
        done += (size_t)n;
    }
    if (fchmod(fd, 0644) || close(fd)) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, t->cached))
        goto out;
    ok = true;
    /* Twins of the unit with another KEY (an older tool's flags): of no more use. */
    pl = strlen(slash + 1) - 18;
    if ((dir = strndup(t->cached, (size_t)(slash - t->cached))) &&
        (prefix = strndup(slash + 1, pl)) && (d = opendir(dir))) {
        while ((de = readdir(d)))
            if (strcmp(de->d_name, slash + 1) && kept_twin_name(de->d_name, prefix, pl))
                unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
    }
    if (asprintf(&size, "%s/.size", t->tree) > 0)
        unlink(size);
    else
        size = NULL;
out:
    if (fd >= 0)
        close(fd);
    if (tmp && !ok)
        unlink(tmp);
    free(tmp);
    free(buf);
    free(dir);
    free(prefix);
    free(size);
}

/* Start the twin compile of t; 0 started, -1 not (why in `why`). */
static int twin_start(struct twin *t, char *why, size_t size)
{
    struct helper_child c = { .argv = (const char *const *)t->argv, .dir = t->dir, .in = -1,
                              .out = -1, .log = t->log };

    if ((t->pid = helper_spawn(&c)) < 0) {
        snprintf(why, size, "cannot fork: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int helper_layout_twins(const char *cmd, const char *work, char *const *objs, int nobj,
                        const char *const *orig_tree, const char *patched_tree, long jobs)
{
    struct twin *t = calloc((size_t)nobj * 2 + 1, sizeof(*t));
    int nt = 0, made = 0, with = 0, kept = 0, i, next = 0, running = 0;
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
    /* Their commands.  A twin livepatch-gcc made with the object (its record names
     * it), or an original one its cache entry keeps, is copied from there. */
    for (i = 0; i < nt; i++) {
        if (twin_command(&t[i], why, sizeof(why))) {
            fprintf(stderr, "layout twin of %s (%s) not made: %s\n", t[i].o, t[i].side, why);
            t[i].pid = -1;
            continue;
        }
        if (t[i].with && access(t[i].with, R_OK) == 0 && !copy_bytes(t[i].with, t[i].out)) {
            t[i].reused = true;
            with++;
            continue;
        }
        twin_cache_name(&t[i]);
        if (t[i].cached && access(t[i].cached, R_OK) == 0 && !copy_bytes(t[i].cached, t[i].out)) {
            t[i].reused = true;
            kept++;
        }
    }
    if (nt - with - kept > 0)
        fprintf(stderr, "layout twins: %d unit(s) without DWARF compiled again with -g\n",
                nt - with - kept);
    if (with)
        fprintf(stderr, "layout twins: %d made by livepatch-gcc with the object\n", with);
    if (kept)
        fprintf(stderr, "layout twins: %d kept in the cache with the original build, not "
                        "compiled again\n", kept);
    while (next < nt || running) {
        if (next < nt && running < jobs) {
            struct twin *x = &t[next++];
            char *parent;

            if (x->reused || x->pid < 0) {
                x->pid = 0;
                continue;
            }
            parent = strdup(x->log);
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
                if (t[i].cached)
                    twin_cache_store(&t[i]);
            } else {
                fprintf(stderr, "layout twin of %s (%s) failed (see %s): its layouts are "
                        "not checked\n", t[i].o, t[i].side, t[i].log);
                unlink(t[i].out);
            }
        }
    }
    for (i = 0; i < nt; i++)
        twin_free(&t[i]);
    free(t);
    return made + with + kept;
}
