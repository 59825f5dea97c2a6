/* Per-CPU data as Xen declares it (xen/percpu.h): a variable per_cpu__NAME in
 * .bss.percpu, reached through __per_cpu_offset[cpu]. */
#define DEFINE_PER_CPU(type, name) \
    __attribute__((__section__(".bss.percpu"))) __typeof__(type) per_cpu__##name
#define per_cpu(name, cpu) \
    (*(__typeof__(per_cpu__##name) *)((char *)&per_cpu__##name + __per_cpu_offset[cpu]))

unsigned long __per_cpu_offset[4];
static DEFINE_PER_CPU(unsigned int, irq_count);

unsigned int __attribute__((noinline)) note_irq(unsigned int cpu)
{
    return ++per_cpu(irq_count, cpu & 3);
}
