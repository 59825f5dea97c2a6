/* noisy() changes but the author asks to leave it out; real_fix() is the fix. */
#include "livepatch/hooks.h"
int total;

int __attribute__((noinline)) noisy(int x) { total += x; return x + __LINE__; }
int __attribute__((noinline)) real_fix(int x) { total += x; return x * 3; }
LIVEPATCH_IGNORE_FUNCTION(noisy);
