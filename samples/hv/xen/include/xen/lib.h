/*
 * lib.h - printk and the BUG/WARN machinery, in Xen's formats.
 *
 * WARN_ON()/BUG_ON() plant a ud2 and an 8-byte record in .bug_frames.N:
 *   word 0: ud2 - frame (24 bits, signed)        + (line bits 7..13 << 24)
 *   word 1: file name - frame (24 bits, signed)  + (line bits 0..6  << 24)
 * (displacements from the start of the record, as Xen's bug_loc()/bug_ptr()).
 * The trap handler (arch/x86/traps.c) finds the record of a faulting ud2.
 */
#ifndef XEN_LIB_H
#define XEN_LIB_H

int printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define BUGFRAME_warn 1
#define BUGFRAME_bug  2
#define BUG_DISP_WIDTH 24
#define BUG_LINE_LO_WIDTH 7

#define BUG_FRAME(type, line, file)                                                   \
    asm volatile("1: ud2\n"                                                           \
                 ".pushsection .bug_frames." #type ", \"a\", @progbits\n"             \
                 ".p2align 2\n"                                                       \
                 "2: .long (1b - 2b) + %c0\n"                                         \
                 "   .long (%c1 - 2b) + %c2\n"                                        \
                 ".popsection"                                                        \
                 :: "i"(((line) >> BUG_LINE_LO_WIDTH) << BUG_DISP_WIDTH),             \
                    "i"(file),                                                        \
                    "i"(((line) & ((1 << BUG_LINE_LO_WIDTH) - 1)) << BUG_DISP_WIDTH))

#define WARN() BUG_FRAME(1, __LINE__, __FILE__)
#define BUG() do { BUG_FRAME(2, __LINE__, __FILE__); __builtin_unreachable(); } while (0)
#define WARN_ON(c) do { if (unlikely(c)) WARN(); } while (0)
#define BUG_ON(c) do { if (unlikely(c)) BUG(); } while (0)

#define EINVAL 22
#define ENOENT 2
#define EFAULT 14

#endif
