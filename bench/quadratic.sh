#!/usr/bin/env bash
# Inputs that would show a walk quadratic in their size, each timed (CPU time) at two sizes
# (the second BENCH_QUAD_GROW times the first, default 4): a linear cost grows by
# about that factor, a quadratic one by its square.  Prints figures only; slowness
# never fails it.
#   same-named locals  one object with N local symbols of one name (ld -r of N copies
#                      of a unit with a static function and a static variable): the
#                      model's same-name chains (create-diff-object)
#   ignored sections   N functions, each in a section named by LIVEPATCH_IGNORE_SECTION:
#                      symbols of each ignored section (create-diff-object)
#   dense relocations  one changed function using N function-scope statics whose names
#                      another function repeats: statics paired through the function and
#                      the static-use report, relocation against relocation (create-diff-object)
#   many entries       a payload patching N functions and carrying 20 N new symbols: each
#                      new symbol against every function entry (livepatch-tool check)
set -euo pipefail
: "${LP_BUILD:?run through make bench}"
LP_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$LP_ROOT/test/lib.bash"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
GROW=${BENCH_QUAD_GROW:-4}
CDO=$LP_BUILD/bin/create-diff-object
TOOL=$LP_BUILD/bin/livepatch-tool
# No debug information: it would only make the compiler the slow part.
Q=-g0

ms() { # ms CMD...: CPU milliseconds (user + system) of CMD, which a loaded machine
    # disturbs less than wall time (its exit status is not judged)
    local u s
    /usr/bin/env time -f '%U %S' -o cpu.txt "$@" >/dev/null 2>&1 || true
    read -r u s < <(tail -1 cpu.txt)
    awk -v u="$u" -v s="$s" 'BEGIN { printf "%d\n", (u + s) * 1000 }'
}

# row NAME N1 T1 N2 T2: the two figures and their ratio against the size ratio.
row() {
    printf '%-18s N=%-6s %6s ms   N=%-6s %6s ms   x%s (linear ~x%s, quadratic ~x%s)\n' \
        "$1" "$2" "$3" "$4" "$5" \
        "$(awk -v a="$3" -v b="$5" 'BEGIN { printf "%.1f", b / (a > 0 ? a : 1) }')" \
        "$GROW" "$((GROW * GROW))"
}

# --- same-named locals ----------------------------------------------------------------
same_named() { # same_named N: ms of create-diff-object
    local n=$1 i
    mkdir -p "sn$n/common" && cd "sn$n"
    printf 'static int st;\nstatic int __attribute__((noinline, used)) helper(int x) { st += x; return st; }\n' \
        > common/dup.c
    cc_hv dup.o common/dup.c common/dup.c $Q
    for v in 1 2; do
        printf 'int sink;\nint __attribute__((noinline)) changed(int x) { sink += x; return x * %d; }\n' \
            "$v" > common/top.c
        cc_hv top$v.o common/top.c common/top.c $Q
        { echo top$v.o; for ((i = 0; i < n; i++)); do echo dup.o; done; } > list$v
        ld -r -o unit$v.o @list$v
    done
    cc_hv main.o "$LP_ROOT/test/data/diff/main.c" main.c $Q
    link_image image unit1.o main.o
    ms "$CDO" unit1.o unit2.o image out.o
    cd ..
}

# --- ignored sections -----------------------------------------------------------------
ignored() { # ignored N: ms of create-diff-object
    local n=$1 i
    mkdir -p "ig$n/common" && cd "ig$n"
    gen() {
        echo '#include "livepatch/hooks.h"'
        echo 'int sink;'
        for ((i = 0; i < n; i++)); do
            echo "int __attribute__((noinline)) fn_$i(int x) { sink += x; return x * $((i + $1)); }"
        done
        echo "int __attribute__((noinline)) kept(int x) { sink += x; return x * $(($1 + 3)) + sink; }"
        if [ "$1" -ne 0 ]; then
            for ((i = 0; i < n; i++)); do echo "LIVEPATCH_IGNORE_SECTION(\".text.fn_$i\");"; done
        fi
    }
    gen 0 > common/ig.c
    cc_hv orig.o common/ig.c common/ig.c -I"$LP_ROOT/include" $Q
    gen 1 > common/ig.c
    cc_hv patched.o common/ig.c common/ig.c -I"$LP_ROOT/include" $Q
    cc_hv main.o "$LP_ROOT/test/data/diff/main.c" main.c $Q
    link_image image orig.o main.o
    ms "$CDO" orig.o patched.o image out.o
    cd ..
}

# --- dense relocations ----------------------------------------------------------------
dense() { # dense N: ms of create-diff-object
    local n=$1 i
    mkdir -p "de$n/common" && cd "de$n"
    gen() {
        for f in user other; do
            echo "int __attribute__((noinline)) $f(int x) {"
            for ((i = 0; i < n; i++)); do echo "    static int s$i; s$i += x;"; done
            [ "$f" = user ] && echo "    return x * $1;" || echo "    return x;"
            echo "}"
        done
    }
    gen 1 > common/de.c
    cc_hv orig.o common/de.c common/de.c $Q
    gen 2 > common/de.c
    cc_hv patched.o common/de.c common/de.c $Q
    cc_hv main.o "$LP_ROOT/test/data/diff/main.c" main.c $Q
    link_image image orig.o main.o
    ms "$CDO" orig.o patched.o image out.o
    cd ..
}

# --- many function entries ------------------------------------------------------------
entries() { # entries N: ms of livepatch-tool check on a payload patching N functions and
    # carrying 20 N new symbols; the functions' sections are merged into one .text, as a
    # payload may have at most 1023 sections
    local n=$1 i
    mkdir -p "en$n/common" && cd "en$n"
    gen() {
        echo 'int sink;'
        for ((i = 0; i < n; i++)); do
            echo "int __attribute__((noinline)) fn_$i(int x) { sink += x; return x * $((i + $1)); }"
        done
    }
    gen 0 > common/en.c
    cc_hv orig.o common/en.c common/en.c $Q
    gen 7 > common/en.c
    cc_hv patched.o common/en.c common/en.c $Q
    cc_hv main.o "$LP_ROOT/test/data/diff/main.c" main.c $Q
    link_image image orig.o main.o
    "$CDO" orig.o patched.o image d.o >/dev/null 2>&1 || true
    { echo '.section .rodata.bench_table,"a"'
      for ((i = 0; i < 20 * n; i++)); do
          printf '.globl bench_%d\n.type bench_%d, @object\n.size bench_%d, 4\nbench_%d: .long %d\n' \
              "$i" "$i" "$i" "$i" "$i"
      done; } > table.s
    gcc -c table.s -o table.o
    printf 'SECTIONS { .text : { *(.text .text.*) } }\n' > merge.ld
    ld -r -T merge.ld -o merged.o d.o table.o
    link_payload p.livepatch image "" bench merged.o
    ms "$TOOL" check --image image p.livepatch
    cd ..
}

for c in "same-named locals:same_named:2000" "ignored sections:ignored:3000" \
         "dense relocations:dense:1000" "many entries:entries:500"; do
    IFS=: read -r name fn n <<<"$c"
    n1=$n n2=$((n * GROW))
    t1=$($fn "$n1")
    t2=$($fn "$n2")
    row "$name" "$n1" "$t1" "$n2" "$t2"
done
