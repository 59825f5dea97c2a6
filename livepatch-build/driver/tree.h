/*
 * tree.h - what livepatch-build does with source trees: the cache key of a tree,
 * a copy of its sources, and the patched work tree of one payload (with the
 * objects a targeted build must remake).  Build products and version-control data
 * are never hashed or copied (a tree built in place keys and copies as a clean
 * one).  Every function reports failure in *e and prints nothing, except where
 * said.  The walks over a tree stop with "interrupted" once helper_stop_requested
 * (helper.h) is set.
 */
#ifndef LPB_TREE_H
#define LPB_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "livepatch/error.h"

/* One ingredient of a cache key besides the tree: a string, or a file's bytes. */
struct tree_salt {
    const char *text;   /* the string, or the file's path */
    bool is_file;
};

/*
 * The cache key of the sources of `src` (32 hex digits and a NUL into key): the salts
 * in order, then every source file and link, path and contents.  `prune`: paths
 * relative to src ("out", "a/b"; "./x" and a trailing '/' are accepted) left out.
 */
int tree_key(const char *src, const char *const *prune, size_t nr_prune,
             const struct tree_salt *salts, size_t nr_salts, char key[33], struct lp_error *e);

/* Copy the sources of `src` (as tree_key sees them) to `dst`, modes and times kept. */
int tree_copy_sources(const char *src, const char *dst, const char *const *prune,
                      size_t nr_prune, struct lp_error *e);

/* The patched work tree of one payload. */
struct tree_prepare {
    const char *base;    /* the unpatched build (its sources: what #line fixing compares) */
    const char *prev;    /* the build this one starts from (base, or the stack's last) */
    const char *tree;    /* the work tree to create: absent or an empty folder */
    const char *src;     /* the patched sources (only the touched files are read) */
    const char *const *touched;  /* files the patches touched, relative to the tree */
    size_t nr_touched;
    const char *config;  /* the .config, copied to TREE/xen/.config */
    bool fix_lines;      /* #line directives that keep the lines below a hunk */
    bool full;           /* never a targeted build */
    bool share_sources;  /* a targeted tree hard-links prev's sources (walk_sources) instead
                          * of copying them: only for a tree removed at the end, never
                          * handed to the user, as nothing a build runs writes a source */
};

/*
 * Make p->tree: with *nr_targets > 0 on return, a copy of prev without its objects and
 * images, and *targets the objects (relative to xen/, sorted) a targeted make must
 * remake; with 0, a full copy of prev, to be built whole.  Notes for the user (a
 * touched file no object depends on) are printed on stderr as "livepatch-build: ...".
 * The targets are make's: an object that feeds an init object is named NAME.init.o
 * (see tree_make_rules).  *targets and each of them are malloc'd.  A touched path that
 * leads out of the tree (absolute, or through "..") fails with LP_ERR_INVALID.
 */
int tree_prepare(const struct tree_prepare *p, char ***targets, size_t *nr_targets,
                 struct lp_error *e);

/*
 * The rules that `make -C TREE/xen TARGET...` needs besides Xen's own, for targets as
 * tree_prepare gives them: for DIR/NAME.init.o, and for an object of a folder without
 * a Makefile, a rule that makes it through the nearest folder with one.  *eval is the
 * argument to give make, "--eval=ifeq ($(MAKELEVEL),0)\n...endif" (malloc'd), or NULL
 * when no target needs one (or TREE has no xen/Rules.mk: not a Xen tree).
 */
int tree_make_rules(const char *tree, const char *const *targets, size_t nr_targets,
                    char **eval, struct lp_error *e);

/* One file, mode and times kept, its folder created (the files a patch touches). */
int tree_copy_file(const char *src, const char *dst, struct lp_error *e);

#endif
