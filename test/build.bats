#!/usr/bin/env bats
# livepatch-build, the driver: options and exit codes as upstream, the user's tree
# left alone, which objects get diffed, dependency ids, and what goes into the
# payload.  Runs over the miniature Xen-shaped tree in test/data/build (the sample
# hypervisor's own patches are exercised in build-samples.bats).

load test_helper

D="$LP_ROOT/test/data/build"

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
    # One cache for the whole file: tests share the unpatched build, as users do.
    export LIVEPATCH_BUILD_CACHE="$BATS_FILE_TMPDIR/cache"
    cp -a "$D/tree" "$T/src"
    P="$D/patches"
}

# need_tools: fail (not skip) when the tools the driver runs are not built.
need_tools() { need_built create-diff-object livepatch-tool; }

lpb() { livepatch-build -s "$T/src" -c "$T/src/config" "$@"; }

@test "--help prints upstream's options to stdout and exits 0" {
    run livepatch-build --help
    assert_success
    for o in --srcdir --patch --config --output --cpus --skip --debug --xen-debug \
        --xen-syms --depends --xen-depends --prelink --strip; do
        assert_output --partial -- "$o"
    done
}

@test "--version names the tool and its version" {
    run livepatch-build --version
    assert_success
    assert_output --regexp '^livepatch-build [0-9]+\.[0-9]+'
}

@test "a missing option fails with status 1 as upstream does" {
    run livepatch-build -s "$T/src" -c "$T/src/config" -o out
    assert_failure 1
    assert_output --partial "Patchfile not given"
    run livepatch-build -s "$T/src" -p "$P/fix-domctl-bounds.patch" -c "$T/src/config"
    assert_failure 1
    assert_output --partial "Output directory not given"
}

@test "a config without CONFIG_LIVEPATCH=y is refused" {
    grep -v LIVEPATCH "$T/src/config" >"$T/noconfig"
    run livepatch-build -s "$T/src" -p "$P/fix-domctl-bounds.patch" -c "$T/noconfig" -o out
    assert_failure 1
    assert_output --partial "CONFIG_LIVEPATCH must be enabled"
}

@test "an output directory that already holds files is refused" {
    mkdir out && touch out/keep
    run lpb -p "$P/fix-domctl-bounds.patch" -o out
    assert_failure 1
    assert_output --partial "Output directory exists"
    [ -f out/keep ]
}

@test "a one-function fix gives a payload named after the patch, stamped with the image's id" {
    need_tools
    run lpb -p "$P/fix-domctl-bounds.patch" -o out
    assert_success
    pl=out/fix-domctl-bounds.livepatch
    [ -f "$pl" ]
    image=$(grep -o '/[^ ]*/xen/xen-syms' <<<"$output" | head -n1)
    want=$(readelf -n "$image" | awk '/Build ID/{print $3}')
    [ "$(note_id "$pl" .livepatch.depends)" = "$want" ]
    [ "$(note_id "$pl" .livepatch.xen_depends)" = "$want" ]
    # Its own id is the linker's, different from the one it depends on.
    own=$(lp-buildid "$pl")
    [ -n "$own" ]
    [ "$own" != "$want" ]
    run livepatch-tool check "$pl" --image "$image"
    assert_success
}

@test "the payload's funcs table is read-only and hook helper symbols are gone" {
    need_tools
    lpb -p "$P/fix-domctl-bounds.patch" -o out
    pl=out/fix-domctl-bounds.livepatch
    run readelf -SW "$pl"
    assert_line --regexp '\.livepatch\.funcs +PROGBITS .* A +[0-9]'
    refute_line --regexp '\.livepatch\.funcs +PROGBITS .* WA '
    run readelf -sW "$pl"
    refute_output --regexp 'livepatch_[a-z]+_data_'
}

