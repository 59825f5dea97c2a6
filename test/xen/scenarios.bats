#!/usr/bin/env bats
# Payloads that our livepatch-build made from the patches in test/xen/patches, uploaded,
# applied, observed, reverted and unloaded by a real Xen 4.17 under QEMU (one boot; see
# test/xen/run.sh and dom0-scenarios.sh).

load xen_helper

setup() { needs_boot; }

@test "every test payload was built by livepatch-build" {
    for b in 01-extra-version 02-hooks 05-replace 06-expect-holds 08-new-function \
             09-static-a 10-static-b 11-nop stack; do
        build_ok "$b"
    done
}

@test "a changed xen_extra_version is seen from dom0 once applied, and is gone after revert" {
    expect_value before extra .5
    ok upload-01
    ok apply-01
    expect_value applied-01 extra -livepatched
    console_has "livepatch: p01 finished APPLY with rc=0"
    ok revert-01
    expect_value reverted-01 extra .5
    ok unload-01
    out list-empty | grep -q "Nothing to list"
}

@test "the hypervisor lists the payload's .modinfo metadata" {
    out list-01 | grep -E '^p01 +\| CHECKED' 
    out list-01 | grep -qF "name=01-extra-version"
    out list-01 | grep -qF "patch=01-extra-version.patch sha256:"
}

# Xen 4.17 runs the load hooks inside the quiesced apply (after the pre-apply hook, before
# the post-apply hook) and the unload hooks inside the revert.
@test "pre-apply, load and post-apply hooks run in order at apply; pre-revert, unload, post-revert at revert" {
    ok upload-hooks
    ok apply-hooks
    [ "$(out apply-hooks | grep -oE 'livepatch-test: [a-z-]+ hook' | tr '\n' ,)" = \
      "livepatch-test: pre-apply hook,livepatch-test: load hook,livepatch-test: post-apply hook," ]
    expect_value applied-hooks extra -hooks
    ok revert-hooks
    [ "$(out revert-hooks | grep -oE 'livepatch-test: [a-z-]+ hook' | tr '\n' ,)" = \
      "livepatch-test: pre-revert hook,livepatch-test: unload hook,livepatch-test: post-revert hook," ]
    expect_value reverted-hooks extra .5
    ok unload-hooks
}

@test "the second payload of a stack refuses to apply alone" {
    ok upload-s1
    ok upload-s2
    refused apply-s2-alone-refused
    out apply-s2-alone-refused | grep -qiE 'depend|build-id|Error'
    expect_value after-s2-alone extra .5
}

@test "a stack applies in order and reverts only from the top" {
    ok apply-s1
    expect_value applied-s1 extra -stack1
    ok apply-s2
    expect_value applied-s2 extra -stack2
    refused revert-s1-under-s2-refused
    expect_value after-revert-s1-refused extra -stack2
    ok revert-s2
    expect_value reverted-s2 extra -stack1
    ok revert-s1
    expect_value reverted-s1 extra .5
}

@test "REPLACE reverts the whole stack and applies the replacement" {
    ok reapply-s1
    ok reapply-s2
    expect_value before-replace extra -stack2
    ok upload-r
    ok replace-r
    expect_value replaced extra -replaced
    out list-replaced | grep -E '^r +\| APPLIED'
    out list-replaced | grep -E '^s1 +\| CHECKED'
    out list-replaced | grep -E '^s2 +\| CHECKED'
    ok revert-r
    expect_value reverted-r extra .5
}

@test "an expectation that holds lets the payload apply" {
    ok upload-expect-ok
    ok apply-expect-ok
    expect_value applied-expect-ok extra -expect
    ok revert-expect-ok
}

@test "an expectation that does not hold makes the hypervisor refuse to apply" {
    ok upload-expect-bad
    refused apply-expect-bad-refused
    console_has "ebad: expectations of xen_extra_version failed"
    expect_value after-expect-bad extra .5
    ok unload-expect-bad
}

@test "a changed function calls a function the payload adds" {
    ok upload-newfn
    ok apply-newfn
    expect_value applied-newfn extra -newfn
    ok revert-newfn
    expect_value reverted-newfn extra .5
}

