/*
 * fixlines.c - "#line" directives after the hunks of a patched source (see
 * fixlines.h).
 *
 * The diff: common leading and trailing lines are cut off first (a patch touches
 * a few lines of a long file), lines are numbered by content, lines that occur in
 * one file only are changed for certain and left out, and Myers' O(ND) algorithm
 * in its linear-space form (forward and backward search meeting in a middle
 * snake, then each half on its own) matches the rest.  Runs of changed lines are
 * then slid down over identical lines as diff does, so a blank line or a "}"
 * added next to an identical one is reported where diff reports it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "fixlines.h"

struct lines {
    const char *buf;
    size_t n;
    size_t *off; /* n + 1 entries: line i is buf[off[i] .. off[i + 1]), '\n' included */
};

static int split_lines(const char *buf, size_t len, struct lines *l)
{
    const char *p = buf, *end = buf + len, *nl;
    size_t n = 0;

    l->buf = buf;
    while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
        n++;
        p = nl + 1;
    }
    if (p < end)
        n++; /* a last line without '\n' is a line, and differs from one with it */
    l->n = n;
    l->off = malloc((n + 1) * sizeof(*l->off));
    if (!l->off)
        return -1;
    n = 0;
    p = buf;
    while (p < end) {
        l->off[n++] = (size_t)(p - buf);
        nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    l->off[n] = len;
    return 0;
}

static size_t line_len(const struct lines *l, size_t i)
{
    return l->off[i + 1] - l->off[i];
}

static int line_eq(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
    size_t n = line_len(a, i);

    return n == line_len(b, j) && memcmp(a->buf + a->off[i], b->buf + b->off[j], n) == 0;
}

/* --- numbering lines by content ------------------------------------------------ */

struct slot {
    const struct lines *l; /* NULL: empty slot */
    size_t line;
    uint64_t hash;
    size_t id;
};

/* Give each of lines first..first+n-1 of l the number of its content in ids. */
static void number_lines(struct slot *tab, size_t mask, const struct lines *l, size_t first,
                         size_t n, size_t *ids, size_t *nclasses)
{
    size_t i;

    for (i = 0; i < n; i++) {
        size_t line = first + i;
        uint64_t h = XXH3_64bits(l->buf + l->off[line], line_len(l, line));
        size_t s = (size_t)h & mask;

        while (tab[s].l &&
               (tab[s].hash != h || !line_eq(tab[s].l, tab[s].line, l, line)))
            s = (s + 1) & mask;
        if (!tab[s].l) {
            tab[s].l = l;
            tab[s].line = line;
            tab[s].hash = h;
            tab[s].id = (*nclasses)++;
        }
        ids[i] = tab[s].id;
    }
}

/* --- Myers' diff --------------------------------------------------------------- */

struct myers {
    const size_t *a, *b;     /* line numbers (content ids) of the two sequences */
    unsigned char *ca, *cb;  /* set for lines not matched */
    ptrdiff_t *fwd, *bwd;    /* furthest x per diagonal, from the start / from the end */
    long long budget;        /* steps left before regions are given up on whole */
};

/*
 * The middle snake of a[x0..x1) against b[y0..y1): a point an optimal edit path
 * goes through, splitting the problem in two of about half the cost each.  The
 * forward search keeps, for each diagonal k = x - y, the furthest x reached with
 * d edits; the backward one the same in reversed coordinates (u = n - x,
 * v = m - y).  Where they meet on a diagonal, the path is complete.  Diagonals
 * that cannot be reached within the grid hold -1.  Returns -1 when the budget
 * runs out first.
 */
