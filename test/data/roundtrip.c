/* A program with the shapes a hypervisor object has: static and global functions,
 * string literals, function pointers in data, a static local, a switch. */
#include <stdio.h>

static int counter;
const char *const names[] = { "zero", "one", "two", "three" };

static int __attribute__((noinline)) scale(int x)
{
    static int calls;
    calls++;
    return x * 3 + calls;
}

int __attribute__((noinline)) classify(int x)
{
    switch (x & 3) {
    case 0: return scale(x);
    case 1: return -x;
    case 2: return x / 2;
    default: return counter++;
    }
}

static int twice(int x) { return 2 * x; }
int (*const ops[])(int) = { classify, twice };

int main(void)
{
    int i, sum = 0;
    for (i = 0; i < 40; i++)
        sum += ops[i & 1](i);
    printf("sum=%d name=%s counter=%d\n", sum, names[sum & 3], counter);
    return 0;
}
