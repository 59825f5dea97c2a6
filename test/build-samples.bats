#!/usr/bin/env bats
# livepatch-build over the sample hypervisor (samples/hv, a Xen-shaped tree) and its
# patches (samples/patches/README.md lists what each one must give): every payload
# is checked by the loader against the image it was built for.

load test_helper

S="$LP_ROOT/samples"

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
    need_built create-diff-object livepatch-tool
    export LIVEPATCH_BUILD_CACHE="$BATS_FILE_TMPDIR/cache"
    # Never build inside samples/: a private copy, built once per file as the image.
    if [ ! -f "$BATS_FILE_TMPDIR/hv/xen/xen-syms" ]; then
        rm -rf "$BATS_FILE_TMPDIR/hv"
        cp -a "$S/hv" "$BATS_FILE_TMPDIR/hv"
        cp "$S/hv/config" "$BATS_FILE_TMPDIR/hv/xen/.config"
        make -s -C "$BATS_FILE_TMPDIR/hv/xen" XEN_BUILD_DATE=livepatch-build \
            XEN_BUILD_TIME=00:00:00 >/dev/null
    fi
    HV="$BATS_FILE_TMPDIR/hv"
    IMAGE="$HV/xen/xen-syms"
}

lpb() { livepatch-build -s "$HV" -c "$S/hv/config" --xen-syms "$IMAGE" "$@"; }

# build_ok PATCH FUNCTION...: the payload builds, the loader accepts it, and it
# patches exactly the functions named.
build_ok() {
    local p=$1
    shift
    run lpb -p "$S/patches/$p.patch" -o out --json out.json
    assert_success
    [ -f "out/$p.livepatch" ]
    run livepatch-tool check "out/$p.livepatch" --image "$IMAGE"
    assert_success
    local want
    want=$(printf '"%s", ' "$@")
    grep -q "\"functions\": \[${want%, }\]" out.json || { cat out.json; false; }
}

@test "sample 01 (the demo fix) gives a payload patching do_domctl that the loader accepts" {
    build_ok 01-fix-domctl-bounds do_domctl
}

@test "sample 02 (a format string) patches the SIGILL handler" {
    build_ok 02-printk-format on_sigill
}

@test "sample 03 (a new helper) patches do_domctl and carries the new symbols" {
    build_ok 03-new-helper do_domctl
    grep -q 'domctl_rejected' out.json
}

@test "sample 04 (a data change) is refused naming the object and the symbol" {
    run lpb -p "$S/patches/04-data-change.patch" -o out
    assert_failure 1
    assert_output --partial "common/domctl.o"
    assert_output --partial "domctl_names"
    [ ! -e out/04-data-change.livepatch ]
}

@test "sample 05 (init code only) fails saying init code cannot be live patched" {
    run lpb -p "$S/patches/05-init-only.patch" -o out
    assert_failure 1
    assert_output --partial "init code"
    [ ! -e out/05-init-only.livepatch ]
}

@test "sample 06 (a comment) fails with a clear no-functional-change message" {
    run lpb -p "$S/patches/06-comment-only.patch" -o out
    assert_failure 1
    assert_output --partial "no functional change in 06-comment-only.patch"
}

@test "sample 07 (a __LINE__ shift) patches only the function it changes" {
    build_ok 07-line-shift sched_adjust
}

@test "sample 07 with --no-fix-lines also patches the function whose __LINE__ moved" {
    run lpb -p "$S/patches/07-line-shift.patch" -o out --json out.json --no-fix-lines
    assert_success
    grep -q '"sched_op"' out.json
}

@test "sample 08 (hooks) keeps its hook sections and drops the hook helper symbols" {
    run lpb -p "$S/patches/08-hooks.patch" -o out
    assert_success
    run livepatch-tool check out/08-hooks.livepatch --image "$IMAGE"
    assert_success
    run readelf -SW out/08-hooks.livepatch
    assert_output --partial ".livepatch.hooks.load"
    assert_output --partial ".livepatch.hooks.unload"
    run readelf -sW out/08-hooks.livepatch
    refute_output --regexp 'livepatch_[a-z]+_data_'
}

@test "samples 01 then 09 build as a stack whose ids chain from the image" {
    run lpb -o out --stack "$S/patches/01-fix-domctl-bounds.patch" "$S/patches/09-stack-followup.patch"
    assert_success
    # The loader accepts the second only on top of the first.
    run livepatch-tool check --image "$IMAGE" out/01-fix-domctl-bounds.livepatch out/09-stack-followup.livepatch
    assert_success
    dep() { objcopy -O binary --only-section=.livepatch.depends "$1" d.bin; od -An -v -tx1 -j16 d.bin | tr -d ' \n'; }
    [ "$(dep out/01-fix-domctl-bounds.livepatch)" = "$(lp-buildid "$IMAGE")" ]
    [ "$(dep out/09-stack-followup.livepatch)" = "$(lp-buildid out/01-fix-domctl-bounds.livepatch)" ]
}

