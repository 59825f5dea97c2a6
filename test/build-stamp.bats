#!/usr/bin/env bats
# lp-build-helper's object commands: sorting recompiled objects and running the
# diffs (collect, diff), and the last step of a payload (stamp): ids, .modinfo,
# hook symbols, the loader's verdict, and nothing written unless it accepts.

load test_helper

setup_file() {
    # Not built: nothing to prepare, and each test's setup fails naming what is missing.
    command -v create-diff-object >/dev/null || return 0
    B="$BATS_FILE_TMPDIR/base"
    sample_base "$B"
    # Linked, unstamped payload objects for patches 01 (one function), 03 (a new helper)
    # and 08 (hooks).
    for p in 01-fix-domctl-bounds 03-new-helper 08-hooks; do
        rm -rf "$BATS_FILE_TMPDIR/tree"
        cp -a "$B" "$BATS_FILE_TMPDIR/tree"
        (cd "$BATS_FILE_TMPDIR/tree" && patch -s -p1 <"$LP_ROOT/samples/patches/$p.patch")
        make -s -C "$BATS_FILE_TMPDIR/tree/xen" XEN_BUILD_DATE=fixed XEN_BUILD_TIME=00:00:00 >/dev/null
        create-diff-object "$B/xen/common/domctl.o" "$BATS_FILE_TMPDIR/tree/xen/common/domctl.o" \
            "$B/xen/xen-syms" "$BATS_FILE_TMPDIR/$p.o" >/dev/null 2>&1
        ld -r --build-id=sha1 -o "$BATS_FILE_TMPDIR/$p.linked.o" "$BATS_FILE_TMPDIR/$p.o"
    done
    cp "$BATS_FILE_TMPDIR/tree/xen/common/domctl.o" "$BATS_FILE_TMPDIR/patched-domctl.o"
}

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
    need_built create-diff-object lp-build-helper lp-buildid livepatch-tool
    B="$BATS_FILE_TMPDIR/base"
    IMG="$B/xen/xen-syms"
    ID=$(lp-buildid "$IMG")
    mkdir -p out work
}

# stamp OBJ NAME [options]: stamp with the image's ids unless options say otherwise.
stamp() {
    local obj=$1 name=$2
    shift 2
    lp-build-helper stamp --in "$BATS_FILE_TMPDIR/$obj.linked.o" --out "out/$name.livepatch" \
        --work work --name "$name" --image "$IMG" --modinfo "name=$name" "$@"
}

@test "stamp: ids, .modinfo and read-only funcs; the loader accepts it; build-id and facts" {
    run stamp 01-fix-domctl-bounds p1 --depends "$ID" --xen-depends "$ID" --modinfo k=v \
        --facts facts.json
    assert_success
    assert_output "build-id $(lp-buildid out/p1.livepatch)"
    run livepatch-tool check --image "$IMG" out/p1.livepatch
    assert_success
    run readelf -p .modinfo out/p1.livepatch
    assert_output --partial "name=p1"
    assert_output --partial "k=v"
    [ "$(note_id out/p1.livepatch .livepatch.xen_depends)" = "$ID" ]
    readelf -SW out/p1.livepatch | grep -E '\.livepatch\.funcs +PROGBITS' | grep -qv 'WA'
    grep -q '"functions_patched": 1, "functions": \["do_domctl"\]' facts.json
    grep -q "\"size\": $(stat -c %s out/p1.livepatch)," facts.json
}

@test "stamp: the facts name patched functions and the new symbols apart" {
    run stamp 03-new-helper helper --depends "$ID" --xen-depends "$ID" --facts facts.json
    assert_success
    run cat facts.json
    assert_output --partial '"functions_patched": 1, "functions": ["do_domctl"], "new_symbols": ['
    assert_output --regexp '"new_symbols": \[[^]]*"reject_domctl\.lp_[0-9a-f]{8}"'
    assert_output --regexp '"new_symbols": \[[^]]*"domctl_rejected"'
    refute_output --regexp '"new_symbols": \[[^]]*"do_domctl"'
}

