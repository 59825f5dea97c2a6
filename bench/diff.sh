#!/usr/bin/env bash
# create-diff-object on a unit with 20,000 functions of which one changed.
# Prints wall time and peak RSS (target: < 0.5 s and < 200 MB on 2 cores), and what one
# start of the program costs (it starts once per object pair when run by hand or a script).
set -euo pipefail
: "${LP_BUILD:?run through make bench}"
N=${BENCH_FUNCS:-20000}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
gen() { # gen CHANGED_INDEX
    echo '#pragma GCC visibility push(hidden)'
    echo 'int sink;'
    for ((i = 0; i < N; i++)); do
        k=$i
        [ "$i" -eq "$1" ] && k=$((i + 1000003))
        echo "int __attribute__((noinline)) fn_$i(int x) { sink += x; return x * $k + sink; }"
    done
    echo 'int main(void) { return 0; }'
}
F="-O2 -ffunction-sections -fdata-sections -fpic -fno-asynchronous-unwind-tables"
gen -1 > big.c
gcc $F -c big.c -o orig.o
gen $((N / 2)) > big.c
gcc $F -c big.c -o patched.o
gcc -static -no-pie -Wl,--build-id=sha1 orig.o -o image
start=$(date +%s.%N)
/usr/bin/env time -f '%e %M' -o t.txt "$LP_BUILD/bin/create-diff-object" orig.o patched.o image out.o 2>/dev/null || true
end=$(date +%s.%N)
read -r wall rss < t.txt
echo "functions:        $N (one changed)"
echo "payload funcs:    $(readelf -rW out.o | grep -c 'R_X86_64_64.*\.livepatch\.strings' || true)"
echo "wall time:        ${wall} s   (target < 0.5 s; shell-measured $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.3f", b-a}') s)"
echo "peak RSS:         $((rss / 1024)) MB   (target < 200 MB)"
t0=$(date +%s%N)
for ((i = 0; i < 200; i++)); do "$LP_BUILD/bin/create-diff-object" --version >/dev/null; done
t1=$(date +%s%N)
echo "process start:    $(((t1 - t0) / 200000)) us a --version run (wall, fork and exec included; mean of 200)"
