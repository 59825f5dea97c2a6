/*
 * hooks.h - what a patch author writes inside a patched source file to declare
 * hooks, ignored functions/sections and expectations.  The macros only place
 * pointers in named sections; create-diff-object carries them into the payload
 * and the loader runs them.  The helper symbols (livepatch_<kind>_data_<fn>) are
 * stripped from the final payload.
 */
#ifndef LIVEPATCH_HOOKS_H
#define LIVEPATCH_HOOKS_H

struct payload;

typedef void livepatch_loadcall_t(void);
typedef void livepatch_unloadcall_t(void);
typedef int livepatch_precall_t(struct payload *);     /* non-zero vetoes the action */
typedef void livepatch_postcall_t(struct payload *);
typedef int livepatch_actioncall_t(struct payload *);  /* replaces the default action */

#define LIVEPATCH_HOOK_(kind, sec, type, fn) \
    type *__attribute__((weak, used)) const livepatch_##kind##_data_##fn \
        __attribute__((section(sec))) = fn

/* Run (all of them, in order) while quiesced, before the first apply / after the last revert. */
#define LIVEPATCH_LOAD_HOOK(fn)   LIVEPATCH_HOOK_(load, ".livepatch.hooks.load", livepatch_loadcall_t, fn)
#define LIVEPATCH_UNLOAD_HOOK(fn) LIVEPATCH_HOOK_(unload, ".livepatch.hooks.unload", livepatch_unloadcall_t, fn)

/* At most one of each per payload. */
#define LIVEPATCH_PREAPPLY_HOOK(fn)   LIVEPATCH_HOOK_(preapply, ".livepatch.hooks.preapply", livepatch_precall_t, fn)
#define LIVEPATCH_APPLY_HOOK(fn)      LIVEPATCH_HOOK_(apply, ".livepatch.hooks.apply", livepatch_actioncall_t, fn)
#define LIVEPATCH_POSTAPPLY_HOOK(fn)  LIVEPATCH_HOOK_(postapply, ".livepatch.hooks.postapply", livepatch_postcall_t, fn)
#define LIVEPATCH_PREREVERT_HOOK(fn)  LIVEPATCH_HOOK_(prerevert, ".livepatch.hooks.prerevert", livepatch_precall_t, fn)
#define LIVEPATCH_REVERT_HOOK(fn)     LIVEPATCH_HOOK_(revert, ".livepatch.hooks.revert", livepatch_actioncall_t, fn)
#define LIVEPATCH_POSTREVERT_HOOK(fn) LIVEPATCH_HOOK_(postrevert, ".livepatch.hooks.postrevert", livepatch_postcall_t, fn)

/* Leave a function (that changed only for uninteresting reasons) out of the payload. */
#define LIVEPATCH_IGNORE_FUNCTION(fn) \
    static void *__attribute__((used)) const livepatch_ignore_func_##fn \
        __attribute__((section(".livepatch.ignore.functions"))) = (void *)(fn)

/* Leave a whole section (by name) out of the comparison. */
#define LIVEPATCH_CAT2_(a, b) a##b
#define LIVEPATCH_CAT_(a, b) LIVEPATCH_CAT2_(a, b)
#define LIVEPATCH_IGNORE_SECTION(name_) \
    static const char *__attribute__((used)) const LIVEPATCH_CAT_(livepatch_ignore_sec_, __LINE__) \
        __attribute__((section(".livepatch.ignore.sections"))) = (name_)

/*
 * Refuse to patch `fn` unless its first bytes in the running image equal the given
 * bytes (at most 31).  Example: LIVEPATCH_EXPECT(do_op, 0x55, 0x48, 0x89, 0xe5);
 */
#define LIVEPATCH_EXPECT(fn, ...)                                                   \
    static const struct {                                                           \
        void *func; unsigned char len; unsigned char data[31];                      \
    } livepatch_expect_data_##fn                                                    \
    __attribute__((used, aligned(8), section(".livepatch.expectations"))) = {       \
        (void *)(fn), sizeof((unsigned char[]){ __VA_ARGS__ }), { __VA_ARGS__ } }

/*
 * Do not replace `fn`: overwrite its first `len` bytes in the running image with NOPs
 * (the payload's NOP mode, new_addr 0).  len is 1 to 31 and at most the function's
 * size; the function must not also change in this payload, and a function starting
 * with ENDBR64 needs len >= 4.  Example: LIVEPATCH_NOP(debug_trap, 5);
 * Record (struct livepatch_nop_decl, 16 bytes): the function pointer, then len.
 */
#define LIVEPATCH_NOP(fn, len_)                                                     \
    static const struct {                                                           \
        void *func; unsigned int len;                                               \
    } livepatch_nop_data_##fn                                                       \
    __attribute__((used, aligned(8), section(".livepatch.nops"))) = {               \
        (void *)(fn), (len_) }

#endif
