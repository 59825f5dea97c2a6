/* Both functions use floating-point constants that gcc pools in .rodata.cst8; only
 * scale_b changes (a new constant), which moves scale_a's constant in the pool. */
double __attribute__((noinline)) scale_a(double x) { return x * 1.25 + 0.5; }
double __attribute__((noinline)) scale_b(double x) { return x * 3.5; }
