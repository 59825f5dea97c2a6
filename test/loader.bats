#!/usr/bin/env bats
# livepatch-tool: every check the hypervisor makes, and offline apply/revert/replace.

load test_helper
load loader_helper

setup_file() {
    export BASE="$BATS_FILE_TMPDIR/base" P="$BATS_FILE_TMPDIR"
    local pp="$BATS_TEST_DIRNAME/../samples/patches"
    sample_base "$BASE"
    export IMG="$BASE/xen/xen-syms"
    sample_payload "$BASE" "$P/fix01.livepatch" fix01 "" "$pp/01-fix-domctl-bounds.patch"
    sample_payload "$BASE" "$P/new03.livepatch" new03 "" "$pp/03-new-helper.patch"
    sample_payload "$BASE" "$P/sched07.livepatch" sched07 "" "$pp/07-line-shift.patch"
    sample_payload "$BASE" "$P/hooks08.livepatch" hooks08 "" "$pp/08-hooks.patch"
    sample_payload "$BASE" "$P/stack09.livepatch" stack09 "$(build_id "$P/fix01.livepatch")" \
        "$pp/01-fix-domctl-bounds.patch" "$pp/09-stack-followup.patch"
}

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
    cp "$P"/*.livepatch .
}


@test "a payload built from the demo fix passes every check" {
    run livepatch-tool check --image "$IMG" fix01.livepatch
    assert_success
    assert_output --partial "fix01.livepatch: ok (1 function"
}

@test "info shows functions, ids, hooks, metadata and new symbols" {
    run livepatch-tool info new03.livepatch
    assert_success
    assert_output --partial "name:        new03"
    assert_line --regexp '^  do_domctl  old_size=[0-9]+ new_size=[0-9]+$'
    assert_line "xen_depends: $(build_id "$IMG")"
    assert_line --regexp '^  reject_domctl\.lp_[0-9a-f]{8}$'
    assert_line "  domctl_rejected"
    run livepatch-tool info --json hooks08.livepatch
    assert_success
    assert_output --partial '"hooks": ["load", "unload"]'
    assert_output --partial '"metadata": ["name=hooks08"]'
}

@test "apply writes the jump, the patched image runs the new code, revert restores every byte" {
    run "$IMG"
    assert_line "domctl(8) unknown = 801"
    run livepatch-tool apply --image "$IMG" -o patched fix01.livepatch
    assert_success
    run ./patched
    assert_success
    assert_line "domctl(8) unknown = -22"
    addr=$(nm "$IMG" | awk '$3 == "do_domctl" {print $1}')
    run objdump -d --start-address=0x$addr --stop-address=$((0x$addr + 5)) patched
    assert_output --regexp 'jmp +[0-9a-f]+'
    run livepatch-tool list --image patched
    assert_output --regexp '^1 fix01 build-id=[0-9a-f]{40} functions=1$'
    livepatch-tool revert --image patched -o reverted
    cmp "$IMG" reverted
}

@test "the input image is never modified and a refused apply writes nothing" {
    sum=$(sha256sum < "$IMG")
    livepatch-tool apply --image "$IMG" -o out1 fix01.livepatch
    payload-mutate fix01.livepatch machine 3
    run livepatch-tool apply --image "$IMG" -o out2 fix01.livepatch
    assert_failure
    [ ! -e out2 ]
    [ "$(sha256sum < "$IMG")" = "$sum" ]
}

@test "new code with new symbols is placed, relocated and runs" {
    livepatch-tool apply --image "$IMG" -o patched new03.livepatch
    run ./patched
    assert_success
    assert_line "domctl: rejecting out-of-range command 8"
    assert_line "domctl(8) unknown = -22"
}

@test "payloads stack in build-id order, and revert takes the top one off" {
    livepatch-tool apply --image "$IMG" -o one fix01.livepatch
    livepatch-tool apply --image one -o two stack09.livepatch
    run livepatch-tool list --image two
    assert_line --regexp '^1 fix01 '
    assert_line --regexp '^2 stack09 '
    run ./two
    assert_line "domctl(8) unknown = -22"
    livepatch-tool revert --image two -o back
    cmp one back
}

@test "a payload that does not depend on the top of the stack is refused" {
    run livepatch-tool apply --image "$IMG" -o out stack09.livepatch
    refused EINVAL "depends on a build id that is not the image's"
    livepatch-tool apply --image "$IMG" -o one fix01.livepatch
    run livepatch-tool apply --image one -o out new03.livepatch
    refused EINVAL "not the previous payload's (fix01, the top of the stack)"
    run livepatch-tool check --image "$IMG" stack09.livepatch
    refused EINVAL "depends on a build id"
    run livepatch-tool check --image "$IMG" fix01.livepatch stack09.livepatch
    assert_success
}

@test "replace swaps the whole stack for one payload" {
    livepatch-tool apply --image "$IMG" -o one fix01.livepatch
    livepatch-tool apply --image one -o two stack09.livepatch
    livepatch-tool replace --image two -o replaced new03.livepatch
    run livepatch-tool list --image replaced
    assert_line --regexp '^1 new03 '
    refute_line --regexp 'fix01|stack09'
    run ./replaced
    assert_line "domctl: rejecting out-of-range command 8"
}

@test "payloads with hooks are refused offline unless --skip-hooks, which says so" {
    run livepatch-tool apply --image "$IMG" -o out hooks08.livepatch
    refused EOPNOTSUPP "hooks, which cannot run in an offline apply"
    [ ! -e out ]
    run livepatch-tool apply --skip-hooks --image "$IMG" -o out hooks08.livepatch
    assert_success
}

@test "NOP mode overwrites the function start with multi-byte NOPs, and reverts" {
    # new_addr's relocation becomes R_X86_64_NONE: no new code, 5 bytes of NOPs.
    payload-mutate fix01.livepatch reltype .livepatch.funcs 1 0
    payload-mutate fix01.livepatch func 0 new_size 5
    # The replacement code is now just a new (unused) symbol: give it a name of its own.
    payload-mutate fix01.livepatch rename-symbol do_domctl unused_fn
    livepatch-tool apply --image "$IMG" -o nopped fix01.livepatch
    addr=$(nm "$IMG" | awk '$3 == "do_domctl" {print $1}')
    run objdump -d --start-address=0x$addr --stop-address=$((0x$addr + 5)) nopped
    assert_output --regexp 'nopl +0x0\(%rax,%rax,1\)'
    livepatch-tool revert --image nopped -o back
    cmp "$IMG" back
}

@test "a payload of LIVEPATCH_NOP requests passes check, apply writes the NOPs, revert undoes them" {
    # From source: create-diff-object turns LIVEPATCH_NOP(trace_hit, 5) and
    # LIVEPATCH_NOP(log_event, 7) into NOP-mode entries (test/data/diff/nop).
    diff_case nop
    create-diff-object orig.o patched.o image out.o
    link_payload nop.livepatch image "" nop out.o
    run livepatch-tool check --image image nop.livepatch
    assert_success
    assert_output --partial "nop.livepatch: ok (2 functions"
    run livepatch-tool info nop.livepatch
    assert_line --regexp '^  trace_hit  old_size=[0-9]+ new_size=5 \(NOP mode\)$'
    assert_line --regexp '^  common/nop\.c#log_event  old_size=[0-9]+ new_size=7 \(NOP mode\)$'
    livepatch-tool apply --image image -o nopped nop.livepatch
    hit=$(nm image | awk '$3 == "trace_hit" {print $1}')
    log=$(nm image | awk '$3 == "log_event" {print $1}')
    run objdump -d --start-address=0x$hit --stop-address=$((0x$hit + 5)) nopped
    assert_output --regexp '0f 1f 44 00 00[[:space:]]+nopl +0x0\(%rax,%rax,1\)'
    run objdump -d --start-address=0x$log --stop-address=$((0x$log + 7)) nopped
    assert_output --regexp '0f 1f 80 00 00 00 00[[:space:]]+nopl +0x0\(%rax\)'
    # Only those bytes changed: the rest of each function is the image's.
    size=$(readelf -sW image | awk '$8 == "trace_hit" {print $3}')
    for f in image nopped; do
        objdump -s --start-address=$((0x$hit + 5)) --stop-address=$((0x$hit + size)) $f |
            sed -n '/^Contents/,$p' >"$f.rest"
    done
    [ -s image.rest ]
    cmp image.rest nopped.rest
    run ./nopped
    assert_success
    livepatch-tool revert --image nopped -o back
    cmp image back
}

@test "an expectation that matches the image applies, one that does not is refused" {
    addr=$(nm "$IMG" | awk '$3 == "do_domctl" {print $1}')
    first=$(objdump -d --start-address=0x$addr --stop-address=$((0x$addr + 1)) "$IMG" |
        awk -F'\t' '/^ +[0-9a-f]+:/ {print $2}' | awk '{print $1}')
    payload-mutate fix01.livepatch func 0 expect_enable 1
    payload-mutate fix01.livepatch func 0 expect_len 1
    payload-mutate fix01.livepatch func 0 expect_byte:0 0x$first
    livepatch-tool apply --image "$IMG" -o ok fix01.livepatch
    run livepatch-tool info --json fix01.livepatch
    assert_output --partial "\"expect\": \"$first\""
    payload-mutate fix01.livepatch func 0 expect_byte:0 $((0x$first ^ 0xff))
    run livepatch-tool apply --image "$IMG" -o bad fix01.livepatch
    refused EINVAL "are not the expected ones"
}

# --- one refusal per check, in the hypervisor's order -------------------------------------

@test "refused: larger than the payload size limit" {
    head -c 3000000 /dev/zero >> fix01.livepatch
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EINVAL "payload limit"
}

@test "refused: not ELF, or a truncated header" {
    head -c 40 fix01.livepatch > t.livepatch
    run livepatch-tool check --image "$IMG" t.livepatch
    refused EINVAL "truncated header"
}

@test "refused: another machine, or not a relocatable object" {
    cp fix01.livepatch m.livepatch
    payload-mutate m.livepatch machine 183
    run livepatch-tool check --image "$IMG" m.livepatch
    refused EOPNOTSUPP "machine 183 is not x86-64"
    payload-mutate fix01.livepatch type 2
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EOPNOTSUPP "not a relocatable object"
}

@test "refused: section table past the end of the file" {
    payload-mutate fix01.livepatch shoff 99999999
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EINVAL "section table"
}

@test "refused: alignment that is not a power of two" {
    payload-mutate fix01.livepatch align .text.do_domctl 12
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EOPNOTSUPP "alignment 12 is not a power of two"
}

@test "refused: a section both writable and executable" {
    payload-mutate fix01.livepatch flags .text.do_domctl wax
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EOPNOTSUPP "section .text.do_domctl: both writable and executable"
}

@test "refused: a second symbol table" {
    payload-mutate fix01.livepatch shtype .modinfo 2
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EOPNOTSUPP "more than one symbol table"
}

@test "refused: a string table that does not start with NUL" {
    payload-mutate fix01.livepatch byte .strtab 0 65
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EINVAL "string table does not start and end with NUL"
}

@test "refused: built for another image" {
    payload-mutate fix01.livepatch byte .livepatch.xen_depends 16 0
    payload-mutate fix01.livepatch byte .livepatch.xen_depends 17 0
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EINVAL ".livepatch.xen_depends: built for image"
}

@test "refused: a missing dependency note, or a corrupt one" {
    cp fix01.livepatch a.livepatch
    payload-mutate a.livepatch size .livepatch.depends 0
    run livepatch-tool check --image "$IMG" a.livepatch
    refused EINVAL ".livepatch.depends: missing or empty"
    payload-mutate fix01.livepatch byte .livepatch.depends 4 0xff
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EINVAL "malformed note"
}

@test "refused: an undefined symbol neither the image nor a loaded payload has" {
    payload-mutate fix01.livepatch rename-symbol "common/domctl.c#check_permission" "common/domctl.c#no_such_fn"
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused ENOENT "symbol common/domctl.c#no_such_fn: unresolved"
}

@test "refused: a new symbol the image already has" {
    payload-mutate new03.livepatch rename-symbol domctl_rejected do_domctl
    run livepatch-tool check --image "$IMG" new03.livepatch
    refused EEXIST "symbol do_domctl: duplicate new symbol: the image already has it"
}

@test "refused: a new symbol a loaded payload already has" {
    cp new03.livepatch again.livepatch
    payload-mutate again.livepatch byte .note.gnu.build-id 16 0
    run livepatch-tool check --image "$IMG" new03.livepatch again.livepatch
    refused EEXIST "duplicate new symbol: a loaded payload already has it"
}

@test "refused: the same payload build id twice" {
    run livepatch-tool check --image "$IMG" fix01.livepatch fix01.livepatch
    refused EEXIST "build id is the same as loaded payload fix01's"
}

@test "refused: a relocation type the loader does not handle" {
    payload-mutate fix01.livepatch reltype .text.do_domctl 0 10
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EOPNOTSUPP "unsupported type 10"
}

@test "refused: a relocation against symbol 0" {
    payload-mutate fix01.livepatch relsym .text.do_domctl 0 0
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EOPNOTSUPP "refers to symbol 0"
}

@test "refused: a PC-relative relocation that overflows 32 bits" {
    payload-mutate fix01.livepatch reladdend .text.do_domctl 0 0x7ffffffff0
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EOVERFLOW "overflows 32 bits"
}

@test "refused: a function entry of another version" {
    payload-mutate fix01.livepatch func 0 version 1
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EOPNOTSUPP "has version 1"
}

@test "refused: a functions table of the wrong size, or none and no hooks" {
    cp fix01.livepatch a.livepatch
    payload-mutate a.livepatch size .livepatch.funcs 100
    run livepatch-tool check --image "$IMG" a.livepatch
    refused EINVAL "size 100 is not a multiple of 104"
    payload-mutate fix01.livepatch rename-section .livepatch.funcs .livepatch.xxxxx
    payload-mutate fix01.livepatch rename-symbol do_domctl unused_fn
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EINVAL "nothing to do"
}

@test "refused: old_size 0, or too small for the jump" {
    cp fix01.livepatch a.livepatch
    payload-mutate a.livepatch func 0 old_size 0
    run livepatch-tool check --image "$IMG" a.livepatch
    refused EINVAL "old_size is 0"
    payload-mutate fix01.livepatch func 0 old_size 4
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EINVAL "4 bytes cannot take the 5-byte jump"
}

@test "refused: a function the image does not have" {
    payload-mutate fix01.livepatch byte .livepatch.strings 0 0x58
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused ENOENT "not found in the image"
}

@test "refused: new code more than 2 GiB from the old" {
    payload-mutate fix01.livepatch func 0 old_addr 0x7000000000
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EOVERFLOW "more than 2 GiB away"
}

@test "refused: NOP mode longer than 31 bytes or than the function" {
    payload-mutate fix01.livepatch reltype .livepatch.funcs 1 0
    payload-mutate fix01.livepatch func 0 new_size 40
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EOPNOTSUPP "NOP mode of 40 bytes (at most 31)"
}

@test "refused: an invalid expectation" {
    payload-mutate fix01.livepatch func 0 expect_enable 1
    payload-mutate fix01.livepatch func 0 expect_rsv 1
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EINVAL "invalid expectation"
}

@test "refused: a hook section of the wrong size" {
    payload-mutate hooks08.livepatch size .livepatch.hooks.load 12
    run livepatch-tool check --image "$IMG" hooks08.livepatch
    refused EINVAL ".livepatch.hooks.load: size 12 is not a multiple of 8"
}

@test "refused: a special section that is not whole entries" {
    run readelf -SW sched07.livepatch
    assert_output --partial ".bug_frames.1"
    payload-mutate sched07.livepatch size .bug_frames.1 12
    run livepatch-tool check --image "$IMG" sched07.livepatch
    refused EINVAL ".bug_frames.1: size 12 is not a multiple of its 8-byte entries"
}

@test "refused: .modinfo without its final NUL" {
    size=$((16#$(readelf -SW fix01.livepatch | awk '$2 == ".modinfo" {print $6}')))
    payload-mutate fix01.livepatch byte .modinfo $((size - 1)) 65
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EINVAL ".modinfo: not NUL-terminated"
}

@test "usage errors exit 1 and name what is missing" {
    run livepatch-tool apply fix01.livepatch
    assert_equal "$status" 1
    assert_output --partial "missing or unexpected arguments for 'apply'"
    run livepatch-tool check --image nonexistent fix01.livepatch
    assert_equal "$status" 1
    assert_output --partial "nonexistent"
}

@test "refused: NOP mode that would cut a function's ENDBR64" {
    # vcpu_weight is called through a pointer, so it starts with ENDBR64 (CONFIG_XEN_IBT).
    addr=$(nm "$IMG" | awk '$3 == "vcpu_weight" {print $1}')
    run objdump -d --start-address=0x$addr --stop-address=$((0x$addr + 4)) "$IMG"
    assert_output --partial "endbr64"
    payload-mutate fix01.livepatch reltype .livepatch.funcs 1 0
    payload-mutate fix01.livepatch rename-symbol do_domctl unused_fn
    payload-mutate fix01.livepatch func 0 old_addr 0x$addr
    payload-mutate fix01.livepatch func 0 new_size 2
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EINVAL "would cut its ENDBR64"
}

@test "a function starting with ENDBR64 gets its jump 4 bytes in, and the image runs the new code" {
    sample_payload "$BASE" ibt.livepatch ibt "" "$LP_ROOT/test/data/loader/vcpu-weight.patch"
    addr=$(nm "$IMG" | awk '$3 == "vcpu_weight" {print $1}')
    livepatch-tool apply --image "$IMG" -o patched ibt.livepatch
    run objdump -d --start-address=0x$addr --stop-address=$((0x$addr + 9)) patched
    assert_output --regexp "$(printf '%x' $((0x$addr))):.*endbr64"
    assert_output --regexp "$(printf '%x' $((0x$addr + 4))):.*jmp"
    run ./patched
    assert_line --regexp '^sched_op = 5, vcpu_op = 515, '
    # The same function is too small if the image says it has fewer than 9 bytes.
    payload-mutate ibt.livepatch func 0 old_size 8
    run livepatch-tool check --image "$IMG" ibt.livepatch
    refused EINVAL "8 bytes cannot take the 9-byte jump after its ENDBR64"
}