@test "stamp: the hook macros' pointer symbols go, with the debug sections that name them" {
    readelf -sW "$BATS_FILE_TMPDIR/08-hooks.linked.o" | grep -q 'livepatch_load_data_'
    run stamp 08-hooks hooks --depends "$ID" --xen-depends "$ID"
    assert_success
    run readelf -sW out/hooks.livepatch
    refute_output --partial "livepatch_load_data_"
    refute_output --partial "livepatch_unload_data_"
    run readelf -SW out/hooks.livepatch
    assert_output --partial ".livepatch.hooks.load"
    refute_output --partial ".debug_info"
    livepatch-tool check --image "$IMG" out/hooks.livepatch
}

@test "stamp: a payload the loader refuses exits 3 with its reason, and nothing is written" {
    run stamp 01-fix-domctl-bounds bad --depends "$ID" --xen-depends 00112233445566778899aabbccddeeff00112233
    assert_failure 3
    assert_output --partial ".livepatch.xen_depends: built for image 00112233445566778899aabbccddeeff00112233"
    assert_output --partial "(EINVAL)"
    [ -z "$(ls -A out)" ]
}

@test "stamp: --chain checks it stacked on its predecessor, whose id it must depend on" {
    stamp 01-fix-domctl-bounds first --depends "$ID" --xen-depends "$ID" >/dev/null
    first=$(lp-buildid out/first.livepatch)
    run stamp 08-hooks second --depends "$first" --xen-depends "$ID" --chain out/first.livepatch
    assert_success
    run livepatch-tool check --image "$IMG" out/first.livepatch out/second.livepatch
    assert_success
    run stamp 08-hooks third --depends "$ID" --xen-depends "$ID" --chain out/first.livepatch
    assert_failure 3
    assert_output --partial "depends on a build id that is not the previous payload's"
    [ ! -e out/third.livepatch ]
}

@test "stamp: --check-depends checks a copy stacked on the image but writes the real id" {
    other=aabbccddeeff00112233445566778899aabbccdd
    run stamp 01-fix-domctl-bounds p --depends "$other" --xen-depends "$ID"
    assert_failure 3
    run stamp 01-fix-domctl-bounds p --depends "$other" --xen-depends "$ID" --check-depends "$ID"
    assert_success
    [ "$(note_id out/p.livepatch .livepatch.depends)" = "$other" ]
}

@test "stamp: over the loader's 2 MiB, debug sections go with a warning" {
    head -c 3000000 /dev/zero >junk
    objcopy --add-section .debug_junk=junk "$BATS_FILE_TMPDIR/01-fix-domctl-bounds.linked.o" big.o
    run lp-build-helper stamp --in big.o --out out/big.livepatch --work work --name big \
        --image "$IMG" --depends "$ID" --xen-depends "$ID"
    assert_success
    assert_output --regexp "warning: big.livepatch: [0-9]+ bytes is over the loader's 2 MiB limit: debug sections removed"
    [ "$(stat -c %s out/big.livepatch)" -lt 2097152 ]
    run readelf -SW out/big.livepatch
    refute_output --partial ".debug"
}

@test "stamp: usage errors exit 2; an unreadable input exits 1 naming it" {
    run lp-build-helper stamp --in x.o
    assert_failure 2
    run lp-build-helper stamp --in missing.o --out out/m.livepatch --work work --name m \
        --image "$IMG" --depends "$ID" --xen-depends "$ID"
    assert_failure 1
    assert_output --partial "missing.o"
    [ ! -e out/m.livepatch ]
}

# A tree pair for collect/diff: domctl.o changed, vcs.o identical, new.o only patched.
make_objects() {
    mkdir -p orig/xen/common new/xen/common
    cp "$B/xen/common/domctl.o" orig/xen/common/domctl.o
    cp "$BATS_FILE_TMPDIR/patched-domctl.o" new/xen/common/domctl.o
    cp "$B/xen/common/vcpu.o" orig/xen/common/vcpu.o
    cp "$B/xen/common/vcpu.o" new/xen/common/vcpu.o
    cp "$B/xen/common/sched.o" new/xen/common/new.o
    printf '%s\n' xen/common/vcpu.o xen/common/domctl.o xen/common/new.o xen/common/vcpu.o \
        xen/common/gone.o >capture
}

