/* Included first in every test object, as Xen does with include/xen/config.h: all
 * symbols hidden, so references are PC-relative and never go through a GOT. */
#pragma GCC visibility push(hidden)
