/* Two functions each own one bug-frame entry and one exception-table entry, in Xen's
 * formats; only warn_two changes, so only its entries may be carried. */
#define BUG_ENTRY(n)                                                              \
    asm volatile("1: ud2\n"                                                       \
                 ".pushsection .bug_frames.1, \"a\", @progbits\n"                 \
                 ".p2align 2\n"                                                   \
                 ".long 1b - .\n"                                                 \
                 ".long %c0 << 16\n"                                              \
                 ".popsection" :: "i"(n))
#define EX_ENTRY()                                                                \
    asm volatile("2: nop\n"                                                       \
                 ".pushsection .fixup, \"ax\", @progbits\n"                       \
                 "3: jmp 2b\n"                                                    \
                 ".popsection\n"                                                  \
                 ".pushsection .ex_table, \"a\", @progbits\n"                     \
                 ".p2align 2\n"                                                   \
                 ".long 2b - ., 3b - .\n"                                         \
                 ".popsection")
int __attribute__((noinline)) warn_one(int x) { if (x > 100) BUG_ENTRY(11); EX_ENTRY(); return x + 1; }
int __attribute__((noinline)) warn_two(int x) { if (x > 200) BUG_ENTRY(22); EX_ENTRY(); return x + 3; }
