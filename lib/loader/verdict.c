/*
 * verdict.c - how the loader's files record a refusal: the errno-style verdict
 * (struct lpl_verdict) and the names of its errno values.  Its own module so
 * that check.c, place.c and image_file.c each depend on it and not on one another.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "loader_internal.h"

int lpl_fail(struct lpl_verdict *v, int errnum, const char *fmt, ...)
{
    va_list ap;

    if (v->errnum)
        return -1;
    v->errnum = errnum;
    v->err.code = LP_ERR_INVALID;
    va_start(ap, fmt);
    vsnprintf(v->err.msg, sizeof(v->err.msg), fmt, ap);
    va_end(ap);
    return -1;
}

const char *lpl_errno_name(int e)
{
    switch (e) {
    case 0: return "OK";
    case EINVAL: return "EINVAL";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    case ENOMEM: return "ENOMEM";
    case ENODATA: return "ENODATA";
    case EOVERFLOW: return "EOVERFLOW";
    case ERANGE: return "ERANGE";
    case EBUSY: return "EBUSY";
    case EAGAIN: return "EAGAIN";
    case E2BIG: return "E2BIG";
    case ENOBUFS: return "ENOBUFS";
    case EIO: return "EIO";
    }
    return "E?";
}
