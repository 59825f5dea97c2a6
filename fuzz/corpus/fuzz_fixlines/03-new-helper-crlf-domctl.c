/*
 * domctl.c - domain control operations: the hypercall the demo's security fix
 * touches.
 */
#include <xen/lib.h>

#define NR_DOMCTLS CONFIG_NR_DOMCTLS

static const char *const domctl_names[NR_DOMCTLS] = {
    "createdomain", "destroydomain", "pausedomain", "unpausedomain",
    "getdomaininfo", "max_mem", "setvcpucontext", "getvcpucontext",
};

static unsigned long domctl_calls[NR_DOMCTLS];

/* Same name as the one in arch/x86/traps.c: only the file tells them apart. */
static noinline int check_permission(unsigned int cmd)
{
    return cmd != 1; /* nobody may destroy the sample's only domain */
}

long do_domctl(unsigned int cmd)
{
    if (cmd > NR_DOMCTLS)
        return -EINVAL;
    if (!check_permission(cmd))
        return -ENOENT;
    domctl_calls[cmd]++;
    return (long)cmd * 100 + 1;
}

const char *domctl_name(unsigned int cmd)
{
    return cmd < NR_DOMCTLS ? domctl_names[cmd] : "unknown";
}

@@LPFUZZ@@
/*
 * domctl.c - domain control operations: the hypercall the demo's security fix
 * touches.
 */
#include <xen/lib.h>

#define NR_DOMCTLS CONFIG_NR_DOMCTLS

static const char *const domctl_names[NR_DOMCTLS] = {
    "createdomain", "destroydomain", "pausedomain", "unpausedomain",
    "getdomaininfo", "max_mem", "setvcpucontext", "getvcpucontext",
};

static unsigned long domctl_calls[NR_DOMCTLS];
unsigned long domctl_rejected;

/* Commands beyond the table are counted and refused. */
static noinline long reject_domctl(unsigned int cmd)
{
    domctl_rejected++;
    printk("domctl: rejecting out-of-range command %u\n", cmd);
    return -EINVAL;
}

/* Same name as the one in arch/x86/traps.c: only the file tells them apart. */
static noinline int check_permission(unsigned int cmd)
{
    return cmd != 1; /* nobody may destroy the sample's only domain */
}

long do_domctl(unsigned int cmd)
{
    if (cmd >= NR_DOMCTLS)
        return reject_domctl(cmd);
    if (!check_permission(cmd))
        return -ENOENT;
    domctl_calls[cmd]++;
    return (long)cmd * 100 + 1;
}

const char *domctl_name(unsigned int cmd)
{
    return cmd < NR_DOMCTLS ? domctl_names[cmd] : "unknown";
}
