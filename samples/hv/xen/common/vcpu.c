/* vcpu.c - vcpu operations; another user of the inlined vcpu_clamp(). */
#include <xen/lib.h>
#include <xen/sched.h>
#include <asm/alternative.h>

static long cf_check vcpu_weight(long vcpu)
{
    return 256 + vcpu;
}

static long (*weight_fn)(long) = vcpu_weight;

long vcpu_op(unsigned int vcpu)
{
    unsigned int v = vcpu_clamp(vcpu);

    alternative("nop; nop; nop", "lfence", X86_FEATURE_ALWAYS);
    return alternative_call(weight_fn, (long)v);
}
