/*
 * uaccess.h - a read that may fault, with its recovery in .fixup and the pair
 * recorded in .ex_table as { s32 addr; s32 cont; } relative entries, as in Xen.
 */
#ifndef ASM_UACCESS_H
#define ASM_UACCESS_H

static inline int read_guest_u32(const unsigned int *p, unsigned int *out)
{
    int rc = 0;
    unsigned int v = 0;

    asm volatile("1: movl (%[p]), %[v]\n"
                 "2:\n"
                 ".pushsection .fixup, \"ax\", @progbits\n"
                 "3: movl $-14, %[rc]\n"
                 "   jmp 2b\n"
                 ".popsection\n"
                 ".pushsection .ex_table, \"a\", @progbits\n"
                 ".p2align 2\n"
                 ".long 1b - ., 3b - .\n"
                 ".popsection"
                 : [rc] "+r"(rc), [v] "+r"(v)
                 : [p] "r"(p));
    *out = v;
    return rc;
}

#endif
