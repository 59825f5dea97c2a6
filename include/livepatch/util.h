/*
 * util.h - small file helpers every tool needs: read a whole file, and write a
 * file so that the destination is either the complete new content or untouched.
 */
#ifndef LIVEPATCH_UTIL_H
#define LIVEPATCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "livepatch/error.h"

/* Read a regular file into a malloc'd buffer (*buf, *len); the caller frees *buf. */
int lp_read_file(const char *path, unsigned char **buf, size_t *len, struct lp_error *err);

/*
 * Create "<path>.tmp.XXXXXX" beside path and return its fd, with the temporary
 * name in tmp (at least strlen(path) + 12 bytes).  Use lp_commit_file() or
 * lp_abort_file() to finish.
 */
int lp_create_temp(const char *path, char *tmp, size_t tmpsize, struct lp_error *err);

/* fsync+close fd, chmod to mode, rename tmp over path.  On failure tmp is removed. */
int lp_commit_file(int fd, const char *tmp, const char *path, mode_t mode, struct lp_error *err);

/* Close fd and remove tmp (after a failure). */
void lp_abort_file(int fd, const char *tmp);

/* Write buf to path atomically (temporary file + rename). */
int lp_write_file(const char *path, const void *buf, size_t len, mode_t mode,
                  struct lp_error *err);

/*
 * Whether a and b name the same file: the same path, or (through links, "./", hard
 * links) the same device and inode.  A tool checks every output against every input
 * with it before doing any work, so no input is ever overwritten or removed.
 */
bool lp_same_file(const char *a, const char *b);

/* Write s to f as a JSON string literal (quotes, escapes; NULL is ""). */
void lp_json_str(FILE *f, const char *s);

/* Lower-case hex of bytes into out (2*len+1 bytes). */
void lp_hex(const unsigned char *bytes, size_t len, char *out);

/* Parse hex (even length, optional "0x") into out (max outmax bytes); returns bytes or -1. */
long lp_unhex(const char *hex, unsigned char *out, size_t outmax);

#endif
