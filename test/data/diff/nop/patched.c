/* Debug tracing a fix switches off with NOPs (LIVEPATCH_NOP) instead of replacing code.
 * -DNOP_FN=f -DNOP_LEN=n pick the request, -DCHANGE_TOO also changes trace_hit. */
#include "livepatch/hooks.h"

int trace_buf[64];
int trace_count;

void __attribute__((noinline)) trace_hit(int x)
{
    trace_buf[x & 63] += x;
    trace_buf[(x >> 6) & 63] ^= x;
#ifdef CHANGE_TOO
    trace_count += 2;
#else
    trace_count++;
#endif
}

static int __attribute__((noinline)) log_event(int x)
{
    trace_buf[(x >> 3) & 63] -= x;
    trace_buf[(x >> 9) & 63] |= x;
    return trace_count++;
}

int do_work(int x) { return log_event(x) + 1; }

int __attribute__((noinline)) tiny(void) { return 0; }

#ifdef NOP_FN
LIVEPATCH_NOP(NOP_FN, NOP_LEN);
#else
LIVEPATCH_NOP(trace_hit, 5);
LIVEPATCH_NOP(log_event, 7);
#endif