@test ".modinfo names the payload, each patch's sha256, the ids, tool, compiler and user metadata" {
    need_tools
    lpb -p "$P/fix-domctl-bounds.patch" -o out --metadata ticket=XSA-999 --metadata owner=ops
    run readelf -p .modinfo out/fix-domctl-bounds.livepatch
    assert_success
    sum=$(sha256sum <"$P/fix-domctl-bounds.patch" | cut -d' ' -f1)
    assert_output --partial "name=fix-domctl-bounds"
    assert_output --partial "patch=fix-domctl-bounds.patch sha256:$sum"
    assert_output --regexp "base_build_id=[0-9a-f]{40}"
    assert_output --regexp "depends=[0-9a-f]{40}"
    assert_output --partial "tool=livepatch-build "
    assert_output --partial "compiler=gcc"
    assert_output --partial "ticket=XSA-999"
    assert_output --partial "owner=ops"
}

@test "the payload name follows upstream: extension dropped, other characters to '-', 127 at most" {
    need_tools
    cp "$P/fix-domctl-bounds.patch" "$T/my fix+v2.patch"
    run lpb -p "$T/my fix+v2.patch" -o out1
    assert_success
    [ -f out1/my-fix-v2.livepatch ]
    long=$(printf 'x%.0s' {1..140})
    cp "$P/fix-domctl-bounds.patch" "$T/$long.diff"
    run lpb -p "$T/$long.diff" -o out2
    assert_success
    [ -f "out2/${long:0:127}.livepatch" ]
}

@test "the user's tree is byte-identical after a successful build" {
    need_tools
    before=$(tree_sum "$T/src")
    run lpb -p "$P/fix-domctl-bounds.patch" -o out
    assert_success
    [ "$(tree_sum "$T/src")" = "$before" ]
}

@test "the user's tree is unchanged and no temporary files remain after a failed build" {
    before=$(tree_sum "$T/src")
    run lpb -p "$P/does-not-apply.patch" -o out
    assert_failure 1
    [ "$(tree_sum "$T/src")" = "$before" ]
    [ -z "$(find out "$LIVEPATCH_BUILD_CACHE" -name '.lp-tmp*' -o -name '*.tmp.*')" ]
    [ -z "$(find out -name '*.livepatch')" ]
}

@test "the user's tree is unchanged and no temporary files or compilers remain after SIGINT" {
    # A compiler that takes its time, so the signal lands in the middle of the build.
    cat >"$T/slowcc" <<EOF
#!/bin/bash
case " \$* " in *" -c "*) echo \$\$ >>"$T/compilers"; sleep 60 ;; esac
exec gcc "\$@"
EOF
    chmod +x "$T/slowcc"
    before=$(tree_sum "$T/src")
    # Background jobs of a script ignore SIGINT unless told otherwise.
    CC="$T/slowcc" env --default-signal=INT livepatch-build -s "$T/src" -c "$T/src/config" \
        -p "$P/fix-domctl-bounds.patch" -o out --cache-dir "$T/cache" 3>&- 2>"$T/err" &
    pid=$!
    for _ in $(seq 100); do [ -s "$T/compilers" ] && break; sleep 0.1; done
    [ -s "$T/compilers" ]
    kill -INT "$pid"
    status=0
    wait "$pid" || status=$?
    [ "$status" -eq 130 ]
    [ "$(tree_sum "$T/src")" = "$before" ]
    [ -z "$(find out "$T/cache" -name '.lp-tmp*' -o -name '.*.tmp.*')" ]
    # Every compiler is gone (at most a zombie waiting to be reaped).
    alive=$(ps -o stat= -p "$(paste -sd, "$T/compilers")" | grep -vc Z || true)
    [ "$alive" -eq 0 ]
    grep -q "interrupted" "$T/err"
}

@test "a patch that does not apply fails naming the file and the hunk" {
    run lpb -p "$P/does-not-apply.patch" -o out
    assert_failure 1
    assert_output --partial "does-not-apply.patch does not apply"
    assert_output --partial "xen/common/domctl.c: Hunk #1 FAILED"
}

@test "a comment-only patch fails with a clear no-functional-change message" {
    need_tools
    run lpb -p "$P/comment-only.patch" -o out
    assert_failure 1
    assert_output --partial "no functional change in comment-only.patch"
    [ ! -e out/comment-only.livepatch ]
}

