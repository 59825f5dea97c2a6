/*
 * config.h - included first in every object (-include), as in Xen: the build
 * configuration and hidden visibility for everything, so references are
 * PC-relative and never go through a GOT.
 */
#ifndef XEN_CONFIG_H
#define XEN_CONFIG_H

#include <generated/autoconf.h>

#pragma GCC visibility push(hidden)

#define __init __attribute__((__section__(".init.text"), __noinline__))
#define __initdata __attribute__((__section__(".init.data")))
#define cf_check __attribute__((cf_check))
#define noinline __attribute__((noinline))
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
