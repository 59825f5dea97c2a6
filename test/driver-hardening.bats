#!/usr/bin/env bats
# livepatch-build on hostile or odd input (issue 11): patches naming files outside the
# tree, trees whose symbolic links lead back into themselves, DOS line ends, signals
# at any moment, and a full disk.  The user's tree is never written, nothing outlives
# the driver, and every failure says what, where and why.

load test_helper

D="$LP_ROOT/test/data/build"
S="$LP_ROOT/samples"

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
    export LIVEPATCH_BUILD_CACHE="$BATS_FILE_TMPDIR/cache"
    cp -a "$D/tree" "$T/src"
    P="$D/patches"
}

# need_tools: fail (not skip) when the tools the driver runs are not built.
need_tools() { need_built create-diff-object livepatch-tool; }

lpb() { livepatch-build -s "$T/src" -c "$T/src/config" "$@"; }

# all_sum DIR: one checksum over every entry of DIR: its path and type, a link's target
# and a file's contents (so a write through any link into DIR shows).
all_sum() {
    (cd "$1" && find . -printf '%y %p %l\n' | LC_ALL=C sort &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum
}

# --- patch paths ----------------------------------------------------------------------------

# refused_patch PATCH TEXT: the build was refused with exit 1 before anything was
# written (no OUTDIR, no cache entry), naming the patch and TEXT.
refused_patch() {
    local p=$1 text=$2 cache_before
    cache_before=$(ls -A "$LIVEPATCH_BUILD_CACHE" 2>/dev/null | LC_ALL=C sort)
    run lpb -p "$p" -o "$T/out"
    assert_failure 1
    assert_output --partial "error: patch ${p##*/} line "
    assert_output --partial "$text"
    assert_output --partial "refusing a patch that names files outside $T/src"
    refute_output --partial "building"
    [ ! -e "$T/out" ]
    [ "$(ls -A "$LIVEPATCH_BUILD_CACHE" 2>/dev/null | LC_ALL=C sort)" = "$cache_before" ]
}

@test "patch paths: '../', an absolute name or a git rename out of the tree is refused before anything is written" {
    mkdir -p "$T/w"
    echo 'int secret;' >"$T/outside.c"
    printf -- '--- a/../outside.c\n+++ b/../outside.c\n@@ -1 +1 @@\n-int secret;\n+int changed;\n' >"$T/w/up.patch"
    sed 's/$/\r/' "$T/w/up.patch" >"$T/w/up-crlf.patch"
    # Only the new name leaves the tree.
    printf -- '--- a/xen/main.c\n+++ b/xen/../../outside.c\n@@ -1 +1 @@\n-int secret;\n+int changed;\n' >"$T/w/new.patch"
    printf -- '--- %s\n+++ %s\n@@ -1 +1 @@\n-int secret;\n+int changed;\n' "$T/outside.c" "$T/outside.c" >"$T/w/abs.patch"
    # -p1 of "a//x" is the absolute "/x".
    printf -- '--- a/%s\n+++ b/%s\n@@ -1 +1 @@\n-int secret;\n+int changed;\n' "$T/outside.c" "$T/outside.c" >"$T/w/abs1.patch"
    printf 'diff --git a/xen/main.c b/xen/main.c\nsimilarity index 100%%\nrename from xen/main.c\nrename to ../main.c\n' >"$T/w/rename.patch"
    printf 'diff --git a/xen/main.c b/xen/copy.c\nsimilarity index 100%%\ncopy from xen/main.c\ncopy to /tmp/copy.c\n' >"$T/w/copy.patch"
    before=$(all_sum "$T")
    refused_patch "$T/w/up.patch" "line 1: '../outside.c' goes up out of the tree (..)"
    refused_patch "$T/w/new.patch" "line 2: 'xen/../../outside.c' goes up out of the tree"
    refused_patch "$T/w/abs.patch" "line 1: '$T/outside.c' is an absolute path"
    refused_patch "$T/w/abs1.patch" "line 1: '$T/outside.c' is an absolute path"
    refused_patch "$T/w/rename.patch" "line 4: '../main.c' goes up out of the tree"
    refused_patch "$T/w/copy.patch" "line 4: '/tmp/copy.c' is an absolute path"
    # A patch with DOS line ends is read the same way.
    refused_patch "$T/w/up-crlf.patch" "line 1: '../outside.c' goes up"
    [ "$(all_sum "$T")" = "$before" ]
    [ ! -e /tmp/copy.c ]
}

@test "patch paths: a name that leads out of the tree through a symbolic link is refused" {
    echo 'int secret;' >"$T/outside.c"
    ln -s "$T" "$T/src/xen/escape"
    ln -s ../.. "$T/src/xen/up"
    printf -- '--- a/xen/escape/outside.c\n+++ b/xen/escape/outside.c\n@@ -1 +1 @@\n-int secret;\n+int changed;\n' >"$T/link.patch"
    printf -- '--- /dev/null\n+++ b/xen/up/new.c\n@@ -0,0 +1 @@\n+int x;\n' >"$T/new.patch"
    before=$(all_sum "$T")
    refused_patch "$T/link.patch" "line 1: 'xen/escape/outside.c' leads out of the tree through a symbolic link (to $T/outside.c)"
    # A file yet to be created, behind a relative link.
    refused_patch "$T/new.patch" "line 2: 'xen/up/new.c' leads out of the tree through a symbolic link (to $T/new.c)"
    [ "$(all_sum "$T")" = "$before" ]
    [ ! -e "$T/new.c" ]
}

@test "patch paths: hunk lines that look like headers are not names; links inside the tree are fine" {
    need_tools
    # A removed line "-- ../x" reads "--- ../x" in the patch: it is hunk content.
    printf '/*\n-- ../etc/passwd\n*/\n' >>"$T/src/xen/common/sched.c"
    printf -- '--- a/xen/common/sched.c\n+++ b/xen/common/sched.c\n@@ -%d,3 +%d,2 @@\n /*\n--- ../etc/passwd\n */\n' \
        "$(($(wc -l <"$T/src/xen/common/sched.c") - 2))" "$(($(wc -l <"$T/src/xen/common/sched.c") - 2))" >"$T/hunk.patch"
    run lpb -p "$T/hunk.patch" -o "$T/out1"
    assert_failure 1
    assert_output --partial "no functional change in hunk.patch"
    refute_output --partial "refusing"
    # The fix, named through a link that stays inside the tree.
    ln -s common "$T/src/xen/alias"
    sed 's#xen/common/domctl.c#xen/alias/domctl.c#g' "$P/fix-domctl-bounds.patch" >"$T/alias.patch"
    run lpb -p "$T/alias.patch" -o "$T/out2"
    assert_success
    [ -f "$T/out2/alias.livepatch" ]
}

# --- symbolic links in SRCDIR ------------------------------------------------------------------

@test "links: an absolute link to a folder inside SRCDIR is re-pointed in the copy; SRCDIR is never written, the fix is found" {
    need_tools
    mv "$T/src/xen/common" "$T/src/xen/real-common"
    ln -s "$T/src/xen/real-common" "$T/src/xen/common"
    # (and a relative link that climbs out of the tree and back in)
    ln -s "../../src/xen/real-common/sched.c" "$T/src/xen/sched-link.c"
    before=$(all_sum "$T/src")
    for cache in --no-cache --cache-dir="$T/cache"; do
        rm -rf "$T/out"
        run lpb -p "$P/fix-domctl-bounds.patch" -o "$T/out" --json "$T/out.json" "$cache"
        assert_success
        refute_output --partial "no functional change"
        grep -q '"functions": \["do_domctl"\]' "$T/out.json"
        [ "$(all_sum "$T/src")" = "$before" ]
        [ -z "$(find -L "$T/src" -name '*.o')" ]
    done
    # The copy in the cache holds relative links to its own folders.
    entry=$(ls -d "$T/cache"/*/)
    [ "$(readlink "${entry}xen/common")" = real-common ]
    [ "$(readlink "${entry}xen/sched-link.c")" = real-common/sched.c ]
}

@test "links: a relative link that leads out of SRCDIR still names the same folder from the copy" {
    need_tools
    mv "$T/src/xen/include" "$T/shared-include"
    ln -s ../../shared-include "$T/src/xen/include"
    before=$(all_sum "$T/shared-include")
    run lpb -p "$P/fix-domctl-bounds.patch" -o "$T/out" --no-cache -d
    assert_success
    [ "$(readlink "$(ls -d "$T"/out/.lp-tmp.*/base)/xen/include")" = "$T/shared-include" ]
    [ "$(all_sum "$T/shared-include")" = "$before" ]
}

