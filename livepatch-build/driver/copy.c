/*
 * tree.c - the tree commands of lp-build-helper: hash the source files of a tree
 * (`tree-key`, the cache key of an unpatched build), copy them (`copy-tree`), and
 * set up the work tree of a patched build (`prepare`).
 *
 * All three go through one walker: a depth-first walk that never follows
 * symbolic links, visits entries in the byte order of their relative paths (what
 * `LC_ALL=C sort` gives the shell), and asks a filter which folders to skip and
 * which entries to take.  Paths are dynamic strings, so depth and length are
 * bounded only by the system.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "helper.h"
#include "livepatch/fixlines.h"
#include "livepatch/util.h"

#define COPY_BUF (1u << 20)

/* --- dynamic strings -------------------------------------------------------------- */

struct str {
    char *s;
    size_t len, cap;
};

static int str_add(struct str *p, const char *s, size_t n)
{
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 256;
        char *t;

        while (cap < p->len + n + 1)
            cap *= 2;
        t = realloc(p->s, cap);
        if (!t)
            return -1;
        p->s = t;
        p->cap = cap;
    }
    memcpy(p->s + p->len, s, n);
    p->len += n;
    p->s[p->len] = '\0';
    return 0;
}

static int str_set(struct str *p, const char *s)
{
    p->len = 0;
    return str_add(p, s, strlen(s));
}

/* Append "/name" (just "name" to an empty string). */
static int str_push(struct str *p, const char *name)
{
    if (p->len && str_add(p, "/", 1) < 0)
        return -1;
    return str_add(p, name, strlen(name));
}

static void str_cut(struct str *p, size_t len)
{
    p->len = len;
    if (p->s)
        p->s[len] = '\0';
}

/* A folder path: "dir/" and "dir" name the same root; "/" stays "/". */
static int str_set_root(struct str *p, const char *s)
{
    if (str_set(p, s) < 0)
        return -1;
    while (p->len > 1 && p->s[p->len - 1] == '/')
        str_cut(p, p->len - 1);
    return 0;
}

/* --- which files -------------------------------------------------------------------- */

enum { T_FILE = 1, T_LINK = 2, T_DIR = 4, T_OTHER = 8 };

/* Name patterns may hold '*' (any run of characters, a leading '.' included, as
 * find -name matches); nothing else is special. */
static int glob_match(const char *pat, const char *s)
{
    const char *star = NULL, *retry = NULL;

    while (*s) {
        if (*pat == '*') {
            star = ++pat;
            retry = s;
        } else if (*pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star;
            s = ++retry;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return !*pat;
}

static int match_any(const char *const *pats, const char *s)
{
    for (; pats && *pats; pats++)
        if (glob_match(*pats, s))
            return 1;
    return 0;
}

static int equal_any(const char *const *strs, const char *s)
{
    for (; strs && *strs; strs++)
        if (!strcmp(*strs, s))
            return 1;
    return 0;
}

struct filter {
    const char *const *prune_names; /* entries of these names: not entered, not taken */
    const char *const *prune_paths; /* the same by relative path (NULL-terminated) */
    const char *const *only_names;  /* when set, only these names are taken */
    const char *const *skip_names;  /* not taken (folders are still entered) */
    const char *const *skip_paths;
    int kbuild_products;            /* NAME is not taken when its folder has .NAME.cmd, */
    const char *const *product_dirs; /* nor anything in these folders (relative paths) */
    int types;                      /* T_* taken; T_DIR visits folders before and after */
};

/* tree_files() of the driver: what counts as the source of a tree. */
static const char *const vcs_names[] = { ".git", ".hg", ".svn", NULL };
static const char *const not_source[] = {
    "*.o", "*.a", "*.d", ".*.d", ".*.cmd", ".*.lpcmd", "*.orig", "*.rej", ".config",
    ".config.old", "xen-syms*", "xen.gz", "xen.efi", "*.livepatch", "xen.efi.map", "System.map",
    ".xen-syms.*", ".xen.efi.*", ".banner", NULL,
};
static const char *const xen_image[] = { "xen/xen", NULL };
/*
 * What a build of a tree made in it, for a tree the user built in place (the usual
 * case: they built the Xen they run): left out of the key and of the copy, so such a
 * tree has the key of its clean copy and its products are never taken for sources.
 * Kbuild's rule covers most of them (a target X is recorded in .X.cmd beside it:
 * kbuild_products); these are the ones Xen 4.x makes without such a record, and the
 * folders that only a build fills (Kconfig's include/config and include/generated, the
 * compat headers generated from the public ones).
 */
static const char *const xen_products[] = {
    "xen/xen", "xen/source", "xen/asm-offsets.s", "xen/common/config.gz",
    "xen/arch/x86/boot/cmdline.bin", "xen/arch/x86/boot/reloc.bin",
    "xen/arch/x86/efi/check.efi", "xen/arch/x86/efi/boot.c", "xen/arch/x86/efi/compat.c",
    "xen/arch/x86/efi/ebmalloc.c", "xen/arch/x86/efi/pe.c", "xen/arch/x86/efi/runtime.c",
    "xen/arch/x86/include/asm/asm-macros.h", "xen/arch/x86/include/asm/asm-offsets.h",
    "xen/include/xen/lib/x86/cpuid-autogen.h", "xen/tools/kconfig/parser.tab.c", NULL,
};
static const char *const xen_generated_dirs[] = {
    "xen/include/config", "xen/include/generated", "xen/include/compat", NULL,
};
/* A built tree less what a build of single objects must not see or reuse. */
static const char *const not_kept[] = {
    "*.o", "*.a", "xen-syms*", "xen.gz", "xen.efi", "*.map", NULL,
};
/* Make's dependency files (-MMD), and Xen's: Kbuild's fixdep turns each object's .d into
 * the ".NAME.o.cmd" beside it, which records the command, the source and the headers. */
static const char *const dep_files[] = { "*.d", ".*.cmd", NULL };

/* --- the walker ------------------------------------------------------------------- */

struct walk;
/* Called for each entry taken (folders: post 0 before the contents, 1 after). */
typedef int (*visit_fn)(struct walk *w, int type, int post);

struct walk {
    const char *cmd;
    const struct filter *flt;
    visit_fn visit;
    void *ctx;
    struct str path;   /* root "/" relative path of the current entry */
    size_t root_len;
};

struct entry {
    char *name;
    size_t len;
    int type;
};

static const char *walk_rel(const struct walk *w)
{
    return w->path.len > w->root_len ? w->path.s + w->root_len + 1 : "";
}

/* A folder sorts as its name plus '/', so that sorting each folder's entries gives
 * the byte order of whole relative paths ("a.c" before "a/x"). */
static int sort_char(const struct entry *e, size_t i)
{
    if (i < e->len)
        return (unsigned char)e->name[i];
    return i == e->len && e->type == T_DIR ? '/' : -1;
}

static int entry_cmp(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    size_t i;

    for (i = 0;; i++) {
        int ca = sort_char(a, i), cb = sort_char(b, i);

        if (ca != cb || ca < 0)
            return ca - cb;
    }
}

static int mode_type(mode_t m)
{
    return S_ISREG(m) ? T_FILE : S_ISLNK(m) ? T_LINK : S_ISDIR(m) ? T_DIR : T_OTHER;
}

static void free_entries(struct entry *e, size_t n)
{
    while (n)
        free(e[--n].name);
    free(e);
}

/* Read, classify and sort the entries of the folder w->path. */
static int read_dir(struct walk *w, struct entry **out, size_t *count)
{
    DIR *d = opendir(w->path.s);
    struct entry *e = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;

    if (!d)
        return helper_fail(w->cmd, "%s: cannot open folder: %s", w->path.s, strerror(errno));
    for (;;) {
        errno = 0;
        if (!(de = readdir(d)))
            break;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            struct entry *t = realloc(e, (cap = cap ? cap * 2 : 64) * sizeof(*e));
            if (!t)
                goto nomem;
            e = t;
        }
        switch (de->d_type) {
        case DT_REG: e[n].type = T_FILE; break;
        case DT_LNK: e[n].type = T_LINK; break;
        case DT_DIR: e[n].type = T_DIR; break;
        case DT_UNKNOWN: {
            /* Some file systems do not say: ask. */
            struct stat st;
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                int err = errno;
                closedir(d);
                free_entries(e, n);
                return helper_fail(w->cmd, "%s/%s: cannot stat: %s", w->path.s, de->d_name,
                                   strerror(err));
            }
            e[n].type = mode_type(st.st_mode);
            break;
        }
        default: e[n].type = T_OTHER; break;
        }
        e[n].len = strlen(de->d_name);
        if (!(e[n].name = strdup(de->d_name)))
            goto nomem;
        n++;
    }
    if (errno) {
        int err = errno;
        closedir(d);
        free_entries(e, n);
        return helper_fail(w->cmd, "%s: cannot read folder: %s", w->path.s, strerror(err));
    }
    closedir(d);
    if (n)
        qsort(e, n, sizeof(*e), entry_cmp);
    *out = e;
    *count = n;
    return 0;
nomem:
    closedir(d);
    free_entries(e, n);
    return helper_fail(w->cmd, "%s: out of memory", w->path.s);
}