@test "sample 10 fails naming the file and the hunk that do not apply" {
    run lpb -p "$S/patches/10-does-not-apply.patch" -o out
    assert_failure 1
    assert_output --regexp "xen/[a-z/_]+\.c: Hunk #[0-9]+ FAILED"
}

@test "sample 11 (a static inline in a header) patches every caller that inlined it" {
    build_ok 11-inline-header sched_adjust sched_op vcpu_op
}

@test "the sample image's id reads the same from xen-syms and xen.gz" {
    [ -f "$HV/xen/xen.gz" ] || fail "the sample's make gave no xen.gz (samples/hv/xen/Makefile makes it)"
    [ "$(lp-buildid "$HV/xen/xen.gz")" = "$(lp-buildid "$IMAGE")" ]
    [ "$(lp-buildid "$IMAGE")" = "$(readelf -n "$IMAGE" | awk '/Build ID/{print $3}')" ]
}

@test "the sample tree is byte-identical after a build and after a refused patch" {
    sum() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum); }
    before=$(sum "$HV")
    lpb -p "$S/patches/01-fix-domctl-bounds.patch" -o out1
    run lpb -p "$S/patches/04-data-change.patch" -o out2
    assert_failure
    [ "$(sum "$HV")" = "$before" ]
}

@test "two builds of sample 01 give byte-identical payloads" {
    lpb -p "$S/patches/01-fix-domctl-bounds.patch" -o out1
    lpb -p "$S/patches/01-fix-domctl-bounds.patch" -o out2 --no-cache
    cmp out1/01-fix-domctl-bounds.livepatch out2/01-fix-domctl-bounds.livepatch
}

@test "making only the objects a header patch reaches gives the payload a full rebuild gives" {
    run lpb -p "$S/patches/11-inline-header.patch" -o out1
    assert_success
    assert_output --regexp "made only the [0-9]+ object\(s\) that depend on the patched files"
    LIVEPATCH_BUILD_FULL=1 run lpb -p "$S/patches/11-inline-header.patch" -o out2
    assert_success
    refute_output --partial "made only"
    cmp out1/11-inline-header.livepatch out2/11-inline-header.livepatch
}

@test "the sample 01 payload, applied to the image, changes what the hypervisor does" {
    run lpb -p "$S/patches/01-fix-domctl-bounds.patch" -o out
    assert_success
    run "$IMAGE"
    assert_output --partial "domctl(8) unknown = 801"
    run livepatch-tool apply --image "$IMAGE" -o patched out/01-fix-domctl-bounds.livepatch
    assert_success
    run ./patched
    assert_output --partial "domctl(8) unknown = -22"
}

@test "tools installed at another path reuse the cached build, record no path of theirs, and give the same payload" {
    run lpb -p "$S/patches/01-fix-domctl-bounds.patch" -o out1
    assert_success
    # Another install: every program a build gives (lp_tools fails naming any missing),
    # copied elsewhere, on a PATH without this checkout's, so none is found there.
    mkdir -p "$T/elsewhere/bin"
    lp_tools
    for t in "${TOOLS[@]}"; do
        cp "$t" "$T/elsewhere/bin/"
    done
    syspath=$(tr : '\n' <<<"$PATH" | grep -vxF -e "$LP_BUILD/bin" -e "$LP_BUILD/test/helpers" |
        paste -sd: -)
    PATH="$T/elsewhere/bin:$syspath" run "$T/elsewhere/bin/livepatch-build" -s "$HV" -c "$S/hv/config" \
        --xen-syms "$IMAGE" -p "$S/patches/01-fix-domctl-bounds.patch" -o out2
    assert_success
    assert_output --partial "unpatched build reused from cache"
    assert_output --partial "made only the 1 object(s)"
    cmp out1/01-fix-domctl-bounds.livepatch out2/01-fix-domctl-bounds.livepatch
    # The build's dependency records name the wrapper by its bare name only.
    cmds=("$LIVEPATCH_BUILD_CACHE"/*/xen/common/.domctl.o.cmd)
    [ -f "${cmds[0]}" ]
    grep -q '^cmd_common/domctl.o := livepatch-gcc ' "${cmds[0]}"
    ! grep -rqF "$T/elsewhere" "$LIVEPATCH_BUILD_CACHE"
}
