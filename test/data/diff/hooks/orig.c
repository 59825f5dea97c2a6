/* The fix comes with load/unload hooks that must travel with the payload. */
int fixed_state;
int __attribute__((noinline)) op(int x) { return x + fixed_state; }
