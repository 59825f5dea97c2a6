/* Two members swap places. */
typedef struct {
    int weight;
    long credit;
} sched_unit_t;

long __attribute__((noinline)) unit_credit(sched_unit_t *u)
{
    return u->credit;
}
