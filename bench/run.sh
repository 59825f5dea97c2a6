#!/usr/bin/env bash
# Run every benchmark script (bench/*.sh except this one) and print their figures.
# Benchmarks print numbers; they never fail a build for being slow.
set -u
cd "$(dirname "$0")/.."
: "${LP_BUILD:=$PWD/build/release}"
export LP_BUILD LP_ROOT="$PWD"
export PATH="$LP_BUILD/bin:$LP_BUILD/test/helpers:$PATH"
status=0
for b in bench/*.sh; do
    [ "$b" = bench/run.sh ] && continue
    echo "== $(basename "$b" .sh)"
    bash "$b" || { echo "benchmark $b failed"; status=1; }
done
exit $status