/* The names X of the ".X.cmd" entries among e[0..n), sorted (kbuild_products). */
static char **kbuild_targets(const struct entry *e, size_t n, size_t *count)
{
    char **t = NULL;
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        const struct entry *x = &e[i];
        if (x->len > 5 && x->name[0] == '.' && !memcmp(x->name + x->len - 4, ".cmd", 4)) {
            char **nt = realloc(t, (k + 1) * sizeof(*t));
            if (!nt || !(nt[k] = strndup(x->name + 1, x->len - 5))) {
                helper_free_lines(nt ? nt : t, k);
                return *count = 0, (char **)-1;
            }
            t = nt;
            k++;
        }
    }
    if (k)
        qsort(t, k, sizeof(*t), helper_str_cmp);
    *count = k;
    return t;
}

static int taken(const struct filter *f, const char *name, const char *rel, int type)
{
    if (!(f->types & type))
        return 0;
    if (type == T_DIR)
        return 1;
    if (f->only_names && !match_any(f->only_names, name))
        return 0;
    return !match_any(f->skip_names, name) && !equal_any(f->skip_paths, rel);
}

/* Walk the folder w->path; the entries of one folder are read before any is
 * visited, so only one folder is open at a time however deep the tree. */
static int walk_dir(struct walk *w)
{
    const struct filter *f = w->flt;
    struct entry *e = NULL;
    size_t n = 0, i, len = w->path.len;
    int rc = 0;

    char **targets = NULL;
    size_t nt = 0;

    if (read_dir(w, &e, &n))
        return 1;
    if (f->kbuild_products && (targets = kbuild_targets(e, n, &nt)) == (char **)-1) {
        free_entries(e, n);
        return helper_fail(w->cmd, "%s: out of memory", w->path.s);
    }
    for (i = 0; i < n && !rc; i++) {
        const char *rel;

        if (nt && e[i].type != T_DIR &&
            bsearch(&e[i].name, targets, nt, sizeof(*targets), helper_str_cmp))
            continue;

        if (str_push(&w->path, e[i].name) < 0) {
            rc = helper_fail(w->cmd, "%s: out of memory", w->path.s);
            break;
        }
        rel = walk_rel(w);
        if (!equal_any(f->prune_names, e[i].name) && !equal_any(f->prune_paths, rel) &&
            !equal_any(f->product_dirs, rel)) {
            int take = taken(f, e[i].name, rel, e[i].type);

            if (take)
                rc = w->visit(w, e[i].type, 0);
            if (!rc && e[i].type == T_DIR)
                rc = walk_dir(w);
            if (!rc && take && e[i].type == T_DIR)
                rc = w->visit(w, T_DIR, 1);
        }
        str_cut(&w->path, len);
    }
    helper_free_lines(targets, nt);
    free_entries(e, n);
    return rc;
}

static int walk_tree(const char *cmd, const char *root, const struct filter *f, visit_fn visit,
                     void *ctx)
{
    struct walk w = { .cmd = cmd, .flt = f, .visit = visit, .ctx = ctx };
    int rc;

    if (str_set_root(&w.path, root) < 0)
        return helper_fail(cmd, "out of memory");
    w.root_len = w.path.len;
    rc = walk_dir(&w);
    free(w.path.s);
    return rc;
}

/* --- small file helpers ------------------------------------------------------------- */

/* The target of a symbolic link, malloc'd. */
static char *read_link(const char *path)
{
    size_t cap = 256;

    for (;;) {
        char *t = malloc(cap);
        ssize_t n;

        if (!t)
            return NULL;
        n = readlink(path, t, cap);
        if (n < 0) {
            int err = errno;
            free(t);
            errno = err;
            return NULL;
        }
        if ((size_t)n < cap) {
            t[n] = '\0';
            return t;
        }
        free(t);
        cap *= 2;
    }
}