@test "a change to existing data is refused naming the object and the symbol" {
    need_tools
    run lpb -p "$P/data-change.patch" -o out
    assert_failure 1
    assert_output --partial "xen/common/domctl.o"
    assert_output --partial "domctl_table"
    [ ! -e out/data-change.livepatch ]
}

@test "code below a hunk keeps its line numbers, so a line shift patches nothing extra" {
    need_tools
    run lpb -p "$P/line-shift.patch" -o out --json out.json
    assert_success
    grep -q '"functions": \["sched_prio"\]' out.json
    # The function below the hunk compiled to the same bytes in both builds.
    w=out/work-line-shift
    objcopy -O binary --only-section=.text.sched_line "$w/original/xen/common/sched.o" a.bin
    objcopy -O binary --only-section=.text.sched_line "$w/patched/xen/common/sched.o" b.bin
    cmp a.bin b.bin
}

@test "--no-fix-lines leaves line numbers alone, so the shifted function is patched too" {
    need_tools
    run lpb -p "$P/line-shift.patch" -o out --json out.json --no-fix-lines
    assert_success
    grep -q '"sched_line"' out.json
}

@test "the same inputs twice give byte-identical payloads, cached or not" {
    need_tools
    lpb -p "$P/fix-domctl-bounds.patch" -o out1
    lpb -p "$P/fix-domctl-bounds.patch" -o out2 --no-cache
    cmp out1/fix-domctl-bounds.livepatch out2/fix-domctl-bounds.livepatch
}

@test "a second patch against the same tree reuses the cached unpatched build" {
    need_tools
    lpb -p "$P/fix-domctl-bounds.patch" -o out1 --cache-dir "$T/c"
    run lpb -p "$P/line-shift.patch" -o out2 --cache-dir "$T/c"
    assert_success
    assert_output --partial "unpatched build reused from cache"
    [ ! -e out2/build_original.log ]
}

@test "--stack builds a series in which each payload depends on the one before" {
    need_tools
    run lpb -o out --stack "$P/fix-domctl-bounds.patch" "$P/stack-on-fix.patch"
    assert_success
    image=$(grep -o '/[^ ]*/xen/xen-syms' <<<"$output" | head -n1)
    img_id=$(lp-buildid "$image")
    first=out/fix-domctl-bounds.livepatch second=out/stack-on-fix.livepatch
    [ "$(note_id "$first" .livepatch.depends)" = "$img_id" ]
    [ "$(note_id "$second" .livepatch.depends)" = "$(lp-buildid "$first")" ]
    [ "$(note_id "$second" .livepatch.xen_depends)" = "$img_id" ]
}

@test "--depends takes a hex id or the predecessor payload to read it from" {
    need_tools
    lpb -p "$P/fix-domctl-bounds.patch" -o out1
    id=$(lp-buildid out1/fix-domctl-bounds.livepatch)
    lpb -p "$P/line-shift.patch" -o out2 --depends out1/fix-domctl-bounds.livepatch
    [ "$(note_id out2/line-shift.livepatch .livepatch.depends)" = "$id" ]
    lpb -p "$P/line-shift.patch" -o out3 --depends 00112233445566778899aabbccddeeff
    [ "$(note_id out3/line-shift.livepatch .livepatch.depends)" = 00112233445566778899aabbccddeeff ]
}

@test "-p given twice combines the patches into one cumulative payload" {
    need_tools
    run lpb -p "$P/fix-domctl-bounds.patch" -p "$P/line-shift.patch" -o out --json out.json
    assert_success
    [ -f out/fix-domctl-bounds.livepatch ]
    grep -q '"do_domctl"' out.json
    grep -q '"sched_prio"' out.json
    run readelf -p .modinfo out/fix-domctl-bounds.livepatch
    assert_output --partial "patch=fix-domctl-bounds.patch"
    assert_output --partial "patch=line-shift.patch"
}

