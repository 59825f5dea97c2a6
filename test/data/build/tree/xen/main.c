/* Entry point of the miniature image. */
int do_domctl(int);
int sched_prio(int);
int sched_line(int);
int do_trap(int);
const char *xen_build_date(void);

int main(void)
{
    return do_domctl(1) + sched_prio(2) + do_trap(3) + sched_line(4) + (xen_build_date() != 0);
}
