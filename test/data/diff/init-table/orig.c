/* A fix that wants a new command line option and a new initcall: neither can come
 * with a payload (the image parsed its options and ran its initcalls at boot). */
#include "xen-init.h"

static _Bool opt_strict;
boolean_param("strict", opt_strict);
ignore_param("legacy-option");

int __attribute__((noinline)) check_request(int r)
{
    return opt_strict && r > 4 ? -1 : r;
}
