/* gcc splits the unlikely path of process() into process.cold, and partially inlines
 * lookup() into lookup.part.N; only the cold path changes. */
extern void __attribute__((cold, noinline)) report_failure(const char *what, int code);
int table[64];

void __attribute__((cold, noinline)) report_failure(const char *what, int code)
{
    table[0] = code + (int)what[0];
}

int __attribute__((noinline)) process(int x)
{
    if (__builtin_expect(x < 0, 0)) {
        report_failure("negative input", x);
        table[1] += 7;
        return -22;
    }
    table[x & 63] += x;
    return table[(x + 1) & 63];
}
