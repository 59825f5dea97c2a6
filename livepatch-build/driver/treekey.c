/*
 * treekey.c - the cache key of a tree (tree_key): an XXH3-128 hash of the salts,
 * then of every source file and link the walker takes (walk_sources), each as its
 * type, relative path, and size and contents (a file) or target (a link).  Times
 * and modes do not count: a copy hashes like its original.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "livepatch/util.h"
#include "tree.h"
#include "walk.h"

struct hasher {
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
            return lp_error_set(w->e, LP_ERR_IO, "%s: cannot open: %s", w->path.s,
                                strerror(errno));
        if (fstat(fd, &st) < 0) {
            int err = errno;
            close(fd);
            return lp_error_set(w->e, LP_ERR_IO, "%s: cannot stat: %s", w->path.s,
                                strerror(err));
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
                return lp_error_set(w->e, LP_ERR_IO, "%s: cannot read: %s", w->path.s,
                                    strerror(err));
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
            return lp_error_set(w->e, LP_ERR_IO, "%s: changed while being read", w->path.s);
    } else {
        char *target = walk_read_link(w->path.s);

        if (!target)
            return lp_error_set(w->e, LP_ERR_IO, "%s: cannot read link: %s", w->path.s,
                                strerror(errno));
        XXH3_128bits_update(h->state, target, strlen(target) + 1);
        free(target);
    }
    return 0;
}

int tree_key(const char *src, const char *const *prune, size_t nr_prune,
             const struct tree_salt *salts, size_t nr_salts, char key[33], struct lp_error *e)
{
    struct hasher h = { 0 };
    struct filter f;
    char **prunes = walk_prunes(prune, nr_prune);
    XXH128_canonical_t canon;
    size_t i;
    int rc = -1;

    h.state = XXH3_createState();
    h.buf = malloc(COPY_BUF);
    if (!prunes || !h.state || !h.buf) {
        lp_error_set(e, LP_ERR_NOMEM, "out of memory");
        goto out;
    }
    f = walk_sources((const char *const *)prunes);
    XXH3_128bits_reset(h.state);
    /* Salts are NUL-terminated (so "ab" is not "a" then "b"); a file's bytes come
     * after a tag and their length. */
    for (i = 0; i < nr_salts; i++) {
        unsigned char *buf;
        size_t len;

        if (!salts[i].is_file) {
            XXH3_128bits_update(h.state, salts[i].text, strlen(salts[i].text) + 1);
            continue;
        }
        if (lp_read_file(salts[i].text, &buf, &len, e))
            goto out;
        XXH3_128bits_update(h.state, "F", 1);
        XXH3_128bits_update(h.state, &len, sizeof(len));
        XXH3_128bits_update(h.state, buf, len);
        free(buf);
    }
    if (walk_tree(src, &f, hash_visit, &h, e))
        goto out;
    XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(h.state));
    lp_hex(canon.digest, sizeof(canon.digest), key);
    rc = 0;
out:
    XXH3_freeState(h.state);
    free(h.buf);
    walk_free_prunes(prunes);
    return rc;
}