@test "two payloads that each add a static of the same name load together" {
    ok upload-static-a
    ok upload-static-b
    out list-static | grep -E '^sa +\| CHECKED'
    out list-static | grep -E '^sb +\| CHECKED'
    ok apply-static-a
    expect_value applied-static-a extra -a
    ok revert-static-a
    ok apply-static-b
    expect_value applied-static-b changeset -b
    ok revert-static-b
    [ "$(value reverted-static-b changeset)" = "$(value before-static-b changeset)" ]
}

@test "livepatch-build refuses a payload whose expectation does not hold against the image, naming the function" {
    [ "$(cat "$RES/builds/07-expect-fails/rc")" = 1 ]
    grep -qF "function xen_extra_version: the first 3 bytes in the image are not the expected ones" \
        "$RES/builds/07-expect-fails/log"
    ! ls "$RES"/builds/07-expect-fails/out/*.livepatch 2>/dev/null
}

@test "every payload was made by rebuilding only the objects the patch touches" {
    local builds n=0
    expect_files 9 builds "$RES"/builds/*/
    for d in "${builds[@]}"; do
        [ "$(cat "$d/rc")" = 0 ] || continue
        n=$((n + 1))
        grep -qE 'made only the [0-9]+ object' "$d/log" ||
            { echo "$(basename "$d") rebuilt the whole tree:" >&2; grep -E 'building|made' "$d/log" >&2; false; }
    done
    # At least the 9 builds "every test payload was built by livepatch-build" requires.
    [ "$n" -ge 9 ] || { echo "only $n of ${#builds[@]} builds succeeded" >&2; false; }
}

@test "NOP mode: the hypervisor overwrites the start of xen_minor_version with a NOP, and revert restores it" {
    expect_value before-nop minor 17
    ok upload-nop
    ok apply-nop
    console_has "livepatch: nop finished APPLY with rc=0"
    # "mov $17,%eax" is gone: the function returns what its caller left in %eax.
    v=$(value applied-nop minor)
    [ -n "$v" ] && [ "$v" != 17 ] || { echo "minor is '$v' with the NOP applied" >&2; false; }
    ok revert-nop
    expect_value reverted-nop minor 17
    ok unload-nop
}

@test "the NOP payload carries no code: one NOP-mode entry for xen_minor_version" {
    f=$RES/payloads/11-nop.livepatch
    livepatch-tool info "$f" | grep -E '^  xen_minor_version +old_size=10 new_size=5'
    livepatch-tool info --json "$f" | grep -q '"nop": true'
}

@test "a payload that adds a per-CPU variable is refused by livepatch-build, naming the variable" {
    [ "$(cat "$RES/builds/12-new-percpu/rc")" = 1 ]
    grep -F "lp_test_extra_reads" "$RES/builds/12-new-percpu/log" | grep -qi "per-CPU"
    ! ls "$RES"/builds/12-new-percpu/out/*.livepatch 2>/dev/null
}

# Debian's hypervisor is built without -g: the layouts come from the layout twins.
@test "a payload that adds a member to struct grant_table is refused, naming the type, the member and the functions" {
    log=$RES/builds/14-struct-member/log
    [ "$(cat "$RES/builds/14-struct-member/rc")" = 1 ] || { tail -5 "$log" >&2; false; }
    # (both units' twins: compiled now, made with the object, or kept in the cache entry)
    grep -Eq "layout twins: [0-9]+ (unit\(s\) without DWARF compiled again with -g|made by livepatch-gcc with the object|kept in the cache with the original build)" "$log"
    grep -F "struct grant_table (common/grant_table.c:53) changed layout" "$log" |
        grep -F "member nr_size_queries appeared at offset 24" | grep -qF "gnttab_grow_table"
    if grep -q "cannot check data layouts" "$log"; then echo "the build could not check layouts" >&2; false; fi
    ! ls "$RES"/builds/14-struct-member/out/*.livepatch 2>/dev/null
}

@test "a payload signed by livepatch-build --sign verifies with the key and is applied by the hypervisor" {
    build_ok 13-signed
    f=$RES/payloads/13-signed.livepatch
    run livepatch-tool check --image "$(cat "$RES/image")" "$f" --verify-key "$RES/sign-pub.pem" --require-signature
    [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
    ok upload-signed
    ok apply-signed
    expect_value applied-signed extra -livepatched
    ok revert-signed
    expect_value reverted-signed extra .5
    ok unload-signed
}