/*
 * The physical path that the absolute path "path" leads to, as readlink -m gives it:
 * symbolic links followed, "." and ".." resolved, components that do not exist (yet)
 * taken as they are.  malloc'd; NULL with errno set after 40 links, or out of memory.
 */
static char *resolve_path(const char *path)
{
    struct str done = { 0 }, todo = { 0 }, next = { 0 };
    int links = 0;

    if (str_set(&done, "") < 0 || str_set(&todo, path) < 0)
        goto nomem;
    while (todo.len) {
        const char *s = todo.s;
        size_t n, skip;
        struct stat st;
        char *target;

        while (*s == '/')
            s++;
        n = strcspn(s, "/");
        skip = (size_t)(s - todo.s) + n;
        if (n == 0 || (n == 1 && s[0] == '.')) {
            /* nothing */
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            char *slash = strrchr(done.s, '/');
            str_cut(&done, slash ? (size_t)(slash - done.s) : 0);
        } else {
            size_t before = done.len;

            if (str_add(&done, "/", 1) < 0 || str_add(&done, s, n) < 0)
                goto nomem;
            if (lstat(done.s, &st) == 0 && S_ISLNK(st.st_mode)) {
                if (++links > 40) {
                    free(done.s);
                    free(todo.s);
                    free(next.s);
                    errno = ELOOP;
                    return NULL;
                }
                if (!(target = read_link(done.s)))
                    goto fail;
                /* The rest of the path now starts with the link's target. */
                str_cut(&done, *target == '/' ? 0 : before);
                if (str_set(&next, target) < 0 || str_add(&next, "/", 1) < 0 ||
                    str_add(&next, todo.s + skip, todo.len - skip) < 0) {
                    free(target);
                    goto nomem;
                }
                free(target);
                if (str_set(&todo, next.s) < 0)
                    goto nomem;
                continue;
            }
        }
        /* (cut off the component just handled) */
        memmove(todo.s, todo.s + skip, todo.len - skip + 1);
        todo.len -= skip;
    }
    free(todo.s);
    free(next.s);
    if (!done.len && str_set(&done, "/") < 0) {
        free(done.s);
        errno = ENOMEM;
        return NULL;
    }
    return done.s;
nomem:
    errno = ENOMEM;
fail:
    {
        int err = errno;
        free(done.s);
        free(todo.s);
        free(next.s);
        errno = err;
    }
    return NULL;
}

/* The relative link target that leads from folder "from" to "to", both relative to
 * the same tree ("" is its root; no "." or ".." components, no doubled '/'): one ".."
 * per folder of "from" below what the two have in common, then the rest of "to" ("."
 * when nothing is left).  malloc'd, or NULL. */
static char *relative_target(const char *from, const char *to)
{
    struct str r = { 0 };

    /* Skip the leading folders the two have in common. */
    for (;;) {
        size_t a = strcspn(from, "/"), b = strcspn(to, "/");

        if (!a || a != b || memcmp(from, to, a))
            break;
        from += a + (from[a] == '/');
        to += b + (to[b] == '/');
    }
    if (str_set(&r, "") < 0)
        return NULL;
    while (*from) {
        size_t a = strcspn(from, "/");

        if (str_push(&r, "..") < 0)
            goto nomem;
        from += a + (from[a] == '/');
    }
    if ((*to && str_push(&r, to) < 0) || (!r.len && str_set(&r, ".") < 0))
        goto nomem;
    return r.s;
nomem:
    free(r.s);
    return NULL;
}

static int is_empty_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    int empty = 1;

    if (!d)
        return 0;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            empty = 0;
            break;
        }
    closedir(d);
    return empty;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && !memcmp(s + n - m, suffix, m);
}

static int is_source_name(const char *path)
{
    return has_suffix(path, ".c") || has_suffix(path, ".h") || has_suffix(path, ".S");
}

/* --- copying ------------------------------------------------------------------------ */

struct copier {
    const char *cmd;
    struct str dst;       /* destination root, then root "/" relative path */
    size_t dst_root_len;
    struct str made;      /* the last destination folder known to exist */
    int clone;            /* try FICLONE first (cleared once it fails) */
    int use_cfr;          /* copy_file_range works here (cleared once it does not) */
    char *buf;
    char *src_real;       /* the source root, symbolic links resolved */
};

/* Copy the contents of sfd (size bytes, file src) to dfd (file dst): a reflink when
 * asked and possible, else copy_file_range (in the kernel), else a plain read/write
 * loop.  A read error names src, a write error (a full disk) names dst. */
static int copy_data(struct copier *c, int sfd, int dfd, off_t size, const char *src,
                     const char *dst)
{
    off_t done = 0;

    if (c->clone) {
        if (ioctl(dfd, FICLONE, sfd) == 0)
            return 0;
        c->clone = 0;
    }
    while (c->use_cfr && done < size) {
        ssize_t n = copy_file_range(sfd, NULL, dfd, NULL, (size_t)(size - done), 0);

        if (n > 0) {
            done += n;
            continue;
        }
        if (n == 0)
            break; /* the file shrank, or a file system that says 0: read the rest */
        if (errno == EINTR)
            continue;
        if (errno == ENOSYS || errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP ||
            errno == EBADF || errno == EPERM) {
            c->use_cfr = 0;
            break;
        }
        if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG)
            return helper_fail(c->cmd, "%s: cannot write: %s", dst, strerror(errno));
        return helper_fail(c->cmd, "%s: cannot copy to %s: %s", src, dst, strerror(errno));
    }
    if (done && lseek(sfd, done, SEEK_SET) < 0)
        return helper_fail(c->cmd, "%s: cannot seek: %s", src, strerror(errno));
    if (!c->buf && !(c->buf = malloc(COPY_BUF)))
        return helper_fail(c->cmd, "out of memory");
    for (;;) {
        ssize_t n = read(sfd, c->buf, COPY_BUF), w = 0;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return helper_fail(c->cmd, "%s: cannot read: %s", src, strerror(errno));
        if (n == 0)
            return 0;
        while (w < n) {
            ssize_t k = write(dfd, c->buf + w, (size_t)(n - w));

            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return helper_fail(c->cmd, "%s: cannot write: %s", dst, strerror(errno));
            w += k;
        }
    }
}

/* Make sure the folder that will hold c->dst exists (created with default modes,
 * as tar creates the folders it is not given). */
