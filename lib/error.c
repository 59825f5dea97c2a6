/* error.c - recording library errors (see include/livepatch/error.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "livepatch/error.h"

int lp_error_set(struct lp_error *err, enum lp_errcode code, const char *fmt, ...)
{
    va_list ap;

    if (!err || err->code != LP_OK)
        return -1;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int lp_error_prefix(struct lp_error *err, const char *fmt, ...)
{
    char prefix[256], old[LP_ERROR_MSG_MAX];
    va_list ap;

    if (!err)
        return -1;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    {
        size_t n = strlen(prefix);
        if (n > sizeof(err->msg) - 3)
            n = sizeof(err->msg) - 3;
        memcpy(err->msg, prefix, n);
        memcpy(err->msg + n, ": ", 2);
        n += 2;
        old[sizeof(old) - 1 - n] = '\0';
        memcpy(err->msg + n, old, strlen(old) + 1);
    }
    return -1;
}

void lp_error_clear(struct lp_error *err)
{
    if (err) {
        err->code = LP_OK;
        err->msg[0] = '\0';
    }
}

const char *lp_errcode_name(enum lp_errcode code)
{
    switch (code) {
    case LP_OK: return "ok";
    case LP_ERR_IO: return "I/O error";
    case LP_ERR_FORMAT: return "format error";
    case LP_ERR_NOMEM: return "out of memory";
    case LP_ERR_NOTFOUND: return "not found";
    case LP_ERR_AMBIGUOUS: return "ambiguous";
    case LP_ERR_UNSUPPORTED: return "unsupported";
    case LP_ERR_INVALID: return "invalid";
    }
    return "unknown error";
}