@test "collect: changed, new and identical objects; pairs copied for the diff, new ones to the output" {
    make_objects
    run lp-build-helper collect --tree new --capture capture --work w --prev orig
    assert_success
    assert_output "changed xen/common/domctl.o
new xen/common/new.o
same xen/common/vcpu.o"
    cmp w/original/xen/common/domctl.o orig/xen/common/domctl.o
    cmp w/patched/xen/common/domctl.o new/xen/common/domctl.o
    cmp w/patched/xen/common/new.o new/xen/common/new.o
    cmp w/output/xen/common/new.o new/xen/common/new.o
    [ "$(cat w/changed_objs)" = xen/common/domctl.o ]
    [ "$(cat w/new_objs)" = xen/common/new.o ]
}

@test "diff: collects, runs create-diff-object per changed pair, reports each status" {
    make_objects
    run lp-build-helper diff --work w --image "$IMG" --cdo "$(command -v create-diff-object)" \
        --log all.log --tree new --capture capture --prev orig
    assert_success
    assert_line "changed xen/common/domctl.o"
    assert_line "0 xen/common/domctl.o"
    [ -s w/output/xen/common/domctl.o ]
    grep -q '^== xen/common/domctl.o (exit 0)' all.log
}

@test "diff: failing or crashing diffs are reported per object" {
    printf '#!/bin/sh\necho "refusing $2" >&2\ncase $2 in *a.o) exit 2 ;; *b.o) kill -SEGV $$ ;; esac\n' >cdo
    chmod +x cdo
    mkdir -p w/original w/patched
    touch w/original/a.o w/original/b.o w/original/c.o w/patched/a.o w/patched/b.o w/patched/c.o
    run lp-build-helper diff --work w --image "$IMG" --cdo "$T/cdo" --log all.log -j 2 a.o b.o c.o
    assert_success
    assert_line "2 a.o"
    assert_line "139 b.o"
    assert_line "0 c.o"
    grep -q 'refusing w/patched/a.o' w/logs/a.o.log
    grep -q '^== b.o (exit 139)' all.log
}

@test "diff: a differ that cannot be started is reported per object, saying why" {
    # (an object whose name fits, but whose log name, four bytes longer, does not)
    long=$(printf 'x%.0s' $(seq 250)).o
    mkdir -p w/original w/patched
    touch "w/original/$long" w/original/b.o "w/patched/$long" w/patched/b.o
    run lp-build-helper diff --work w --image "$IMG" --cdo "$T/no-such-cdo" --log all.log "$long" b.o
    assert_success
    assert_line "126 $long"
    assert_output --partial "cannot run $T/no-such-cdo: cannot write its log w/logs/$long.log: File name too long"
    assert_line "127 b.o"
    grep -q "cannot run $T/no-such-cdo: No such file or directory" w/logs/b.o.log
}

# A stand-in differ that notes how many diffs run at its start, then waits a bit.
concurrency_cdo() {
    printf '#!/bin/bash\nmkdir -p %s/run\n: >%s/run/$$\nls %s/run | wc -l >>%s/seen\nsleep 0.3\nrm -f %s/run/$$\n' \
        "$T" "$T" "$T" "$T" "$T" >cdo
    chmod +x cdo
    mkdir -p w/original w/patched
    for o in a b c d; do touch "w/original/$o.o" "w/patched/$o.o"; done
}

@test "diff: -j N runs N diffs at a time, never more" {
    concurrency_cdo
    run lp-build-helper diff --work w --image "$IMG" --cdo "$T/cdo" --log all.log -j 2 a.o b.o c.o d.o
    assert_success
    [ "$(sort -n seen | tail -n1)" = 2 ]
    rm -f seen
    run lp-build-helper diff --work w --image "$IMG" --cdo "$T/cdo" --log all.log -j 1 a.o b.o c.o d.o
    assert_success
    [ "$(sort -n seen | uniq)" = 1 ]
}
