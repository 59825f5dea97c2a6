/* Two members swap places. */
typedef struct {
    long credit;
    int weight;
} sched_unit_t;

long __attribute__((noinline)) unit_credit(sched_unit_t *u)
{
    return u->credit;
}
