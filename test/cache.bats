#!/usr/bin/env bats
# livepatch-build's cache of unpatched builds, on the sample hypervisor (samples/hv):
# the size limit and its least-recently-used eviction, --cache-list, --cache-clean,
# and what an entry keeps.  Every test has a cache of its own; different
# XEN_BUILD_TIME values give different entries of the same tree.

load test_helper

S="$LP_ROOT/samples"
P01="$S/patches/01-fix-domctl-bounds.patch"

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
    need_built create-diff-object
    C="$T/cache"
    unset LIVEPATCH_BUILD_CACHE LIVEPATCH_BUILD_CACHE_MAX
    # A clean copy (not built in place): the image is the cached build's own xen-syms.
    if [ ! -d "$BATS_FILE_TMPDIR/hv" ]; then
        cp -a "$S/hv" "$BATS_FILE_TMPDIR/hv"
    fi
    HV="$BATS_FILE_TMPDIR/hv"
    PIDS=()
}

teardown() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    return 0
}

# build TIME [options...]: sample 01 against the entry of build time TIME, into OUT
# (out-N, one per build); KEY = the entry it used.
N=0
build() {
    local tm=$1
    shift
    N=$((N + 1)) OUT=$T/out-$N
    XEN_BUILD_TIME=$tm run livepatch-build -s "$HV" -c "$S/hv/config" -p "$P01" -o "$OUT" \
        --cache-dir "$C" "$@"
    KEY=$(sed -n 's/.*(cache \([0-9a-f]*\))$/\1/p; s/.*reused from cache (.*\/\([0-9a-f]*\))$/\1/p' \
        <<<"$output" | head -n 1)
}

# A process that is alive until teardown, and the pid of one that has ended.
live_pid() { sleep 300 3>&- & PIDS+=($!); LIVE=$!; }
dead_pid() { sh -c 'exit 0' 3>&- & DEAD=$!; wait "$DEAD"; }

@test "an entry keeps the sources, objects, dependency records and images, not the link products" {
    build 00:00:00
    assert_success
    e="$C/$KEY" first=$OUT
    [ -f "$e/.complete" ]
    [ -f "$e/xen/xen-syms" ]
    [ -f "$e/xen/xen" ]
    [ -f "$e/xen/common/domctl.o" ]
    [ -f "$e/xen/common/.domctl.o.cmd" ]
    [ -f "$e/xen/common/domctl.c" ]
    [ -f "$e/xen/include/generated/autoconf.h" ]
    [ ! -e "$e/xen/prelink.o" ]
    [ ! -e "$e/xen/common/built_in.o" ]
    [ ! -e "$e/xen/xen.gz" ]
    [ "$(cat "$e/.source")" = "$HV" ]
    # Its recorded size is what it holds, and no build uses it any more.
    [ "$(cat "$e/.size")" -le "$(du -sk "$e" | cut -f1)" ]
    [ -z "$(find "$C" -maxdepth 1 -name '.*.inuse.*')" ]
    # A full rebuild from the trimmed entry gives the payload the targeted one gave.
    LIVEPATCH_BUILD_FULL=1 XEN_BUILD_TIME=00:00:00 run livepatch-build -s "$HV" -c "$S/hv/config" \
        -p "$P01" -o "$T/full" --cache-dir "$C"
    assert_success
    assert_output --partial "unpatched build reused from cache"
    cmp "$first/01-fix-domctl-bounds.livepatch" "$T/full/01-fix-domctl-bounds.livepatch"
}

@test "a targeted build links the entry's sources, copies the rest, and never writes through a link" {
    build 00:00:00
    assert_success
    e="$C/$KEY"
    sum=$(tree_sum "$e/xen")
    # A compiler wrapper that lists, at each compile of a patched tree, the files that
    # are hard links there.
    printf '#!/bin/bash\ncase $LIVEPATCH_TREE in */tree-*) find "$LIVEPATCH_TREE" -type f -links +1 -printf "%%P\\n" >>"%s/linked" ;; esac\nexec "$@"\n' \
        "$T" >"$T/wrap"
    chmod +x "$T/wrap"
    CC="$T/wrap gcc" build 00:00:00
    assert_success
    assert_output --partial "made only the 1 object(s)"
    sort -u "$T/linked" >"$T/shared"
    # The sources nothing builds are links; the patched file, the .config, the
    # dependency records, the generated headers and the cache's marks are not.
    grep -qx 'xen/common/sched.c' "$T/shared"
    grep -qx 'xen/include/xen/sched.h' "$T/shared"
    run grep -Ev '\.[ch]$|(^|/)Makefile$|^config$' "$T/shared"
    assert_output ""
    run grep -E 'domctl\.c$|autoconf\.h$' "$T/shared"
    assert_output ""
    # The entry holds what it held, byte for byte; -d (the work trees kept) links nothing.
    [ "$(tree_sum "$e/xen")" = "$sum" ]
    rm "$T/linked"
    CC="$T/wrap gcc" build 00:00:00 -d
    assert_success
    [ -f "$T/linked" ]
    [ ! -s "$T/linked" ]
    [ "$(tree_sum "$e/xen")" = "$sum" ]
}

