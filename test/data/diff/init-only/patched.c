/* Only boot-time code changes: it has run and been freed by the time a payload loads. */
#include <stdio.h>
int booted;
int __attribute__((noinline, section(".init.text"))) setup_platform(int x)
{
    booted = x * 4;
    printf("setup %d\n", booted);
    return booted;
}
int __attribute__((noinline)) runtime_op(int x) { return booted + x; }
