/* Only second() changes (a new string and a new static); first() must stay out even
 * though its string literals move and gcc renumbers its static local. */
#include <stdio.h>

static int __attribute__((noinline)) scale(int x) { return x * 7; }

int __attribute__((noinline)) second(int x)
{
    static int seen;
    seen += x;
    printf("second: %d\n", seen);
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