@test "when making single objects fails, the whole tree is built in a full copy, with no links to the entry" {
    build 00:00:00
    assert_success
    first=$OUT e="$C/$KEY"
    sum=$(tree_sum "$e/xen")
    # The first compile in a patched tree fails without a compiler error; the later
    # ones list the hard links they see.
    printf '#!/bin/bash\ncase $LIVEPATCH_TREE in */tree-*)\n  if [ ! -e "%s/failed" ]; then : >"%s/failed"; exit 1; fi\n  find "$LIVEPATCH_TREE" -type f -links +1 -printf "%%P\\n" >>"%s/linked" ;;\nesac\nexec "$@"\n' \
        "$T" "$T" "$T" >"$T/wrap"
    chmod +x "$T/wrap"
    CC="$T/wrap gcc" build 00:00:00
    assert_success
    assert_output --regexp "making single objects failed \(see [^)]*build_patched-01-fix-domctl-bounds.single.log\): building the whole tree"
    [ -f "$T/linked" ]
    [ ! -s "$T/linked" ]
    cmp "$first/01-fix-domctl-bounds.livepatch" "$OUT/01-fix-domctl-bounds.livepatch"
    [ "$(tree_sum "$e/xen")" = "$sum" ]
}

@test "a tree the user built in place reuses the entry of its clean copy; its payload depends on the user's image" {
    build 00:00:00
    assert_success
    clean_key=$KEY first=$OUT
    cp -a "$HV" "$T/inplace"
    cp "$S/hv/config" "$T/inplace/xen/.config"
    make -s -C "$T/inplace/xen" XEN_BUILD_DATE=other XEN_BUILD_TIME=99:99:99 >/dev/null
    N=$((N + 1)) OUT=$T/out-$N
    XEN_BUILD_TIME=00:00:00 run livepatch-build -s "$T/inplace" -c "$S/hv/config" -p "$P01" \
        -o "$OUT" --cache-dir "$C"
    assert_success
    assert_output --partial "unpatched build reused from cache ($C/$clean_key)"
    # It depends on the image the user built (the one they run); the code is the same.
    id=$(build_id "$T/inplace/xen/xen-syms")
    readelf -p .modinfo "$OUT/01-fix-domctl-bounds.livepatch" | grep -q "xen_depends=$id"
    for p in "$first" "$OUT"; do
        objcopy -R .modinfo -R .livepatch.depends -R .livepatch.xen_depends -R .note.gnu.build-id \
            "$p/01-fix-domctl-bounds.livepatch" "$p/code.o"
    done
    cmp "$first/code.o" "$OUT/code.o"
}

@test "reusing an entry refreshes its last use" {
    build 00:00:00
    assert_success
    a=$KEY
    echo 1000 >"$C/$a/.used"
    touch -d '2001-01-01' "$C/$a/.used" "$C/$a"
    build 00:00:00
    assert_success
    assert_output --partial "unpatched build reused from cache"
    [ "$KEY" = "$a" ]
    used=$(cat "$C/$a/.used")
    [ "$used" -ge $(($(date +%s) - 300)) ]
    [ -z "$(find "$C" -maxdepth 1 -name '.*.inuse.*')" ]
}

@test "the size limit evicts the least recently used entry and keeps the one in use" {
    build 00:00:01
    assert_success
    a=$KEY
    build 00:00:02
    assert_success
    b=$KEY
    [ "$a" != "$b" ]
    # b was used after a, then a is used again: b is now the least recently used.
    echo 1000 >"$C/$a/.used"
    echo 2000 >"$C/$b/.used"
    build 00:00:01
    assert_success
    assert_output --partial "reused from cache"
    refute_output --partial "evicted"
    size=$(cat "$C/$a/.size")
    # Room for two entries, not three.
    build 00:00:03 --cache-max "$((size * 5 / 2))K"
    assert_success
    c=$KEY
    assert_output --partial "cache: evicted $b"
    refute_output --partial "evicted $a"
    [ -f "$C/$a/.complete" ]
    [ -f "$C/$c/.complete" ]
    [ ! -e "$C/$b" ]
    [ -z "$(find "$C" -maxdepth 1 -name '.*.evict.*' -o -maxdepth 1 -name '.*.tmp.*')" ]
}