static int middle_snake(struct myers *my, ptrdiff_t x0, ptrdiff_t x1, ptrdiff_t y0,
                        ptrdiff_t y1, ptrdiff_t *xm, ptrdiff_t *ym)
{
    const size_t *a = my->a + x0, *b = my->b + y0;
    ptrdiff_t n = x1 - x0, m = y1 - y0, delta = n - m;
    ptrdiff_t *f = my->fwd + m, *r = my->bwd + m; /* indexed by diagonal, -m..n */
    ptrdiff_t flo = 0, fhi = 0, rlo = 0, rhi = 0, d, k, x, u;
    int odd = (delta % 2) != 0;

    x = 0;
    while (x < n && x < m && a[x] == b[x])
        x++;
    f[0] = x;
    u = 0;
    while (u < n && u < m && a[n - 1 - u] == b[m - 1 - u])
        u++;
    r[0] = u;

    for (d = 1;; d++) {
        ptrdiff_t lo = flo - 1 >= -m ? flo - 1 : flo + 1;
        ptrdiff_t hi = fhi + 1 <= n ? fhi + 1 : fhi - 1;

        if (my->budget < 0)
            return -1;
        my->budget -= hi - lo + 1;
        /* Forward, highest diagonal first (diff's order, which decides ties). */
        for (k = hi; k >= lo; k -= 2) {
            ptrdiff_t y, start;

            x = -1;
            if (k - 1 >= flo && k - 1 <= fhi && f[k - 1] >= 0 && f[k - 1] < n)
                x = f[k - 1] + 1;
            if (k + 1 >= flo && k + 1 <= fhi && f[k + 1] >= 0 && f[k + 1] - (k + 1) < m &&
                f[k + 1] > x)
                x = f[k + 1];
            if (x >= 0) {
                y = x - k;
                start = x;
                while (x < n && y < m && a[x] == b[y])
                    x++, y++;
                my->budget -= x - start;
            }
            f[k] = x;
            if (odd && x >= 0 && delta - k >= rlo && delta - k <= rhi &&
                r[delta - k] >= 0 && x + r[delta - k] >= n) {
                *xm = x0 + x;
                *ym = y0 + x - k;
                return 0;
            }
        }
        flo = lo;
        fhi = hi;

        lo = rlo - 1 >= -m ? rlo - 1 : rlo + 1;
        hi = rhi + 1 <= n ? rhi + 1 : rhi - 1;
        my->budget -= hi - lo + 1;
        /* Backward: reversed diagonal kr = delta - k, so rising kr is falling k. */
        for (k = lo; k <= hi; k += 2) {
            ptrdiff_t v, start;

            u = -1;
            if (k - 1 >= rlo && k - 1 <= rhi && r[k - 1] >= 0 && r[k - 1] < n)
                u = r[k - 1] + 1;
            if (k + 1 >= rlo && k + 1 <= rhi && r[k + 1] >= 0 && r[k + 1] - (k + 1) < m &&
                r[k + 1] > u)
                u = r[k + 1];
            if (u >= 0) {
                v = u - k;
                start = u;
                while (u < n && v < m && a[n - 1 - u] == b[m - 1 - v])
                    u++, v++;
                my->budget -= u - start;
            }
            r[k] = u;
            if (!odd && u >= 0 && delta - k >= flo && delta - k <= fhi &&
                f[delta - k] >= 0 && f[delta - k] + u >= n) {
                *xm = x0 + n - u;
                *ym = y0 + m - (u - k);
                return 0;
            }
        }
        rlo = lo;
        rhi = hi;
    }
}

static void mark(unsigned char *c, ptrdiff_t from, ptrdiff_t to)
{
    if (to > from)
        memset(c + from, 1, (size_t)(to - from));
}

/* Each split halves the cost, so the recursion is only about log2(D) deep. */
static void compare(struct myers *my, ptrdiff_t x0, ptrdiff_t x1, ptrdiff_t y0, ptrdiff_t y1)
{
    ptrdiff_t xm, ym;

    while (x0 < x1 && y0 < y1 && my->a[x0] == my->b[y0])
        x0++, y0++;
    while (x1 > x0 && y1 > y0 && my->a[x1 - 1] == my->b[y1 - 1])
        x1--, y1--;
    if (x0 == x1 || y0 == y1) {
        mark(my->ca, x0, x1);
        mark(my->cb, y0, y1);
        return;
    }
    /* Both ends now differ, so the cost is at least 2 and both halves are smaller
     * than the whole; a corner split would mean otherwise, so it is not trusted. */
    if (middle_snake(my, x0, x1, y0, y1, &xm, &ym) < 0 || (xm == x0 && ym == y0) ||
        (xm == x1 && ym == y1)) {
        mark(my->ca, x0, x1);
        mark(my->cb, y0, y1);
        return;
    }
    compare(my, x0, xm, y0, ym);
    compare(my, xm, x1, ym, y1);
}

/* --- sliding runs of changes --------------------------------------------------- */

/*
 * Slide each run of changed lines of one file over identical lines: up as far as
 * it goes, then down as far as it goes, merging with runs it meets, until it stops
 * growing; then back up to where it last lined up with a change in the other file,
 * if it did, so a replaced block stays one hunk.  j follows the line of the other
 * file paired with line i (the next unchanged one there).
 */
