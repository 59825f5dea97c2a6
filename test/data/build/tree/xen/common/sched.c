/* Scheduler: sched_line() reports its own line, so line shifts show in its code. */
int sched_prio(int x)
{
    x = x * 7 + 3;
    return x ^ 0x55;
}

int sched_line(int x)
{
    return x * 5 + __LINE__;
}
