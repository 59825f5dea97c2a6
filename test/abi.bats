#!/usr/bin/env bats
# The patch-author macros of include/livepatch/hooks.h place what the loader looks for.

load test_helper

@test "hook, ignore and expectation macros emit the sections and helper symbols the toolchain expects" {
    cat > p.c <<'SRC'
#include "livepatch/hooks.h"
static void on_load(void) {}
static void on_unload(void) {}
static int pre(struct payload *p) { (void)p; return 0; }
static void post(struct payload *p) { (void)p; }
static int act(struct payload *p) { (void)p; return 0; }
int noisy(int x) { return x + 1; }
int fixed(int x) { return x * 2; }
LIVEPATCH_LOAD_HOOK(on_load);
LIVEPATCH_UNLOAD_HOOK(on_unload);
LIVEPATCH_PREAPPLY_HOOK(pre);
LIVEPATCH_APPLY_HOOK(act);
LIVEPATCH_POSTAPPLY_HOOK(post);
LIVEPATCH_PREREVERT_HOOK(pre);
LIVEPATCH_REVERT_HOOK(act);
LIVEPATCH_POSTREVERT_HOOK(post);
LIVEPATCH_IGNORE_FUNCTION(noisy);
LIVEPATCH_IGNORE_SECTION(".text.unlikely");
LIVEPATCH_EXPECT(fixed, 0x8d, 0x04, 0x3f);
SRC
    cc_obj p.o p.c -I"$LP_ROOT/include" -Wall -Werror
    run readelf -SW p.o
    for s in load unload preapply apply postapply prerevert revert postrevert; do
        assert_output --partial ".livepatch.hooks.$s "
    done
    assert_output --partial ".livepatch.ignore.functions"
    assert_output --partial ".livepatch.ignore.sections"
    assert_output --partial ".livepatch.expectations"
    run readelf -sW p.o
    assert_output --partial "livepatch_load_data_on_load"
    assert_output --partial "livepatch_postrevert_data_post"
    # Each hook section holds exactly one 8-byte pointer, relocated with R_X86_64_64.
    run readelf -SW p.o
    assert_line --regexp '\.livepatch\.hooks\.preapply +PROGBITS +0+ [0-9a-f]+ 0+8 '
    run readelf -rW p.o
    assert_output --regexp "rela\.livepatch\.hooks\.load.*"
    assert_output --partial "R_X86_64_64"
    # The expectation record: 40 bytes, length 3 at offset 8, data after it.
    run readelf -x .livepatch.expectations p.o
    assert_output --partial "00000000 00000000 038d043f"
}

@test "LIVEPATCH_NOP places a 16-byte record: the function (R_X86_64_64), then the length" {
    cat > p.c <<'SRC'
#include "livepatch/hooks.h"
int quiet(int x) { return x + 1; }
LIVEPATCH_NOP(quiet, 5);
SRC
    cc_obj p.o p.c -I"$LP_ROOT/include" -Wall -Werror
    run readelf -SW p.o
    assert_line --regexp '.*\.livepatch\.nops +PROGBITS +0+ [0-9a-f]+ 0+10 .* 8$'
    run readelf -sW p.o
    assert_output --partial "livepatch_nop_data_quiet"
    run bash -c "readelf -rW p.o | sed -n '/rela.livepatch.nops/,/^\$/p'"
    assert_line --regexp '^0+ +[0-9a-f]+ R_X86_64_64 +0+ quiet \+ 0'
    run readelf -x .livepatch.nops p.o
    assert_output --partial "00000000 00000000 05000000 00000000"
}
