/*
 * copy.c - copies of trees and files with their modes and times: the sources of a
 * tree (tree_copy_sources), what a filter takes of a build (walk_copy, for
 * prepare), and one file (tree_copy_file).  Symbolic links are copied as links,
 * re-pointed so that a copy never reaches back into the tree it came from; the files
 * a walk_copy is told nothing writes are hard links to the originals where it can.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "tree.h"
#include "walk.h"

/* --- where links lead ------------------------------------------------------------- */

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
                if (!(target = walk_read_link(done.s)))
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

/* --- copying ---------------------------------------------------------------------- */

struct copier {
    struct lp_error *e;
    struct str dst;       /* destination root, then root "/" relative path */
    size_t dst_root_len;
    struct str made;      /* the last destination folder known to exist */
    int clone;            /* try FICLONE first (cleared once it fails) */
    int use_cfr;          /* copy_file_range works here (cleared once it does not) */
    int share;            /* hard-link what w->tagged says (cleared once linking fails) */
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
            return lp_error_set(c->e, LP_ERR_IO, "%s: cannot write: %s", dst, strerror(errno));
        return lp_error_set(c->e, LP_ERR_IO, "%s: cannot copy to %s: %s", src, dst,
                            strerror(errno));
    }
    if (done && lseek(sfd, done, SEEK_SET) < 0)
        return lp_error_set(c->e, LP_ERR_IO, "%s: cannot seek: %s", src, strerror(errno));
    if (!c->buf && !(c->buf = malloc(COPY_BUF)))
        return lp_error_set(c->e, LP_ERR_NOMEM, "out of memory");
    for (;;) {
        ssize_t n = read(sfd, c->buf, COPY_BUF), w = 0;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return lp_error_set(c->e, LP_ERR_IO, "%s: cannot read: %s", src, strerror(errno));
        if (n == 0)
            return 0;
        while (w < n) {
            ssize_t k = write(dfd, c->buf + w, (size_t)(n - w));

            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return lp_error_set(c->e, LP_ERR_IO, "%s: cannot write: %s", dst, strerror(errno));
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
        return lp_error_set(c->e, LP_ERR_IO, "%.*s: cannot create folder: %s", (int)n,
                            c->dst.s, strerror(errno));
    c->made.len = 0;
    if (str_add(&c->made, c->dst.s, n) < 0)
        return lp_error_set(c->e, LP_ERR_NOMEM, "out of memory");
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
        return lp_error_set(c->e, LP_ERR_IO, "%s: cannot open: %s", src, strerror(errno));
    if (fstat(sfd, &st) < 0) {
        rc = lp_error_set(c->e, LP_ERR_IO, "%s: cannot stat: %s", src, strerror(errno));
        close(sfd);
        return rc;
    }
    dfd = create_file(dst);
    if (dfd < 0) {
        rc = lp_error_set(c->e, LP_ERR_IO, "%s: cannot create: %s", dst, strerror(errno));
        close(sfd);
        return rc;
    }
    rc = copy_data(c, sfd, dfd, st.st_size, src, dst);
    close(sfd);
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    /* Times last: anything written after them would move the mtime again. */
    if (!rc && (fchmod(dfd, st.st_mode & 07777) < 0 || futimens(dfd, times) < 0))
        rc = lp_error_set(c->e, LP_ERR_IO, "%s: cannot set mode and times: %s", dst,
                          strerror(errno));
    if (close(dfd) < 0 && !rc)
        rc = lp_error_set(c->e, LP_ERR_IO, "%s: cannot write: %s", dst, strerror(errno));
    return rc;
}

int tree_copy_file(const char *src, const char *dst, struct lp_error *e)
{
    struct copier c = { .e = e, .use_cfr = 1 };
    char *d = strdup(dst);
    int rc;

    if (!d)
        return lp_error_set(e, LP_ERR_NOMEM, "out of memory");
    if (helper_make_parent(d) < 0)
        rc = lp_error_set(e, LP_ERR_IO, "%s: cannot create its folder: %s", dst, strerror(errno));
    else
        rc = copy_file(&c, src, dst);
    free(d);
    free(c.buf);
    return rc;
}

/* helper.h's copy of one file, for objects.c: tree_copy_file with the message printed. */
int helper_copy_file(const char *cmd, const char *src, const char *dst)
{
    struct lp_error e = { 0 };

    if (tree_copy_file(src, dst, &e) < 0)
        return helper_fail(cmd, "%s", e.msg);
    return 0;
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

    if (lstat(src, &st) < 0 || !(target = walk_read_link(src)))
        return lp_error_set(c->e, LP_ERR_IO, "%s: cannot read link: %s", src, strerror(errno));
    if (c->src_real && link_in_copy(c, rel, &target) < 0 && errno != ELOOP) {
        rc = lp_error_set(c->e, LP_ERR_IO, "%s: cannot resolve link: %s", src, strerror(errno));
        free(target);
        return rc;
    }
    if (symlink(target, dst) < 0 &&
        (errno != EEXIST || unlink(dst) < 0 || symlink(target, dst) < 0))
        rc = lp_error_set(c->e, LP_ERR_IO, "%s: cannot create link: %s", dst, strerror(errno));
    free(target);
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    if (!rc && utimensat(AT_FDCWD, dst, times, AT_SYMLINK_NOFOLLOW) < 0)
        rc = lp_error_set(c->e, LP_ERR_IO, "%s: cannot set times: %s", dst, strerror(errno));
    return rc;
}

/* Folders, fifos, devices: only a copy of everything (prepare without targets) has them. */
static int copy_special(struct copier *c, const char *src, const char *dst, int type, int post)
{
    struct stat st;
    struct timespec times[2];

    if (lstat(src, &st) < 0)
        return lp_error_set(c->e, LP_ERR_IO, "%s: cannot stat: %s", src, strerror(errno));
    if (type == T_DIR && !post) {
        /* Writable while it is filled; its own mode and times come after. */
        if (mkdir(dst, 0700) < 0 && errno != EEXIST)
            return lp_error_set(c->e, LP_ERR_IO, "%s: cannot create folder: %s", dst,
                                strerror(errno));
        return 0;
    }
    if (type != T_DIR && mknod(dst, st.st_mode, st.st_rdev) < 0)
        return lp_error_set(c->e, LP_ERR_IO, "%s: cannot create: %s", dst, strerror(errno));
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    if (chmod(dst, st.st_mode & 07777) < 0 || utimensat(AT_FDCWD, dst, times, 0) < 0)
        return lp_error_set(c->e, LP_ERR_IO, "%s: cannot set mode and times: %s", dst,
                            strerror(errno));
    return 0;
}

static int copy_visit(struct walk *w, int type, int post)
{
    struct copier *c = w->ctx;

    str_cut(&c->dst, c->dst_root_len);
    if (str_push(&c->dst, walk_rel(w)) < 0)
        return lp_error_set(c->e, LP_ERR_NOMEM, "out of memory");
    if (type != T_DIR && ensure_parent(c))
        return -1;
    if (type == T_FILE && c->share && w->tagged) {
        if (link(w->path.s, c->dst.s) == 0 ||
            (errno == EEXIST && unlink(c->dst.s) == 0 && link(w->path.s, c->dst.s) == 0))
            return 0;
        /* (another file system, one without hard links, or a file at its link limit) */
        if (errno != EXDEV && errno != EPERM && errno != EOPNOTSUPP && errno != EMLINK)
            return lp_error_set(c->e, LP_ERR_IO, "%s: cannot link to %s: %s", c->dst.s,
                                w->path.s, strerror(errno));
        if (errno != EMLINK)
            c->share = 0;
    }
    if (type == T_FILE)
        return copy_file(c, w->path.s, c->dst.s);
    if (type == T_LINK)
        return copy_link(c, w->path.s, c->dst.s, walk_rel(w));
    return copy_special(c, w->path.s, c->dst.s, type, post);
}

int walk_copy(const char *src, const char *dst, const struct filter *f, bool clone,
              const struct filter *shared, struct lp_error *e)
{
    struct copier c = { .e = e, .clone = clone, .use_cfr = 1, .share = shared != NULL };
    int rc;

    if (str_set_root(&c.dst, dst) < 0)
        return lp_error_set(e, LP_ERR_NOMEM, "out of memory");
    /* Links are re-pointed against the real source root (see link_in_copy). */
    if (!(c.src_real = realpath(src, NULL))) {
        free(c.dst.s);
        return lp_error_set(e, LP_ERR_IO, "%s: cannot resolve: %s", src, strerror(errno));
    }
    c.dst_root_len = c.dst.len;
    if (helper_make_dirs(c.dst.s) < 0) {
        rc = lp_error_set(e, LP_ERR_IO, "%s: cannot create folder: %s", dst, strerror(errno));
    } else if (str_add(&c.made, c.dst.s, c.dst.len) < 0) {
        rc = lp_error_set(e, LP_ERR_NOMEM, "out of memory");
    } else {
        rc = walk_tree_tagged(src, f, shared, copy_visit, &c, e);
    }
    free(c.dst.s);
    free(c.made.s);
    free(c.buf);
    free(c.src_real);
    return rc;
}

int tree_copy_sources(const char *src, const char *dst, const char *const *prune,
                      size_t nr_prune, struct lp_error *e)
{
    char **prunes = walk_prunes(prune, nr_prune);
    struct filter f;
    int rc;

    if (!prunes)
        return lp_error_set(e, LP_ERR_NOMEM, "out of memory");
    f = walk_sources((const char *const *)prunes);
    rc = walk_copy(src, dst, &f, false, NULL, e);
    walk_free_prunes(prunes);
    return rc;
}
