/* A PC-relative field in data holds `target - .` (as .ex_table and .bug_frames do):
 * it means S + A, with no instruction after it.  msg_offsets points at "abc"; the
 * string that follows it in .rodata.str1.1 changes, which must not make the table
 * look changed (read with an instruction's +4 it would point at that next string).
 * Only poll changes. */
asm(".pushsection .rodata.msg_offsets, \"a\", @progbits\n"
    ".p2align 2\n"
    ".type msg_offsets, @object\n"
    "msg_offsets:\n"
    ".long .Lmsg_abc - .\n"
    ".size msg_offsets, 4\n"
    ".popsection\n"
    ".pushsection .rodata.str1.1, \"aMS\", @progbits, 1\n"
    ".Lmsg_abc: .asciz \"abc\"\n"
    ".asciz \"one\"\n"
    ".popsection");
extern const int msg_offsets[];
const char *message(void) { return (const char *)msg_offsets + msg_offsets[0]; }
int __attribute__((noinline)) poll(int x) { return x > 10 ? x * 7 + 1 : x - 3; }
