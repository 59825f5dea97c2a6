/*
 * payload.h - the live-patch payload ABI (payload version 2) as the hypervisor's
 * loader accepts it.  This header is the single place that states the layout:
 * every other file takes sizes, offsets and section names from here.
 *
 * Not for: anything about how a payload is built or applied (see elf.h, image.h).
 */
#ifndef LIVEPATCH_PAYLOAD_H
#define LIVEPATCH_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

/* Version of struct livepatch_func written by the toolchain and accepted by the loader. */
#define LIVEPATCH_PAYLOAD_VERSION 2

/* Bytes the loader keeps for undo/expectations; also the NOP-mode maximum. */
#define LIVEPATCH_OPAQUE_SIZE 31

/* Byte sizes of the jump the loader writes: e9 <rel32>. */
#define LIVEPATCH_JMP_SIZE 5
/* ENDBR64 (f3 0f 1e fa) or its poisoned form (66 0f 1f 01): the jump goes this far in. */
#define LIVEPATCH_ENDBR_SIZE 4

/* Does code start with ENDBR64 (f3 0f 1e fa) or its poisoned form (66 0f 1f 01)? */
static inline int livepatch_is_endbr(const unsigned char *code)
{
    return (code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa) ||
           (code[0] == 0x66 && code[1] == 0x0f && code[2] == 0x1f && code[3] == 0x01);
}

/* Payload files above this size are refused by the loader. */
#define LIVEPATCH_MAX_PAYLOAD_SIZE (2u * 1024u * 1024u)

/* Maximum payload name length (excluding the NUL), as the hypervisor's sysctl takes it. */
#define LIVEPATCH_NAME_MAX 127

/* Build-id note type (NT_GNU_BUILD_ID) and owner used by the dependency sections. */
#define LIVEPATCH_NOTE_TYPE_BUILD_ID 3
#define LIVEPATCH_NOTE_OWNER "GNU"

/* Section names the loader looks up. */
#define LIVEPATCH_SEC_FUNCS        ".livepatch.funcs"
#define LIVEPATCH_SEC_DEPENDS      ".livepatch.depends"
#define LIVEPATCH_SEC_XEN_DEPENDS  ".livepatch.xen_depends"
#define LIVEPATCH_SEC_BUILD_ID     ".note.gnu.build-id"
#define LIVEPATCH_SEC_MODINFO      ".modinfo"
#define LIVEPATCH_SEC_HOOK_LOAD      ".livepatch.hooks.load"
#define LIVEPATCH_SEC_HOOK_UNLOAD    ".livepatch.hooks.unload"
#define LIVEPATCH_SEC_HOOK_PREAPPLY  ".livepatch.hooks.preapply"
#define LIVEPATCH_SEC_HOOK_APPLY     ".livepatch.hooks.apply"
#define LIVEPATCH_SEC_HOOK_POSTAPPLY ".livepatch.hooks.postapply"
#define LIVEPATCH_SEC_HOOK_PREREVERT ".livepatch.hooks.prerevert"
#define LIVEPATCH_SEC_HOOK_REVERT    ".livepatch.hooks.revert"
#define LIVEPATCH_SEC_HOOK_POSTREVERT ".livepatch.hooks.postrevert"
#define LIVEPATCH_SEC_BUG_FRAMES   ".bug_frames."   /* .0 to .3 */
#define LIVEPATCH_NR_BUG_FRAMES    4
#define LIVEPATCH_SEC_EX_TABLE     ".ex_table"
#define LIVEPATCH_SEC_FIXUP        ".fixup"
#define LIVEPATCH_SEC_ALTINSTR     ".altinstructions"
#define LIVEPATCH_SEC_ALTINSTR_REPL ".altinstr_replacement"
#define LIVEPATCH_SEC_ALT_CALL_SITES ".alt_call_sites"

/* Toolchain-only sections: consumed by create-diff-object, never in a payload. */
#define LIVEPATCH_SEC_IGNORE_FUNCS ".livepatch.ignore.functions"
#define LIVEPATCH_SEC_IGNORE_SECS  ".livepatch.ignore.sections"
#define LIVEPATCH_SEC_EXPECT       ".livepatch.expectations"
#define LIVEPATCH_SEC_NOPS         ".livepatch.nops"

/* Entry sizes of the special sections in the hypervisor this ABI describes. */
#define LIVEPATCH_BUG_FRAME_SIZE     8
#define LIVEPATCH_EX_TABLE_SIZE      8
#define LIVEPATCH_ALTINSTR_SIZE      14
#define LIVEPATCH_ALT_CALL_SITE_SIZE 4
#define LIVEPATCH_HOOK_PTR_SIZE      8

/* Optional check of the bytes at old_addr before patching. */
struct livepatch_expectation {
    uint8_t enabled : 1;
    uint8_t len : 5;                 /* at most LIVEPATCH_OPAQUE_SIZE */
    uint8_t rsv : 2;                 /* must be zero */
    uint8_t data[LIVEPATCH_OPAQUE_SIZE];
};