@test "an object that exists only in the patched build is carried whole" {
    need_tools
    run lpb -p "$P/new-object.patch" -o out --json out.json
    assert_success
    assert_output --partial "new object, carried whole: xen/common/extra.o"
    grep -q '"objects_new": \["xen/common/extra.o"\]' out.json
    run nm out/new-object.livepatch
    assert_output --partial extra_bump
}

@test "--json summarises the payload, its ids, functions, objects and stage timings" {
    need_tools
    lpb -p "$P/fix-domctl-bounds.patch" -o out --json out.json
    id=$(lp-buildid out/fix-domctl-bounds.livepatch)
    grep -q "\"build_id\": \"$id\"" out.json
    grep -q '"functions_patched": 1' out.json
    grep -q '"objects_changed": \["xen/common/domctl.o"\]' out.json
    grep -q '"timings_ms": {"build_original": ' out.json
}

@test "--json is written on failure too: ok false, the stage and the reason" {
    need_tools
    run lpb -p "$P/does-not-apply.patch" -o out --json out.json
    assert_failure 1
    grep -q '"ok": false' out.json
    grep -q '"stage": "prepare:does-not-apply"' out.json
    grep -q '"error": "patch does-not-apply.patch does not apply: ' out.json
    run lpb -p "$P/data-change.patch" -o out2 --json out2.json
    assert_failure 1
    grep -q '"stage": "diff:data-change"' out2.json
    grep -q '"error": "1 object(s) hold changes a live patch cannot carry: xen/common/domctl.o: ' out2.json
    lpb -p "$P/fix-domctl-bounds.patch" -o out3 --json out3.json
    grep -q '"ok": true' out3.json
    run grep -c '"stage"' out3.json
    assert_output 0
    # Written whole: no temporary file is left beside it.
    [ "$(ls "$T" | grep -c 'json.tmp')" = 0 ]
}

@test "a patched build that does not compile quotes the compiler's first error, not its command line" {
    need_tools
    sed -e 's/^+    if (idx >= 4)$/+    if (idx >= 4) undeclared_thing;/' "$P/fix-domctl-bounds.patch" >"$T/broken.patch"
    run lpb -p "$T/broken.patch" -o out
    assert_failure 1
    assert_output --partial "patched build failed, see $T/out/build_patched-broken.log: common/domctl.c:"
    assert_output --regexp "common/domctl.c:[0-9]+:[0-9]+: error: .undeclared_thing. undeclared"
    refute_output --partial "-Werror"
}

