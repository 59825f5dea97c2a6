#!/usr/bin/env bats
# The payload fuzz target builds and survives a short run (needs clang with libFuzzer).

load test_helper

need_fuzzer() {
    command -v clang >/dev/null || skip "clang is not installed"
    echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' > probe.c
    clang -fsanitize=fuzzer probe.c -o probe 2>/dev/null || skip "clang has no libFuzzer runtime"
    make -s -C "$LP_ROOT" fuzz >/dev/null
}

# The corpus keeps every input that once crashed the loader; each must now be
# refused cleanly (e.g. a .modinfo whose unterminated last string is "na").
@test "every saved fuzz input, past crashes included, replays without a sanitizer report" {
    need_fuzzer
    run "$LP_ROOT/build/fuzz/fuzz_payload" -runs=0 "$LP_ROOT"/fuzz/corpus/*
    assert_success
    refute_output --partial "ERROR: AddressSanitizer"
    refute_output --partial "runtime error"
    assert_output --partial "modinfo-unterminated-name.bin"
    # lpl_info: .livepatch.funcs aligned to 2^59 (a ~2^59-byte calloc); lps_prepare: a
    # .shstrtab aligned to 2^60 (the moved name table asked for as much).
    assert_output --partial "loader-oom-align.bin"
    assert_output --partial "sign-shstrtab-align.bin"
}

@test "the payload fuzz target runs for a few seconds without a crash" {
    need_fuzzer
    mkdir corpus
    cp "$LP_ROOT"/fuzz/corpus/* corpus/ 2>/dev/null || true
    run "$LP_ROOT/build/fuzz/fuzz_payload" -max_total_time=5 -rss_limit_mb=2048 corpus
    assert_success
    refute_output --partial "ERROR: AddressSanitizer"
}
