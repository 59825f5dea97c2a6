/*
 * fixlines.h - keep the line numbers of unpatched code: a patch that adds or
 * removes lines moves everything below it, and __LINE__, bug frames and debug
 * information move with it, so functions the patch never touched would compile
 * differently.  lp_fix_lines() puts a "#line N" after each such change instead.
 */
#ifndef LIVEPATCH_FIXLINES_H
#define LIVEPATCH_FIXLINES_H

#include <stddef.h>

/*
 * new (new_len bytes) with a "#line N" directive before the first line after each
 * change that alters the line count, N being that line's number in old, so that
 * the code below keeps the numbers it has in old.  Changes are the hunks of a
 * minimal line diff (as `diff -U0 old new` prints them, runs of changed lines
 * slid down as far as identical lines allow).  A directive that would land inside
 * a macro continued with '\' goes after the continuation, numbered for that line
 * ("\\\r\n" continues a line as "\\\n" does); a directive before a line that ends
 * in "\r\n" ends in "\r\n" too.
 * Nothing else of new changes, a missing final newline included.
 *
 * *out is malloc'd (the caller frees it).  Returns 0, or -1 with errno ENOMEM.
 * Very large rewrites may come out as one hunk: coarser, still correct.
 */
int lp_fix_lines(const char *old, size_t old_len, const char *new, size_t new_len,
                 char **out, size_t *out_len);

#endif
