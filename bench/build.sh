#!/usr/bin/env bash
# End-to-end time of livepatch-build for a one-function patch (sample 01) with the
# unpatched build already cached, printed next to its lower bound: compiling the
# changed translation unit twice (original and patched) plus one link.  Prints
# numbers only; never fails for being slow.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
: "${LP_BUILD:=$ROOT/build/release}"
export PATH="$LP_BUILD/bin:$PATH"
for t in create-diff-object livepatch-tool lp-buildid; do
    command -v "$t" >/dev/null || { echo "build: skipped ($t not built)"; exit 0; }
done
[ -d samples/hv/xen ] || { echo "build: skipped (no samples/hv)"; exit 0; }

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
PATCH=samples/patches/01-fix-domctl-bounds.patch
cp -a samples/hv "$W/hv"
export LIVEPATCH_BUILD_CACHE=$W/cache
now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }
run() { livepatch-build -s "$W/hv" -c samples/hv/config -p "$PATCH" "$@" 2>"$W/log" ||
    { cat "$W/log" >&2; exit 1; }; }

t0=$(now); run -o "$W/cold"; t1=$(now)
cold=$(ms "$t0" "$t1")
best=
for i in 1 2 3; do
    t0=$(now); run -o "$W/warm$i"; t1=$(now)
    t=$(ms "$t0" "$t1")
    [[ -z $best || $t -lt $best ]] && best=$t
done

# Lower bound: the changed unit compiled twice the way the build compiles it, plus
# linking the payload object.
tree=$(ls -d "$W"/cache/*/ | head -n1)
# (its output and dependency-file options dropped: each compile below names its own)
cmdline=$(grep -- '-c common/domctl.c' "$W/cold/build_original.log" | head -n1 |
    sed -E 's/^[^ ]*livepatch-gcc /gcc -ffunction-sections -fdata-sections /; s/ -o [^ ]+//; s/ -M[FQT] [^ ]+//g; s/ -MMD| -MP//g')
[[ -n $cmdline ]] || { echo "build: no compile command for common/domctl.c in the build log" >&2; exit 1; }
lb=
for i in 1 2 3; do
    t0=$(now)
    (cd "$tree/xen" && eval "$cmdline -o $W/a.o" && eval "$cmdline -o $W/b.o")
    ld -r --build-id=sha1 -o "$W/l.o" "$W/a.o"
    t1=$(now)
    t=$(ms "$t0" "$t1")
    [[ -z $lb || $t -lt $lb ]] && lb=$t
done
printf 'one-function patch, base cached: %d ms end to end; lower bound (2 compiles + 1 link): %d ms; ratio %s\n' \
    "$best" "$lb" "$(awk -v a="$best" -v b="$lb" 'BEGIN { printf "%.1fx", b ? a / b : 0 }')"
printf 'same patch, cold cache (unpatched build included): %d ms\n' "$cold"