# --- CRLF -------------------------------------------------------------------------------------

# crlf_sample DIR: samples/hv with DOS line ends in xen/common/domctl.c, whose bounds
# check is a macro continued with '\'.
crlf_sample() {
    local f=$1/xen/common/domctl.c
    cp -a "$S/hv" "$1"
    sed -i -e 's/^#define NR_DOMCTLS CONFIG_NR_DOMCTLS$/&\n#define DOMCTL_BAD(cmd) \\\n    ((cmd) > NR_DOMCTLS)/' \
        -e 's/^    if (cmd > NR_DOMCTLS)$/    if (DOMCTL_BAD(cmd))/' "$f"
    sed -i 's/$/\r/' "$f"
    grep -q 'DOMCTL_BAD(cmd) \\'$'\r' "$f"
    grep -q 'if (DOMCTL_BAD(cmd))'$'\r' "$f"
}

@test "CRLF: a line added inside a macro of a DOS-line-end source gets its #line after the macro" {
    need_tools
    crlf_sample "$T/hv"
    mkdir -p a/xen/common b/xen/common
    cp "$T/hv/xen/common/domctl.c" a/xen/common/
    # The fix: one more continued line inside the macro.
    sed 's/^#define DOMCTL_BAD(cmd) \\\r$/&\n    (cmd) >= NR_DOMCTLS || \\\r/' a/xen/common/domctl.c >b/xen/common/domctl.c
    if cmp -s a/xen/common/domctl.c b/xen/common/domctl.c; then fail "the sed made no fix"; fi
    diff -u a/xen/common/domctl.c b/xen/common/domctl.c >"$T/macro.patch" || true
    before=$(all_sum "$T/hv")
    run livepatch-build -s "$T/hv" -c "$S/hv/config" -p "$T/macro.patch" -o "$T/out" --json "$T/out.json" --no-cache -d
    assert_success
    grep -q '"functions": \["do_domctl"\]' "$T/out.json"
    # The directive went after the macro, with the file's line end.
    f=$(ls "$T"/out/.lp-tmp.*/tree-1/xen/common/domctl.c)
    run grep -c -n $'^#line [0-9]*\r$' "$f"
    assert_output 1
    run grep -B1 $'^#line' "$f"
    assert_output --partial "((cmd) > NR_DOMCTLS)"
    [ "$(all_sum "$T/hv")" = "$before" ]
}

