/*
 * insn.c - the length of one x86-64 instruction, and nothing else (see target.c for
 * why the differ needs it).
 *
 * An instruction is: legacy prefixes, an optional REX, an opcode (one byte; 0F and
 * one byte; 0F 38 / 0F 3A and one byte; or a VEX, EVEX or XOP prefix, which names its
 * map, and one byte), a ModRM byte with its SIB and displacement when the opcode has
 * one, and an immediate whose size the opcode (and the 66 prefix, REX.W, or 67 for a
 * memory offset) gives.  The tables below say, per opcode of each map, whether a
 * ModRM follows and what immediate; they follow the Intel SDM's opcode maps (volume 2,
 * appendix A) in 64-bit mode, where a branch with 66 takes a 16-bit displacement as
 * AMD64 (and libopcodes' x86-64 decoder) has it.
 *
 * test/helpers/insn-check holds it to libopcodes on every instruction of an ELF file's
 * code and on random byte strings (test/insn.bats; the real-Xen suite runs it over
 * Xen's xen-syms and objects); test/unit/test_insn.c checks instructions cut short.
 */
#include <stdbool.h>

#include "insn.h"

/* What follows an opcode. */
enum {
    M = 0x01,     /* a ModRM byte */
    I8 = 0x02,    /* imm8 (or rel8) */
    I16 = 0x04,   /* imm16 */
    IZ = 0x08,    /* imm32, imm16 with 66 */
    JZ = 0x10,    /* rel32, rel16 with 66 */
    IV = 0x20,    /* imm32, imm64 with REX.W, imm16 with 66 (mov r, imm) */
    MO = 0x40,    /* a memory offset: 8 bytes, 4 with 67 */
    GRP3 = 0x80,  /* F6/F7: an immediate only for /0 and /1 (test) */
    BAD = 0x100,  /* not an instruction in 64-bit mode */
    CR = 0x200,   /* ModRM whose mod is ignored: always a register (mov to/from CR, DR) */
};

#define R4(x) x, x, x, x
#define R8(x) R4(x), R4(x)
#define R16(x) R8(x), R8(x)
/* The eight ALU forms 00-05 of add, or, adc, sbb, and, sub, xor, cmp. */
#define ALU M, M, M, M, I8, IZ

static const unsigned short one_byte[256] = {
    /* 00 */ ALU, BAD, BAD, ALU, BAD, 0 /* 0F: escape */,
    /* 10 */ ALU, BAD, BAD, ALU, BAD, BAD,
    /* 20 */ ALU, 0 /* ES */, BAD, ALU, 0 /* CS */, BAD,
    /* 30 */ ALU, 0 /* SS */, BAD, ALU, 0 /* DS */, BAD,
    /* 40 */ R16(0),                                   /* REX */
    /* 50 */ R16(0),                                   /* push, pop */
    /* 60 */ BAD, BAD, 0 /* EVEX */, M, 0, 0, 0, 0, IZ, M | IZ, I8, M | I8, 0, 0, 0, 0,
    /* 70 */ R16(I8),                                  /* jcc rel8 */
    /* 80 */ M | I8, M | IZ, BAD, M | I8, M, M, M, M, M, M, M, M, M, M, M, M,
    /* 90 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, BAD, 0, 0, 0, 0, 0,
    /* A0 */ MO, MO, MO, MO, 0, 0, 0, 0, I8, IZ, 0, 0, 0, 0, 0, 0,
    /* B0 */ R8(I8), R8(IV),
    /* C0 */ M | I8, M | I8, I16, 0, 0 /* VEX3 */, 0 /* VEX2 */, M | I8, M | IZ,
             I16 | I8, 0, I16, 0, 0, I8, BAD, 0,
    /* D0 */ M, M, M, M, BAD, BAD, BAD, 0, M, M, M, M, M, M, M, M,
    /* E0 */ I8, I8, I8, I8, I8, I8, I8, I8, JZ, JZ, BAD, I8, 0, 0, 0, 0,
    /* F0 */ 0, 0, 0, 0, 0, 0, M | GRP3, M | GRP3, 0, 0, 0, 0, 0, 0, M, M,
};

