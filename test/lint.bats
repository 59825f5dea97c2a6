#!/usr/bin/env bats
# Tests that can fail: bats runs each test with `set -e`, and bash does not stop on a
# failure inside `A && B` unless it is the last command of the list, so a line such as
# `[ -f x ] && [ -f y ]` checks only y.  No test line may join checks that way.

load test_helper

# find_joined FILE...: "FILE:LINE: TEXT" for every line inside a @test that joins
# [ ] / [[ ]] checks with && (a `&& break`, `&& {`, or `|| ...` is control flow, not a check).
find_joined() {
    awk '
        /^@test / { t = 1; next }
        t && /^}/ { t = 0; next }
        t && /&&/ && !/\|\|/ {
            line = $0; sub(/^[ \t]+/, "", line)
            n = split(line, part, / && /); checks = n > 1
            for (i = 1; i <= n; i++)
                if (part[i] !~ /^!? *\[\[? .*\]\]?$/) checks = 0
            if (checks) printf "%s:%d: %s\n", FILENAME, FNR, line
        }' "$@"
}

@test "no test joins checks with && (all but the last would go unchecked)" {
    printf '@test "x" {\n    [ -f a ] && [ -f b ]\n    [ -f c ] && break\n    true\n}\n' > sample.bats
    run find_joined sample.bats
    assert_output "sample.bats:2: [ -f a ] && [ -f b ]"
    run find_joined "$LP_ROOT"/test/*.bats "$LP_ROOT"/test/xen/*.bats
    assert_success
    assert_output ""
}
