/* References to statics whose PC-relative addend is not -4: an immediate follows
 * the displacement, so the CPU adds the field to an address past it.
 *   cmpb $0x0, flag(%rip)            R_X86_64_PC32 .bss.flag-5
 *   movl $0x12345678, counter(%rip)  R_X86_64_PC32 .bss.counter-8
 *   movl $0x2a, pair_a(%rip)         R_X86_64_PC32 .data.pair+4-8 (gcc 12 places
 *                                    pair_a second): read with a -4 rule this is
 *                                    pair_b, the wrong variable.
 * Only poll_flag changes. */
static _Bool flag;
static unsigned int counter;
static int pair_a __attribute__((section(".data.pair"))) = 1;
static int pair_b __attribute__((section(".data.pair"))) = 2;
void set_flag(void) { flag = 1; }
unsigned int get_counter(void) { return counter; }
int get_pair(void) { return pair_a + pair_b; }
int __attribute__((noinline)) poll_flag(int x)
{
    if (flag)
        return x;
    counter = 0x12345678;
    pair_a = 42;
    return x + 1;
}