@test "CRLF: a patch written with DOS line ends applies as patch -p1 applies it" {
    need_tools
    cp -a "$S/hv" "$T/hv"
    sed 's/$/\r/' "$S/patches/01-fix-domctl-bounds.patch" >"$T/dos.patch"
    (cp -a "$T/hv" "$T/check" && cd "$T/check" && patch -s -p1 <"$T/dos.patch")
    run livepatch-build -s "$T/hv" -c "$S/hv/config" -p "$T/dos.patch" -o "$T/out" --json "$T/out.json"
    assert_success
    refute_output --partial "can't find file"
    grep -q '"functions": \["do_domctl"\]' "$T/out.json"
}

# --- interrupts -------------------------------------------------------------------------------

# A compiler that takes its time while $T/slow exists, and a create-diff-object that
# does while $T/slow-diff exists; each notes its pid when it starts.
slow_tools() {
    mkdir -p "$T/bin"
    cat >"$T/cc" <<SH
#!/bin/bash
case " \$* " in *" -c "*) echo \$\$ >>"$T/compiling"; [ -e "$T/slow" ] && sleep 30 ;; esac
exec gcc "\$@"
SH
    cat >"$T/bin/create-diff-object" <<SH
#!/bin/bash
echo \$\$ >>"$T/diffing"
[ -e "$T/slow-diff" ] && sleep 30
exec "$(command -v create-diff-object)" "\$@"
SH
    chmod +x "$T/cc" "$T/bin/create-diff-object"
}

# signal_run SIGNAL WHEN: start the build (-o $T/out, marked LPB_RUN=$MARK in its
# environment so that every process it starts can be found), send SIGNAL once the shell
# condition WHEN holds, and wait for it (STATUS).
signal_run() {
    local sig=$1 when=$2 pid i
    MARK=run-$BATS_TEST_NUMBER-$$-$RANDOM
    rm -f "$T/compiling" "$T/diffing"
    PATH="$T/bin:$PATH" CC="$T/cc" LPB_RUN=$MARK env --default-signal=INT \
        livepatch-build -s "$T/src" -c "$T/src/config" -p "$P/fix-domctl-bounds.patch" \
        -o "$T/out" 3>&- 2>"$T/err" &
    pid=$!
    for ((i = 0; i < 300; i++)); do eval "$when" && break; sleep 0.02; done
    kill "-$sig" "$pid" 2>/dev/null || true   # (it may have finished already)
    STATUS=0
    wait "$pid" || STATUS=$?
}

