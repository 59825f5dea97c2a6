/* version.c - build identification; rebuilt on every make, as in Xen. */
#include <xen/lib.h>

const char *xen_build_info(void)
{
    return "4.23-sample (built " XEN_BUILD_DATE " " XEN_BUILD_TIME ")";
}
