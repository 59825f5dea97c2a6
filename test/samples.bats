#!/usr/bin/env bats
# The sample hypervisor builds, runs and looks to the toolchain like Xen does.

load test_helper

setup_file() {
    B="$BATS_FILE_TMPDIR/base"
    cp -a "$BATS_TEST_DIRNAME/../samples/hv" "$B"
    cp "$B/config" "$B/xen/.config"
    make -s -C "$B/xen" -j2 XEN_BUILD_DATE=fixed XEN_BUILD_TIME=00:00:00 >/dev/null
}

setup() {
    B="$BATS_FILE_TMPDIR/base"
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
}

tu_objects() { # translation-unit objects of a built tree, with checksums
    (cd "$1/xen" && find . -name '*.o' ! -name built_in.o ! -name prelink.o | sort |
        xargs sha256sum)
}

@test "the sample runs and prints its hypercall results" {
    run "$B/xen/xen-syms"
    assert_success
    assert_line "domctl(4) getdomaininfo = 401"
    assert_line "domctl(8) unknown = 801"
    assert_line "guest read: rc=0 value=13"
    assert_line "bad guest read: rc=-14"
}

@test "WARN_ON is reported through the bug frame with its file and line, and execution goes on" {
    line=$(grep -n 'WARN_ON(op > 3)' "$B/xen/common/sched.c" | cut -d: -f1)
    run "$B/xen/xen-syms"
    assert_line "WARN at common/sched.c:$line"
    assert_line "traps: permitted(2)=1"
}

@test "without a .config the build stops with a clear message" {
    cp -a "$LP_ROOT/samples/hv" tree
    run make -C tree/xen
    assert_failure
    assert_output --partial "xen/.config is missing"
}

@test "xen-syms and xen.gz carry the same 20-byte build id" {
    id=$(readelf -n "$B/xen/xen-syms" | awk '/Build ID/ {print $3}')
    [ ${#id} -eq 40 ]
    gunzip -c "$B/xen/xen.gz" > xen
    run readelf -n xen
    assert_output --partial "Build ID: $id"
}

@test "local symbols get runtime names with the source path, like Xen's" {
    run image-syms "$B/xen/xen-syms" 'common/domctl.c#check_permission' \
        'arch/x86/traps.c#check_permission' do_domctl
    assert_success
}

@test "objects carry Xen's special sections and only loadable relocation types" {
    run readelf -SW "$B/xen/common/sched.o"
    assert_output --partial ".bug_frames.1"
    run readelf -SW "$B/xen/arch/x86/setup.o"
    assert_output --partial ".ex_table"
    assert_output --partial ".fixup"
    run readelf -SW "$B/xen/common/vcpu.o"
    assert_output --partial ".altinstructions"
    assert_output --partial ".altinstr_replacement"
    assert_output --partial ".alt_call_sites"
    # Every unit's object: the sample's 6 sources (at least) each gave one.
    expect_files 6 srcs "$LP_ROOT"/samples/hv/xen/common/*.c "$LP_ROOT"/samples/hv/xen/arch/x86/*.c
    for c in "${srcs[@]}"; do
        o=$B/xen/${c#"$LP_ROOT"/samples/hv/xen/}
        o=${o%.c}.o
        [ -f "$o" ] || fail "no object $o for $c"
        bad=$(readelf -rW "$o" | awk '/^Relocation section/ {dbg = ($3 ~ /debug/)}
            /R_X86_64/ && !dbg && $3 !~ /^R_X86_64_(64|PC32|PLT32|NONE)$/ {print $3}')
        [ -z "$bad" ] || { echo "$o: $bad"; false; }
    done
}

@test "a no-op rebuild recompiles only version.o among translation units" {
    cp -a "$B" tree
    tu_objects tree > before
    sleep 1
    make -s -C tree/xen XEN_BUILD_DATE=other XEN_BUILD_TIME=01:00:00 >/dev/null
    tu_objects tree > after
    run diff before after
    assert_output --partial "common/version.o"
    [ "$(diff before after | grep -c '^>')" -eq 1 ]
}

@test "pinned build date and time and a prefix map give byte-identical objects anywhere" {
    for t in one two/deeper; do
        mkdir -p "$t"
        cp -a "$LP_ROOT/samples/hv" "$t/tree"
        cp "$t/tree/config" "$t/tree/xen/.config"
        make -s -C "$t/tree/xen" -j2 XEN_BUILD_DATE=fixed XEN_BUILD_TIME=00:00:00 \
            EXTRA_CFLAGS="-ffile-prefix-map=$T/$t/tree=." >/dev/null
    done
    diff <(tu_objects one/tree) <(tu_objects two/deeper/tree)
}

@test "every sample patch applies as documented, and 10 does not" {
    expect_files 11 patches "$LP_ROOT"/samples/patches/*.patch
    expect_files 1 ten "$LP_ROOT"/samples/patches/10-*.patch
    for p in "${patches[@]}"; do
        rm -rf tree && cp -a "$LP_ROOT/samples/hv" tree
        case $(basename "$p") in
        09-*) (cd tree && patch -p1 -s < "$LP_ROOT/samples/patches/01-fix-domctl-bounds.patch")
              (cd tree && patch -p1 --dry-run -s < "$p") ;;
        10-*) if (cd tree && patch -p1 --dry-run -s < "$p" >/dev/null 2>&1); then
                  fail "$(basename "$p") applies, and must not"
              fi ;;
        *)    (cd tree && patch -p1 --dry-run -s < "$p") ;;
        esac
        grep -q "$(basename "$p")" "$LP_ROOT/samples/patches/README.md"
    done
}

@test "after the demo fix is applied and rebuilt, the sample shows the new behaviour" {
    cp -a "$B" tree
    (cd tree && patch -p1 -s < "$LP_ROOT/samples/patches/01-fix-domctl-bounds.patch")
    make -s -C tree/xen XEN_BUILD_DATE=fixed XEN_BUILD_TIME=00:00:00 >/dev/null
    run tree/xen/xen-syms
    assert_line "domctl(8) unknown = -22"
}

@test "CC may be a wrapper command with arguments, and CROSS_COMPILE prefixes the tools" {
    cp -a "$LP_ROOT/samples/hv" tree
    cp tree/config tree/xen/.config
    mkdir bin
    printf '#!/bin/sh\necho "$@" >> %s/wrapped.log\nexec "$@"\n' "$T" > bin/wrap
    chmod +x bin/wrap
    for t in gcc ld objcopy; do ln -s "$(command -v $t)" "bin/x86_64-test-$t"; done
    PATH="$T/bin:$PATH" make -s -C tree/xen CC="wrap x86_64-test-gcc" CROSS_COMPILE=x86_64-test- \
        XEN_BUILD_DATE=fixed XEN_BUILD_TIME=00:00:00 >/dev/null
    grep -q 'x86_64-test-gcc .* -c common/domctl.c' wrapped.log
    [ -x tree/xen/xen-syms ]
}
