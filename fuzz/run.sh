#!/bin/bash
# fuzz/run.sh [-c] [-w WALL_MINUTES] TARGET CPU_MINUTES [BIN_DIR] [WORK_DIR]
#
# Run one libFuzzer target (nice 10) until the fuzzing processes have used CPU_MINUTES
# of CPU time (utime+stime from /proc/<pid>/stat, not wall time), then stop it with
# SIGINT so libFuzzer prints its final figures.  -w also stops it after WALL_MINUTES of
# wall time (a shared machine may not give it the CPU); -c continues an earlier run in
# the same WORK_DIR (CPU time and executions add up).  A file WORK_DIR/TARGET/stop ends
# the run early.
#
# The committed corpus fuzz/corpus/TARGET is read, never written: new inputs go to
# WORK_DIR/TARGET/corpus, crashes, leaks and timeouts to WORK_DIR/TARGET/findings, the
# log of each libFuzzer process to WORK_DIR/TARGET/log.N.  A finding ends that libFuzzer
# process; the run goes on with a fresh one, at most 20 times (move a finding that is
# fixed to findings/fixed/: only the open ones are counted).  Each run appends one line
# of figures to WORK_DIR/TARGET/summary (see docs/fuzzing.md).
set -u
cont=0 wall=0
while getopts cw: o; do
    case $o in
    c) cont=1 ;;
    w) wall=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
target=$1 minutes=$2
here=$(cd "$(dirname "$0")" && pwd)
bin=${3:-$here/../build/fuzz-long}/$target
work=${4:-/tmp/lp-fuzz}/$target
[ -x "$bin" ] || { echo "run.sh: $bin not built (make -C fuzz OUT=...)" >&2; exit 1; }
mkdir -p "$work/corpus" "$work/findings"
hz=$(getconf CLK_TCK)
limit=$((minutes * 60 * hz))
used=0 execs=0 n=0
if [ "$cont" = 1 ] && [ -f "$work/state" ]; then
    read -r used execs n <"$work/state"
else
    rm -f "$work"/log.* "$work/stop"
fi
rm -f "$work/stop"
end=$(($(date +%s) + wall * 60))
restarts=0

cpu_of() { # utime+stime of pid $1 in ticks (fields 14 and 15; comm may hold spaces)
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    set -- $s
    echo $(( ${12} + ${13} ))
}

stopped() {
    [ -e "$work/stop" ] || { [ "$wall" -gt 0 ] && [ "$(date +%s)" -ge "$end" ]; }
}

while [ "$used" -lt "$limit" ] && [ "$restarts" -le 20 ] && ! stopped; do
    log=$work/log.$n
    nice -n 10 "$bin" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$work/findings/" "$work/corpus" "$here/corpus/$target" \
        >"$log" 2>&1 &
    pid=$! last=0
    while kill -0 "$pid" 2>/dev/null; do
        t=$(cpu_of "$pid") && last=$t
        if [ $((used + last)) -ge "$limit" ] || stopped; then
            kill -INT "$pid"
            break
        fi
        sleep 5
    done
    wait "$pid"
    rc=$?
    used=$((used + last))
    e=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    execs=$((execs + ${e:-0}))
    n=$((n + 1))
    echo "$used $execs $n" >"$work/state"
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
    { [ "$used" -ge "$limit" ] || stopped; } && break
    echo "run.sh: $target exited $rc after $((used / hz))s CPU; restarting" >>"$log"
    restarts=$((restarts + 1))
done

printf '%s cpu_min=%s execs=%s %s corpus=%s findings=%s\n' "$target" \
    "$(awk -v t="$used" -v h="$hz" 'BEGIN { printf "%.1f", t / h / 60 }')" \
    "$execs" "${cov:-cov: ? ft: ?}" "$(find "$work/corpus" -type f | wc -l)" \
    "$(find "$work/findings" -maxdepth 1 -type f | wc -l)" | tee -a "$work/summary"
