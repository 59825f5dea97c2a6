/* Debug tracing a fix switches off with NOPs (LIVEPATCH_NOP) instead of replacing code. */
int trace_buf[64];
int trace_count;

void __attribute__((noinline)) trace_hit(int x)
{
    trace_buf[x & 63] += x;
    trace_buf[(x >> 6) & 63] ^= x;
    trace_count++;
}

static int __attribute__((noinline)) log_event(int x)
{
    trace_buf[(x >> 3) & 63] -= x;
    trace_buf[(x >> 9) & 63] |= x;
    return trace_count++;
}

int do_work(int x) { return log_event(x) + 1; }

int __attribute__((noinline)) tiny(void) { return 0; }
