/* Everything in .text.unlikely.* is declared uninteresting by the patch author. */
#include "livepatch/hooks.h"
int hits;
int __attribute__((noinline, cold)) rare_path(int x) { hits += x; return x - 1; }
int __attribute__((noinline)) hot_path(int x) { hits++; return x + 1; }
