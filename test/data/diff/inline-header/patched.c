/* clamp() is a static inline from a header: every caller that inlined it changes. */
static inline int clamp(int v) { return v > 10 ? 10 : (v < 0 ? 0 : v); }
int __attribute__((noinline)) caller_one(int v) { return clamp(v) + 1; }
int __attribute__((noinline)) caller_two(int v) { return clamp(v * 3) - 1; }
int __attribute__((noinline)) bystander(int v) { return v ^ 0x55; }
