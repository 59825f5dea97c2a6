#!/usr/bin/env bats
# The libFuzzer targets (fuzz/, docs/fuzzing.md) build, and every saved input of
# each (its seed corpus and every input that once crashed it, named crash-*) replays
# without a crash, a sanitizer report or a broken invariant.  The targets are always
# built with ASan+UBSan (UBSan aborts), into $LP_BUILD/fuzz.  Needs clang with its
# libFuzzer runtime, which scripts/install-deps.sh installs: no skip.

load test_helper

setup_file() {
    command -v clang >/dev/null || {
        echo "clang is missing: run scripts/install-deps.sh (make deps)" >&3
        return 1
    }
    make -s -C "$LP_ROOT/fuzz" OUT="$LP_BUILD/fuzz" -j"$(nproc)" >/dev/null
}

# replay TARGET: run TARGET once over each file of fuzz/corpus/TARGET.
replay() {
    local files=("$LP_ROOT/fuzz/corpus/$1"/*)
    [ -e "${files[0]}" ] || fail "fuzz/corpus/$1 is empty"
    [ -x "$LP_BUILD/fuzz/$1" ] || fail "$LP_BUILD/fuzz/$1 was not built"
    run "$LP_BUILD/fuzz/$1" -runs=0 -rss_limit_mb=2048 "${files[@]}"
    assert_success
    refute_output --partial "ERROR: AddressSanitizer"
    refute_output --partial "ERROR: LeakSanitizer"
    refute_output --partial "runtime error"
    # Every file was run (libFuzzer prints "Running: FILE" for each).
    [ "$(grep -c '^Running: ' <<<"$output")" -eq "${#files[@]}" ] ||
        fail "ran $(grep -c '^Running: ' <<<"$output") of ${#files[@]} inputs"
}

@test "every fuzz target has a corpus folder, and every corpus folder a target" {
    local t targets corpora
    # docs/fuzzing.md lists six targets.
    expect_files 6 targets "$LP_ROOT"/fuzz/fuzz_*.c
    for t in "${targets[@]}"; do
        t=$(basename "$t" .c)
        [ -d "$LP_ROOT/fuzz/corpus/$t" ] || fail "no fuzz/corpus/$t"
    done
    expect_files 6 corpora "$LP_ROOT"/fuzz/corpus/*/
    for t in "${corpora[@]}"; do
        t=$(basename "$t")
        [ -f "$LP_ROOT/fuzz/$t.c" ] || fail "fuzz/corpus/$t has no fuzz/$t.c"
    done
}

# The payload checker, lpl_info and the signature note reader/writer.  Past crashes:
# a .modinfo whose unterminated last string is "na"; .livepatch.funcs aligned to 2^59
# (a ~2^59-byte calloc in lpl_info); a .shstrtab aligned to 2^60 (lps_prepare).
@test "fuzz_payload: the corpus and past crash inputs replay cleanly" {
    replay fuzz_payload
    assert_output --partial "crash-modinfo-unterminated-name.bin"
    assert_output --partial "crash-loader-oom-align.bin"
    assert_output --partial "crash-sign-shstrtab-align.bin"
    # A SHT_NOBITS .note.Xen.signature with an offset past the file (pointer overflow).
    assert_output --partial "crash-signature-nobits-offset"
}

@test "fuzz_image: ELF, ELF32, xen.gz and PE build ids and the image reader replay cleanly" {
    replay fuzz_image
}

# Past crashes: a .comment of one NUL and no other (read past it); a section aligned to
# 2^32 (a 4 GiB payload object); a section symbol of .symtab (two symbol tables written).
# Then, under the names libFuzzer gave them (fuzz/open/README.md): a relocation to a place
# past 2^63 (signed overflow in diff_resolve: 45071619, fa99d9ad, fe8042f9; 2042fb2a,
# 39f09e89 and da02584b are now refused at open time, a symbol past its section); a 128 GiB
# .bss object (allocated to describe its change); a symbol of type 15 past its section
# (copied from wild memory when carried); an .init.text of type SHT_NULL with a size
# (memcmp of a null pointer).
@test "fuzz_object_diff: object pairs through the reader and the differ replay cleanly" {
    replay fuzz_object_diff
    assert_output --partial "crash-comment-unterminated-after-nul"
    assert_output --partial "crash-section-aligned-2p32"
    assert_output --partial "crash-section-symbol-of-symtab"
    assert_output --partial "crash-45071619527b9ff1a46a48c6360d415a4b9c7b85"
    assert_output --partial "crash-6b0253b28aebd4ca8ff5519d165bc0ade156a5a3"
    assert_output --partial "crash-8392750b6807b624f2df6a9d9b178549596b7e44"
    assert_output --partial "crash-4e2d9b861b55fe90aebb8f3051d31d5ca29ccad6"
}

# Past crash: an applied-record shorter than its 8-byte magic.
@test "fuzz_apply_revert: payloads and applied-records on the sample image replay cleanly" {
    replay fuzz_apply_revert
    assert_output --partial "crash-record-shorter-than-magic"
}

# Past crash: a macro continued with "\\\r\n" got a #line inside it.
@test "fuzz_fixlines: source pairs replay with every output invariant holding, CRLF included" {
    replay fuzz_fixlines
    assert_output --partial "crash-crlf-macro-continuation"
}

@test "fuzz_notes: .modinfo and ELF notes in a payload replay cleanly" {
    replay fuzz_notes
}
