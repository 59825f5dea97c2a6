#!/usr/bin/env bats
# Conventions every command-line tool keeps.

load test_helper

# option_tools: TOOLS (test_helper's lp_tools: every tool a build gives, failing on a
# missing one) less livepatch-gcc, which as a compiler wrapper passes every option through.
option_tools() {
    local t all
    lp_tools
    all=("${TOOLS[@]}")
    TOOLS=()
    for t in "${all[@]}"; do
        if [ "${t##*/}" != livepatch-gcc ]; then TOOLS+=("$t"); fi
    done
}

@test "the build gives every tool, and one livepatch-build (the C driver or the script)" {
    lp_tools
    run printf '%s\n' "${TOOLS[@]##*/}"
    for t in "${LP_TOOLS[@]}"; do
        [ "$(grep -cxF -- "$t" <<<"$output")" -eq 1 ] || fail "$t: not exactly once in: ${TOOLS[*]}"
    done
}

@test "livepatch-gcc passes options through to the real compiler" {
    LIVEPATCH_REAL_CC="gcc" run livepatch-gcc --version
    assert_success
    assert_output --partial "$(gcc --version | head -n1)"
    mkdir sub
    printf 'int main(void) { return LP_X; }\n' >t.c
    LIVEPATCH_REAL_CC="gcc -DLP_X=3" LIVEPATCH_CFLAGS="-ffunction-sections" \
        LIVEPATCH_TREE="$T" LIVEPATCH_CAPTURE="$T/cap" livepatch-gcc -c t.c -o sub/../t.o
    [ "$(cat cap)" = "t.o" ]
    readelf -SW t.o | grep -q '\.text\.main'
    gcc -o t t.o
    run ./t
    assert_equal "$status" 3
    LIVEPATCH_REAL_CC="false" run livepatch-gcc -c t.c -o t2.o
    assert_failure
    [ "$(cat cap)" = "t.o" ]
}

# An object the driver is not told about is never diffed: its change would vanish.
@test "livepatch-gcc fails a compile whose object it cannot record, and keeps the command of one it can" {
    printf 'int f(void) { return 1; }\n' >t.c
    mkdir capdir
    LIVEPATCH_TREE="$T" LIVEPATCH_CAPTURE="$T/capdir" run livepatch-gcc -c t.c -o t.o
    assert_failure 1
    assert_output --partial "livepatch-gcc: cannot record t.o in $T/capdir: Is a directory"
    LIVEPATCH_TREE="$T" LIVEPATCH_CAPTURE="$T/cap" run livepatch-gcc -c t.c -o t.o
    assert_success
    # The kept command (for layout twins): the marker, the tree, the folder, then argv.
    run head -n 3 .t.o.lpcmd
    assert_output $'lpcmd 1\n'"$T"$'\n.'
    tr '\0' '\n' <.t.o.lpcmd | tail -n +4 | grep -qx -- "-ffile-prefix-map=$T=."
}

@test "every tool answers --help with its usage on stdout" {
    option_tools
    for t in "${TOOLS[@]}"; do
        run "$t" --help
        assert_success
        assert_output --partial "sage"
    done
}

@test "every tool answers --version with its name and the project version" {
    version=$(sed -n 's/^VERSION *:= *//p' "$LP_ROOT/Makefile")
    [ -n "$version" ]
    option_tools
    for t in "${TOOLS[@]}"; do
        run "$t" --version
        assert_success
        assert_output --partial "$(basename "$t")"
        assert_output --partial "$version"
    done
}

@test "every tool rejects an unknown option with a non-zero exit" {
    option_tools
    for t in "${TOOLS[@]}"; do
        run "$t" --no-such-option
        assert_failure
    done
}

@test "make install puts tools, headers and docs under DESTDIR/PREFIX" {
    # Install with the flags the binaries under test were built with (a sanitizer build
    # links libasan, whatever its folder is called): the other flags would relink them.
    san=0
    if readelf -d "$LP_BUILD/bin/livepatch-tool" | grep -q 'libasan'; then san=1; fi
    make -C "$LP_ROOT" --no-print-directory install B="$LP_BUILD" SANITIZE=$san \
        DESTDIR="$T/root" PREFIX=/usr >/dev/null
    [ -f "$T/root/usr/include/livepatch/payload.h" ]
    [ -f "$T/root/usr/include/livepatch/elf.h" ]
    [ -f "$T/root/usr/lib/liblivepatch.a" ]
    [ -f "$T/root/usr/share/doc/livepatch-tools/README.md" ]
    lp_tools
    for t in "${TOOLS[@]}"; do
        [ -x "$T/root/usr/bin/$(basename "$t")" ] || fail "make install left out $(basename "$t")"
    done
}

@test "the public headers compile on their own and the ABI asserts hold" {
    expect_files 10 headers "$LP_ROOT"/include/livepatch/*.h
    for h in "${headers[@]}"; do
        printf '#include "livepatch/%s"\nint main(void) { return 0; }\n' "$(basename "$h")" > h.c
        gcc -std=gnu11 -Wall -Wextra -Werror -I"$LP_ROOT/include" -c h.c -o h.o
    done
}
