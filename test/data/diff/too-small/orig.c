/* tiny() is 3 bytes in the image: no room for a 5-byte jump. */
int __attribute__((noinline)) tiny(void) { return 0; }
int __attribute__((noinline)) user(void) { return tiny() + 1; }
