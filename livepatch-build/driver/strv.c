/*
 * strv.c - the growable string lists the driver's steps pass each other.
 * Allocation failure ends the run (die): there is nothing sensible to go on with.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

static void strv_take(struct strv *s, char *str)
{
    if (!str)
        die("out of memory");
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        char **v = realloc(s->v, cap * sizeof(*v));

        if (!v)
            die("out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
}

void strv_push(struct strv *s, const char *str)
{
    strv_take(s, strdup(str));
}

void strv_pushf(struct strv *s, const char *fmt, ...)
{
    char *str = NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&str, fmt, ap);
    va_end(ap);
    strv_take(s, n < 0 ? NULL : str);
}

char *strv_join(const struct strv *s, size_t n, const char *sep)
{
    size_t i, len = 1;
    char *out;

    if (n > s->n)
        n = s->n;
    for (i = 0; i < n; i++)
        len += strlen(s->v[i]) + strlen(sep);
    if (!(out = malloc(len)))
        die("out of memory");
    out[0] = '\0';
    for (i = 0; i < n; i++) {
        if (i)
            strcat(out, sep);
        strcat(out, s->v[i]);
    }
    return out;
}

char **strv_argv(struct strv *s)
{
    static char *empty[1];

    return s->v ? s->v : empty;
}

void strv_free(struct strv *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}
