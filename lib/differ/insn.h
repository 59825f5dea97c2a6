/* insn.h - the length of an x86-64 instruction (insn.c); the differ's and its tests'. */
#ifndef LIVEPATCH_DIFFER_INSN_H
#define LIVEPATCH_DIFFER_INSN_H

#include <stddef.h>

/*
 * The length of the instruction that starts at p, of which avail bytes may be read:
 * 1 to 15, or 0 when the bytes are not an instruction of 64-bit mode (or it would run
 * past avail).
 */
size_t lpd_insn_length(const unsigned char *p, size_t avail);

#endif
