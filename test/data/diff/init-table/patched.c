/* A fix that wants a new command line option and a new initcall: neither can come
 * with a payload (the image parsed its options and ran its initcalls at boot). */
#include "xen-init.h"

/* Lines moved: ignore_param's entry gets a new __LINE__ name, it is not new. */

static _Bool opt_strict;
boolean_param("strict", opt_strict);
ignore_param("legacy-option");

#ifndef NO_NEW
static _Bool opt_audit;
boolean_param("audit-requests", opt_audit);

static int __init audit_init(void)
{
    opt_audit |= opt_strict;
    return 0;
}
__initcall(audit_init);
#else
static _Bool opt_audit = 1;
#endif

int __attribute__((noinline)) check_request(int r)
{
    if (opt_audit && r < 0)
        return -2;
    return opt_strict && r > 4 ? -1 : r;
}
