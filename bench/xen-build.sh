#!/usr/bin/env bash
# livepatch-build end to end on Debian's Xen 4.17 (the real-Xen suite's source and config),
# for one real one-file fix and one real header fix, all measured in this one run:
#   cold        no cache: the unpatched build included (a fresh --cache-dir per fix)
#   warm        the unpatched build cached (best of BENCH_REPS)
#   first fix   warm, but the first fix of its units: no layout twin of their originals
#               kept in the cache entry yet (they are removed before each such run)
#   other path  warm, with the same tools installed under another prefix (best of BENCH_REPS)
#   LIVEPATCH_TWIN=1  warm, with LIVEPATCH_TWIN=1 in the environment: livepatch-gcc makes
#               the patched layout twins alongside the patched build's compiles (what the
#               driver is to set for a tree built without -g; set by hand here)
#   upstream    upstream livepatch-build's method, run directly with make on a copy of the
#               tree with the same .config: a full build, then an incremental build of the
#               patched tree and another of the tree with the patch reverted
#   lower bound the units that depend on the patched files (from the tree's .cmd records)
#               compiled twice with the recorded command lines (-j like the build), once
#               unpatched and once patched, plus one ld -r
# then the size of a cache entry, and create-diff-object on every object pair the real fixes
# give (each fix built warm), with time and peak RSS, next to upstream's tool when
# BENCH_CDO_UPSTREAM names its binary.  Prints figures; never fails for slowness.
# Takes about 20-30 minutes on 2 cores (three full Xen builds).
#   BENCH_XEN_SRC=DIR      Xen source tree (default: the real-Xen suite's, under LP_XEN_CACHE)
#   BENCH_XEN_CONFIG=FILE  its .config (default: Debian's, from the suite's cache)
#   BENCH_XEN_ONE=PATCH    the one-file fix (default: fix 04, gnttab copy)
#   BENCH_XEN_HEADER=PATCH the header fix (default: fix 08, gnttab split, changes a header)
#   BENCH_XEN_COLUMNS="one" which columns to measure (default: one hdr)
#   LP_XEN_FIXES=DIR       the real fixes (default: ../shared/xen-4.17-fixes)
#   BENCH_REPS=N           warm runs and lower-bound passes (best of; default 3)
#   BENCH_CDO_REPS=N       create-diff-object runs per pair and tool (default 20)
#   BENCH_CDO_UPSTREAM=PROGRAM  upstream's create-diff-object (see docs/benchmarks.md)
#   BENCH_XEN_CACHE=DIR    reuse the unpatched build cached in DIR (a --cache-dir): no cold
#                          runs and no upstream method; the lower bound compiles with the
#                          entry's .cmd records (the unpatched sources in both passes), each
#                          repetition right before a warm run and an other-path run
#   BENCH_XEN_BUILD=0      skip this benchmark (it takes half an hour)
#   BENCH_KEEP=1           keep the work folder (printed) instead of removing it
# The per-column tables are read through row's eval:
# shellcheck disable=SC2034
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
: "${LP_BUILD:=$ROOT/build/release}"
XC=${LP_XEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/livepatch-tools/xen}
FIXES=${LP_XEN_FIXES:-$ROOT/../shared/xen-4.17-fixes}
SRC=${BENCH_XEN_SRC:-$(ls -d "$XC"/src/xen-*/ 2>/dev/null | head -n1 || true)}
SRC=${SRC%/}
CONFIG=${BENCH_XEN_CONFIG:-$XC/root/boot/xen-4.17-amd64.config}
ONE=${BENCH_XEN_ONE:-$FIXES/04-gnttab-check-values-against-active-entry-when-copy.patch}
HDR=${BENCH_XEN_HEADER:-$FIXES/08-gnttab-split-gnttab-map-frame.patch}
declare -A PATCH=([one]=$ONE [hdr]=$HDR)
declare -A TITLE=([one]="one-file fix" [hdr]="header fix")
COLS=${BENCH_XEN_COLUMNS:-one hdr}
REPS=${BENCH_REPS:-3}
CDO_REPS=${BENCH_CDO_REPS:-20}
UPCDO=${BENCH_CDO_UPSTREAM:-}
REUSE=${BENCH_XEN_CACHE:-}
J=$(nproc 2>/dev/null || echo 2)

