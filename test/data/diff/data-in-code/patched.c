/* Data inside code, as hand-written asm has it: odd's `.long odd_limit - .` sits in
 * .text.odd but is no instruction's field, so it means S + A (odd_limit itself), not
 * S + A + 4.  Only odd changes (a nop before the table). */
int get(void) { return 1; }
asm(".pushsection .rodata.odd_limit, \"a\", @progbits\n"
    ".type odd_limit, @object\n"
    ".size odd_limit, 4\n"
    "odd_limit: .long 7\n"
    ".popsection\n"
    ".pushsection .text.odd, \"ax\", @progbits\n"
    ".type odd, @function\n"
    "odd:\n"
    "ud2\n"
    "nop; nop; nop; nop\n"
    ".long odd_limit - .\n"
    "ret\n"
    ".size odd, . - odd\n"
    ".popsection");
