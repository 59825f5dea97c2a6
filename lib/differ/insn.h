/* insn.h - x86-64 instructions: their length (insn.c) and their text (report.c, from
 * libopcodes, the reference the tests hold the lengths to). */
#ifndef LIVEPATCH_DIFFER_INSN_H
#define LIVEPATCH_DIFFER_INSN_H

#include <stddef.h>
#include <stdint.h>

/*
 * The length of the instruction that starts at p, of which avail bytes may be read:
 * 1 to 15, or 0 when the bytes are not an instruction of 64-bit mode (or it would run
 * past avail).
 */
size_t lpd_insn_length(const unsigned char *p, size_t avail);

/*
 * libopcodes' reading of the instruction at offset pc of [code, code+len) (branch
 * targets relative to code): its text into out, and its length; 0, with out saying
 * "(no instruction)", where it does not decode (libopcodes' "(bad)").
 */
size_t lpd_insn_text(const unsigned char *code, size_t len, uint64_t pc, char *out,
                     size_t size);

#endif