/*
 * One patched function.  In a payload file: name and new_addr are relocated
 * (R_X86_64_64); old_addr is 0 (the loader resolves `name`) or relocated; new_addr
 * 0 means "NOP mode" (overwrite old_size bytes with NOPs).  opaque/applied/
 * patch_offset are the loader's scratch space and are zero in a payload.
 */
struct livepatch_func {
    const char *name;
    void *new_addr;
    void *old_addr;
    uint32_t new_size;
    uint32_t old_size;
    uint8_t version;                 /* LIVEPATCH_PAYLOAD_VERSION */
    uint8_t opaque[LIVEPATCH_OPAQUE_SIZE];
    uint8_t applied;
    uint8_t patch_offset;
    uint8_t _pad[6];
    struct livepatch_expectation expect;
};

#define LIVEPATCH_FUNC_SIZE 104

_Static_assert(sizeof(struct livepatch_expectation) == 32, "expectation is 32 bytes");
_Static_assert(offsetof(struct livepatch_expectation, data) == 1, "expectation data at 1");
_Static_assert(offsetof(struct livepatch_func, name) == 0, "name at 0");
_Static_assert(offsetof(struct livepatch_func, new_addr) == 8, "new_addr at 8");
_Static_assert(offsetof(struct livepatch_func, old_addr) == 16, "old_addr at 16");
_Static_assert(offsetof(struct livepatch_func, new_size) == 24, "new_size at 24");
_Static_assert(offsetof(struct livepatch_func, old_size) == 28, "old_size at 28");
_Static_assert(offsetof(struct livepatch_func, version) == 32, "version at 32");
_Static_assert(offsetof(struct livepatch_func, opaque) == 33, "opaque at 33");
_Static_assert(offsetof(struct livepatch_func, applied) == 64, "applied at 64");
_Static_assert(offsetof(struct livepatch_func, patch_offset) == 65, "patch_offset at 65");
_Static_assert(offsetof(struct livepatch_func, expect) == 72, "expect at 72");
_Static_assert(sizeof(struct livepatch_func) == LIVEPATCH_FUNC_SIZE, "livepatch_func is 104 bytes");

/* Field offsets for code that writes the struct into a byte buffer of an ELF section. */
#define LIVEPATCH_FUNC_OFF_NAME     0
#define LIVEPATCH_FUNC_OFF_NEW_ADDR 8
#define LIVEPATCH_FUNC_OFF_OLD_ADDR 16
#define LIVEPATCH_FUNC_OFF_NEW_SIZE 24
#define LIVEPATCH_FUNC_OFF_OLD_SIZE 28
#define LIVEPATCH_FUNC_OFF_VERSION  32
#define LIVEPATCH_FUNC_OFF_EXPECT   72
_Static_assert(LIVEPATCH_FUNC_OFF_NAME == offsetof(struct livepatch_func, name), "off name");
_Static_assert(LIVEPATCH_FUNC_OFF_NEW_ADDR == offsetof(struct livepatch_func, new_addr), "off new");
_Static_assert(LIVEPATCH_FUNC_OFF_OLD_ADDR == offsetof(struct livepatch_func, old_addr), "off old");
_Static_assert(LIVEPATCH_FUNC_OFF_NEW_SIZE == offsetof(struct livepatch_func, new_size), "off nsz");
_Static_assert(LIVEPATCH_FUNC_OFF_OLD_SIZE == offsetof(struct livepatch_func, old_size), "off osz");
_Static_assert(LIVEPATCH_FUNC_OFF_VERSION == offsetof(struct livepatch_func, version), "off ver");
_Static_assert(LIVEPATCH_FUNC_OFF_EXPECT == offsetof(struct livepatch_func, expect), "off exp");

/*
 * Toolchain-only record placed by LIVEPATCH_EXPECT() in LIVEPATCH_SEC_EXPECT:
 * create-diff-object copies it into the matching livepatch_func.expect.
 */
struct livepatch_expect_decl {
    void *func;                      /* R_X86_64_64 to the function */
    uint8_t len;
    uint8_t data[LIVEPATCH_OPAQUE_SIZE];
};
#define LIVEPATCH_EXPECT_DECL_SIZE 40
_Static_assert(sizeof(struct livepatch_expect_decl) == LIVEPATCH_EXPECT_DECL_SIZE, "expect decl");

/*
 * Toolchain-only record placed by LIVEPATCH_NOP() in LIVEPATCH_SEC_NOPS:
 * create-diff-object turns it into a NOP-mode livepatch_func (new_addr 0, new_size len).
 */
struct livepatch_nop_decl {
    void *func;                      /* R_X86_64_64 to the function */
    uint32_t len;                    /* bytes to overwrite: 1 to LIVEPATCH_OPAQUE_SIZE */
};
#define LIVEPATCH_NOP_DECL_SIZE 16
#define LIVEPATCH_NOP_DECL_OFF_LEN 8
_Static_assert(sizeof(struct livepatch_nop_decl) == LIVEPATCH_NOP_DECL_SIZE, "nop decl");
_Static_assert(offsetof(struct livepatch_nop_decl, len) == LIVEPATCH_NOP_DECL_OFF_LEN, "nop len");

#endif
