/* Two functions each own one bug-frame, exception-table, alternative and alt-call
 * entry, in Xen's formats; only warn_two changes, so only its entries may be carried. */
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
#define ALT_ENTRY()                                                               \
    asm volatile("4: .byte 0x90, 0x90, 0x90\n"                                   \
                 ".pushsection .altinstr_replacement, \"ax\", @progbits\n"     \
                 "5: .byte 0x0f, 0x1f, 0x00\n"                                   \
                 ".popsection\n"                                                 \
                 ".pushsection .altinstructions, \"a\", @progbits\n"           \
                 ".long 4b - ., 5b - .\n"                                        \
                 ".word 0x1234\n"                                                \
                 ".byte 3, 3, 0, 0\n"                                            \
                 ".popsection\n"                                                 \
                 "6: nop\n"                                                      \
                 ".pushsection .alt_call_sites, \"a\", @progbits\n"            \
                 ".long 6b - .\n"                                                \
                 ".popsection")
int __attribute__((noinline)) warn_one(int x) { if (x > 100) BUG_ENTRY(11); EX_ENTRY(); ALT_ENTRY(); return x + 1; }
int __attribute__((noinline)) warn_two(int x) { if (x > 200) BUG_ENTRY(22); EX_ENTRY(); ALT_ENTRY(); return x + 3; }
