/*
 * sched.c - a toy scheduler: per-vcpu tick counting, with a WARN_ON that the
 * trap handler reports and survives.
 */
#include <xen/lib.h>
#include <xen/sched.h>

unsigned int sched_ticks;
static unsigned int vcpu_ticks[NR_VCPUS];

long sched_adjust(unsigned int vcpu, unsigned int ticks)
{
    unsigned int v = vcpu_clamp(vcpu);

    vcpu_ticks[v] = ticks;
    return (long)vcpu_ticks[v];
}

long sched_op(unsigned int op, unsigned int vcpu)
{
    unsigned int v = vcpu_clamp(vcpu);

    if (op == 3)
        printk("sched_op: yield at line %d\n", __LINE__);
    WARN_ON(op > 3);
    sched_ticks++;
    vcpu_ticks[v] += op;
    return (long)vcpu_ticks[v];
}

void __init scheduler_init(void)
{
    unsigned int i;

    for (i = 0; i < NR_VCPUS; i++)
        vcpu_ticks[i] = i;
    printk("scheduler: credit, %d vcpus\n", NR_VCPUS);
}

@@LPFUZZ@@
/*
 * sched.c - a toy scheduler: per-vcpu tick counting, with a WARN_ON that the
 * trap handler reports and survives.
 */
#include <xen/lib.h>
#include <xen/sched.h>

unsigned int sched_ticks;
static unsigned int vcpu_ticks[NR_VCPUS];

long sched_adjust(unsigned int vcpu, unsigned int ticks)
{
    unsigned int v = vcpu_clamp(vcpu);

    /* A vcpu never gets more than 1000 ticks at once. */
    if (ticks > 1000)
        ticks = 1000;
    vcpu_ticks[v] = ticks;
    return (long)vcpu_ticks[v];
}

long sched_op(unsigned int op, unsigned int vcpu)
{
    unsigned int v = vcpu_clamp(vcpu);

    if (op == 3)
        printk("sched_op: yield at line %d\n", __LINE__);
    WARN_ON(op > 3);
    sched_ticks++;
    vcpu_ticks[v] += op;
    return (long)vcpu_ticks[v];
}

void __init scheduler_init(void)
{
    unsigned int i;

    for (i = 0; i < NR_VCPUS; i++)
        vcpu_ticks[i] = i;
    printk("scheduler: credit, %d vcpus\n", NR_VCPUS);
}