@test "--sign signs every payload of a stack as its last step; the signed payloads check with the key" {
    need_tools
    openssl genrsa -out "$T/key.pem" 2048 2>/dev/null
    openssl rsa -in "$T/key.pem" -pubout -out "$T/pub.pem" 2>/dev/null
    openssl genrsa -out "$T/other.pem" 2048 2>/dev/null
    run lpb --stack "$P/fix-domctl-bounds.patch" "$P/stack-on-fix.patch" -o out --sign "$T/key.pem"
    assert_success
    assert_output --partial "fix-domctl-bounds.livepatch signed with $T/key.pem (current form)"
    image=$(ls "$LIVEPATCH_BUILD_CACHE"/*/xen/xen-syms | head -n 1)
    run livepatch-tool check --image "$image" out/fix-domctl-bounds.livepatch out/stack-on-fix.livepatch \
        --verify-key "$T/pub.pem" --require-signature
    assert_success
    run livepatch-tool check --image "$image" out/fix-domctl-bounds.livepatch --verify-key "$T/other.pem"
    assert_failure 3
    # The build id (what the next payload depends on) is the unsigned payload's.
    [ "$(livepatch-tool info out/stack-on-fix.livepatch | awk '/^depends:/ {print $2}')" = \
      "$(lp-buildid out/fix-domctl-bounds.livepatch)" ]
}

@test "--sign with a key that is not an RSA private key fails and leaves no payload" {
    need_tools
    printf 'not a key\n' >"$T/bad.pem"
    run lpb -p "$P/fix-domctl-bounds.patch" -o out --sign "$T/bad.pem"
    assert_failure 1
    assert_output --partial "signing fix-domctl-bounds.livepatch with $T/bad.pem failed"
    [ ! -e out/fix-domctl-bounds.livepatch ]
    run lpb -p "$P/fix-domctl-bounds.patch" -o out2 --sign "$T/missing.pem"
    assert_failure 1
    assert_output --partial "--sign: cannot read the key $T/missing.pem"
}

@test "a changed struct layout used by patched code is refused, unless reviewed with --allow-layout-change, which .modinfo records" {
    need_tools
    printf 'struct session { int id; int count; };\nint session_bump(struct session *s)\n{\n    return ++s->count;\n}\n' \
        >>"$T/src/xen/common/sched.c"
    mkdir -p a/xen/common b/xen/common
    cp "$T/src/xen/common/sched.c" a/xen/common/
    sed -e 's/struct session { int id; int count; };/struct session { int id; int lock; int count; };/' \
        -e 's/return ++s->count;/return s->lock ? 0 : ++s->count;/' \
        "$T/src/xen/common/sched.c" >b/xen/common/sched.c
    diff -u a/xen/common/sched.c b/xen/common/sched.c >"$T/layout.patch" || true
    run lpb -p "$T/layout.patch" -o out
    assert_failure 1
    assert_output --partial "struct session"
    assert_output --partial "member lock appeared at offset 4"
    assert_output --partial "session_bump"
    run lpb -p "$T/layout.patch" -o out2 --allow-layout-change 'struct session'
    assert_success
    readelf -p .modinfo out2/layout.livepatch | grep -q 'allowed_layout=struct session'
}

# Debian's Xen is built without -g: the changed units are compiled again with -g
# ("layout twins", from the command livepatch-gcc kept) so the layouts are still checked.
@test "in a tree built without -g a changed struct layout is refused all the same, through layout twins" {
    need_tools
    sed -i 's/ -O2 -g / -O2 /' "$T/src/xen/Makefile"
    printf 'struct session { int id; int count; };\nint session_bump(struct session *s)\n{\n    return ++s->count;\n}\n' \
        >>"$T/src/xen/common/sched.c"
    mkdir -p a/xen/common b/xen/common
    cp "$T/src/xen/common/sched.c" a/xen/common/
    sed -e 's/struct session { int id; int count; };/struct session { int id; int lock; int count; };/' \
        -e 's/return ++s->count;/return s->lock ? 0 : ++s->count;/' \
        "$T/src/xen/common/sched.c" >b/xen/common/sched.c
    diff -u a/xen/common/sched.c b/xen/common/sched.c >"$T/layout.patch" || true
    before=$(tree_sum "$T/src")
    run lpb -p "$T/layout.patch" -o out
    assert_failure 1
    assert_output --partial "layout twins: 2 unit(s) without DWARF compiled again with -g"
    assert_output --partial "struct session"
    assert_output --partial "member lock appeared at offset 4"
    assert_output --partial "session_bump"
    refute_output --partial "cannot check data layouts"
    [ "$(tree_sum "$T/src")" = "$before" ]
    # Reviewed: the payload is made of the objects as built (no DWARF), not of the twins.
    run lpb -p "$T/layout.patch" -o out2 --allow-layout-change 'struct session'
    assert_success
    run readelf -S out2/layout.livepatch
    refute_output --partial ".debug_info"
    [ "$(tree_sum "$T/src")" = "$before" ]
}

@test "a compiler wrapper given in CC is honoured for every compile" {
    need_tools
    printf '#!/bin/bash\necho "$*" >>"%s/wrapped"\nexec "$@"\n' "$T" >"$T/wrap"
    chmod +x "$T/wrap"
    CC="$T/wrap gcc" run lpb -p "$P/fix-domctl-bounds.patch" -o out --cache-dir "$T/c"
    assert_success
    grep -q -- '-ffunction-sections -fdata-sections' "$T/wrapped"
    grep -q 'common/domctl.c' "$T/wrapped"
}

@test "-k diff builds only, then -k build diffs what was built" {
    need_tools
    run lpb -p "$P/fix-domctl-bounds.patch" -o out -k diff
    assert_success
    [ ! -e out/fix-domctl-bounds.livepatch ]
    run lpb -p "$P/fix-domctl-bounds.patch" -o out -k build
    assert_success
    [ -f out/fix-domctl-bounds.livepatch ]
}

@test "a payload the loader would refuse is an error quoting the loader's reason" {
    need_tools
    run lpb -p "$P/fix-domctl-bounds.patch" -o out --xen-depends 00112233445566778899aabbccddeeff00112233
    assert_failure 1
    assert_output --partial "the loader would refuse fix-domctl-bounds.livepatch: fix-domctl-bounds: .livepatch.xen_depends: built for image 00112233445566778899aabbccddeeff00112233"
    assert_output --partial "(EINVAL)"
    [ ! -e out/fix-domctl-bounds.livepatch ]
}

@test "--xen-depends reads the id from an image file such as xen.gz" {
    need_tools
    run lpb -p "$P/fix-domctl-bounds.patch" -o out1
    assert_success
    image=$(grep -o '/[^ ]*/xen/xen-syms' <<<"$output" | head -n1)
    gzip -n -c "$image" >xen.gz
    lpb -p "$P/fix-domctl-bounds.patch" -o out2 --xen-depends xen.gz
    cmp out1/fix-domctl-bounds.livepatch out2/fix-domctl-bounds.livepatch
}

@test "--prelink and --strip give payloads the loader accepts" {
    need_tools
    run lpb -p "$P/fix-domctl-bounds.patch" -o out1 --prelink
    assert_success
    run lpb -p "$P/fix-domctl-bounds.patch" -o out2 --strip
    assert_success
    image=$(grep -o '/[^ ]*/xen/xen-syms' <<<"$output" | head -n1)
    run livepatch-tool check --image "$image" out1/fix-domctl-bounds.livepatch
    assert_success
    run livepatch-tool check --image "$image" out2/fix-domctl-bounds.livepatch
    assert_success
}

@test "the driver finds its tools in the source tree's build when they are not on PATH" {
    # The source tree's layout, copied from the build under test (so the test needs no
    # build/release): the driver next to the tools it runs.
    mkdir -p lp/build/release/bin
    lp_tools
    for t in "${TOOLS[@]}"; do
        cp "$t" lp/build/release/bin/
    done
    drv=lp/build/release/bin/livepatch-build
    PATH=/usr/bin:/bin run "$T/$drv" -s "$T/src" -c "$T/src/config" \
        -p "$P/fix-domctl-bounds.patch" -o out
    assert_success
    [ -f out/fix-domctl-bounds.livepatch ]
}

@test "a payload over the loader's 2 MiB limit loses its debug sections, with a warning" {
    need_tools
    # A fix that brings a type with 60,000 members: megabytes of debug information.
    mkdir -p a/xen/common b/xen/common
    cp src/xen/common/domctl.c a/xen/common/
    {
        echo 'struct big {'
        for ((i = 1; i <= 60000; i++)); do echo "    int member_with_a_long_name_$i;"; done
        echo '};'
        echo 'struct big *big_state;'
        sed 's/    return domctl_table\[idx\] \* 3 + idx;/    return domctl_table[idx] * 3 + idx + (big_state ? big_state->member_with_a_long_name_7 : 0);/' \
            src/xen/common/domctl.c
    } > b/xen/common/domctl.c
    diff -ruN a b > big.patch || true
    run lpb -p big.patch -o out
    assert_success
    assert_output --partial "over the loader's 2 MiB limit: debug sections removed"
    [ "$(stat -c %s out/big.livepatch)" -le 2097152 ]
    run readelf -SW out/big.livepatch
    refute_output --partial ".debug_info"
    assert_output --partial ".livepatch.funcs"
}

@test "a make that runs livepatch-build does not pass its flags into our builds" {
    need_tools
    MAKEFLAGS="s -j1" MAKELEVEL=1 run lpb -p "$P/fix-domctl-bounds.patch" -o out
    assert_success
    grep -q -- '-c .*domctl.c' out/build_patched-fix-domctl-bounds.log
}
