#!/usr/bin/env bash
# create-diff-object on real Xen object pairs (the real-Xen suite's Debian Xen 4.17 build,
# made by `make check-xen`): time per pair and peak RSS for common/version.o and
# arch/x86/hvm/hvm.o, each against itself and against a recompiled variant with one
# function changed, then every object of the tree through lp-build-helper diff: one
# process per pair, and the --pairs workers that read xen-syms once each.
# Targets (issue 10): under 10 MB peak RSS per pair, faster than before.
#   BENCH_XEN=DIR/xen          the built Xen tree (default: the newest in the cache)
#   BENCH_CDO_BEFORE=PROGRAM   another create-diff-object to measure side by side
#                              (e.g. one built from an older commit, or upstream's)
#   BENCH_REPS=N               runs per pair (default 10)
set -euo pipefail
: "${LP_BUILD:?run through make bench}"
CACHE=${LIVEPATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/livepatch-tools}
XEN=${BENCH_XEN:-$(ls -dt "$CACHE"/xen/builds/*/xen 2>/dev/null | head -n1 || true)}
if [ -z "$XEN" ] || [ ! -f "$XEN/xen-syms" ] || [ ! -f "$XEN/arch/x86/hvm/hvm.o" ]; then
    echo "skipped: no built Xen tree (make check-xen builds one in $CACHE/xen/builds; or set BENCH_XEN=DIR/xen)"
    exit 0
fi
REPS=${BENCH_REPS:-10}
JOBS=$(nproc 2>/dev/null || echo 2)
IMAGE=$XEN/xen-syms
AFTER=$LP_BUILD/bin/create-diff-object
HELPER=$LP_BUILD/bin/lp-build-helper
TOOLS=(after)
[ -n "${BENCH_CDO_BEFORE:-}" ] && TOOLS=(before after)
tool() { if [ "$1" = before ]; then echo "$BENCH_CDO_BEFORE"; else echo "$AFTER"; fi; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# A variant of OBJ recompiled with SED applied to its source, and OBJ itself recompiled
# the same way (so the pair differs only by the edit): W/NAME.orig.o, W/NAME.patched.o.
# The compile is the one Xen's .NAME.o.cmd records, run in a shadow of the tree where
# only the edited source is a copy, so the object's STT_FILE name is the tree's.
variant() {
    local obj=$1 name=$2 sed=$3 src dir base shadow cmd part sub
    src=${obj%.o}.c dir=$(dirname "$obj") base=$(basename "$obj" .o)
    shadow=$W/shadow-$name
    mkdir -p "$shadow"
    # Symbolic links for everything, but real folders along the path to the source.
    sub=$shadow
    part=$XEN
    for c in $(tr / ' ' <<<"$dir") ""; do
        for e in "$part"/* "$part"/.[!.]*; do
            [ -e "$e" ] || continue
            [ -n "$c" ] && [ "$(basename "$e")" = "$c" ] && continue
            ln -s "$e" "$sub/$(basename "$e")"
        done
        [ -z "$c" ] && break
        sub=$sub/$c part=$part/$c
        mkdir -p "$sub"
    done
    rm -f "$shadow/$src"
    cmd=$(sed -n 's/^cmd_[^ ]* := //p' "$XEN/$dir/.$base.o.cmd")
    cmd=$(sed -E 's/ -MMD| -MP| -MF [^ ]+| -MQ [^ ]+//g; s/ -o [^ ]+//' <<<"${cmd#* }")
    cp "$XEN/$src" "$shadow/$src"
    (cd "$shadow" && eval "gcc $cmd -o '$W/$name.orig.o'")
    sed -e "$sed" "$XEN/$src" >"$shadow/$src"
    cmp -s "$XEN/$src" "$shadow/$src" && { echo "the edit of $src changed nothing" >&2; return 1; }
    (cd "$shadow" && eval "gcc $cmd -o '$W/$name.patched.o'")
}

# measure TOOL ORIG PATCHED: "WALL_MS CPU_MS PEAK_RSS_KB STATUS" (times: mean of REPS runs)
measure() {
    local cdo=$1 orig=$2 patched=$3 st=0
    /usr/bin/env time -f '%M' -o "$W/rss" "$cdo" "$orig" "$patched" "$IMAGE" "$W/out.o" \
        >/dev/null 2>&1 || st=$?
    /usr/bin/env time -f '%e %U %S' -o "$W/times" bash -c \
        'for ((i = 0; i < $1; i++)); do "$2" "$3" "$4" "$5" "$6" >/dev/null 2>&1; done; true' \
        - "$REPS" "$cdo" "$orig" "$patched" "$IMAGE" "$W/out.o"
    echo "$(awk -v n="$REPS" '{printf "%.1f %.1f", $1 * 1000 / n, ($2 + $3) * 1000 / n}' "$W/times") $(tail -n1 "$W/rss") $st"
}

variant common/version.o version 's/return XEN_VERSION;/return XEN_VERSION + 1;/'
variant arch/x86/hvm/hvm.o hvm 's/value &= ~EFER_LMA;/value \&= ~EFER_LMA \& ~(1ULL << 62);/'

echo "Xen tree:  $XEN"
echo "xen-syms:  $(($(stat -c %s "$IMAGE") / 1024)) KB, $(readelf -sW "$IMAGE" | grep -c ': ') symbols"
echo "runs/pair: $REPS (wall and CPU (user+sys) ms are the mean per run; RSS from one run)"
printf '%-44s %-7s %8s %8s %10s %s\n' pair tool "wall ms" "CPU ms" "peak RSS" status
row() { # LABEL ORIG PATCHED
    local t ms cpu kb st
    for t in "${TOOLS[@]}"; do
        read -r ms cpu kb st < <(measure "$(tool "$t")" "$2" "$3")
        printf '%-44s %-7s %8s %8s %7s MB %s\n' "$1" "$t" "$ms" "$cpu" \
            "$(awk -v k="$kb" 'BEGIN{printf "%.1f", k/1024}')" "$st"
    done
}
row "common/version.o, against itself" "$XEN/common/version.o" "$XEN/common/version.o"
row "common/version.o, xen_major_version changed" "$W/version.orig.o" "$W/version.patched.o"
row "arch/x86/hvm/hvm.o, against itself" "$XEN/arch/x86/hvm/hvm.o" "$XEN/arch/x86/hvm/hvm.o"
row "arch/x86/hvm/hvm.o, hvm_set_efer changed" "$W/hvm.orig.o" "$W/hvm.patched.o"

# The whole tree: every object against itself, as a header fix that recompiles
# everything would hand them to the diff.
mkdir -p "$W/tree/original" "$W/tree/patched"
(cd "$XEN" && find . -name '*.o' ! -name built_in.o ! -name 'prelink*.o' ! -name '*.lto.o' |
    sed 's|^\./||' | sort) >"$W/objs"
while read -r o; do
    mkdir -p "$W/tree/original/$(dirname "$o")" "$W/tree/patched/$(dirname "$o")"
    ln -s "$XEN/$o" "$W/tree/original/$o"
    ln -s "$XEN/$o" "$W/tree/patched/$o"
done <"$W/objs"
N=$(wc -l <"$W/objs")
tree_run() { # LABEL TOOL [helper options]: wall and CPU time, peak RSS of the whole diff
    local label=$1 cdo
    cdo=$(tool "$2")
    shift 2
    (cd "$W/tree" && xargs /usr/bin/env time -f '%e %U %S %M' -o "$W/rss" "$HELPER" diff \
        --work . --image "$IMAGE" --cdo "$cdo" --log all.log -j "$JOBS" "$@" <"$W/objs" \
        >"$W/status" 2>/dev/null)
    printf '  %-42s %s  (%s)\n' "$label" \
        "$(awk '{printf "wall %6.2f s  CPU %6.2f s  peak RSS %5.1f MB", $1, $2 + $3, $4 / 1024}' "$W/rss")" \
        "$(cut -d' ' -f1 "$W/status" | sort | uniq -c | awk '{printf "%s%s x%s", (NR > 1 ? ", " : "status "), $2, $1}')"
}
echo "whole tree: $N objects, each against itself, lp-build-helper diff -j $JOBS"
for t in "${TOOLS[@]}"; do
    tree_run "$t, one process per pair" "$t" --one-per-pair
done
tree_run "after, $JOBS --pairs workers (one index each)" after
