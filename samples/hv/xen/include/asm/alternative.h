/*
 * alternative.h - code that boot-time patching may replace, recorded in
 * .altinstructions as 14-byte { s32 orig; s32 repl; u16 cpuid; u8 orig_len,
 * repl_len, pad_len, priv; } entries with the replacement in
 * .altinstr_replacement, and indirect calls recorded in .alt_call_sites, as in Xen.
 * The sample keeps the original instructions.
 */
#ifndef ASM_ALTERNATIVE_H
#define ASM_ALTERNATIVE_H

#define X86_FEATURE_ALWAYS 0x0003

#define alternative(oldinstr, newinstr, feature)                                    \
    asm volatile("661: " oldinstr "\n662:\n"                                        \
                 ".pushsection .altinstr_replacement, \"ax\", @progbits\n"          \
                 "663: " newinstr "\n664:\n"                                        \
                 ".popsection\n"                                                    \
                 ".pushsection .altinstructions, \"a\", @progbits\n"                \
                 ".long 661b - ., 663b - .\n"                                       \
                 ".word %c0\n"                                                      \
                 ".byte 662b - 661b, 664b - 663b, 0, 0\n"                           \
                 ".popsection" :: "i"(feature) : "memory")

/* An indirect call the hypervisor may turn into a direct one at boot. */
#define alternative_call(fn_ptr, arg)                                               \
    ({                                                                              \
        long ret_;                                                                  \
        asm volatile("665: call *%[f]\n"                                            \
                     ".pushsection .alt_call_sites, \"a\", @progbits\n"             \
                     ".long 665b - .\n"                                             \
                     ".popsection"                                                  \
                     : "=a"(ret_)                                                   \
                     : [f] "r"(fn_ptr), "D"(arg)                                    \
                     : "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory");    \
        ret_;                                                                       \
    })

#endif