# run_procs: the processes still running that the marked build started.
run_procs() { grep -l -z -x "LPB_RUN=$MARK" /proc/[0-9]*/environ 2>/dev/null || true; }

snapshot() { find "$@" -printf '%p %s %T@ %y\n' 2>/dev/null | LC_ALL=C sort; }

# interrupted STATUS: the run ended with STATUS after cleaning up, nothing of it runs
# any more, and nothing in OUTDIR or the cache changes afterwards.
interrupted() {
    local procs after
    procs=$(run_procs)
    [ -z "$procs" ] || { ps -o pid,pgid,stat,args -p "$(echo $procs | tr -dc '0-9 ' | tr ' ' ,)"; false; }
    [ "$STATUS" -eq "$1" ] || { echo "exit status $STATUS, not $1:"; cat "$T/err"; false; }
    # (a signal before the traps are set, while bash still reads the script, ends it
    # before it has done anything, without a word)
    [ ! -e "$T/out" ] || grep -q "interrupted" "$T/err"
    after=$(snapshot "$T/out" "$LIVEPATCH_BUILD_CACHE")
    sleep 1
    [ "$(snapshot "$T/out" "$LIVEPATCH_BUILD_CACHE")" = "$after" ]
    [ -z "$(find "$T/out" "$LIVEPATCH_BUILD_CACHE" -name '.lp-tmp*' -o -name '.*.tmp.*' -o -name '*.livepatch' 2>/dev/null)" ]
}

# rerun_ok: the same -o builds now (what the interrupted run left is cleared).
rerun_ok() {
    rm -f "$T/slow" "$T/slow-diff"
    run env PATH="$T/bin:$PATH" CC="$T/cc" livepatch-build -s "$T/src" -c "$T/src/config" \
        -p "$P/fix-domctl-bounds.patch" -o "$T/out"
    assert_success
    [ -f "$T/out/fix-domctl-bounds.livepatch" ]
}

@test "interrupts: SIGINT in the unpatched build stops every compiler before exit 130; the same -o builds afterwards" {
    need_tools
    slow_tools
    touch "$T/slow"
    export LIVEPATCH_BUILD_CACHE="$T/cache"
    before=$(all_sum "$T/src")
    signal_run INT '[ -s "$T/compiling" ]'
    interrupted 130
    [ "$(all_sum "$T/src")" = "$before" ]
    rerun_ok
}

@test "interrupts: SIGTERM in the patched build exits 143 with nothing left running" {
    need_tools
    slow_tools
    export LIVEPATCH_BUILD_CACHE="$T/cache"
    rerun_ok
    rm -rf "$T/out"
    touch "$T/slow"
    signal_run TERM '[ -s "$T/compiling" ]'
    interrupted 143
    rerun_ok
}

@test "interrupts: SIGINT as the diff step starts leaves no diff running and nothing written after exit" {
    need_tools
    slow_tools
    export LIVEPATCH_BUILD_CACHE="$T/cache"
    touch "$T/slow-diff"
    signal_run INT '[ -s "$T/diffing" ]'
    interrupted 130
    # The same, with create-diff-object at full speed: the signal lands as the step starts.
    rm -f "$T/slow-diff"
    for _ in 1 2 3; do
        signal_run INT '[ -s "$T/diffing" ]'
        [ "$STATUS" -eq 0 ] && { rm -rf "$T/out"; continue; }
        interrupted 130
    done
    rerun_ok
}

@test "interrupts: SIGHUP at any moment (a sweep of delays) exits 129, nothing outlives the driver, -o is reusable" {
    need_tools
    slow_tools
    export LIVEPATCH_BUILD_CACHE="$T/cache"
    rerun_ok
    rm -rf "$T/out"
    start=$EPOCHREALTIME
    for d in 0.05 0.15 0.3 0.45 0.6 0.8 1.0 1.3; do
        signal_run HUP "sleep $d; true"
        [ "$STATUS" -eq 0 ] && { rm -rf "$T/out"; continue; }
        interrupted 129
    done
    rerun_ok
}