static void slide(const size_t *id, unsigned char *chg, size_t n, const unsigned char *ochg,
                  size_t on)
{
    size_t i = 0, j = 0;

    for (;;) {
        size_t start, runlen, aligned;

        while (i < n && !chg[i]) {
            while (j < on && ochg[j])
                j++;
            j++;
            i++;
        }
        if (i >= n)
            break;
        start = i;
        while (i < n && chg[i])
            i++;
        while (j < on && ochg[j])
            j++;
        do {
            runlen = i - start;
            while (start > 0 && id[start - 1] == id[i - 1]) {
                chg[--start] = 1;
                chg[--i] = 0;
                while (start > 0 && chg[start - 1])
                    start--;
                while (j > 0 && ochg[--j])
                    ;
            }
            aligned = (j > 0 && ochg[j - 1]) ? i : n;
            while (i < n && id[start] == id[i]) {
                chg[start++] = 0;
                chg[i++] = 1;
                while (i < n && chg[i])
                    i++;
                j++;
                while (j < on && ochg[j]) {
                    j++;
                    aligned = i;
                }
            }
        } while (runlen != i - start);
        while (aligned < i) {
            chg[--start] = 1;
            chg[--i] = 0;
            while (j > 0 && ochg[--j])
                ;
        }
    }
}

/* --- the diff of the middle part ----------------------------------------------- */

/*
 * Mark in ca/cb the lines of a[first..first+na) and b[first..first+nb) that a
 * minimal diff does not match.
 */
static int diff_middle(const struct lines *a, const struct lines *b, size_t first, size_t na,
                       size_t nb, unsigned char *ca, unsigned char *cb)
{
    size_t cap = 16, nclasses = 0, i, fna = 0, fnb = 0;
    size_t *ida = NULL, *idb = NULL, *seen = NULL, *fa = NULL, *fb = NULL, *mapa = NULL,
           *mapb = NULL;
    struct slot *tab = NULL;
    unsigned char *fca = NULL, *fcb = NULL;
    struct myers my = { 0 };
    int rc = -1;

    while (cap < 2 * (na + nb))
        cap <<= 1;
    tab = calloc(cap, sizeof(*tab));
    ida = malloc(na * sizeof(*ida));
    idb = malloc(nb * sizeof(*idb));
    if (!tab || !ida || !idb)
        goto out;
    number_lines(tab, cap - 1, a, first, na, ida, &nclasses);
    number_lines(tab, cap - 1, b, first, nb, idb, &nclasses);
    free(tab);
    tab = NULL;

    /* seen: bit 1 if the content occurs in a, bit 2 if in b. */
    seen = calloc(nclasses, sizeof(*seen));
    fa = malloc(na * sizeof(*fa));
    fb = malloc(nb * sizeof(*fb));
    mapa = malloc(na * sizeof(*mapa));
    mapb = malloc(nb * sizeof(*mapb));
    fca = calloc(na + 1, 1);
    fcb = calloc(nb + 1, 1);
    my.fwd = malloc((na + nb + 3) * sizeof(*my.fwd));
    my.bwd = malloc((na + nb + 3) * sizeof(*my.bwd));
    if (!seen || !fa || !fb || !mapa || !mapb || !fca || !fcb || !my.fwd || !my.bwd)
        goto out;
    for (i = 0; i < na; i++)
        seen[ida[i]] |= 1;
    for (i = 0; i < nb; i++)
        seen[idb[i]] |= 2;
    /* A line whose content the other file lacks is in no common subsequence:
     * leaving it out keeps the result and shrinks the search, often to nothing. */
    for (i = 0; i < na; i++) {
        if (seen[ida[i]] == 3) {
            fa[fna] = ida[i];
            mapa[fna++] = i;
        } else {
            ca[i] = 1;
        }
    }
    for (i = 0; i < nb; i++) {
        if (seen[idb[i]] == 3) {
            fb[fnb] = idb[i];
            mapb[fnb++] = i;
        } else {
            cb[i] = 1;
        }
    }

    my.a = fa;
    my.b = fb;
    my.ca = fca;
    my.cb = fcb;
    /* About a second of work at most; past that the rest is taken as one change. */
    my.budget = 200000000LL + 64LL * (long long)(fna + fnb);
    compare(&my, 0, (ptrdiff_t)fna, 0, (ptrdiff_t)fnb);
    for (i = 0; i < fna; i++)
        ca[mapa[i]] |= fca[i];
    for (i = 0; i < fnb; i++)
        cb[mapb[i]] |= fcb[i];

    slide(ida, ca, na, cb, nb);
    slide(idb, cb, nb, ca, na);
    rc = 0;
out:
    free(tab);
    free(ida);
    free(idb);
    free(seen);
    free(fa);
    free(fb);
    free(mapa);
    free(mapb);
    free(fca);
    free(fcb);
    free(my.fwd);
    free(my.bwd);
    return rc;
}