static int ensure_parent(struct copier *c)
{
    char *slash = strrchr(c->dst.s, '/');
    size_t n = slash ? (size_t)(slash - c->dst.s) : 0;
    int rc;

    if (n == c->made.len && !memcmp(c->made.s, c->dst.s, n))
        return 0;
    rc = helper_make_parent(c->dst.s);
    if (rc < 0)
        return helper_fail(c->cmd, "%.*s: cannot create folder: %s", (int)n, c->dst.s,
                           strerror(errno));
    c->made.len = 0;
    if (str_add(&c->made, c->dst.s, n) < 0)
        return helper_fail(c->cmd, "out of memory");
    return 0;
}

/* Create dst fresh, replacing whatever non-folder is there (as tar does). */
static int create_file(const char *dst)
{
    int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    if (fd < 0 && errno == EEXIST && unlink(dst) == 0)
        fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    return fd;
}

static int copy_file(struct copier *c, const char *src, const char *dst)
{
    struct stat st;
    struct timespec times[2];
    int sfd, dfd, rc;

    sfd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0)
        return helper_fail(c->cmd, "%s: cannot open: %s", src, strerror(errno));
    if (fstat(sfd, &st) < 0) {
        rc = helper_fail(c->cmd, "%s: cannot stat: %s", src, strerror(errno));
        close(sfd);
        return rc;
    }
    dfd = create_file(dst);
    if (dfd < 0) {
        rc = helper_fail(c->cmd, "%s: cannot create: %s", dst, strerror(errno));
        close(sfd);
        return rc;
    }
    rc = copy_data(c, sfd, dfd, st.st_size, src, dst);
    close(sfd);
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    /* Times last: anything written after them would move the mtime again. */
    if (!rc && (fchmod(dfd, st.st_mode & 07777) < 0 || futimens(dfd, times) < 0))
        rc = helper_fail(c->cmd, "%s: cannot set mode and times: %s", dst, strerror(errno));
    if (close(dfd) < 0 && !rc)
        rc = helper_fail(c->cmd, "%s: cannot write: %s", dst, strerror(errno));
    return rc;
}

int helper_copy_file(const char *cmd, const char *src, const char *dst)
{
    struct copier c = { .cmd = cmd, .use_cfr = 1 };
    char *d = strdup(dst);
    int rc;

    if (!d)
        return helper_fail(cmd, "out of memory");
    if (helper_make_parent(d) < 0)
        rc = helper_fail(cmd, "%s: cannot create its folder: %s", dst, strerror(errno));
    else
        rc = copy_file(&c, src, dst);
    free(d);
    free(c.buf);
    return rc;
}

/*
 * The target a copy of the link at rel (relative to the source root) gets, so that the
 * copy never reaches back into the source tree: a link that leads to anything inside
 * the source tree (absolute, or relative by way of folders outside it) becomes a
 * relative link to the same place in the copy; a relative link that leads out of the
 * tree becomes an absolute one to where it leads from the source, so it still names
 * the same file; an absolute link to outside the tree is kept.  *target is replaced
 * (0), or left as it is on failure (-1, errno).
 */
static int link_in_copy(const struct copier *c, const char *rel, char **target)
{
    const char *slash = strrchr(rel, '/');
    size_t folder_len = slash ? (size_t)(slash - rel) : 0, root_len = strlen(c->src_real);
    struct str joined = { 0 };
    char *folder, *res, *fixed = NULL;

    if (!(folder = strndup(rel, folder_len)))
        return -1;
    if (**target == '/' ? str_set(&joined, *target) < 0
                        : (str_set(&joined, c->src_real) < 0 || (*folder && str_push(&joined, folder) < 0) ||
                           str_push(&joined, *target) < 0)) {
        free(folder);
        free(joined.s);
        errno = ENOMEM;
        return -1;
    }
    res = resolve_path(joined.s);
    free(joined.s);
    if (!res) {
        free(folder);
        return -1;
    }
    if (root_len == 1 || (!strncmp(res, c->src_real, root_len) &&
                          (res[root_len] == '/' || !res[root_len]))) {
        const char *inside = res + root_len;

        while (*inside == '/')
            inside++;
        fixed = relative_target(folder, inside);
    } else if (**target != '/') {
        fixed = strdup(res);
    }
    free(folder);
    free(res);
    if (fixed) {
        free(*target);
        *target = fixed;
    }
    return 0;
}

static int copy_link(struct copier *c, const char *src, const char *dst, const char *rel)
{
    struct stat st;
    struct timespec times[2];
    char *target;
    int rc = 0;

    if (lstat(src, &st) < 0 || !(target = read_link(src)))
        return helper_fail(c->cmd, "%s: cannot read link: %s", src, strerror(errno));
    if (c->src_real && link_in_copy(c, rel, &target) < 0 && errno != ELOOP) {
        rc = helper_fail(c->cmd, "%s: cannot resolve link: %s", src, strerror(errno));
        free(target);
        return rc;
    }
    if (symlink(target, dst) < 0 &&
        (errno != EEXIST || unlink(dst) < 0 || symlink(target, dst) < 0))
        rc = helper_fail(c->cmd, "%s: cannot create link: %s", dst, strerror(errno));
    free(target);
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    if (!rc && utimensat(AT_FDCWD, dst, times, AT_SYMLINK_NOFOLLOW) < 0)
        rc = helper_fail(c->cmd, "%s: cannot set times: %s", dst, strerror(errno));
    return rc;
}

/* Folders, fifos, devices: only a copy of everything (prepare without targets) has them. */
static int copy_special(struct copier *c, const char *src, const char *dst, int type, int post)
{
    struct stat st;
    struct timespec times[2];

    if (lstat(src, &st) < 0)
        return helper_fail(c->cmd, "%s: cannot stat: %s", src, strerror(errno));
    if (type == T_DIR && !post) {
        /* Writable while it is filled; its own mode and times come after. */
        if (mkdir(dst, 0700) < 0 && errno != EEXIST)
            return helper_fail(c->cmd, "%s: cannot create folder: %s", dst, strerror(errno));
        return 0;
    }
    if (type != T_DIR && mknod(dst, st.st_mode, st.st_rdev) < 0)
        return helper_fail(c->cmd, "%s: cannot create: %s", dst, strerror(errno));
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    if (chmod(dst, st.st_mode & 07777) < 0 || utimensat(AT_FDCWD, dst, times, 0) < 0)
        return helper_fail(c->cmd, "%s: cannot set mode and times: %s", dst, strerror(errno));
    return 0;
}

