#!/usr/bin/env bats
# The target image as create-diff-object reads it: mapped, only its symbol table,
# build id and DWARF types indexed (lpi_open), and one index for many object pairs
# (create-diff-object --pairs, lp-build-helper diff).  The reference for what the index
# must say is the full ELF model (lpe_open + lpi_from_elf), which reads everything.

load test_helper

# An image like the diff suite's, with locals of the same name in two files.
make_image() {
    diff_case basic
    mkdir -p one two
    printf 'static int __attribute__((noinline)) dup(int x) { return x + 1; }\nint f1(int x) { return dup(x); }\n' >one/x.c
    printf 'static int __attribute__((noinline)) dup(int x) { return x + 2; }\nint f2(int x) { return dup(x); }\n' >two/x.c
    (cd one && cc_obj ../x1.o x.c)
    (cd two && cc_obj ../x2.o x.c)
    link_image image orig.o main.o x1.o x2.o
}

@test "the mapped index lists what the full model lists: names, sizes, bytes, build id" {
    make_image
    image-both model image >model.txt
    run image-both view image
    assert_success
    diff model.txt <(echo "$output")
    run image-both memory image
    assert_success
    diff model.txt <(echo "$output")
    grep -q '^x\.c#dup (dup in x\.c) .* ambiguous' model.txt
    grep -q "^build-id $(build_id image)\$" model.txt
    grep -q '^common/basic\.c#' model.txt
}

@test "look-ups that scan the symbol table and look-ups through the index give the same answers" {
    make_image
    image-both model image 0 >model.txt
    # Every look-up a scan, every one through the index, and the default (a few scans first).
    for scans in 1000000 0 8; do
        run image-both view image "$scans"
        assert_success
        diff model.txt <(echo "$output")
    done
    grep -qx 'lookup x\.c#dup: error [0-9]*' model.txt
    grep -qx 'lookup main: 0x[0-9a-f]*' model.txt
    grep -qx 'lookup no-such: error [0-9]*' model.txt
    [ "$(grep -c ' ambiguous' model.txt)" -ge 2 ]
}

@test "the DWARF entry sizes read through the index are the model's" {
    diff_case special
    cc_hv full.o "$LP_ROOT/test/data/diff/dwarf/full.c" full.c
    link_image image orig.o main.o full.o
    run image-both view image
    assert_success
    assert_line "dwarf bug_frame 0 exception_table_entry 12 alt_instr 0"
    diff <(image-both model image) <(echo "$output")
}

# break_image NAME HOW...: a copy of image broken one way (payload-mutate's words, or
# "truncate N").
break_image() {
    local name=$1
    shift
    cp image "$name"
    if [ "$1" = truncate ]; then
        truncate -s "$2" "$name"
    else
        payload-mutate "$name" "$@" >/dev/null
    fi
}

