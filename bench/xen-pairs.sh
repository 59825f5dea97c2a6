#!/usr/bin/env bash
# create-diff-object against upstream's, on the real object pairs a kept bench/xen-build.sh
# run left (BENCH_KEEP=1 prints its work folder): per pair, CPU ms and page faults of one
# process, ours and upstream's in turn, twice (perf stat, the same OUT replaced each run);
# ours in --pairs mode (CPU per pair over 20 copies); and CPU per run of each tool writing a
# new OUT each run (bash's `times` over the runs: the children's user+sys).
#   BENCH_WORK=DIR             the kept work folder (its `pairs` file and cache entry)
#   BENCH_CDO_UPSTREAM=PROGRAM upstream's create-diff-object (see docs/benchmarks.md)
#   BENCH_REPS=N               runs per measurement (default 100)
# Prints figures; never fails for being slow.  Skipped without the folder, the tool or perf.
set -euo pipefail
: "${LP_BUILD:?run through make bench}"
W=${BENCH_WORK:-}
UP=${BENCH_CDO_UPSTREAM:-}
if [ -z "$W" ] || [ ! -s "$W/pairs" ] || [ -z "$UP" ] || ! command -v perf >/dev/null; then
    echo "skipped: needs BENCH_WORK (a kept bench/xen-build.sh folder), BENCH_CDO_UPSTREAM and perf"
    exit 0
fi
IMAGE=$(ls "$W"/cache-one/*/xen/xen-syms | head -n1)
REPS=${BENCH_REPS:-100}
OURS=$LP_BUILD/bin/create-diff-object
O=$(mktemp -d)
trap 'rm -rf "$O"' EXIT
# The entry sizes upstream's livepatch-build exports (Xen 4.17 x86), which its tool needs.
export BUG_STRUCT_SIZE=8 EX_STRUCT_SIZE=8 ALT_STRUCT_SIZE=14

# perf_row PROGRAM ARG...: "CPU_MS/FAULTS" per run over REPS runs (a refusal, exit 2, counts
# as a run like any other)
perf_row() {
    { perf stat -r "$REPS" "$@" 2>&1 >/dev/null || true; } |
        awk '/task-clock/ { t = $1 } /page-faults/ { f = $1 } END { printf "%s/%s", t, f }'
}
# new_out PROGRAM ORIG PATCHED: CPU ms per run over REPS runs, each writing a new OUT
new_out() {
    rm -rf "$O/new" && mkdir "$O/new"
    bash -c 'n=$1; shift; for ((i = 0; i < n; i++)); do "$1" "$2" "$3" "$4" "$5/$i.o" >/dev/null 2>&1; done; times' \
        - "$REPS" "$1" "$2" "$3" "$IMAGE" "$O/new" |
        sed -n 2p | awk -v n="$REPS" '{ split($1, u, /[ms]/); split($2, s, /[ms]/)
            printf "%.2f", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1000 / n }'
}
# pairs ORIG PATCHED: CPU ms per pair of one --pairs run over 20 copies of the pair
pairs() {
    local i
    for i in $(seq 20); do printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$O/p$i.o" "$O/p$i.log"; done >"$O/list"
    { perf stat -r 5 "$OURS" --pairs "$O/list" "$IMAGE" 2>&1 >/dev/null || true; } |
        awk '/task-clock/ { printf "%.2f", $1 / 20 }'
}

echo "image: $IMAGE; $REPS runs a figure; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %-22s %-22s %-8s %s\n' object "ours ms/faults (x2)" "upstream ms/faults (x2)" \
    "--pairs" "new OUT: ours upstream"
while read -r fix o wd; do
    a=$wd/original/$o b=$wd/patched/$o
    r1=$(perf_row "$OURS" "$a" "$b" "$IMAGE" "$O/o.o") u1=$(perf_row "$UP" "$a" "$b" "$IMAGE" "$O/o.o")
    r2=$(perf_row "$OURS" "$a" "$b" "$IMAGE" "$O/o.o") u2=$(perf_row "$UP" "$a" "$b" "$IMAGE" "$O/o.o")
    printf '%-34s %-22s %-22s %-8s %s %s\n' "${fix:0:2} ${o#xen/}" "$r1 $r2" "$u1 $u2" \
        "$(pairs "$a" "$b")" "$(new_out "$OURS" "$a" "$b")" "$(new_out "$UP" "$a" "$b")"
done <"$W/pairs"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