@test "interrupts: an -o holding a payload or a file of the user's is still refused, naming what is in the way" {
    mkdir -p "$T/out/work-x"
    touch "$T/out/build_original.log" "$T/out/old.livepatch" "$T/out/notes.txt"
    run lpb -p "$P/fix-domctl-bounds.patch" -o "$T/out"
    assert_failure 1
    assert_output --partial "Output directory exists: $T/out holds notes.txt old.livepatch"
    assert_output --partial "give a new or empty folder"
    [ -f "$T/out/old.livepatch" ]
    [ -f "$T/out/build_original.log" ]
    [ -d "$T/out/work-x" ]
    # A run still going is not trampled on.
    rm -f "$T/out/old.livepatch" "$T/out/notes.txt"
    sleep 30 &
    mkdir "$T/out/.lp-tmp.$!.123"
    run lpb -p "$P/fix-domctl-bounds.patch" -o "$T/out"
    kill $!
    assert_failure 1
    assert_output --partial "is in use by a running build (pid"
}

# --- a full disk ------------------------------------------------------------------------------

# small_fs SIZE: a tmpfs of SIZE at $T/mnt (MNT), unmounted in teardown; skips when this
# system does not let us mount one.  (The skip may stay: mounting is a facility of the host,
# not of our build; docs/errors.md says these tests are skipped where no tmpfs can be mounted.)
small_fs() {
    MNT=$T/mnt
    mkdir -p "$MNT"
    mount -t tmpfs -o "size=$1" tmpfs "$MNT" 2>/dev/null ||
        skip "cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): no small file system to fill"
}

teardown() {
    if [ -n "${MNT-}" ] && mountpoint -q "$MNT"; then umount "$MNT"; fi
}

# no_space STAGE WHAT DIR: the build failed saying the disk is full, naming DIR, what
# it was doing and the stage, and nothing else.
no_space() {
    assert_failure 1
    assert_output --partial "error: no space left on device in $3 while $2 (stage $1)"
    refute_output --partial "does not apply"
    refute_output --partial "no functional change"
}

# warm_cache: the unpatched build of the tree in the file's cache, so that later runs
# write into OUTDIR only.
warm_cache() {
    run lpb -p "$P/fix-domctl-bounds.patch" -o "$T/warm"
    assert_success
}

@test "disk full: a full cache folder while copying the tree names the cache folder, not a file of SRCDIR" {
    need_tools
    small_fs 16k
    before=$(all_sum "$T/src")
    run lpb -p "$P/fix-domctl-bounds.patch" -o "$T/out" --cache-dir "$MNT/cache"
    no_space build_original "copying $T/src" "$MNT/cache"
    # The write that failed is named by its destination.
    assert_output --partial ": cannot write: No space left on device"
    assert_output --regexp ": $MNT/cache/[^ ]*: cannot write"
    [ "$(all_sum "$T/src")" = "$before" ]
    [ -z "$(find "$MNT/cache" -name '.*.tmp.*')" ]
}

@test "disk full: a full OUTDIR while the work tree is prepared names OUTDIR and the prepare stage" {
    need_tools
    warm_cache
    small_fs 32k
    run lpb -p "$P/fix-domctl-bounds.patch" -o "$MNT/out"
    no_space prepare:fix-domctl-bounds "copying the unpatched build and the patched sources" "$MNT/out"
    assert_output --regexp ": $MNT/out/[^ ]*: cannot write: No space left on device"
    # (the failed write is the copy's, not the cache file it was read from)
    refute_output --regexp "$LIVEPATCH_BUILD_CACHE/[^ ]*: cannot"
}

@test "disk full: a full OUTDIR while a patch is applied says so, not 'does not apply'" {
    need_tools
    warm_cache
    small_fs 256k
    # A patch that creates a 600 KB source file.
    { printf -- '--- /dev/null\n+++ b/xen/common/big.c\n@@ -0,0 +1,20000 @@\n'
      for ((i = 0; i < 20000; i++)); do printf '+/* line %05d of a file too big for the disk */\n' "$i"; done
    } >"$T/big.patch"
    run lpb -p "$T/big.patch" -o "$MNT/out"
    no_space prepare:big "applying big.patch" "$MNT/out"
}

@test "disk full: a full OUTDIR in the patched build names OUTDIR and the build stage" {
    need_tools
    warm_cache
    small_fs 512k
    # The fix, with a megabyte of data the object must hold.
    sed 's/^+    if (idx >= 4)$/&\n+        ; static const char pad[1 << 20] __attribute__((used)) = { 1 };/' \
        "$P/fix-domctl-bounds.patch" | sed 's/^@@ -3,7 +3,7 @@/@@ -3,7 +3,8 @@/' >"$T/pad.patch"
    run lpb -p "$T/pad.patch" -o "$MNT/out"
    no_space build_patched:pad "building the patched tree" "$MNT/out"
    refute_output --partial "building the whole tree"
}