/* --- the output ---------------------------------------------------------------- */

struct directive {
    size_t at;   /* 1-based line of new the directive goes before */
    size_t line; /* its number in old */
};

/* Line i continues on the next one: it ends in '\\' before its "\n" or, in a file
 * with DOS line ends, before its "\r\n" (the compiler reads "\\\r\n" as a
 * continuation too). */
static int ends_in_backslash(const struct lines *l, size_t i)
{
    size_t s = l->off[i], e = l->off[i + 1];

    if (e > s && l->buf[e - 1] == '\n')
        e--;
    if (e > s && l->buf[e - 1] == '\r')
        e--;
    return e > s && l->buf[e - 1] == '\\';
}

int lp_fix_lines(const char *old, size_t old_len, const char *new, size_t new_len,
                 char **out, size_t *out_len)
{
    struct lines a = { 0 }, b = { 0 };
    unsigned char *ca = NULL, *cb = NULL;
    struct directive *dirs = NULL;
    size_t ndirs = 0, pre = 0, suf = 0, na, nb, i, j, k, pend = 0, len = 0;
    int have = 0, prev_bs = 0;
    char *buf = NULL;

    if (split_lines(old, old_len, &a) < 0 || split_lines(new, new_len, &b) < 0)
        goto nomem;
    while (pre < a.n && pre < b.n && line_eq(&a, pre, &b, pre))
        pre++;
    while (suf < a.n - pre && suf < b.n - pre && line_eq(&a, a.n - 1 - suf, &b, b.n - 1 - suf))
        suf++;
    na = a.n - pre - suf;
    nb = b.n - pre - suf;
    ca = calloc(na + 1, 1);
    cb = calloc(nb + 1, 1);
    if (!ca || !cb)
        goto nomem;
    if (na == 0 || nb == 0) {
        memset(ca, 1, na);
        memset(cb, 1, nb);
    } else if (diff_middle(&a, &b, pre, na, nb, ca, cb) < 0) {
        goto nomem;
    }

    /* Hunks: maximal runs of unmatched lines, in either file, between matched ones.
     * Their count is at most the number of unmatched lines of b plus those of a. */
    dirs = malloc((na + nb + 1) * sizeof(*dirs));
    if (!dirs)
        goto nomem;
    i = j = 0;
    while (i < na || j < nb) {
        size_t i0 = i, j0 = j;

        while (i < na && ca[i])
            i++;
        while (j < nb && cb[j])
            j++;
        if (i - i0 != j - j0) {
            dirs[ndirs].at = pre + j + 1;
            dirs[ndirs++].line = pre + i + 1;
        }
        /* The matched pair after the hunk (the flags agree on how many there are). */
        if (i < na && j < nb) {
            i++;
            j++;
        } else {
            i = na;
            j = nb;
        }
    }

    /* At most one directive per line: "#line " and 20 digits and "\r\n". */
    if (ndirs > (SIZE_MAX - new_len) / 28)
        goto nomem;
    buf = malloc(new_len + ndirs * 28 + 1);
    if (!buf)
        goto nomem;
    for (k = 0, i = 0; i < b.n; i++) {
        size_t n = line_len(&b, i);

        if (k < ndirs && dirs[k].at == i + 1) {
            pend = dirs[k++].line;
            have = 1;
        }
        if (have && !prev_bs) {
            /* A file with DOS line ends gets a directive with one too. */
            int crlf = n >= 2 && new[b.off[i] + n - 2] == '\r' && new[b.off[i] + n - 1] == '\n';

            len += (size_t)sprintf(buf + len, "#line %zu%s", pend, crlf ? "\r\n" : "\n");
            have = 0;
        }
        memcpy(buf + len, new + b.off[i], n);
        len += n;
        prev_bs = ends_in_backslash(&b, i);
        if (have)
            pend++;
    }
    free(a.off);
    free(b.off);
    free(ca);
    free(cb);
    free(dirs);
    *out = buf;
    *out_len = len;
    return 0;

nomem:
    free(a.off);
    free(b.off);
    free(ca);
    free(cb);
    free(dirs);
    free(buf);
    errno = ENOMEM;
    return -1;
}