static const unsigned short two_byte[256] = {
    /* 00 */ M, M, M, M, BAD, 0, 0, 0, 0, 0, BAD, 0, BAD, M, 0, M | I8 /* 3DNow! */,
    /* 10 */ R16(M),
    /* 20 */ CR, CR, CR, CR, BAD, BAD, BAD, BAD, M, M, M, M, M, M, M, M,
    /* 30 */ 0, 0, 0, 0, 0, 0, BAD, 0, 0 /* 0F 38 */, BAD, 0 /* 0F 3A */, BAD, BAD, BAD, BAD, BAD,
    /* 40 */ R16(M),
    /* 50 */ R16(M),
    /* 60 */ R16(M),
    /* 70 */ M | I8, M | I8, M | I8, M | I8, M, M, M, 0, M, M, BAD, BAD, M, M, M, M,
    /* 80 */ R16(JZ),
    /* 90 */ R16(M),
    /* A0 */ 0, 0, 0, M, M | I8, M, M /* PadLock */, M, 0, 0, 0, M, M | I8, M, M, M,
    /* B0 */ M, M, M, M, M, M, M, M, M, M, M | I8, M, M, M, M, M,
    /* C0 */ M, M, M | I8, M, M | I8, M | I8, M | I8, M, R8(0),
    /* D0 */ R16(M),
    /* E0 */ R16(M),
    /* F0 */ R16(M),
};

/* The imm8 forms of the 0F map, which VEX and EVEX encodings of that map keep. */
static bool map1_imm8(unsigned char op)
{
    return (op >= 0x70 && op <= 0x73) || op == 0xc2 || op == 0xc4 || op == 0xc5 || op == 0xc6;
}

/* The ModRM at p (and its SIB and displacement): its length, or 0 past the end. */
static size_t modrm_len(const unsigned char *p, const unsigned char *end, bool reg_only)
{
    unsigned mod, rm;
    size_t n = 1;

    if (p >= end)
        return 0;
    mod = p[0] >> 6;
    rm = p[0] & 7;
    if (reg_only || mod == 3)
        return 1;
    if (rm == 4) {
        if (p + 1 >= end)
            return 0;
        n++;
        if (mod == 0 && (p[1] & 7) == 5)
            n += 4;
    } else if (mod == 0 && rm == 5) {
        n += 4;   /* RIP-relative */
    }
    if (mod == 1)
        n += 1;
    else if (mod == 2)
        n += 4;
    return n;
}

/* After a VEX, EVEX or XOP prefix: the opcode byte of `map`, its ModRM and immediate. */
static size_t vector_rest(const unsigned char *p, const unsigned char *end, unsigned map,
                          bool xop)
{
    size_t n, m;
    unsigned char op;

    if (p >= end)
        return 0;
    op = p[0];
    if (!xop && map == 1 && op == 0x77)
        return 1;   /* vzeroupper, vzeroall: no ModRM */
    m = modrm_len(p + 1, end, false);
    if (!m)
        return 0;
    n = 1 + m;
    if (xop)
        n += map == 8 ? 1 : map == 10 ? 4 : 0;
    else if (map == 3 || (map == 1 && map1_imm8(op)))
        n += 1;
    return n;
}

/* n bytes as an instruction: at most 15, and all of them there to read. */
static size_t fits(size_t n, size_t avail)
{
    return n <= 15 && n <= avail ? n : 0;
}