static int copy_visit(struct walk *w, int type, int post)
{
    struct copier *c = w->ctx;

    str_cut(&c->dst, c->dst_root_len);
    if (str_push(&c->dst, walk_rel(w)) < 0)
        return helper_fail(c->cmd, "out of memory");
    if (type != T_DIR && ensure_parent(c))
        return 1;
    if (type == T_FILE)
        return copy_file(c, w->path.s, c->dst.s);
    if (type == T_LINK)
        return copy_link(c, w->path.s, c->dst.s, walk_rel(w));
    return copy_special(c, w->path.s, c->dst.s, type, post);
}

/* Copy what filter f takes of src into dst (created if needed). */
static int copy_tree(const char *cmd, const char *src, const char *dst, const struct filter *f,
                     int clone)
{
    struct copier c = { .cmd = cmd, .clone = clone, .use_cfr = 1 };
    int rc;

    if (str_set_root(&c.dst, dst) < 0)
        return helper_fail(cmd, "out of memory");
    /* Links are re-pointed against the real source root (see link_in_copy). */
    if (!(c.src_real = realpath(src, NULL))) {
        free(c.dst.s);
        return helper_fail(cmd, "%s: cannot resolve: %s", src, strerror(errno));
    }
    c.dst_root_len = c.dst.len;
    if (helper_make_dirs(c.dst.s) < 0) {
        rc = helper_fail(cmd, "%s: cannot create folder: %s", dst, strerror(errno));
    } else if (str_add(&c.made, c.dst.s, c.dst.len) < 0) {
        rc = helper_fail(cmd, "out of memory");
    } else {
        rc = walk_tree(cmd, src, f, copy_visit, &c);
    }
    free(c.dst.s);
    free(c.made.s);
    free(c.buf);
    free(c.src_real);
    return rc;
}

/* --- arguments ---------------------------------------------------------------------- */

static int usage(const char *cmd, const char *synopsis)
{
    fprintf(stderr, "lp-build-helper: %s: usage: %s %s\n", cmd, cmd, synopsis);
    return 2;
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: the value (advancing *i), or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* A --prune path as find -path would see it after "./": no "./" in front, no
 * trailing '/'.  Empty means nothing to prune. */
static char *prune_path(const char *s)
{
    char *p;
    size_t n;

    while (s[0] == '.' && s[1] == '/')
        for (s += 2; *s == '/'; s++)
            ;
    if (!(p = strdup(s)))
        return NULL;
    n = strlen(p);
    while (n && p[n - 1] == '/')
        p[--n] = '\0';
    return p;
}

struct tree_args {
    const char *src, *dst;
    char **prunes;         /* NULL-terminated */
    size_t nprunes;
    const char **salts;
    bool *salt_is_file;    /* the salt is a file whose contents count */
    size_t nsalts;
};

static void free_tree_args(struct tree_args *a)
{
    while (a->nprunes)
        free(a->prunes[--a->nprunes]);
    free(a->prunes);
    free(a->salts);
    free(a->salt_is_file);
}

/* SRC [DST] [--prune REL]... [--salt STRING]...; returns 0, or the exit status. */
static int parse_tree_args(int argc, char **argv, int want_dst, int salts, struct tree_args *a,
                           const char *synopsis)
{
    const char *cmd = argv[0];
    int i;

    memset(a, 0, sizeof(*a));
    a->prunes = calloc((size_t)argc + 1, sizeof(*a->prunes));
    a->salts = calloc((size_t)argc + 1, sizeof(*a->salts));
    a->salt_is_file = calloc((size_t)argc + 1, sizeof(*a->salt_is_file));
    if (!a->prunes || !a->salts || !a->salt_is_file)
        return helper_fail(cmd, "out of memory");
    for (i = 1; i < argc; i++) {
        const char *v;

        if ((v = opt_value(argc, argv, &i, "--prune"))) {
            char *p = prune_path(v);

            if (!p)
                return helper_fail(cmd, "out of memory");
            if (*p)
                a->prunes[a->nprunes++] = p;
            else
                free(p);
        } else if (salts && (v = opt_value(argc, argv, &i, "--salt"))) {
            a->salts[a->nsalts++] = v;
        } else if (salts && (v = opt_value(argc, argv, &i, "--salt-file"))) {
            a->salt_is_file[a->nsalts] = true;
            a->salts[a->nsalts++] = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage(cmd, synopsis);
        } else if (!a->src) {
            a->src = argv[i];
        } else if (want_dst && !a->dst) {
            a->dst = argv[i];
        } else {
            return usage(cmd, synopsis);
        }
    }
    if (!a->src || (want_dst && !a->dst))
        return usage(cmd, synopsis);
    return 0;
}

/* --- tree-key ----------------------------------------------------------------------- */

struct hasher {
    const char *cmd;
    XXH3_state_t *state;
    unsigned char *buf;
};

static int hash_visit(struct walk *w, int type, int post)
{
    struct hasher *h = w->ctx;
    const char *rel = walk_rel(w);
    char tag = type == T_FILE ? 'f' : 'l';

    (void)post;
    XXH3_128bits_update(h->state, &tag, 1);
    XXH3_128bits_update(h->state, rel, strlen(rel) + 1);
    if (type == T_FILE) {
        struct stat st;
        unsigned char le[8];
        uint64_t size, done = 0;
        int i, fd = open(w->path.s, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0)
            return helper_fail(h->cmd, "%s: cannot open: %s", w->path.s, strerror(errno));
        if (fstat(fd, &st) < 0) {
            close(fd);
            return helper_fail(h->cmd, "%s: cannot stat: %s", w->path.s, strerror(errno));
        }
        size = (uint64_t)st.st_size;
        for (i = 0; i < 8; i++)
            le[i] = (unsigned char)(size >> (8 * i));
        XXH3_128bits_update(h->state, le, sizeof(le));
        for (;;) {
            ssize_t n = read(fd, h->buf, COPY_BUF);

            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                int err = errno;
                close(fd);
                return helper_fail(h->cmd, "%s: cannot read: %s", w->path.s, strerror(err));
            }
            if (n == 0)
                break;
            XXH3_128bits_update(h->state, h->buf, (size_t)n);
            done += (uint64_t)n;
        }
        close(fd);
        /* The size went into the hash first: a file that changed meanwhile would
         * give a key for contents that never existed. */
        if (done != size)
            return helper_fail(h->cmd, "%s: changed while being read", w->path.s);
    } else {
        char *target = read_link(w->path.s);

        if (!target)
            return helper_fail(h->cmd, "%s: cannot read link: %s", w->path.s, strerror(errno));
        XXH3_128bits_update(h->state, target, strlen(target) + 1);
        free(target);
    }
    return 0;
}

