/* A changed function among unchanged ones; it calls a static helper and a global,
 * and uses a string literal and a static local. */
#include <stdio.h>

int counter_global;
static int __attribute__((noinline)) helper(int x) { return x * 2 + 1; }
int __attribute__((noinline)) unchanged(int x) { return helper(x) + 3; }
static const char *const modes[] = { "off", "on" };

int __attribute__((noinline)) check_bounds(int idx)
{
    static int calls;
    calls++;
    counter_global += helper(idx);
    if (idx < 0 || idx > 8)
        return -22;
    printf("check_bounds: idx=%d mode=%s calls=%d\n", idx, modes[idx & 1], calls);
    return unchanged(idx);
}
