/*
 * xenmake.c - what `make -C xen OBJECT...` needs to make single objects of a Xen
 * tree, in one place: the target to ask for (an init object's, for an object that
 * feeds one: xen_make_target), and the rules Xen's top Makefile lacks for some
 * targets (tree_make_rules).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "tree.h"
#include "walk.h"

/*
 * Xen makes DIR/NAME.init.o from DIR/NAME.o, and the flags that make NAME.o init-only
 * (-DINIT_SECTIONS_ONLY) are a target-specific variable of NAME.init.o: asked for
 * NAME.o alone, make compiles it without them (into ordinary sections, or not at all:
 * arch/x86/efi/pe.c).  So an object that feeds an init object (its record
 * .NAME.init.o.cmd is there) is made through it.
 */
char *xen_make_target(const char *prev, const char *t)
{
    size_t n = strlen(t);
    const char *slash = strrchr(t, '/');
    int dir = slash ? (int)(slash - t) + 1 : 0;

    if (n > 2 && !strcmp(t + n - 2, ".o") && (n < 7 || strcmp(t + n - 7, ".init.o"))) {
        char *rec, *init;
        int feeds;

        if (asprintf(&rec, "%s/xen/%.*s.%.*s.init.o.cmd", prev, dir, t, (int)(n - 2 - (size_t)dir),
                     t + dir) < 0)
            return NULL;
        feeds = access(rec, F_OK) == 0;
        free(rec);
        if (feeds)
            return asprintf(&init, "%.*s.init.o", (int)(n - 2), t) < 0 ? NULL : init;
    }
    return strdup(t);
}

/* Whether TREE/xen/NAME, or TREE/xen/DIR/NAME for the first dir_len bytes of dir, is a
 * file (dir "" gives TREE/xen//NAME, as the shell joins them); -1 out of memory. */
static int xen_file(const char *tree, const char *dir, size_t dir_len, const char *name)
{
    char *path;
    int rc = dir ? asprintf(&path, "%s/xen/%.*s/%s", tree, (int)dir_len, dir, name)
                 : asprintf(&path, "%s/xen/%s", tree, name);
    bool is;

    if (rc < 0)
        return -1;
    is = helper_is_file(path);
    free(path);
    return is;
}

/*
 * Xen's top Makefile makes a single object DIR/NAME.o through DIR's own Makefile, and
 * only when there is a DIR/NAME.c.  Two kinds of object miss that rule: NAME.init.o
 * (made from NAME.o, which only that target compiles with -DINIT_SECTIONS_ONLY), and
 * an object of a folder without a Makefile, which an enclosing folder's Makefile
 * builds (common/compat/domain.o).  For those, a rule (at the top level only) that
 * goes to the folder that builds them, as Xen's own rules do.  Only in a Xen tree
 * (one with xen/Rules.mk): the rules use its $(build) and tools_fixdep.
 */
int tree_make_rules(const char *tree, const char *const *targets, size_t nr_targets,
                    char **eval, struct lp_error *e)
{
    struct str r = { 0 };
    size_t i;
    int is;

    *eval = NULL;
    if ((is = xen_file(tree, NULL, 0, "Rules.mk")) <= 0)
        goto done;
    for (i = 0; i < nr_targets; i++) {
        const char *t = targets[i], *slash = strrchr(t, '/');
        size_t n = strlen(t), d;
        char *rule;

        if (!slash)
            continue;
        d = (size_t)(slash - t);
        /* (an ordinary object of a folder with a Makefile: Xen's own rule makes it) */
        if (n < 7 || strcmp(t + n - 7, ".init.o")) {
            if ((is = xen_file(tree, t, d, "Makefile")) < 0)
                goto done;
            if (is)
                continue;
        }
        /* Up to the nearest folder with a Makefile (none: no rule). */
        while ((is = xen_file(tree, t, d, "Makefile")) == 0 && memchr(t, '/', d))
            d = (size_t)((const char *)memrchr(t, '/', d) - t);
        if (is < 0)
            goto done;
        if (!is)
            continue;
        if (asprintf(&rule, "%s: tools_fixdep FORCE ; $(Q)$(MAKE) $(build)=%.*s %s\n", t, (int)d,
                     t, t) < 0) {
            is = -1;
            goto done;
        }
        is = str_add(&r, rule, strlen(rule)) < 0 ? -1 : 1;
        free(rule);
        if (is < 0)
            goto done;
    }
    /* (the shell driver's --eval argument, byte for byte) */
    if (r.len && asprintf(eval, "--eval=ifeq ($(MAKELEVEL),0)\n%sendif", r.s) < 0) {
        *eval = NULL;
        is = -1;
    }
done:
    free(r.s);
    if (is < 0)
        return lp_error_set(e, LP_ERR_NOMEM, "out of memory");
    return 0;
}