int cmd_tree_key(int argc, char **argv)
{
    const char *cmd = argv[0];
    struct tree_args a;
    struct filter f = { .prune_names = vcs_names, .product_dirs = xen_generated_dirs,
                        .skip_names = not_source, .skip_paths = xen_products,
                        .kbuild_products = 1, .types = T_FILE | T_LINK };
    struct hasher h = { .cmd = cmd };
    XXH128_canonical_t canon;
    char hex[33];
    size_t i;
    int rc = parse_tree_args(argc, argv, 0, 1, &a, "SRCDIR [--prune REL]... [--salt STRING | --salt-file FILE]...");

    if (rc) {
        free_tree_args(&a);
        return rc;
    }
    f.prune_paths = (const char *const *)a.prunes;
    h.state = XXH3_createState();
    h.buf = malloc(COPY_BUF);
    if (!h.state || !h.buf) {
        rc = helper_fail(cmd, "out of memory");
        goto out;
    }
    XXH3_128bits_reset(h.state);
    for (i = 0; i < a.nsalts; i++) {
        struct lp_error err = { 0 };
        unsigned char *buf;
        size_t len;

        if (!a.salt_is_file[i]) {
            XXH3_128bits_update(h.state, a.salts[i], strlen(a.salts[i]) + 1);
            continue;
        }
        if (lp_read_file(a.salts[i], &buf, &len, &err)) {
            rc = helper_fail(cmd, "%s", err.msg);
            goto out;
        }
        XXH3_128bits_update(h.state, "F", 1);
        XXH3_128bits_update(h.state, &len, sizeof(len));
        XXH3_128bits_update(h.state, buf, len);
        free(buf);
    }
    rc = walk_tree(cmd, a.src, &f, hash_visit, &h);
    if (!rc) {
        XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(h.state));
        lp_hex(canon.digest, sizeof(canon.digest), hex);
        printf("%s\n", hex);
        if (fflush(stdout) != 0)
            rc = helper_fail(cmd, "cannot write the key: %s", strerror(errno));
    }
out:
    XXH3_freeState(h.state);
    free(h.buf);
    free_tree_args(&a);
    return rc;
}

/* --- copy-tree ---------------------------------------------------------------------- */

int cmd_copy_tree(int argc, char **argv)
{
    struct tree_args a;
    struct filter f = { .prune_names = vcs_names, .product_dirs = xen_generated_dirs,
                        .skip_names = not_source, .skip_paths = xen_products,
                        .kbuild_products = 1, .types = T_FILE | T_LINK };
    int rc = parse_tree_args(argc, argv, 1, 0, &a, "SRCDIR DEST [--prune REL]...");

    if (!rc) {
        f.prune_paths = (const char *const *)a.prunes;
        rc = copy_tree(argv[0], a.src, a.dst, &f, 0);
    }
    free_tree_args(&a);
    return rc;
}

/* --- prepare ------------------------------------------------------------------------ */

struct prepare {
    const char *cmd;
    char **touched;      /* sorted, unique */
    size_t ntouched;
    const char **want;   /* touched paths without "xen/", sorted */
    unsigned char *hit;  /* per entry of want: some object depends on it */
    char **targets;
    size_t ntargets, cap;
};

/* Paths from the list are joined to the work tree: none may lead out of it. */
static int safe_rel(const char *rel)
{
    const char *s = rel;

    if (*rel == '/')
        return 0;
    while (*s) {
        size_t n = strcspn(s, "/");

        if (n == 2 && s[0] == '.' && s[1] == '.')
            return 0;
        s += n;
        while (*s == '/')
            s++;
    }
    return 1;
}

static int add_target(struct prepare *p, const char *t)
{
    if (p->ntargets == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        char **n = realloc(p->targets, cap * sizeof(*n));

        if (!n)
            return -1;
        p->targets = n;
        p->cap = cap;
    }
    if (!(p->targets[p->ntargets] = strdup(t)))
        return -1;
    p->ntargets++;
    return 0;
}

/* The object target depends on the touched file tok: remember both (once per target). */
static int deps_hit(struct prepare *p, const char *target, const char *tok, int *added)
{
    const char **hit = bsearch(&tok, p->want, p->ntouched, sizeof(*p->want), helper_str_cmp);

    if (!hit)
        return 0;
    p->hit[hit - p->want] = 1;
    if (!*added && add_target(p, target) < 0)
        return helper_fail(p->cmd, "out of memory");
    *added = 1;
    return 0;
}

/*
 * One Xen ".NAME.o.cmd" file (fixdep's output), read line by line:
 *   source_T := SRC
 *   deps_T := \
 *     include/xen/config.h \
 *       $(wildcard include/config/foo.h) \
 * T (relative to xen/, as make -C xen names it) depends on SRC and on every listed file;
 * the $(wildcard ...) entries stand for configuration options, never for sources.
 */
static int cmd_file_visit(struct prepare *p, char *s, char *end)
{
    char *target = NULL;
    int in_deps = 0, added = 0, rc = 0;

    while (s < end && !rc) {
        char *line = s, *nl = memchr(s, '\n', (size_t)(end - s)), *tok, *save = NULL;
        int more;

        if (!nl)
            nl = end;
        *nl = '\0';
        s = nl + 1;
        if (!in_deps) {
            char *eq;
            int is_deps = !strncmp(line, "deps_", 5);

            if (!is_deps && strncmp(line, "source_", 7))
                continue;
            if (!(eq = strstr(line, " := ")))
                continue;
            *eq = '\0';
            target = line + (is_deps ? 5 : 7);
            if (!has_suffix(target, ".o"))
                return 0;
            line = eq + 4;
            in_deps = is_deps;
        }
        more = nl > line && nl[-1] == '\\';
        for (tok = strtok_r(line, " \t", &save); tok && !rc; tok = strtok_r(NULL, " \t", &save)) {
            size_t n = strlen(tok);

            if (!strcmp(tok, "\\") || tok[0] == '$' || tok[n - 1] == ')')
                continue;
            rc = deps_hit(p, target, tok, &added);
        }
        if (in_deps && !more)
            break;
    }
    return rc;
}

/*
 * One dependency file, read as make writes them: tokens separated by blanks,
 * "\" continuations skipped, the first token ending in ':' names the target (the
 * file's first rule), and every later token is a prerequisite.  An object whose
 * prerequisites include a touched file is a target to remake.
 */