size_t lpd_insn_length(const unsigned char *start, size_t avail)
{
    const unsigned char *p = start, *end = start + (avail < 15 ? avail : 15);
    bool opsize = false, addrsize = false, rex_w = false;
    unsigned char rep = 0;   /* the last F2 or F3 */
    const unsigned char *fwait = NULL;
    unsigned short f;
    size_t n;

    /* Legacy prefixes, and a REX, which counts only right before the opcode. */
    for (;; p++) {
        if (p >= end)
            return 0;
        if (*p == 0x66) {
            opsize = true;
        } else if (*p == 0x67) {
            addrsize = true;
        } else if (*p == 0xf2 || *p == 0xf3) {
            rep = *p;
        } else if (*p == 0xf0 || *p == 0x2e || *p == 0x36 || *p == 0x3e || *p == 0x26 ||
                   *p == 0x64 || *p == 0x65) {
            ;
        } else if (*p == 0x9b) {
            /* fwait: libopcodes reads it as a prefix of an x87 instruction after it,
             * else as an instruction of its own, with the prefixes before it. */
            if (fwait)
                return (size_t)(fwait + 1 - start);
            fwait = p;
        } else {
            break;
        }
        rex_w = false;
    }
    if ((*p & 0xf0) == 0x40) {
        if (fwait && fwait > start)
            return (size_t)(fwait + 1 - start);
        rex_w = *p & 8;
        if (++p >= end)
            return 0;
        /* A REX that a prefix follows applies to nothing: libopcodes, and so the
         * differ, takes the bytes up to it for an instruction of their own. */
        if ((*p & 0xf0) == 0x40 || *p == 0x66 || *p == 0x67 || *p == 0xf0 || *p == 0xf2 ||
            *p == 0xf3 || *p == 0x2e || *p == 0x36 || *p == 0x3e || *p == 0x26 ||
            *p == 0x64 || *p == 0x65 || *p == 0x9b)
            return (size_t)(p - start);
    }

    if (fwait && (*p < 0xd8 || *p > 0xdf))
        return (size_t)(fwait + 1 - start);
    switch (*p) {
    case 0xc5:   /* VEX, two bytes: map 0F */
        if (p + 1 >= end)
            return 0;
        n = vector_rest(p + 2, end, 1, false);
        return n ? fits((size_t)(p + 2 - start) + n, avail) : 0;
    case 0xc4:   /* VEX, three bytes */
        if (p + 2 >= end)
            return 0;
        if ((p[1] & 0x1f) < 1 || (p[1] & 0x1f) > 3)
            return 0;
        n = vector_rest(p + 3, end, p[1] & 0x1f, false);
        return n ? fits((size_t)(p + 3 - start) + n, avail) : 0;
    case 0x62:   /* EVEX */
        if (p + 3 >= end)
            return 0;
        if ((p[1] & 7) == 0 || (p[1] & 7) == 4 || (p[1] & 7) == 7)
            return 0;
        n = vector_rest(p + 4, end, p[1] & 7, false);
        return n ? fits((size_t)(p + 4 - start) + n, avail) : 0;
    case 0x8f:   /* XOP when its map is 8 or above; else pop r/m */
        if (p + 1 < end && (p[1] & 0x1f) >= 8) {
            if (p + 2 >= end || (p[1] & 0x1f) > 10)
                return 0;
            n = vector_rest(p + 3, end, p[1] & 0x1f, true);
            return n ? fits((size_t)(p + 3 - start) + n, avail) : 0;
        }
        break;
    }

    if (*p == 0x0f) {
        if (++p >= end)
            return 0;
        if (*p == 0x38 || *p == 0x3a) {
            bool imm = *p == 0x3a;
            if (++p >= end)
                return 0;
            n = modrm_len(p + 1, end, false);
            if (!n)
                return 0;
            return fits((size_t)(p + 1 - start) + n + (imm ? 1 : 0), avail);
        }
        f = two_byte[*p];
        /* SSE4a's extrq and insertq take two imm8 where 0F 78 is vmread. */
        if (*p == 0x78 && (rep == 0xf2 || (opsize && !rep)))
            f |= I16;
    } else {
        f = one_byte[*p];
    }
    if (f & BAD)
        return 0;
    n = (size_t)(p + 1 - start);
    if (f & (M | CR)) {
        size_t m = modrm_len(p + 1, end, f & CR);
        if (!m)
            return 0;
        if ((f & GRP3) && ((p[1] >> 3) & 7) < 2)
            f |= *p == 0xf6 ? I8 : IZ;
        n += m;
    }
    if (f & I8)
        n += 1;
    if (f & I16)
        n += 2;
    if (f & (IZ | JZ))
        n += opsize && !rex_w ? 2 : 4;
    if (f & IV)
        n += rex_w ? 8 : opsize ? 2 : 4;
    if (f & MO)
        n += addrsize ? 4 : 8;
    return fits(n, avail);
}
