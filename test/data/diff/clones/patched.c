/* gcc specialises mix() and scale() for their constant arguments (mix.constprop.N,
 * scale.constprop.N); only entry_b changes. */
int state;
static int __attribute__((noinline)) mix(int x, int k) { state ^= x; return x * k + state; }
static int __attribute__((noinline)) scale(int x, int unused) { state += x; return x << 3; }
int __attribute__((noinline)) entry_a(int x) { return mix(x, 17) + scale(x, 0); }
int __attribute__((noinline)) entry_b(int x) { return mix(x + 2, 17) - 1; }