static int deps_visit(struct walk *w, int type, int post)
{
    struct prepare *p = w->ctx;
    struct lp_error err = { 0 };
    unsigned char *buf, *t;
    size_t len;
    char *s, *end, *target = NULL;
    int is_obj = 0, added = 0, rc = 0;

    (void)type;
    (void)post;
    if (lp_read_file(w->path.s, &buf, &len, &err) < 0)
        return helper_fail(p->cmd, "%s", err.msg);
    /* Room for a terminator, so every token can be cut out in place. */
    if (!(t = realloc(buf, len + 1))) {
        free(buf);
        return helper_fail(p->cmd, "out of memory");
    }
    buf = t;
    buf[len] = '\0';
    s = (char *)buf;
    end = s + len;
    if (has_suffix(w->path.s, ".cmd")) {
        rc = cmd_file_visit(p, s, end);
        free(buf);
        return rc;
    }
    while (s < end && !rc) {
        char *tok;
        size_t n;

        while (s < end && (*s == ' ' || *s == '\t' || *s == '\n'))
            s++;
        tok = s;
        while (s < end && *s != ' ' && *s != '\t' && *s != '\n')
            s++;
        n = (size_t)(s - tok);
        if (s < end)
            *s++ = '\0';
        if (!n || (n == 1 && *tok == '\\'))
            continue;
        if ((!target || !*target) && tok[n - 1] == ':') {
            tok[n - 1] = '\0';
            target = tok;
            is_obj = has_suffix(target, ".o");
        } else if (is_obj) {
            rc = deps_hit(p, target, tok, &added);
        }
    }
    free(buf);
    return rc;
}

/* The objects to remake (p->targets), or none when the whole tree must be built. */
/*
 * Print the make target for object t (relative to PREV/xen).  Xen makes DIR/NAME.init.o
 * from DIR/NAME.o, and the flags that make NAME.o init-only (-DINIT_SECTIONS_ONLY) are
 * a target-specific variable of NAME.init.o: asked for NAME.o alone, make compiles it
 * without them (into ordinary sections, or not at all: arch/x86/efi/pe.c).  So an object
 * that feeds an init object (its record .NAME.init.o.cmd is there) is made through it.
 */
static int print_target(const char *prev, const char *t)
{
    size_t n = strlen(t);
    const char *slash = strrchr(t, '/');
    int dir = slash ? (int)(slash - t) + 1 : 0;
    char *rec = NULL;

    if (n > 2 && !strcmp(t + n - 2, ".o") && (n < 7 || strcmp(t + n - 7, ".init.o"))) {
        if (asprintf(&rec, "%s/xen/%.*s.%.*s.init.o.cmd", prev, dir, t, (int)(n - 2 - (size_t)dir),
                     t + dir) < 0)
            return -1;
        if (access(rec, F_OK) == 0) {
            printf("%.*s.init.o\n", (int)(n - 2), t);
            free(rec);
            return 0;
        }
        free(rec);
    }
    printf("%s\n", t);
    return 0;
}

static int find_targets(struct prepare *p, const char *base, const char *prev)
{
    static const struct filter deps = { .only_names = dep_files, .types = T_FILE };
    struct str path = { 0 };
    size_t i;
    int rc = 0;

    if (!p->ntouched)
        return 0;
    for (i = 0; i < p->ntouched; i++) {
        const char *t = p->touched[i];

        if (strncmp(t, "xen/", 4) || strlen(t) < 6 || !is_source_name(t))
            return 0;
        if (str_set(&path, base) < 0 || str_push(&path, t) < 0) {
            free(path.s);
            return helper_fail(p->cmd, "out of memory");
        }
        if (!helper_is_file(path.s)) {
            free(path.s);
            return 0;
        }
    }
    p->want = malloc(p->ntouched * sizeof(*p->want));
    p->hit = calloc(p->ntouched, 1);
    if (!p->want || !p->hit || str_set(&path, prev) < 0 || str_push(&path, "xen") < 0) {
        free(path.s);
        return helper_fail(p->cmd, "out of memory");
    }
    /* Removing the common "xen/" keeps the order. */
    for (i = 0; i < p->ntouched; i++)
        p->want[i] = p->touched[i] + 4;
    if (access(path.s, F_OK) == 0)
        rc = walk_tree(p->cmd, path.s, &deps, deps_visit, p);
    free(path.s);
    if (rc)
        return rc;
    /*
     * A touched file that no object depends on is not part of this build (another
     * architecture's source, a header nothing includes in this configuration): it
     * cannot change an object, so it does not call for a full build either.
     */
    for (i = 0; p->ntargets && i < p->ntouched; i++)
        if (!p->hit[i])
            fprintf(stderr, "livepatch-build: %s: no object of this build depends on it\n",
                    p->touched[i]);
    helper_sort_unique(p->targets, &p->ntargets);
    return 0;
}

/* Give the copy of everything its root's mode and times, as cp -a does. */
static int copy_root_attrs(const char *cmd, const char *src, const char *dst)
{
    struct stat st;
    struct timespec times[2];

    if (stat(src, &st) < 0)
        return helper_fail(cmd, "%s: cannot stat: %s", src, strerror(errno));
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    if (chmod(dst, st.st_mode & 07777) < 0 || utimensat(AT_FDCWD, dst, times, 0) < 0)
        return helper_fail(cmd, "%s: cannot set mode and times: %s", dst, strerror(errno));
    return 0;
}

/* Read path if it is a regular file: 1 read, 0 absent (or not a file), -1 error. */
static int read_if_file(const char *path, unsigned char **buf, size_t *len,
                        struct lp_error *err)
{
    struct stat st;

    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    return lp_read_file(path, buf, len, err) < 0 ? -1 : 1;
}

/* Write buf to path unless path already holds exactly that (then its mtime stays). */
static int write_if_changed(const char *cmd, struct str *path, const void *buf, size_t len,
                            mode_t mode)
{
    struct lp_error err = { 0 };
    unsigned char *cur;
    size_t curlen;
    int r = read_if_file(path->s, &cur, &curlen, &err);

    if (r < 0)
        return helper_fail(cmd, "%s", err.msg);
    if (r > 0) {
        int same = curlen == len && !memcmp(cur, buf, len);

        free(cur);
        if (same)
            return 0;
    }
    if (helper_make_parent(path->s) < 0)
        return helper_fail(cmd, "%s: cannot create its folder: %s", path->s, strerror(errno));
    if (lp_write_file(path->s, buf, len, mode & 07777, &err) < 0)
        return helper_fail(cmd, "%s", err.msg);
    return 0;
}

