/*
 * error.h - how library code reports failure: a code plus one message that names
 * the file, section or symbol involved.  Library code never prints or exits; the
 * command-line tools decide how to show an lp_error.
 */
#ifndef LIVEPATCH_ERROR_H
#define LIVEPATCH_ERROR_H

enum lp_errcode {
    LP_OK = 0,
    LP_ERR_IO,          /* open/read/write/rename failed (errno text in the message) */
    LP_ERR_FORMAT,      /* input is not well-formed ELF, or not what was expected */
    LP_ERR_NOMEM,
    LP_ERR_NOTFOUND,    /* a looked-up name does not exist */
    LP_ERR_AMBIGUOUS,   /* a looked-up name exists more than once */
    LP_ERR_UNSUPPORTED, /* well-formed input we cannot handle (e.g. unsupported change) */
    LP_ERR_INVALID,     /* bad argument or rule violated */
};

#define LP_ERROR_MSG_MAX 1024

struct lp_error {
    enum lp_errcode code;
    char msg[LP_ERROR_MSG_MAX];
};

/* Record an error (printf-style message) unless one is already recorded; returns -1. */
int lp_error_set(struct lp_error *err, enum lp_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the recorded message with "<context>: ", e.g. the file name; returns -1. */
int lp_error_prefix(struct lp_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Forget any recorded error. */
void lp_error_clear(struct lp_error *err);

/* A short name for a code ("format error", "not found", ...). */
const char *lp_errcode_name(enum lp_errcode code);

#endif