@test "a limit below one entry keeps only the entry the build uses, with a warning" {
    build 00:00:01
    assert_success
    a=$KEY
    LIVEPATCH_BUILD_CACHE_MAX=1K build 00:00:02
    assert_success
    b=$KEY
    assert_output --partial "cache: evicted $a"
    assert_output --partial "over its limit of 1K"
    [ ! -e "$C/$a" ]
    [ -f "$C/$b/.complete" ]
    [ -f "$OUT/01-fix-domctl-bounds.livepatch" ]
}

@test "eviction leaves an entry a running build uses" {
    build 00:00:01
    assert_success
    a=$KEY
    live_pid
    : >"$C/.$a.inuse.$LIVE"
    build 00:00:02 --cache-max 1K
    assert_success
    refute_output --partial "evicted $a"
    [ -f "$C/$a/.complete" ]
    # Once that build has ended, its mark no longer holds the entry.
    kill "$LIVE"
    wait "$LIVE" 2>/dev/null || true
    build 00:00:03 --cache-max 1K
    assert_success
    assert_output --partial "evicted $a"
    [ ! -e "$C/$a" ]
}

@test "--cache-list shows each entry, the total and the limit, with no other option" {
    run livepatch-build --cache-list --cache-dir "$C"
    assert_success
    assert_output --partial "total 0K in 0 entries, limit 4.0G ($C)"
    build 00:00:01
    a=$KEY
    build 00:00:02
    b=$KEY
    echo 1700000000 >"$C/$a/.used"
    dead_pid
    mkdir "$C/.$a.tmp.$DEAD.abcdef"
    LIVEPATCH_BUILD_CACHE="$C" LIVEPATCH_BUILD_CACHE_MAX=100M run livepatch-build --cache-list
    assert_success
    assert_line --index 0 --regexp '^KEY +SIZE +LAST USED +SOURCE$'
    when=$(date -d @1700000000 '+%Y-%m-%d %H:%M:%S')
    human() { awk -v k="$1" 'BEGIN { if (k >= 1024) printf "%d.%dM", k / 1024, int(k * 10 / 1024) % 10; else printf "%dK", k }'; }
    assert_line --regexp "^$a +$(human "$(cat "$C/$a/.size")") +$when +$HV\$"
    assert_line --regexp "^$b +[0-9.]+[KM] +[0-9-]+ [0-9:]+ +$HV\$"
    assert_line ".$a.tmp.$DEAD.abcdef: left by a build that ended (--cache-clean removes it)"
    assert_line --regexp "^total [0-9.]+M in 2 entries, limit 100.0M \($C\)$"
    # A running build's mark shows.
    live_pid
    : >"$C/.$b.inuse.$LIVE"
    run livepatch-build --cache-list --cache-dir "$C"
    assert_success
    assert_line --regexp "^$b .* \(in use by pid $LIVE\)$"
}

@test "--cache-clean removes the entries and the leftovers of ended builds, not a running build's" {
    build 00:00:01
    a=$KEY
    build 00:00:02
    b=$KEY
    live_pid
    dead_pid
    : >"$C/.$b.inuse.$LIVE"
    : >"$C/.$a.inuse.$DEAD"
    mkdir "$C/.$a.tmp.$DEAD.abcdef" "$C/.$a.evict.$DEAD.1" "$C/.$b.tmp.$LIVE.ghijkl"
    run livepatch-build --cache-clean --cache-dir "$C"
    assert_success
    assert_line --regexp "^removed $a \([0-9.]+[KM], built from $HV\)$"
    assert_line "kept $b (in use by pid $LIVE)"
    assert_line "removed .$a.tmp.$DEAD.abcdef (left by a build that ended)"
    assert_line "removed .$a.evict.$DEAD.1 (left by a build that ended)"
    assert_line "kept .$b.tmp.$LIVE.ghijkl (a running build, pid $LIVE)"
    assert_line --regexp "freed in $C, 2 kept$"
    [ ! -e "$C/$a" ]
    [ -f "$C/$b/.complete" ]
    [ -d "$C/.$b.tmp.$LIVE.ghijkl" ]
    [ ! -e "$C/.$a.tmp.$DEAD.abcdef" ]
    [ ! -e "$C/.$a.evict.$DEAD.1" ]
    [ ! -e "$C/.$a.inuse.$DEAD" ]
    [ -e "$C/.$b.inuse.$LIVE" ]
    [ -z "$(find "$C" -maxdepth 1 -name '.*.evict.*')" ]
    kill "$LIVE"
    wait "$LIVE" 2>/dev/null || true
    run livepatch-build --cache-clean --cache-dir "$C"
    assert_success
    assert_line --regexp "^removed $b "
    run livepatch-build --cache-clean --cache-dir "$C"
    assert_success
    assert_output "nothing to remove in $C"
}

