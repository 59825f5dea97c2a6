/* Only second() changes (a new string and a new static); first() must stay out even
 * though its string literals move and gcc renumbers its static local. */
#include <stdio.h>

static int __attribute__((noinline)) scale(int x) { return x * 7; }

int __attribute__((noinline)) second(int x)
{
    static int calls;
    static int seen;
    calls++;
    seen += x;
    printf("second (new text first): %d after %d calls\n", seen, calls);
    return seen;
}

int __attribute__((noinline)) first(int x)
{
    static int seen;
    seen++;
    printf("first: %d %d\n", x, seen);
    printf("first: scaled %d\n", scale(x));
    return seen;
}
