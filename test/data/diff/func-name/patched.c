/* Both functions print their own name through __func__, which gcc emits as a local
 * constant named __func__.N; only the second changes. */
#include <stdio.h>
int __attribute__((noinline)) alpha(int x) { printf("%s %d\n", __func__, x); return x + 1; }
int __attribute__((noinline)) beta(int x) { printf("%s %d\n", __func__, x); return x + 20; }
