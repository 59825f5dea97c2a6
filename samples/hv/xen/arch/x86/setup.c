/*
 * setup.c - boot: init-time setup (freed after boot in a real hypervisor), then
 * a fixed sequence of "hypercalls" whose results are printed, one per line.
 */
#include <stdarg.h>
#include <stdio.h>

#include <xen/lib.h>
#include <xen/sched.h>
#include <asm/uaccess.h>

long do_domctl(unsigned int cmd);
const char *domctl_name(unsigned int cmd);
const char *xen_build_info(void);
void trap_init(void);
int trap_permitted(unsigned int cmd);

static int boot_cpus __initdata = 2;
static unsigned int guest_page[4] = { 7, 11, 13, 17 };

int printk(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    return n;
}

static void __init start_xen(void)
{
    trap_init();
    scheduler_init();
    printk("(XEN) %d cpus online\n", boot_cpus);
}

int main(void)
{
    unsigned int v = 0;
    int rc;

    start_xen();
    printk("version: %s\n", xen_build_info());
    printk("domctl(%u) %s = %ld\n", 4, domctl_name(4), do_domctl(4));
    printk("domctl(%u) %s = %ld\n", 8, domctl_name(8), do_domctl(8));
    printk("sched_op = %ld, vcpu_op = %ld, adjust = %ld\n", sched_op(2, 9), vcpu_op(7),
           sched_adjust(1, 40));
    rc = read_guest_u32(&guest_page[2], &v);
    printk("guest read: rc=%d value=%u\n", rc, v);
    rc = read_guest_u32((const unsigned int *)16, &v);
    printk("bad guest read: rc=%d\n", rc);
    sched_op(5, 0); /* trips a WARN_ON */
    printk("traps: permitted(2)=%d\n", trap_permitted(2));
    return 0;
}
