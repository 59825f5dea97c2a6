/* Built the way Xen builds foo.init.o: -DINIT_SECTIONS_ONLY makes every function
 * __init, so all of them share the one .init.text (no .text.<fn> even with
 * -ffunction-sections), and the test then renames .rodata.str1.1 to
 * .init.rodata.str1.1 as Rules.mk's cmd_obj_init_o does.  Nothing here runs after
 * boot; only parse_options changes. */
#include <stdio.h>
#define __init __attribute__((__section__(".init.text")))
#define __initdata __attribute__((__section__(".init.data")))
static int __initdata verbose = 1;
static int __attribute__((noinline)) __init parse_one(const char *s) { return s[0] == 'y'; }
int __init parse_options(const char *s)
{
    int r = parse_one(s);
    if (verbose)
        printf("option %s: %d\n", s, r);
    return r;
}
int __init scale_boot_value(int x) { return x * 2 + 1; }
