#!/usr/bin/env bash
# Run every C unit test and bats suite, print their TAP, and end with one line
# "N passed, N failed[, N skipped]".  Exit status is non-zero on any failure.
# Usage: LP_BUILD=<build dir> test/run-tests.sh [bats files...]
# With bats files named, only those run (no C unit tests).
set -u
cd "$(dirname "$0")/.."
: "${LP_BUILD:=$PWD/build/release}"
export LP_BUILD LP_ROOT="$PWD"
export PATH="$LP_BUILD/bin:$LP_BUILD/test/helpers:$PATH"

pass=0 fail=0 skip=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() { # count TAP results of the file $log
    local p f s
    s=$(grep -cE '^ok [0-9]+.*# [Ss][Kk][Ii][Pp]' "$log")
    p=$(grep -cE '^ok [0-9]+' "$log")
    f=$(grep -cE '^not ok [0-9]+' "$log")
    pass=$((pass + p - s)); fail=$((fail + f)); skip=$((skip + s))
}

# Every unit test test/unit/*.c must have been built: a missing one is a failure, not
# a test that silently did not run.
if [ $# -eq 0 ]; then
    for src in test/unit/*.c; do
        t=$LP_BUILD/test/unit/$(basename "$src" .c)
        [ -x "$t" ] && continue
        echo "not ok - unit test $(basename "$src" .c) is not built in $LP_BUILD/test/unit (run make tests)"
        fail=$((fail + 1))
    done
fi
for t in "$LP_BUILD"/test/unit/*; do
    [ $# -eq 0 ] && [ -x "$t" ] || continue
    echo "# unit: $(basename "$t")"
    "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    count
    if [ $rc -ne 0 ] && ! grep -qE '^not ok' "$log"; then
        echo "not ok - $(basename "$t") exited with status $rc"
        fail=$((fail + 1))
    fi
done

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(test/*.bats)
if [ -e "${suites[0]}" ]; then
    echo "# bats: ${suites[*]}"
    bats --tap "${suites[@]}" >"$log" 2>&1
    rc=$?
    cat "$log"
    count
    if [ $rc -ne 0 ] && ! grep -qE '^not ok' "$log"; then
        echo "not ok - bats exited with status $rc"
        fail=$((fail + 1))
    fi
fi

summary="$pass passed, $fail failed"
[ $skip -gt 0 ] && summary="$summary, $skip skipped"
echo "$summary"
[ $fail -eq 0 ]
