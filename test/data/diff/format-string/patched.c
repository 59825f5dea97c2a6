/* Only a format string changes. */
#include <stdio.h>
int __attribute__((noinline)) report(int v) { printf("value is %d\n", v); return v; }
int __attribute__((noinline)) quiet(int v) { return v + 1; }
