#!/bin/bash
# fuzz/run.sh TARGET MINUTES [BIN_DIR] [WORK_DIR]
#
# Run one libFuzzer target (nice 10) until the fuzzing process has used MINUTES of CPU
# time (utime+stime from /proc/<pid>/stat, not wall time), then stop it with SIGINT so
# libFuzzer prints its final figures.  The committed corpus fuzz/corpus/TARGET is read,
# never written: new inputs go to WORK_DIR/TARGET/corpus, crashes, leaks and timeouts to
# WORK_DIR/TARGET/findings, and the log of each libFuzzer process to WORK_DIR/TARGET/log.N.  A finding ends that
# libFuzzer process; the run then goes on with a fresh one (the CPU time adds up) at most
# 20 times.  The last line of WORK_DIR/TARGET/summary has the figures (see docs/fuzzing.md).
set -u
target=$1 minutes=$2
here=$(cd "$(dirname "$0")" && pwd)
bin=${3:-$here/../build/fuzz-long}/$target
work=${4:-/tmp/lp-fuzz}/$target
[ -x "$bin" ] || { echo "run.sh: $bin not built (make -C fuzz OUT=...)" >&2; exit 1; }
mkdir -p "$work/corpus" "$work/findings"
limit=$((minutes * 60 * $(getconf CLK_TCK)))
used=0 execs=0 restarts=0
rm -f "$work"/log.*

cpu_of() { # utime+stime of pid $1 in ticks (fields 14 and 15; comm may hold spaces)
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    set -- $s
    echo $(( ${12} + ${13} ))
}

while [ "$used" -lt "$limit" ] && [ "$restarts" -le 20 ]; do
    nice -n 10 "$bin" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$work/findings/" "$work/corpus" "$here/corpus/$target" \
        >"$work/log.$restarts" 2>&1 &
    pid=$! last=0
    while kill -0 "$pid" 2>/dev/null; do
        t=$(cpu_of "$pid") && last=$t
        if [ $((used + last)) -ge "$limit" ]; then
            kill -INT "$pid"
            break
        fi
        sleep 5
    done
    wait "$pid"
    rc=$?
    used=$((used + last))
    e=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log.$restarts" | tail -1 | grep -o '[0-9]*$')
    execs=$((execs + ${e:-0}))
    [ "$used" -ge "$limit" ] && break
    echo "run.sh: $target exited $rc after $((used / $(getconf CLK_TCK)))s CPU; restarting" >>"$work/log.$restarts"
    restarts=$((restarts + 1))
done

cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/log.$restarts" | tail -1)
findings=$(find "$work/findings" -type f | wc -l)
printf '%s cpu_min=%s execs=%s %s corpus=%s findings=%s\n' "$target" \
    "$(awk -v t="$used" -v h="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / h / 60 }')" \
    "$execs" "${cov:-cov: ? ft: ?}" "$(find "$work/corpus" -type f | wc -l)" "$findings" \
    | tee -a "$work/summary"