@test "--cache-clean during a build leaves the entry in the making, which the build then publishes" {
    printf '#!/bin/sh\nsleep 0.5\nexec gcc "$@"\n' >"$T/slowcc"
    chmod +x "$T/slowcc"
    CC="$T/slowcc" livepatch-build -s "$HV" -c "$S/hv/config" -p "$P01" -o "$T/out" \
        --cache-dir "$C" 3>&- 2>"$T/err" &
    pid=$!
    for _ in $(seq 100); do
        tmp=$(find "$C" -maxdepth 1 -name '.*.tmp.*' 2>/dev/null || true)
        [ -n "$tmp" ] && break
        sleep 0.1
    done
    [ -n "$tmp" ]
    run livepatch-build --cache-clean --cache-dir "$C"
    assert_success
    assert_output --partial "kept ${tmp##*/} (a running build, pid $pid)"
    [ -d "$tmp" ]
    wait "$pid" || { cat "$T/err"; false; }
    [ -f "$T/out/01-fix-domctl-bounds.livepatch" ]
    run livepatch-build --cache-list --cache-dir "$C"
    assert_output --partial "in 1 entry,"
}

@test "a bad --cache-max or LIVEPATCH_BUILD_CACHE_MAX is an error" {
    for v in 12Q '' -1 4GG 1.5G; do
        run livepatch-build --cache-list --cache-dir "$C" --cache-max "$v"
        assert_failure 1
        assert_output --partial "--cache-max wants a size such as 500M or 4G, got '$v'"
    done
    run livepatch-build -s "$HV" -c "$S/hv/config" -p "$P01" -o "$T/out" --cache-dir "$C" --cache-max lots
    assert_failure 1
    [ ! -e "$C" ]
    LIVEPATCH_BUILD_CACHE_MAX=huge run livepatch-build --cache-clean --cache-dir "$C"
    assert_failure 1
    assert_output --partial "LIVEPATCH_BUILD_CACHE_MAX wants a size"
    for v in 0 512 100k 20M 4g 1T 3GiB; do
        run livepatch-build --cache-list --cache-dir "$C" --cache-max "$v"
        assert_success
    done
    run livepatch-build --cache-list --cache-clean
    assert_failure 1
}

@test "--cache-clean during a build that reuses an entry keeps that entry" {
    printf '#!/bin/sh\nsleep 1\nexec gcc "$@"\n' >"$T/slowcc"
    chmod +x "$T/slowcc"
    CC="$T/slowcc" run livepatch-build -s "$HV" -c "$S/hv/config" -p "$P01" -o "$T/out1" --cache-dir "$C"
    assert_success
    CC="$T/slowcc" livepatch-build -s "$HV" -c "$S/hv/config" -p "$P01" -o "$T/out2" \
        --cache-dir "$C" 3>&- 2>"$T/err" &
    pid=$!
    for _ in $(seq 100); do
        [ -e "$(echo "$C"/.*.inuse.$pid)" ] && break
        sleep 0.05
    done
    run livepatch-build --cache-clean --cache-dir "$C"
    assert_success
    assert_output --regexp "kept [0-9a-f]+ \(in use by pid $pid\)"
    wait "$pid" || { cat "$T/err"; false; }
    grep -q "reused from cache" "$T/err"
    [ -f "$T/out2/01-fix-domctl-bounds.livepatch" ]
    # Ended, it no longer holds the entry.
    [ -z "$(find "$C" -maxdepth 1 -name '.*.inuse.*')" ]
    run livepatch-build --cache-clean --cache-dir "$C"
    assert_output --regexp "^removed [0-9a-f]+ "
}
