#!/usr/bin/env bats
# Layout twins (livepatch-build/driver/twins.c) for a tree built without -g: where a twin
# comes from (made by livepatch-gcc with the object, kept in the cache entry with the
# original build, or compiled after the build) and that the layout check refuses the same
# whichever it was.  Over the miniature tree of test/data/build, built without -g.

load test_helper

D="$LP_ROOT/test/data/build"

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
    cp -a "$D/tree" "$T/src"
    sed -i 's/ -O2 -g / -O2 /' "$T/src/xen/Makefile"
    # A struct member added in front of the one the patched function uses.
    printf 'struct session { int id; int count; };\nint session_bump(struct session *s)\n{\n    return ++s->count;\n}\n' \
        >>"$T/src/xen/common/sched.c"
    mkdir -p a/xen/common b/xen/common
    cp "$T/src/xen/common/sched.c" a/xen/common/
    sed -e 's/struct session { int id; int count; };/struct session { int id; int lock; int count; };/' \
        -e 's/return ++s->count;/return s->lock ? 0 : ++s->count;/' \
        "$T/src/xen/common/sched.c" >b/xen/common/sched.c
    diff -u a/xen/common/sched.c b/xen/common/sched.c >"$T/layout.patch" || true
    C=$T/cache
}

need_tools() { need_built create-diff-object livepatch-tool livepatch-gcc; }

lpb() { livepatch-build -s "$T/src" -c "$T/src/config" -p "$T/layout.patch" --cache-dir "$C" "$@"; }

# refused: the run's output is the refusal of the added member, with nothing unchecked.
refused() {
    assert_failure 1
    assert_output --partial "struct session"
    assert_output --partial "member lock appeared at offset 4"
    assert_output --partial "session_bump"
    refute_output --partial "cannot check data layouts"
}

# entry: ENTRY = the one published cache entry.
entry() {
    local all
    expect_files 1 all "$C"/*/.complete
    [ "${#all[@]}" = 1 ]
    ENTRY=${all[0]%/.complete}
}

@test "the original's twin is kept in the cache entry and taken by the next build: the same refusal" {
    need_tools
    run lpb -o out1
    refused
    assert_output --partial "layout twins: 2 unit(s) without DWARF compiled again with -g"
    entry
    expect_files 1 kept "$ENTRY"/xen/common/.sched.o.twin-*.o
    [ "${#kept[@]}" = 1 ]
    run readelf -S "${kept[0]}"
    assert_output --partial .debug_info
    # The twin has types, not locations: compiled without variable tracking.
    refute_output --partial .debug_loclists
    # The entry is measured again when next looked at, twin included.
    [ ! -e "$ENTRY/.size" ]
    run lpb -o out2
    refused
    assert_output --partial "layout twins: 1 unit(s) without DWARF compiled again with -g"
    assert_output --partial "layout twins: 1 kept in the cache with the original build, not compiled again"
    # The payload is still made of the objects as built.
    run lpb -o out3 --allow-layout-change 'struct session'
    assert_success
    run readelf -S out3/layout.livepatch
    refute_output --partial .debug_info
}

@test "a kept twin of another key (an older tool's) is replaced, not taken" {
    need_tools
    run lpb -o out1
    refused
    entry
    expect_files 1 kept "$ENTRY"/xen/common/.sched.o.twin-*.o
    # Another key's twin, made of an object with another layout: taking it would pass.
    stale=$ENTRY/xen/common/.sched.o.twin-0123456789abcdef.o
    cp "$ENTRY/xen/common/sched.o" "$stale"
    rm -f "${kept[0]}"
    run lpb -o out2
    refused
    assert_output --partial "layout twins: 2 unit(s) without DWARF compiled again with -g"
    [ ! -e "$stale" ]
    expect_files 1 kept "$ENTRY"/xen/common/.sched.o.twin-*.o
    [ "${#kept[@]}" = 1 ]
}

@test "with LIVEPATCH_TWIN=1 livepatch-gcc makes the patched twin with the object: none is compiled after the build" {
    need_tools
    run lpb -o out1
    refused
    LIVEPATCH_TWIN=1 run lpb -o out2
    refused
    assert_output --partial "layout twins: 1 made by livepatch-gcc with the object"
    assert_output --partial "layout twins: 1 kept in the cache with the original build, not compiled again"
    refute_output --partial "compiled again with -g"
}

@test "livepatch-gcc under LIVEPATCH_TWIN=1: the twin beside the object, named in the kept command; none for a failed compile or a -g one" {
    printf 'struct s { int a, b; };\nint f(struct s *p) { return p->b; }\n' >t.c
    LIVEPATCH_TREE="$T" LIVEPATCH_CAPTURE="$T/cap" LIVEPATCH_TWIN=1 run livepatch-gcc -O2 -c t.c -o t.o -MMD -MF .t.o.d
    assert_success
    run head -n 4 .t.o.lpcmd
    assert_output $'lpcmd 2\n'"$T"$'\n.\n.t.o.twin.o'
    run readelf -S .t.o.twin.o
    assert_output --partial .debug_info
    run readelf -S t.o
    refute_output --partial .debug_info
    # The twin wrote no dependency file of its own over the compile's.
    run cat .t.o.d
    assert_output --partial "t.o:"
    # Compiled again without it: the record names no twin, so the old file is no twin.
    LIVEPATCH_TREE="$T" LIVEPATCH_CAPTURE="$T/cap" run livepatch-gcc -O2 -c t.c -o t.o
    assert_success
    run head -n 1 .t.o.lpcmd
    assert_output "lpcmd 1"
    printf 'int g(\n' >bad.c
    LIVEPATCH_TREE="$T" LIVEPATCH_CAPTURE="$T/cap" LIVEPATCH_TWIN=1 run livepatch-gcc -O2 -c bad.c -o bad.o
    assert_failure
    # One compiler's messages, not two.
    [ "$(grep -c 'error:' <<<"$output")" = 1 ]
    expect_files 0 left .bad.o.*
    [ "${#left[@]}" = 0 ]
    LIVEPATCH_TREE="$T" LIVEPATCH_CAPTURE="$T/cap" LIVEPATCH_TWIN=1 run livepatch-gcc -O2 -g -c t.c -o g.o
    assert_success
    run head -n 1 .g.o.lpcmd
    assert_output "lpcmd 1"
    [ ! -e .g.o.twin.o ]
}
