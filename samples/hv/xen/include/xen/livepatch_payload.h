/*
 * livepatch_payload.h - what a live patch declares besides code: hooks run by the
 * loader.  The helper pointers land in .livepatch.hooks.* sections; the build tool
 * carries them and strips the livepatch_*_data_* symbols.
 */
#ifndef XEN_LIVEPATCH_PAYLOAD_H
#define XEN_LIVEPATCH_PAYLOAD_H

typedef void livepatch_loadcall_t(void);
typedef void livepatch_unloadcall_t(void);

#define LIVEPATCH_LOAD_HOOK(fn)                                                     \
    livepatch_loadcall_t *__attribute__((weak, used)) const livepatch_load_data_##fn \
        __attribute__((section(".livepatch.hooks.load"))) = fn
#define LIVEPATCH_UNLOAD_HOOK(fn)                                                   \
    livepatch_unloadcall_t *__attribute__((weak, used)) const                       \
        livepatch_unload_data_##fn __attribute__((section(".livepatch.hooks.unload"))) = fn

#endif
