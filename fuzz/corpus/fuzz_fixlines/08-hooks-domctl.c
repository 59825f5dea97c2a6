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
#include <xen/livepatch_payload.h>

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
    if (cmd >= NR_DOMCTLS)
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

static void domctl_fix_loaded(void)
{
    printk("livepatch: domctl bounds fix loaded\n");
}

static void domctl_fix_unloaded(void)
{
    printk("livepatch: domctl bounds fix unloaded\n");
}

LIVEPATCH_LOAD_HOOK(domctl_fix_loaded);
LIVEPATCH_UNLOAD_HOOK(domctl_fix_unloaded);
