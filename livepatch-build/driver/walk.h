/*
 * walk.h - what the tree modules (walk.c, treekey.c, copy.c, prepare.c, xenmake.c)
 * share: paths as dynamic strings, the walker and its filters (what is a source,
 * what is a build product), and the copy of what a filter takes.  Internal to
 * them: the rest of livepatch-build uses tree.h.
 *
 * Failure is -1 with the message in an lp_error, as in tree.h.
 */
#ifndef LPB_WALK_H
#define LPB_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/error.h"

/* Read and copy buffers. */
#define COPY_BUF (1u << 20)

/* --- dynamic strings -------------------------------------------------------------- */

struct str {
    char *s;
    size_t len, cap;
};

static inline int str_add(struct str *p, const char *s, size_t n)
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

static inline int str_set(struct str *p, const char *s)
{
    p->len = 0;
    return str_add(p, s, strlen(s));
}

/* Append "/name" (just "name" to an empty string). */
static inline int str_push(struct str *p, const char *name)
{
    if (p->len && str_add(p, "/", 1) < 0)
        return -1;
    return str_add(p, name, strlen(name));
}

static inline void str_cut(struct str *p, size_t len)
{
    p->len = len;
    if (p->s)
        p->s[len] = '\0';
}

/* A folder path: "dir/" and "dir" name the same root; "/" stays "/". */
static inline int str_set_root(struct str *p, const char *s)
{
    if (str_set(p, s) < 0)
        return -1;
    while (p->len > 1 && p->s[p->len - 1] == '/')
        str_cut(p, p->len - 1);
    return 0;
}

/* --- which files (walk.c) --------------------------------------------------------- */

enum { T_FILE = 1, T_LINK = 2, T_DIR = 4, T_OTHER = 8 };

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

/* The sources of a tree (tree_key, tree_copy_sources), less prune_paths (walk_prunes). */
struct filter walk_sources(const char *const *prune_paths);
/* A built tree less what a build of single objects must not see or reuse. */
extern const struct filter walk_kept;
/* Everything: files, links, folders and the rest (a full copy). */
extern const struct filter walk_all;
/* Make's dependency files and Kbuild's .NAME.cmd records. */
extern const struct filter walk_deps;

/* The prune paths of tree.h as the filter wants them ("./x/" is "x"; empty ones left
 * out): a NULL-terminated malloc'd list (walk_free_prunes), or NULL out of memory. */
char **walk_prunes(const char *const *prune, size_t nr_prune);
void walk_free_prunes(char **v);

/* --- the walker (walk.c) ---------------------------------------------------------- */

struct walk;
/* Called for each entry taken (folders: post 0 before the contents, 1 after);
 * 0, or -1 with w->e set. */
typedef int (*visit_fn)(struct walk *w, int type, int post);

struct walk {
    const struct filter *flt;
    const struct filter *tag; /* when set: does it take the current entry too? */
    int tagged;               /* (its answer, for the entry being visited) */
    int tag_out;              /* (the folder being walked is outside tag) */
    visit_fn visit;
    void *ctx;
    struct lp_error *e;
    struct str path;   /* root "/" relative path of the current entry */
    size_t root_len;
};

/* The path of the current entry relative to the root. */
static inline const char *walk_rel(const struct walk *w)
{
    return w->path.len > w->root_len ? w->path.s + w->root_len + 1 : "";
}

/*
 * Visit what filter f takes of the tree at root: depth first, symbolic links never
 * followed, entries in the byte order of their relative paths.  Stops with
 * "interrupted" once helper_stop_requested is set.
 */
int walk_tree(const char *root, const struct filter *f, visit_fn visit, void *ctx,
              struct lp_error *e);
/* The same walk; each visit also finds in w->tagged whether filter tag takes the entry. */
int walk_tree_tagged(const char *root, const struct filter *f, const struct filter *tag,
                     visit_fn visit, void *ctx, struct lp_error *e);

/* The target of a symbolic link, malloc'd; NULL with errno set. */
char *walk_read_link(const char *path);

/* --- copying (copy.c) ------------------------------------------------------------- */

/*
 * Copy what filter f takes of src into dst (created if needed); clone: try reflinks.
 * The files filter shared also takes are hard links to src's instead (a copy where the
 * file system cannot link): only for files that nothing run in dst writes in place.
 */
int walk_copy(const char *src, const char *dst, const struct filter *f, bool clone,
              const struct filter *shared, struct lp_error *e);

/* --- Xen's make (xenmake.c) ------------------------------------------------------- */

/* The make target for object t (relative to PREV/xen) of the build in prev: NAME.init.o
 * for an object that feeds an init object, else t.  malloc'd, or NULL. */
char *xen_make_target(const char *prev, const char *t);

#endif
