/*
 * fuzz_fixlines.c - libFuzzer target: the #line fixer on an (old, new) pair of
 * sources (input split at FUZZ_SEP, else in the middle), LF or CRLF.  Besides no
 * crash, the output must keep its promises (livepatch-build/driver/fixlines.h):
 *   - it is new with only "#line N\n" lines added ("#line N\r\n" in a CRLF file):
 *     nothing of new changes;
 *   - old == new adds nothing;
 *   - a directive before a line ending in "\r\n" ends in "\r\n" too;
 *   - no directive follows a line continued with '\' (before "\n" or "\r\n"), so
 *     none lands inside a macro;
 *   - the lines before the first change and after the last keep their number in
 *     old, as a compiler counts them (unless inside a continued line), and every
 *     N is at least 1 and at most old lines + new lines + 1 (a directive held back
 *     past a continued run is numbered for the line it lands before).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../livepatch-build/driver/fixlines.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct lines {
    const char *buf;
    size_t n, *off; /* line i is buf[off[i] .. off[i+1]) */
};

static void split(const char *b, size_t len, struct lines *l)
{
    size_t i, n = 0;

    l->buf = b;
    l->off = malloc((len + 2) * sizeof(size_t));
    if (!l->off)
        abort();
    l->off[0] = 0;
    for (i = 0; i < len; i++)
        if (b[i] == '\n')
            l->off[++n] = i + 1;
    if (n == 0 || l->off[n] != len)
        l->off[++n] = len;
    if (len == 0)
        n = 0;
    l->n = n;
}

static size_t llen(const struct lines *l, size_t i)
{
    return l->off[i + 1] - l->off[i];
}

static int leq(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
    return llen(a, i) == llen(b, j) && !memcmp(a->buf + a->off[i], b->buf + b->off[j], llen(a, i));
}

/* Continued: the line ends in '\' before its "\n" or "\r\n". */
static int continued(const struct lines *l, size_t i)
{
    size_t s = l->off[i], e = l->off[i + 1];

    if (e > s && l->buf[e - 1] == '\n')
        e--;
    if (e > s && l->buf[e - 1] == '\r')
        e--;
    return e > s && l->buf[e - 1] == '\\';
}

static int crlf(const struct lines *l, size_t i)
{
    size_t n = llen(l, i);

    return n >= 2 && l->buf[l->off[i] + n - 2] == '\r' && l->buf[l->off[i] + n - 1] == '\n';
}

/* "#line N\n" or, before a line ending in "\r\n", "#line N\r\n": returns N, else 0. */
static size_t directive(const struct lines *l, size_t i)
{
    const char *p = l->buf + l->off[i];
    size_t n = llen(l, i), k, v = 0;

    if (n < 8 || memcmp(p, "#line ", 6) || p[n - 1] != '\n')
        return 0;
    if (p[n - 2] == '\r')
        n--;
    for (k = 6; k < n - 1; k++) {
        if (p[k] < '0' || p[k] > '9' || v > SIZE_MAX / 10 - 1)
            return 0;
        v = v * 10 + (size_t)(p[k] - '0');
    }
    return v ? v : 0;
}

static void check(const char *old, size_t ol, const char *new, size_t nl, const char *out,
                  size_t outl)
{
    struct lines a, b, o;
    size_t i, j, pre = 0, suf = 0, *num;
    int ambiguous = memmem(new, nl, "#line ", 6) != NULL;

    split(old, ol, &a);
    split(new, nl, &b);
    split(out, outl, &o);
    num = calloc(b.n + 1, sizeof(*num));
    if (!num)
        abort();
    /* Walk out against new: each line of out is the next line of new or a directive.
     * cur is the number a compiler gives the next line. */
    {
        size_t cur = 1;

        for (i = j = 0; i < o.n; i++) {
            size_t d;

            if (j < b.n && leq(&o, i, &b, j)) {
                num[j++] = cur++;
                continue;
            }
            d = directive(&o, i);
            /* A directive held back past a continued run counts the lines it passes,
             * which may be new lines of a later hunk: so N is bounded by both files. */
            if (!d || d > a.n + b.n + 1)
                abort(); /* a changed line of new, or a number no line can have */
            if (j > 0 && continued(&b, j - 1) && !ambiguous)
                abort(); /* a directive inside a macro continued with '\' */
            if (j < b.n && crlf(&b, j) && !crlf(&o, i))
                abort(); /* a bare "\n" directive in a CRLF file */
            cur = d;
        }
        if (j != b.n)
            abort(); /* lines of new are missing */
    }
    if (ol == nl && !memcmp(old, new, ol) && (outl != nl || memcmp(out, new, nl)))
        abort(); /* nothing changed, yet the output differs */
    if (!ambiguous) {
        while (pre < a.n && pre < b.n && leq(&a, pre, &b, pre))
            pre++;
        while (suf < a.n - pre && suf < b.n - pre && leq(&a, a.n - 1 - suf, &b, b.n - 1 - suf))
            suf++;
        for (i = 0; i < pre; i++)
            if (num[i] != i + 1)
                abort(); /* a line before the first change moved */
        for (i = 0; i < suf; i++) {
            size_t jb = b.n - 1 - i, ia = a.n - 1 - i, k;
            int in_macro = 0;

            /* Inside (or right after) a continued run the number is the run's: skip. */
            for (k = jb; k > 0 && continued(&b, k - 1); k--)
                in_macro = 1;
            if (!in_macro && num[jb] != ia + 1)
                abort(); /* a line after the last change does not keep its number in old */
        }
    }
    free(num);
    free(a.off);
    free(b.off);
    free(o.off);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_part a, b;
    char *out = NULL;
    size_t outl = 0;

    fuzz_split(data, size, &a, &b, 1);
    if (lp_fix_lines((const char *)a.p, a.n, (const char *)b.p, b.n, &out, &outl))
        return 0;
    check((const char *)a.p, a.n, (const char *)b.p, b.n, out, outl);
    free(out);
    return 0;
}