/* The wanted content of touched file f in the work tree. */
static int sync_one(struct prepare *p, const char *base, const char *src, const char *tree,
                    const char *f, int fix, struct str *sp)
{
    struct lp_error err = { 0 };
    struct str bp = { 0 }, tp = { 0 };
    unsigned char *sbuf = NULL, *bbuf = NULL;
    char *fixed = NULL;
    size_t slen, blen, flen;
    struct stat st;
    int rc = 0;

    if (str_set(sp, src) < 0 || str_push(sp, f) < 0 || str_set(&tp, tree) < 0 ||
        str_push(&tp, f) < 0 || str_set(&bp, base) < 0 || str_push(&bp, f) < 0) {
        rc = helper_fail(p->cmd, "out of memory");
        goto out;
    }
    if (stat(sp->s, &st) < 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
            rc = helper_fail(p->cmd, "%s: cannot stat: %s", sp->s, strerror(errno));
        } else if (unlink(tp.s) < 0 && errno != ENOENT && errno != ENOTDIR) {
            rc = helper_fail(p->cmd, "%s: cannot remove: %s", tp.s, strerror(errno));
        }
        goto out;
    }
    if (lp_read_file(sp->s, &sbuf, &slen, &err) < 0) {
        rc = helper_fail(p->cmd, "%s", err.msg);
        goto out;
    }
    if (fix && is_source_name(f) && helper_is_file(bp.s)) {
        if (lp_read_file(bp.s, &bbuf, &blen, &err) < 0) {
            rc = helper_fail(p->cmd, "%s", err.msg);
            goto out;
        }
        if (lp_fix_lines((char *)bbuf, blen, (char *)sbuf, slen, &fixed, &flen) < 0) {
            rc = helper_fail(p->cmd, "%s: cannot rewrite line numbers: %s", f, strerror(errno));
            goto out;
        }
        rc = write_if_changed(p->cmd, &tp, fixed, flen, st.st_mode);
    } else {
        rc = write_if_changed(p->cmd, &tp, sbuf, slen, st.st_mode);
    }
out:
    free(sbuf);
    free(bbuf);
    free(fixed);
    free(bp.s);
    free(tp.s);
    return rc;
}

int cmd_prepare(int argc, char **argv)
{
    static const char synopsis[] = "--base BASE --prev PREV --tree TREE --src SRC --touched LIST "
                                   "--config CONFIG [--no-fix-lines] [--full]";
    static const struct filter kept = { .skip_names = not_kept, .skip_paths = xen_image,
                                        .types = T_FILE | T_LINK };
    static const struct filter all = { .types = T_FILE | T_LINK | T_DIR | T_OTHER };
    const char *cmd = argv[0];
    const char *base = NULL, *prev = NULL, *tree = NULL, *src = NULL, *list = NULL,
               *config = NULL;
    struct prepare p = { .cmd = cmd };
    struct lp_error err = { 0 };
    struct str path = { 0 };
    unsigned char *cfg = NULL;
    size_t cfglen, i;
    struct stat st;
    int fix = 1, full = 0, rc = 0, k;

    for (k = 1; k < argc; k++) {
        const char *v;

        if ((v = opt_value(argc, argv, &k, "--base")))
            base = v;
        else if ((v = opt_value(argc, argv, &k, "--prev")))
            prev = v;
        else if ((v = opt_value(argc, argv, &k, "--tree")))
            tree = v;
        else if ((v = opt_value(argc, argv, &k, "--src")))
            src = v;
        else if ((v = opt_value(argc, argv, &k, "--touched")))
            list = v;
        else if ((v = opt_value(argc, argv, &k, "--config")))
            config = v;
        else if (!strcmp(argv[k], "--no-fix-lines"))
            fix = 0;
        else if (!strcmp(argv[k], "--full"))
            full = 1;
        else
            return usage(cmd, synopsis);
    }
    if (!base || !prev || !tree || !src || !list || !config)
        return usage(cmd, synopsis);

    if (!(p.touched = helper_read_lines(cmd, list, &p.ntouched)))
        goto fail;
    for (i = 0; i < p.ntouched; i++)
        if (!safe_rel(p.touched[i])) {
            helper_fail(cmd, "%s: '%s' leads out of the tree", list, p.touched[i]);
            goto fail;
        }

    /* a. The objects to remake, if the dependency files can tell. */
    if (!full && find_targets(&p, base, prev))
        goto fail;

    /* b. The work tree: the sources of the previous build, or all of it. */
    if (lstat(tree, &st) == 0 && (!S_ISDIR(st.st_mode) || !is_empty_dir(tree))) {
        helper_fail(cmd, "%s: exists and is not an empty folder", tree);
        goto fail;
    }
    if (p.ntargets) {
        if (copy_tree(cmd, prev, tree, &kept, 0))
            goto fail;
    } else if (copy_tree(cmd, prev, tree, &all, 1) || copy_root_attrs(cmd, prev, tree)) {
        goto fail;
    }

    /* c. Not a finished build any more; the configuration of this one. */
    if (str_set(&path, tree) < 0 || str_push(&path, ".complete") < 0)
        goto nomem;
    if (unlink(path.s) < 0 && errno != ENOENT) {
        helper_fail(cmd, "%s: cannot remove: %s", path.s, strerror(errno));
        goto fail;
    }
    if (stat(config, &st) < 0 || lp_read_file(config, &cfg, &cfglen, &err) < 0) {
        if (!err.msg[0])
            snprintf(err.msg, sizeof(err.msg), "%s: cannot stat: %s", config, strerror(errno));
        helper_fail(cmd, "%s", err.msg);
        goto fail;
    }
    if (str_set(&path, tree) < 0 || str_push(&path, "xen/.config") < 0)
        goto nomem;
    if (write_if_changed(cmd, &path, cfg, cfglen, st.st_mode))
        goto fail;

    /* d. The patched sources, #line-fixed against the unpatched ones. */
    for (i = 0; i < p.ntouched; i++)
        if (sync_one(&p, base, src, tree, p.touched[i], fix, &path))
            goto fail;

    /* e. */
    for (i = 0; i < p.ntargets; i++)
        if (print_target(prev, p.targets[i]))
            goto nomem;
    if (fflush(stdout) != 0) {
        helper_fail(cmd, "cannot write the targets: %s", strerror(errno));
        goto fail;
    }
    goto out;
nomem:
    helper_fail(cmd, "out of memory");
fail:
    rc = 1;
out:
    for (i = 0; i < p.ntouched; i++)
        free(p.touched[i]);
    free(p.touched);
    free(p.want);
    free(p.hit);
    for (i = 0; i < p.ntargets; i++)
        free(p.targets[i]);
    free(p.targets);
    free(cfg);
    free(path.s);
    return rc;
}
