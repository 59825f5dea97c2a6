/* sched.h - the scheduler's shared helpers. */
#ifndef XEN_SCHED_H
#define XEN_SCHED_H

#define NR_VCPUS 4

/* Clamp a vcpu id into range; inlined by every caller. */
static inline unsigned int vcpu_clamp(unsigned int id)
{
    return id >= NR_VCPUS ? NR_VCPUS - 1 : id;
}

long sched_op(unsigned int op, unsigned int vcpu);
long sched_adjust(unsigned int vcpu, unsigned int ticks);
long vcpu_op(unsigned int vcpu);
void scheduler_init(void);
extern unsigned int sched_ticks;

#endif

@@LPFUZZ@@
/* sched.h - the scheduler's shared helpers. */
#ifndef XEN_SCHED_H
#define XEN_SCHED_H

#define NR_VCPUS 4

/* Clamp a vcpu id into range; inlined by every caller. */
static inline unsigned int vcpu_clamp(unsigned int id)
{
    return id >= NR_VCPUS ? 0 : id;
}

long sched_op(unsigned int op, unsigned int vcpu);
long sched_adjust(unsigned int vcpu, unsigned int ticks);
long vcpu_op(unsigned int vcpu);
void scheduler_init(void);
extern unsigned int sched_ticks;

#endif
