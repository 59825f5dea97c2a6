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
