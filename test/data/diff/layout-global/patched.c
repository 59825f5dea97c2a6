/* The function has no parameter or local of the changed type: it reaches it through a
 * global pointer its code names (a relocation), like Xen's `current` or `dom0`. */
struct counters {
    unsigned long hits;
    unsigned long drops;
    unsigned long misses;
};

struct counters *counters_ptr;

void __attribute__((noinline)) count_miss(void)
{
    counters_ptr->misses++;
}
