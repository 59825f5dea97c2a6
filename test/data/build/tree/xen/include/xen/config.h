/* Included before every source, as in Xen: hidden visibility keeps references PC-relative. */
#pragma GCC visibility push(hidden)
