/*
 * test_insn.c - the differ's instruction lengths at the edge of the bytes: an
 * instruction that would run past what may be read is no instruction (0), whatever map
 * it is in; with one byte more it is the full length.
 */
#include <stddef.h>

#include "differ/insn.h"
#include "unit.h"

struct enc {
    const char *what;
    unsigned char b[15];
    size_t len;
};

static const struct enc encs[] = {
    { "call rel32", { 0xe8, 0, 0, 0, 0 }, 5 },
    { "mov $imm32, %eax", { 0xb8, 1, 2, 3, 4 }, 5 },
    { "movabs $imm64, %rax", { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 }, 10 },
    { "cmpb $0, x(%rip)", { 0x80, 0x3d, 0, 0, 0, 0, 0 }, 7 },
    { "movl $1, x(%rip)", { 0xc7, 0x05, 0, 0, 0, 0, 1, 0, 0, 0 }, 10 },
    { "lea 0x10(%rsp,%rcx,8), %rax", { 0x48, 0x8d, 0x44, 0xcc, 0x10 }, 5 },
    { "palignr $4 (0F 3A)", { 0x66, 0x0f, 0x3a, 0x0f, 0xd1, 0x04 }, 6 },
    { "vinsertf128 $1 (VEX map 3)", { 0xc4, 0xe3, 0x7d, 0x18, 0xc1, 0x01 }, 6 },
    { "vpshufd $1 (VEX2, imm8)", { 0xc5, 0xfd, 0x70, 0xc1, 0x01 }, 5 },
    { "vpternlogd $0xff (EVEX map 3)", { 0x62, 0xf3, 0x6d, 0x48, 0x25, 0xd9, 0xff }, 7 },
    { "extrq $1, $2 (SSE4a)", { 0x66, 0x0f, 0x78, 0xc1, 0x02, 0x01 }, 6 },
    { "enter $16, $1", { 0xc8, 0x10, 0x00, 0x01 }, 4 },
};

TEST(lengths_and_truncation)
{
    size_t i;

    for (i = 0; i < sizeof(encs) / sizeof(encs[0]); i++) {
        const struct enc *e = &encs[i];
        size_t got = lpd_insn_length(e->b, e->len), cut = lpd_insn_length(e->b, e->len - 1);

        if (got != e->len || cut != 0)
            printf("#   %s: length %zu (want %zu), cut one byte short %zu (want 0)\n", e->what,
                   got, e->len, cut);
        CHECK(got == e->len);
        CHECK(cut == 0);
        /* Bytes after it change nothing. */
        CHECK(lpd_insn_length(e->b, sizeof(e->b)) == e->len);
    }
}

TEST(no_instruction)
{
    static const unsigned char invalid[] = { 0x06 }, empty[] = { 0x90 };
    static const unsigned char too_long[15] = { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                                0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                                0xb8 };

    CHECK(lpd_insn_length(invalid, 1) == 0);   /* push %es: not in 64-bit mode */
    CHECK(lpd_insn_length(empty, 0) == 0);
    CHECK(lpd_insn_length(too_long, sizeof(too_long)) == 0);   /* 14 prefixes, 17 bytes */
}

int main(void)
{
    RUN(lengths_and_truncation);
    RUN(no_instruction);
    return unit_done();
}
