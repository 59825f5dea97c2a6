#!/usr/bin/env bats
# The payload fuzz target builds and survives a short run (needs clang with libFuzzer).

load test_helper

@test "the payload fuzz target runs for a few seconds without a crash" {
    command -v clang >/dev/null || skip "clang is not installed"
    echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' > probe.c
    clang -fsanitize=fuzzer probe.c -o probe 2>/dev/null || skip "clang has no libFuzzer runtime"
    make -s -C "$LP_ROOT" fuzz >/dev/null
    mkdir corpus
    cp "$LP_ROOT"/fuzz/corpus/* corpus/ 2>/dev/null || true
    run "$LP_ROOT/build/fuzz/fuzz_payload" -max_total_time=5 -rss_limit_mb=2048 corpus
    assert_success
    refute_output --partial "ERROR: AddressSanitizer"
}