skip() { echo "skipped: $*"; exit 0; }
[ "${BENCH_XEN_BUILD:-}" = 0 ] && skip "BENCH_XEN_BUILD=0"
for t in create-diff-object lp-build-helper lp-buildid livepatch-gcc livepatch-tool; do
    [ -x "$LP_BUILD/bin/$t" ] || skip "$t is not built in $LP_BUILD (make tests)"
done
# The driver: the C livepatch-build in $LP_BUILD/bin once it is built, else the script.
LPB=$(PATH="$LP_BUILD/bin:$ROOT/livepatch-build" command -v livepatch-build) ||
    skip "livepatch-build is in neither $LP_BUILD/bin nor livepatch-build/"
[ -n "$SRC" ] && [ -f "$SRC/xen/Makefile" ] ||
    skip "no Xen source (make check-xen fetches Debian's Xen 4.17 into $XC/src; or set BENCH_XEN_SRC)"
[ -f "$CONFIG" ] || skip "no Xen .config at $CONFIG (make check-xen fetches it; or set BENCH_XEN_CONFIG)"
for f in $COLS; do
    [ -n "${PATCH[$f]:-}" ] && [ -f "${PATCH[$f]}" ] ||
        skip "no patch for column $f (${PATCH[$f]:-none}; set LP_XEN_FIXES, BENCH_XEN_ONE or BENCH_XEN_HEADER)"
done
for c in make gcc ld patch flex bison python3; do
    command -v "$c" >/dev/null || skip "$c is not installed (a Xen build needs it)"
done
if [ -n "$UPCDO" ] && [ ! -x "$UPCDO" ]; then
    echo "BENCH_CDO_UPSTREAM=$UPCDO is not a program: upstream's column is left out"
    UPCDO=
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/xen-build-bench.XXXXXX")
if [ "${BENCH_KEEP:-}" = 1 ]; then
    echo "work folder (kept): $W"
else
    trap 'rm -rf "$W"' EXIT
fi

now() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); } # ms
secs() { [ -n "$1" ] && awk -v m="$1" 'BEGIN { printf "%.1f s", m / 1000 }' || echo -; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", b ? a / b : 0 }' || echo -; }
min() { [ -z "$1" ] || [ "$2" -lt "$1" ] && echo "$2" || echo "$1"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }

# The tools installed twice, under two prefixes (install's layout: PREFIX/bin), from one
# snapshot so both are the same bytes.  The system PATH without this checkout's tools.
mkdir -p "$W/inst-a/bin" "$W/inst-b"
install -m 755 "$LP_BUILD"/bin/{create-diff-object,livepatch-tool,lp-build-helper,lp-buildid,livepatch-gcc} \
    "$LPB" "$W/inst-a/bin/"
cp -a "$W/inst-a/." "$W/inst-b/"
SYSPATH=$(tr : '\n' <<<"$PATH" | grep -v -e "^$LP_BUILD" -e "^$ROOT" | paste -sd: -)

# lpb PREFIX CACHE OUT PATCH [NAME=VALUE...]: one livepatch-build run, with the
# environment variables given; prints its wall time in ms.
lpb() {
    local t0 t1 pre=$1 cache=$2 out=$3 patch=$4
    shift 4
    t0=$(now)
    env "$@" PATH="$pre/bin:$SYSPATH" livepatch-build -s "$SRC" -c "$CONFIG" -o "$out" -j "$J" \
        --cache-dir "$cache" -p "$patch" --json "$out.json" >"$out.log" 2>&1 ||
        { echo "livepatch-build failed ($out.log):" >&2; tail -n 5 "$out.log" >&2; return 1; }
    t1=$(now)
    echo $((t1 - t0))
}
# made OUT: how many objects the patched build compiled (its make log's CC lines).
made() { cat "$1"/build_patched-*.log 2>/dev/null | grep -cE '^ +CC ' || true; }
# stage_ms OUT STAGE: one stage time from the --json report.  stages OUT: all of them.
stages() {
    sed -n 's/.*"timings_ms": {\([^}]*\)}.*/\1/p' "$1.json" | tr -d '"' | tr , '\n' |
        sed 's/^ *//; s/:[^:]*: / /; s/: / /' | paste -sd' ' -
}
stage_ms() { sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p" "$1.json" | head -n1; }

echo "Xen source: $SRC"
echo "config:     $CONFIG"
echo "tools:      $W/inst-a/bin and $W/inst-b/bin (copies of $LP_BUILD/bin and livepatch-build)"
echo "CPUs:       $J (make -j$J); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "started:    $(date -u '+%Y-%m-%d %H:%M UTC')"

# --- upstream's method and the lower bound, on a copy of the tree built with plain make ---
UP=$W/upstream UP_FULL=
if [ -n "$REUSE" ]; then
    UP=$(find "$REUSE" -mindepth 2 -maxdepth 2 -name .complete -printf '%h\n' | head -n1)
    [ -n "$UP" ] || skip "no complete cached build in BENCH_XEN_CACHE=$REUSE"
    echo "unpatched build reused from $UP (BENCH_XEN_CACHE): no cold run, no upstream method;"
    echo "the lower bound compiles the unpatched sources in both passes"
else
    cp -a "$SRC" "$UP"
    cp "$CONFIG" "$UP/xen/.config"
fi
upmake() { # LOG: one make of the copy; prints ms
    local t0 t1
    t0=$(now)
    MAKEFLAGS='' MFLAGS='' MAKELEVEL='' make -C "$UP/xen" -j"$J" >"$1" 2>&1 || { echo "make failed, see $1" >&2; tail -n 5 "$1" >&2; return 1; }
    t1=$(now)
    echo $((t1 - t0))
}
if [ -z "$REUSE" ]; then
    echo
    echo "upstream's method: full build of the tree ..."
    UP_FULL=$(upmake "$W/up-full.log")
    echo "  full build: $(secs "$UP_FULL"), $(grep -cE '^ +CC ' "$W/up-full.log") objects compiled"
fi

# units PATCH: the objects (relative to xen/) whose .cmd record names a patched file as
# source or dependency.
units() {
    local f files=()
    while read -r f; do files+=("$f"); done < <(sed -n 's|^+++ b/xen/\([^[:space:]]*\).*|\1|p' "$1")
    (cd "$UP/xen" && find . -name '.*.o.cmd' | sed 's|^\./||' | sort | while read -r c; do
        grep -q '^cmd_.* -c ' "$c" || continue
        for f in "${files[@]}"; do
            if grep -qE "^source_[^ ]* := $f\$|^[[:space:]]+$f( \\\\)?\$" "$c"; then
                d=$(dirname "$c") b=$(basename "$c" .o.cmd)
                echo "${d#.}/${b#.}.o" | sed 's|^/||'
                break
            fi
        done
    done)
}
# lb_scripts NAME OBJS...: one shell script per unit compiling it as its .cmd records
# (without the dependency output) into W/lb/NAME/; their list in W/lb/NAME.list.
lb_scripts() {
    local name=$1 o d b cmd i=0
    shift
    mkdir -p "$W/lb/$name"
    : >"$W/lb/$name.list"
    for o in "$@"; do
        d=$(dirname "$o") b=$(basename "$o" .o)
        cmd=$(sed -n 's/^cmd_[^ ]* := //p' "$UP/xen/$d/.$b.o.cmd")
        cmd=$(sed -E 's/ -MMD| -MP| -MF [^ ]+| -MQ [^ ]+//g; s/ -o [^ ]+//; s/^livepatch-gcc /gcc /' <<<"$cmd")
        i=$((i + 1))
        printf 'cd %q && %s -o %q\n' "$UP/xen" "$cmd" "$W/lb/$name/$i.o" >"$W/lb/$name/$i.sh"
        echo "$W/lb/$name/$i.sh" >>"$W/lb/$name.list"
    done
}
lb_pass() { # NAME: compile every unit once, -jJ; prints ms
    local t0 t1
    t0=$(now)
    xargs -P "$J" -n 1 bash <"$W/lb/$1.list" || { echo "lower bound: a compile failed" >&2; return 1; }
    t1=$(now)
    echo $((t1 - t0))
}
lb_link() { # NAME: prints ms
    local t0 t1
    t0=$(now)
    ld -r --build-id=sha1 -o "$W/lb/$1.link.o" "$W/lb/$1"/*.o
    t1=$(now)
    echo $((t1 - t0))
}

declare -A UPT LB NUNITS UP_PATCHED UP_ORIG UP_PCC UP_OCC LB_A LB_B LB_LD
for f in $COLS; do
    p=${PATCH[$f]}
    mapfile -t objs < <(units "$p")
    NUNITS[$f]=${#objs[@]}
    [ "${#objs[@]}" -gt 0 ] || { echo "no unit of the tree depends on the files $p patches" >&2; exit 1; }
    lb_scripts "$f" "${objs[@]}"
    best=
    [ -n "$REUSE" ] || for ((i = 0; i < REPS; i++)); do best=$(min "$best" "$(lb_pass "$f")"); done
    LB_A[$f]=$best
    if [ -n "$REUSE" ]; then
        echo "  $(basename "$p" .patch): ${#objs[@]} unit(s) depend on the patched files"
        continue
    fi
    (cd "$UP" && patch -s -p1 -f --fuzz=0 <"$p") || { echo "$p does not apply" >&2; exit 1; }
    UP_PATCHED[$f]=$(upmake "$W/up-$f-patched.log")
    UP_PCC[$f]=$(grep -cE '^ +CC ' "$W/up-$f-patched.log" || true)
    best=
    for ((i = 0; i < REPS; i++)); do best=$(min "$best" "$(lb_pass "$f")"); done
    LB_B[$f]=$best
    best=
    for ((i = 0; i < REPS; i++)); do best=$(min "$best" "$(lb_link "$f")"); done
    LB_LD[$f]=$best
    (cd "$UP" && patch -s -R -p1 -f --fuzz=0 <"$p")
    UP_ORIG[$f]=$(upmake "$W/up-$f-original.log")
    UP_OCC[$f]=$(grep -cE '^ +CC ' "$W/up-$f-original.log" || true)
    echo "  $(basename "$p" .patch): ${#objs[@]} unit(s) depend on the patched files (${objs[*]:0:8}$([ ${#objs[@]} -gt 8 ] && echo ' ...'))"
    echo "    incremental builds: patched $(secs "${UP_PATCHED[$f]}") (${UP_PCC[$f]} compiled)," \
        "reverted $(secs "${UP_ORIG[$f]}") (${UP_OCC[$f]} compiled); relinked: $(grep -oE -- '-o (xen-syms|xen\.efi)$' "$W/up-$f-patched.log" | cut -c4- | sort -u | paste -sd' ' -)"
done
[ -n "$REUSE" ] || rm -rf "$UP"

# --- livepatch-build: cold, warm, warm from another path ----------------------------------
declare -A COLD COLD_BASE WARM FIRST OTHER TWIN MADE_W MADE_O ENTRY ENTRY_FILES ENTRY_AFTER
for f in $COLS; do
    p=${PATCH[$f]}
    n=$(basename "$p" .patch)
    echo
    echo "livepatch-build $n ..."
    if [ -n "$REUSE" ]; then
        cache=$REUSE COLD[$f]='' COLD_BASE[$f]=''
    else
        cache=$W/cache-$f
        COLD[$f]=$(lpb "$W/inst-a" "$cache" "$W/out-$f-cold" "$p")
        COLD_BASE[$f]=$(stage_ms "$W/out-$f-cold" build_original)
    fi
    # The runs of a repetition come one after the other (and with BENCH_XEN_CACHE the
    # lower bound's passes right before them), so all see the same load: the first fix
    # (the layout twins of the originals the entry kept removed first; the run keeps
    # them again), warm, other path, and warm with LIVEPATCH_TWIN=1.
    WARM[$f]='' FIRST[$f]='' OTHER[$f]='' TWIN[$f]=''
    for ((i = 0; i < REPS; i++)); do
        if [ -n "$REUSE" ]; then
            LB_A[$f]=$(min "${LB_A[$f]}" "$(lb_pass "$f")")
            LB_B[$f]=$(min "${LB_B[$f]:-}" "$(lb_pass "$f")")
            LB_LD[$f]=$(min "${LB_LD[$f]:-}" "$(lb_link "$f")")
        fi
        rm -rf "$W/out-$f-warm" "$W/out-$f-first" "$W/out-$f-other" "$W/out-$f-twin"
        find "$cache" -mindepth 3 -name '.*.o.twin-*.o' -delete
        t=$(lpb "$W/inst-a" "$cache" "$W/out-$f-first" "$p")
        [ "$(min "${FIRST[$f]}" "$t")" = "$t" ] && FIRST[$f]=$t && stages "$W/out-$f-first" >"$W/stages-$f-first"
        t=$(lpb "$W/inst-a" "$cache" "$W/out-$f-warm" "$p")
        [ "$(min "${WARM[$f]}" "$t")" = "$t" ] && WARM[$f]=$t && stages "$W/out-$f-warm" >"$W/stages-$f-warm"
        t=$(lpb "$W/inst-b" "$cache" "$W/out-$f-other" "$p")
        [ "$(min "${OTHER[$f]}" "$t")" = "$t" ] && OTHER[$f]=$t && stages "$W/out-$f-other" >"$W/stages-$f-other"
        t=$(lpb "$W/inst-a" "$cache" "$W/out-$f-twin" "$p" LIVEPATCH_TWIN=1)
        [ "$(min "${TWIN[$f]}" "$t")" = "$t" ] && TWIN[$f]=$t && stages "$W/out-$f-twin" >"$W/stages-$f-twin"
    done
    echo "  stages of the best warm run (ms):       $(cat "$W/stages-$f-warm")"
    echo "  stages of the best first-fix run (ms):  $(cat "$W/stages-$f-first")"
    echo "  stages of the best other-path run (ms): $(cat "$W/stages-$f-other")"
    echo "  stages of the best LIVEPATCH_TWIN=1 run (ms): $(cat "$W/stages-$f-twin")"
    grep -h '^layout twins:' "$W/out-$f-first.log" | sed 's/^/  first fix: /'
    grep -h '^layout twins:' "$W/out-$f-warm.log" | sed 's/^/  warm:      /'
    grep -h '^layout twins:' "$W/out-$f-twin.log" | sed 's/^/  LIVEPATCH_TWIN=1: /'
    # The entry the runs used (the one their image is in): as published, without the
    # layout twins the runs kept in it, and with them.
    entry=$(sed -n 's/.*"image": "\([^"]*\)\/xen\/xen-syms".*/\1/p' "$W/out-$f-warm.json")
    ENTRY[$f]=$(du -sk --exclude='.*.o.twin-*.o' "$entry" | cut -f1)
    ENTRY_FILES[$f]=$(find "$entry" -type f ! -name '.*.o.twin-*.o' | wc -l)
    ENTRY_AFTER[$f]=$(du -sk "$entry" | cut -f1)
    MADE_W[$f]=$(made "$W/out-$f-warm")
    MADE_O[$f]=$(made "$W/out-$f-other")
    grep -hoE 'made only the [0-9]+ object\(s\)[^.]*|building the whole tree[^.]*' \
        "$W/out-$f-warm.log" "$W/out-$f-other.log" | sed 's/^/  /'
    echo "  cache entry: $(mb "${ENTRY[$f]}") (du -sk $entry; ${ENTRY_FILES[$f]} files);" \
        "$(mb "${ENTRY_AFTER[$f]}") with the layout twins kept"
done

echo
echo "end to end (wall; warm and other path best of $REPS; lower bound passes best of $REPS)"
row() { # LABEL EXPR: EXPR evaluated per column with $f set
    local label=$1 f line
    line=$(printf '%-34s' "$label")
    for f in $COLS; do line+=$(printf ' %13s' "$(eval "$2")"); done
    echo "$line"
}
for f in $COLS; do
    UPT[$f]=
    [ -n "$UP_FULL" ] && UPT[$f]=$((UP_FULL + UP_PATCHED[$f] + UP_ORIG[$f]))
    LB[$f]=$((LB_A[$f] + LB_B[$f] + LB_LD[$f]))
done
row "" 'echo "${TITLE[$f]}"'
row "fix" 'basename "${PATCH[$f]}" | cut -c1-13'
row "units depending on patched files" 'echo "${NUNITS[$f]}"'
row "cold (no cache)" 'secs "${COLD[$f]}"'
row "  of which the unpatched build" 'secs "${COLD_BASE[$f]}"'
row "warm (base cached)" 'secs "${WARM[$f]}"'
row "  objects compiled" 'echo "${MADE_W[$f]}"'
row "warm, first fix of its units" 'secs "${FIRST[$f]}"'
row "warm, LIVEPATCH_TWIN=1" 'secs "${TWIN[$f]}"'
row "warm, tools at another path" 'secs "${OTHER[$f]}"'
row "  objects compiled" 'echo "${MADE_O[$f]}"'
row "upstream's method" 'secs "${UPT[$f]}"'
row "  full build" 'secs "$UP_FULL"'
row "  incremental, patched" 'secs "${UP_PATCHED[$f]:-}"'
row "  incremental, reverted" 'secs "${UP_ORIG[$f]:-}"'
row "lower bound (2 compiles + ld -r)" 'secs "${LB[$f]}"'
row "  unpatched pass" 'secs "${LB_A[$f]}"'
row "  patched pass" 'secs "${LB_B[$f]}"'
row "  ld -r" 'secs "${LB_LD[$f]}"'
row "warm / lower bound (target <= 2x)" 'ratio "${WARM[$f]}" "${LB[$f]}"'
row "first fix / lower bound" 'ratio "${FIRST[$f]}" "${LB[$f]}"'
row "LIVEPATCH_TWIN=1 / lower bound" 'ratio "${TWIN[$f]}" "${LB[$f]}"'
row "other path / warm (target ~1x)" 'ratio "${OTHER[$f]}" "${WARM[$f]}"'
row "upstream's method / warm" 'ratio "${UPT[$f]}" "${WARM[$f]}"'
row "cache entry (target < 150 MB)" 'mb "${ENTRY[$f]}"'
row "  with the layout twins it keeps" 'mb "${ENTRY_AFTER[$f]}"'

# --- create-diff-object on every pair of the real fixes ------------------------------------
echo
[ -d "$FIXES" ] || { echo "no real fixes at $FIXES: create-diff-object per pair skipped"; exit 0; }
first=${COLS%% *}
cache=${REUSE:-$W/cache-$first}
IMAGE=$(sed -n 's/.*"image": "\([^"]*\)".*/\1/p' "$W/out-$first-warm.json")
for p in "$FIXES"/*.patch; do
    n=$(basename "$p" .patch)
    done_col=
    for f in $COLS; do [ "$p" -ef "${PATCH[$f]}" ] && done_col=$f; done
    case $done_col in
    ?*) ln -s "$W/out-$done_col-warm" "$W/fix-$n" ;;
    *) if ms=$(lpb "$W/inst-a" "$cache" "$W/fix-$n" "$p"); then
           printf '  warm build of %-52s %7s, %s object(s) compiled\n' "$n" "$(secs "$ms")" "$(made "$W/fix-$n")"
       else
           echo "  ($n: no payload; its pairs are still measured if it left them)"
       fi ;;
    esac
done
: >"$W/pairs"
for d in "$W"/fix-*/work-*/original; do
    [ -d "$d" ] || continue
    fix=$(basename "$(dirname "$(dirname "$d")")")
    (cd "$d" && find . -name '*.o' | sed 's|^\./||' | sort) | while read -r o; do
        [ -f "$d/../patched/$o" ] && printf '%s %s %s\n' "${fix#fix-}" "$o" "$(dirname "$d")"
    done >>"$W/pairs"
done
# cdo_run PROGRAM ORIG PATCHED: "BEST_WALL_MS MEAN_CPU_MS PEAK_KB STATUS" over CDO_REPS runs
# (CPU: user+sys of another CDO_REPS runs, per run).  Both tools get the entry sizes
# upstream's livepatch-build exports (Xen 4.17 x86: 8, 8, 14), which it needs.
export BUG_STRUCT_SIZE=8 EX_STRUCT_SIZE=8 ALT_STRUCT_SIZE=14
# cpu_of N PROGRAM ARG...: CPU ms (user+sys) per run of N runs of PROGRAM, from bash's
# `times` (millisecond resolution; /usr/bin/time's is 10 ms).
cpu_of() {
    bash -c 'n=$1; shift; for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1; done; times' - "$@" |
        sed -n 2p | awk -v n="$1" '{ split($1, u, /[ms]/); split($2, s, /[ms]/)
            printf "%.1f", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1000 / n }'
}
cdo_run() {
    local prog=$1 best='' t0 t1 st=0 i cpu
    for ((i = 0; i < CDO_REPS; i++)); do
        t0=${EPOCHREALTIME/[.,]/}
        "$prog" "$2" "$3" "$IMAGE" "$W/cdo-out.o" >/dev/null 2>&1 || true
        t1=${EPOCHREALTIME/[.,]/}
        best=$(min "$best" $((t1 - t0)))
    done
    cpu=$(cpu_of "$CDO_REPS" "$prog" "$2" "$3" "$IMAGE" "$W/cdo-out.o")
    /usr/bin/env time -f '%M' -o "$W/rss" "$prog" "$2" "$3" "$IMAGE" "$W/cdo-out.o" \
        >/dev/null 2>&1 || st=$?
    echo "$(awk -v u="$best" 'BEGIN { printf "%.1f", u / 1000 }') $cpu $(tail -n1 "$W/rss") $st"
}
# cdo_pairs ORIG PATCHED: CPU ms (user+sys) per pair of one create-diff-object --pairs run
# over CDO_REPS copies of the pair: what livepatch-build's diff workers pay per pair (one
# process start and one reading of the image for all of them).
cdo_pairs() {
    local i
    : >"$W/pairs-list"
    for ((i = 0; i < CDO_REPS; i++)); do
        printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$W/cdo-pairs-$i.o" "$W/cdo-pairs-$i.log" >>"$W/pairs-list"
    done
    # (one run of the whole list: its CPU time over the number of pairs)
    cpu_of 1 "$LP_BUILD/bin/create-diff-object" --pairs "$W/pairs-list" "$IMAGE" |
        awk -v n="$CDO_REPS" '{ printf "%.1f", $1 / n }'
}
echo "create-diff-object per real pair (image $IMAGE): wall ms best of $CDO_REPS runs, CPU ms"
echo "(user+sys) mean of $CDO_REPS more, peak RSS of one run, exit status (0 changed, 2/1 refused"
echo "or error); each pair as livepatch-build made it; 'pairs': CPU ms per pair in one"
echo "--pairs run over $CDO_REPS copies of it (as livepatch-build's diff workers run it)"
line="process start, no work (CPU ms, mean of $CDO_REPS): ours (--version) $(cpu_of "$CDO_REPS" "$LP_BUILD/bin/create-diff-object" --version)"
[ -z "$UPCDO" ] || line+=", upstream (no arguments) $(cpu_of "$CDO_REPS" "$UPCDO")"
echo "$line"
if [ -n "$UPCDO" ]; then
    printf '%-28s %-28s %29s %23s\n' "" "" "------------ ours ------------" "------- upstream ------"
    printf '%-28s %-28s %6s %5s %8s %2s %5s %6s %5s %8s %2s\n' fix object wall CPU RSS st pairs wall CPU RSS st
else
    echo "(upstream's tool not measured: set BENCH_CDO_UPSTREAM=PROGRAM, see docs/benchmarks.md)"
    printf '%-28s %-28s %6s %5s %8s %2s %5s\n' fix object wall CPU RSS st pairs
fi
while read -r fix o wd; do
    read -r ms cpu kb st < <(cdo_run "$LP_BUILD/bin/create-diff-object" "$wd/original/$o" "$wd/patched/$o")
    line=$(printf '%-28s %-28s %6s %5s %8s %2s %5s' "$(cut -c1-28 <<<"$fix")" "$(cut -c1-28 <<<"${o#xen/}")" \
        "$ms" "$cpu" "$(mb "$kb")" "$st" "$(cdo_pairs "$wd/original/$o" "$wd/patched/$o")")
    if [ -n "$UPCDO" ]; then
        read -r ums ucpu ukb ust < <(cdo_run "$UPCDO" "$wd/original/$o" "$wd/patched/$o")
        line+=$(printf ' %6s %5s %8s %2s' "$ums" "$ucpu" "$(mb "$ukb")" "$ust")
    fi
    echo "$line"
done <"$W/pairs"
echo "finished:   $(date -u '+%Y-%m-%d %H:%M UTC'); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