@test "a truncated or corrupt image is refused with the full reader's message" {
    make_image
    size=$(stat -c %s image)
    symtab_off=$((16#$(readelf -SW image | awk '$2 == ".symtab" {print $5}')))
    break_image t0 truncate 0
    break_image t10 truncate 10
    break_image t63 truncate 63
    break_image tsym truncate $((symtab_off + 100))
    break_image tend truncate $((size - 1))
    break_image symoff offset .symtab $((size + 4096))
    break_image stroff offset .strtab $((size - 8))
    break_image strtype shtype .strtab 1
    break_image shndx symshndx f1 999
    break_image symsize size .symtab 25
    break_image shoff shoff $((size * 2))
    # The first symbol's name offset (bytes 24..27 of .symtab) far past .strtab.
    break_image stname byte .symtab 26 255
    for f in t0 t10 t63 tsym tend symoff stroff strtype shndx symsize shoff stname; do
        run elf-roundtrip "$f" out.o
        assert_failure
        want=${output#elf-roundtrip: }
        [ -n "$want" ]
        run image-syms "$f"
        assert_failure
        [ "$output" = "image-syms: $want" ] || { echo "$f: got '$output', want '$want'" >&2; false; }
        run create-diff-object orig.o patched.o "$f" out.o
        assert_equal "$status" 1
        assert_output "create-diff-object: $want"
        [ ! -e out.o ]
    done
    # The messages say where and why.
    run image-syms tsym
    assert_output --partial "tsym: "
    run image-syms stname
    assert_output --partial "symbol 1: name offset"
    run image-syms shndx
    assert_output --regexp "symbol [0-9]+ \\(f1\\): section index 999 out of range"
}

@test "a stripped, missing or non-executable image: the same refusals as before" {
    diff_case basic
    strip -o stripped image
    run create-diff-object orig.o patched.o stripped out.o
    assert_equal "$status" 1
    assert_output --partial "stripped: image has no symbol table (stripped?)"
    run create-diff-object orig.o patched.o missing out.o
    assert_equal "$status" 1
    assert_output "create-diff-object: missing: cannot open: No such file or directory"
    run create-diff-object orig.o patched.o . out.o
    assert_equal "$status" 1
    assert_output "create-diff-object: .: not a regular file"
    run create-diff-object orig.o patched.o orig.o out.o
    assert_equal "$status" 1
    assert_output "create-diff-object: orig.o: not an executable image (ELF type 1)"
}

# Pairs of every outcome against one image: written (basic, special, cold), refused
# (too-small: exit 2), no change (orig against itself: 3), error (a truncated object: 1).
make_pairs() {
    local c
    mkdir -p cases
    for c in basic special cold too-small; do
        (mkdir -p "cases/$c" && cd "cases/$c" && diff_case "$c") || return 1
        cp "cases/$c/orig.o" "$c.orig.o"
        cp "cases/$c/patched.o" "$c.patched.o"
    done
    cp basic.orig.o same.orig.o
    cp basic.orig.o same.patched.o
    head -c 100 basic.patched.o >trunc.patched.o
    cp basic.orig.o trunc.orig.o
    # One image holding every case's original functions.
    cc_hv main.o "$LP_ROOT/test/data/diff/main.c" main.c
    link_image image cases/*/orig.o main.o 2>/dev/null ||
        link_image image cases/basic/orig.o main.o
    PAIRS=(basic special cold too-small same trunc)
}

@test "--pairs: each pair's status, output and messages are its own run's, byte for byte" {
    make_pairs
    for flags in "" "-d" "-r"; do
        rm -rf single multi
        mkdir -p single multi
        : >list
        for p in "${PAIRS[@]}"; do
            set +e
            # shellcheck disable=SC2086
            create-diff-object $flags "$p.orig.o" "$p.patched.o" image "single/$p.o" \
                2>"single/$p.log"
            echo "$? single/$p.o" | sed 's/ /\t/; s/single/multi/' >>single/status
            set -e
            printf '%s\t%s\t%s\t%s\n' "$p.orig.o" "$p.patched.o" "multi/$p.o" "multi/$p.log" >>list
        done
        # shellcheck disable=SC2086
        run create-diff-object $flags --pairs list image
        assert_success
        [ "${lines[0]}" = "create-diff-object pairs 1" ]
        diff single/status <(printf '%s\n' "${lines[@]:1}")
        for p in "${PAIRS[@]}"; do
            diff <(sed "s#single/#multi/#g" "single/$p.log") "multi/$p.log"
            if [ -e "single/$p.o" ]; then cmp "single/$p.o" "multi/$p.o"; else [ ! -e "multi/$p.o" ]; fi
        done
    done
    # Every outcome was seen.
    cut -f1 single/status | sort -u | tr '\n' ' ' | grep -qx '0 1 2 3 '
}

@test "--pairs: the image's error is each pair's, a bad line is reported and skipped" {
    make_pairs
    truncate -s 1000 image
    create-diff-object basic.orig.o basic.patched.o image one.o 2>one.log && false
    printf 'basic.orig.o basic.patched.o out1.o l1\n\nonly two\ntrunc.orig.o trunc.patched.o out2.o l2\nsame.orig.o same.patched.o out3.o\n' >list
    create-diff-object --pairs - image <list >status.txt 2>err.txt
    printf 'create-diff-object pairs 1\n1\tout1.o\n1\t-\n1\tout2.o\n1\tout3.o\n' | diff - status.txt
    grep -qx 'create-diff-object: -:3: expected ORIG.o PATCHED.o OUT.o \[LOG\], got 2 fields' err.txt
    # The pair without a LOG wrote its message on stderr.
    grep -qx 'create-diff-object: image: section header table past end of file .*' err.txt
    cmp one.log l1
    # The truncated object is named first, as a run of its own names it.
    grep -q 'trunc.patched.o' l2
    run create-diff-object --pairs missing.list image
    assert_failure
    assert_output --partial "missing.list: No such file or directory"
    run create-diff-object --json x.json --pairs - image
    assert_failure
    assert_output --partial "--json is for one pair"
}

@test "lp-build-helper diff: one worker per job, statuses and logs as one process per pair" {
    make_pairs
    mkdir -p w/original w/patched
    for p in "${PAIRS[@]}"; do
        cp "$p.orig.o" "w/original/$p.o"
        cp "$p.patched.o" "w/patched/$p.o"
    done
    objs=()
    for p in "${PAIRS[@]}"; do objs+=("$p.o"); done
    cdo=$(command -v create-diff-object)
    # A wrapper that counts the processes started.
    printf '#!/bin/sh\necho "$*" >>%s/starts\nexec %s "$@"\n' "$T" "$cdo" >counting
    chmod +x counting
    run lp-build-helper diff --work w --image image --cdo "$T/counting" --log all.log -j 2 "${objs[@]}"
    assert_success
    pairs_out=$output
    [ "$(grep -c -- '--pairs' starts)" -le 2 ]
    [ "$(wc -l <starts)" -le 2 ]
    cp -r w/logs pairs-logs
    cp -r w/output pairs-output
    cp all.log pairs-all.log
    rm -f starts
    run lp-build-helper diff --work w --image image --cdo "$T/counting" --log all.log -j 2 \
        --one-per-pair "${objs[@]}"
    assert_success
    [ "$output" = "$pairs_out" ]
    [ "$(wc -l <starts)" -eq "${#objs[@]}" ]
    diff -r pairs-logs w/logs -x .create-diff-object.log
    diff -r pairs-output w/output
    cmp pairs-all.log all.log
    assert_line "0 basic.o"
    assert_line "2 too-small.o"
    assert_line "3 same.o"
    assert_line "1 trunc.o"
}

@test "lp-build-helper diff: a worker that dies costs only the pair it held" {
    # A stand-in speaking --pairs that crashes on b.o and refuses a.o.
    cat >cdo <<'EOS'
#!/bin/bash
echo "create-diff-object pairs 1"
echo "started $$" >>"$(dirname "$0")/starts"
while IFS=$'\t' read -r orig patched out log; do
    echo "diffing $patched" >"$log"
    case $patched in
    *a.o) echo "2	$out" ;;
    *b.o) kill -SEGV $$ ;;
    *) echo "0	$out" ;;
    esac
done
EOS
    chmod +x cdo
    mkdir -p w/original w/patched
    for o in a b c d; do touch "w/original/$o.o" "w/patched/$o.o"; done
    run lp-build-helper diff --work w --image image --cdo "$T/cdo" --log all.log -j 1 a.o b.o c.o d.o
    assert_success
    assert_line "2 a.o"
    assert_line "139 b.o"
    assert_line "0 c.o"
    assert_line "0 d.o"
    grep -q 'diffing w/patched/b.o' w/logs/b.o.log
    grep -q '^== b.o (exit 139)' all.log
    [ "$(wc -l <starts)" -eq 2 ]
}
