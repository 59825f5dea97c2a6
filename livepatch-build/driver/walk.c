/*
 * walk.c - the walker the tree steps share (tree_key, the copies, the dependency
 * files of prepare), and its filters: what counts as the source of a tree, and what
 * a build of Xen made in it.
 *
 * The walk is depth first, never follows symbolic links, visits entries in the
 * byte order of their relative paths (what `LC_ALL=C sort` gives the shell), and
 * asks a filter which folders to skip and which entries to take.  Paths are
 * dynamic strings, so depth and length are bounded only by the system.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "walk.h"

/* --- which files ------------------------------------------------------------------ */

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

/* tree_files() of the driver: what counts as the source of a tree. */
static const char *const vcs_names[] = { ".git", ".hg", ".svn", NULL };
static const char *const not_source[] = {
    "*.o", "*.a", "*.d", ".*.d", ".*.cmd", ".*.lpcmd", "*.orig", "*.rej", ".config",
    ".config.old", "xen-syms*", "xen.gz", "xen.efi", "*.livepatch", "xen.efi.map", "System.map",
    ".xen-syms.*", ".xen.efi.*", ".banner", NULL,
};
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

struct filter walk_sources(const char *const *prune_paths)
{
    struct filter f = { .prune_names = vcs_names, .prune_paths = prune_paths,
                        .product_dirs = xen_generated_dirs, .skip_names = not_source,
                        .skip_paths = xen_products, .kbuild_products = 1,
                        .types = T_FILE | T_LINK };

    return f;
}

/* (and the cache's marks in an entry, cache.c: a build of the copy has no use for them) */
static const char *const not_kept_paths[] = {
    "xen/xen", ".complete", ".source", ".size", ".used", NULL,
};
const struct filter walk_kept = { .skip_names = not_kept, .skip_paths = not_kept_paths,
                                  .types = T_FILE | T_LINK };
const struct filter walk_all = { .types = T_FILE | T_LINK | T_DIR | T_OTHER };
const struct filter walk_deps = { .only_names = dep_files, .types = T_FILE };

/* A prune path as find -path would see it after "./": no "./" in front, no
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

char **walk_prunes(const char *const *prune, size_t nr_prune)
{
    char **v = calloc(nr_prune + 1, sizeof(*v));
    size_t i, n = 0;

    if (!v)
        return NULL;
    for (i = 0; i < nr_prune; i++) {
        char *p = prune_path(prune[i]);

        if (!p) {
            walk_free_prunes(v);
            return NULL;
        }
        if (*p)
            v[n++] = p;
        else
            free(p);
    }
    return v;
}

void walk_free_prunes(char **v)
{
    size_t i;

    for (i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* --- the walker ------------------------------------------------------------------- */

struct entry {
    char *name;
    size_t len;
    int type;
};

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
        return lp_error_set(w->e, LP_ERR_IO, "%s: cannot open folder: %s", w->path.s,
                            strerror(errno));
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
                lp_error_set(w->e, LP_ERR_IO, "%s/%s: cannot stat: %s", w->path.s,
                             de->d_name, strerror(err));
                free_entries(e, n);
                return -1;
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
        return lp_error_set(w->e, LP_ERR_IO, "%s: cannot read folder: %s", w->path.s,
                            strerror(err));
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
    return lp_error_set(w->e, LP_ERR_NOMEM, "%s: out of memory", w->path.s);
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

static int pruned(const struct filter *f, const char *name, const char *rel)
{
    return equal_any(f->prune_names, name) || equal_any(f->prune_paths, rel) ||
           equal_any(f->product_dirs, rel);
}

/* Walk the folder w->path; the entries of one folder are read before any is
 * visited, so only one folder is open at a time however deep the tree. */
static int walk_dir(struct walk *w)
{
    const struct filter *f = w->flt, *tag = w->tag;
    struct entry *e = NULL;
    size_t n = 0, i, len = w->path.len;
    int rc = 0, tag_out = w->tag_out;

    char **targets = NULL;
    size_t nt = 0;

    if (read_dir(w, &e, &n))
        return -1;
    if ((f->kbuild_products || (tag && tag->kbuild_products)) &&
        (targets = kbuild_targets(e, n, &nt)) == (char **)-1) {
        free_entries(e, n);
        return lp_error_set(w->e, LP_ERR_NOMEM, "%s: out of memory", w->path.s);
    }
    for (i = 0; i < n && !rc; i++) {
        const char *rel;
        int product, tag_pruned;

        /* (a signal asked the run to stop: a walk of a big tree takes seconds) */
        if (helper_stop_requested) {
            rc = lp_error_set(w->e, LP_ERR_IO, "interrupted");
            break;
        }
        product = nt && e[i].type != T_DIR &&
                  bsearch(&e[i].name, targets, nt, sizeof(*targets), helper_str_cmp);
        if (product && f->kbuild_products)
            continue;

        if (str_push(&w->path, e[i].name) < 0) {
            rc = lp_error_set(w->e, LP_ERR_NOMEM, "%s: out of memory", w->path.s);
            break;
        }
        rel = walk_rel(w);
        tag_pruned = tag && pruned(tag, e[i].name, rel);
        if (!pruned(f, e[i].name, rel)) {
            int take = taken(f, e[i].name, rel, e[i].type);

            w->tagged = tag && !tag_out && !tag_pruned && !(product && tag->kbuild_products) &&
                        taken(tag, e[i].name, rel, e[i].type);
            if (take)
                rc = w->visit(w, e[i].type, 0);
            if (!rc && e[i].type == T_DIR) {
                w->tag_out = tag_out || tag_pruned;
                rc = walk_dir(w);
                w->tag_out = tag_out;
            }
            w->tagged = 0;
            if (!rc && take && e[i].type == T_DIR)
                rc = w->visit(w, T_DIR, 1);
        }
        str_cut(&w->path, len);
    }
    helper_free_lines(targets, nt);
    free_entries(e, n);
    return rc ? -1 : 0;
}

int walk_tree_tagged(const char *root, const struct filter *f, const struct filter *tag,
                     visit_fn visit, void *ctx, struct lp_error *e)
{
    struct walk w = { .flt = f, .tag = tag, .visit = visit, .ctx = ctx, .e = e };
    int rc;

    if (str_set_root(&w.path, root) < 0)
        return lp_error_set(e, LP_ERR_NOMEM, "out of memory");
    w.root_len = w.path.len;
    rc = walk_dir(&w);
    free(w.path.s);
    return rc;
}

int walk_tree(const char *root, const struct filter *f, visit_fn visit, void *ctx,
              struct lp_error *e)
{
    return walk_tree_tagged(root, f, NULL, visit, ctx, e);
}

/* --- links ------------------------------------------------------------------------ */

char *walk_read_link(const char *path)
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
