/* Only the initial value of an existing table changes: a payload cannot do that. */
int limits[4] = { 1, 2, 3, 5 };
int __attribute__((noinline)) get_limit(int i) { return limits[i & 3]; }
