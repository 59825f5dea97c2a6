/* The fix comes with load/unload hooks that must travel with the payload. */
#include "livepatch/hooks.h"
int fixed_state;
int __attribute__((noinline)) op(int x) { return x - fixed_state; }
static void on_load(void) { fixed_state = 1; }
static void on_unload(void) { fixed_state = 0; }
LIVEPATCH_LOAD_HOOK(on_load);
LIVEPATCH_UNLOAD_HOOK(on_unload);
