/* A type changes, but only code the payload does not carry uses it (its code did not
 * change: hits stays at offset 0).  The payload's one function never touches it. */
struct stats {
    int hits;
    int misses;
};

int __attribute__((noinline)) stats_hits(const struct stats *s)
{
    return s->hits;
}

int __attribute__((noinline)) compute(int x, int y)
{
    return x * 5 + y * 7 - (x >> 2);
}
