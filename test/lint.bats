#!/usr/bin/env bats
# Tests that can fail: bats runs each test with `set -e`, and bash does not stop on a
# failure inside `A && B` unless it is the last command of the list, so a line such as
# `[ -f x ] && [ -f y ]` checks only y.  No test line may join checks that way.

load test_helper

# find_joined FILE...: "FILE:LINE: TEXT" for every line inside a @test that joins
# [ ] / [[ ]] checks with && (a `&& break`, `&& {`, or `|| ...` is control flow, not a check).
find_joined() {
    awk '
        /^@test / { t = 1; next }
        t && /^}/ { t = 0; next }
        t && /&&/ && !/\|\|/ {
            line = $0; sub(/^[ \t]+/, "", line)
            n = split(line, part, / && /); checks = n > 1
            for (i = 1; i <= n; i++)
                if (part[i] !~ /^!? *\[\[? .*\]\]?$/) checks = 0
            if (checks) printf "%s:%d: %s\n", FILENAME, FNR, line
        }' "$@"
}

@test "no test joins checks with && (all but the last would go unchecked)" {
    printf '@test "x" {\n    [ -f a ] && [ -f b ]\n    [ -f c ] && break\n    true\n}\n' > sample.bats
    run find_joined sample.bats
    assert_output "sample.bats:2: [ -f a ] && [ -f b ]"
    run find_joined "$LP_ROOT"/test/*.bats "$LP_ROOT"/test/xen/*.bats
    assert_success
    assert_output ""
}

# heredoc(), for the awk programs below: true on each line of a here-document (data, not
# code, such as a test's expected output), which the program then passes over.  Each
# program clears hd at the start of a file.
HEREDOC_AWK='
    function heredoc(   t) {
        if (hd != "") { t = $0; sub(/^\t+/, "", t); if (t == hd) hd = ""; return 1 }
        if (match($0, /<<-?[ \t]*["\047]?[A-Za-z_]+["\047]?[ \t]*$/)) {
            hd = substr($0, RSTART, RLENGTH); gsub(/[<\-"\047 \t]/, "", hd)
        }
        return 0
    }'

# The suites and the helpers they load (test/lib.bash is left out: it is shared with the
# benchmarks, and its loops are checked by what the tests do with their result).
suites() {
    echo "$LP_ROOT"/test/*.bats "$LP_ROOT"/test/xen/*.bats "$LP_ROOT"/test/test_helper.bash \
        "$LP_ROOT"/test/loader_helper.bash "$LP_ROOT"/test/xen/xen_helper.bash "$LP_ROOT"/test/xen/common.bash
}

# find_vacuous_loops FILE...: "FILE:LINE: TEXT" for every loop that passes by finding
# nothing: a `for` over a glob or a command's output (a glob that matches nothing, or an
# empty output, runs the body zero times; `$(seq ...)` is a count, not a find), and an
# array filled from a glob or a command whose count (${#A[@]}) or first element (${A[0]})
# is not read before the end of its test or function.  expect_files (test_helper.bash)
# fills an array from a glob and asserts the count; loop over that.
find_vacuous_loops() {
    awk "$HEREDOC_AWK"'
        BEGIN { q = sprintf("%c", 39) }
        # found(WORDS): WORDS may expand to nothing: a glob, or command output with no
        # literal word beside it.
        function found(s,   raw, n, w, i, lit) {
            raw = s
            gsub(/\$\(seq [^)]*\)/, "", raw); gsub(/\$\(\(/, "", raw)
            if (raw ~ /\$\(|`/) {
                n = split(raw, w, /[ \t]+/); lit = 0
                for (i = 1; i <= n; i++) if (w[i] ~ /^[A-Za-z0-9_.,:=\/-]+$/) lit = 1
                if (!lit) return 1
            }
            gsub(/"[^"]*"/, "", s); gsub(q "[^" q "]*" q, "", s); gsub(/\$\{[^}]*\}/, "", s)
            return s ~ /[*?[]/
        }
        function report(f, l, t) { sub(/^[ \t]+/, "", t); printf "%s:%d: %s\n", f, l, t }
        function flush(   i) {
            for (i = 1; i <= np; i++) if (pname[i] != "") report(pfile[i], pline[i], ptext[i])
            np = 0
        }
        FNR == 1 { flush(); cont = 0; hd = "" }
        heredoc() { next }
        {
            if (cont) text = text " " $0; else { text = $0; start = FNR }
            if (text ~ /\\$/) { sub(/\\$/, "", text); cont = 1; next }
            cont = 0
        }
        text ~ /^[ \t]*#/ { next }
        text ~ /^(@test |})/ { flush() }
        {
            for (i = 1; i <= np; i++)
                if (pname[i] != "" && (index(text, "${#" pname[i] "[@]}") || index(text, "${" pname[i] "[0]}")))
                    pname[i] = ""
        }
        match(text, /(^|[;&|({]|do|then|else)[ \t]*for[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]+in[ \t]/) {
            words = substr(text, RSTART + RLENGTH)
            if (match(words, /;[ \t]*do([ \t]|$)/)) words = substr(words, 1, RSTART - 1)
            if (found(words)) report(FILENAME, start, text)
        }
        match(text, /(^|[ \t;(])[A-Za-z_][A-Za-z0-9_]*=\(/) {
            rest = substr(text, RSTART + RLENGTH)
            name = substr(text, RSTART, RLENGTH - 2); sub(/^[ \t;(]/, "", name)
            if (found(rest)) { np++; pname[np] = name; pfile[np] = FILENAME; pline[np] = start; ptext[np] = text }
        }
        END { flush() }' "$@"
}

# find_build_skips FILE...: "FILE:LINE: TEXT" for every skip whose condition (its line, and
# the line before when that is code) is about our own build: $LP_BUILD, a build/ folder,
# samples/, "not built", or one of our programs (the tools of LP_TOOLS, the test helpers of
# test/helpers/).  A broken build must fail the tests, not skip them; a skip may stay only
# for what the host may lack (say why in a comment).
find_build_skips() {
    local names h helpers
    names=${LP_TOOLS[*]}
    expect_files 5 helpers "$LP_ROOT"/test/helpers/*.c
    for h in "${helpers[@]}"; do names+=" $(basename "$h" .c)"; done
    awk -v names="$names" "$HEREDOC_AWK"'
        BEGIN {
            gsub(/ /, "|", names)
            ours = "(^|[^A-Za-z0-9_-])(" names ")([^A-Za-z0-9_-]|$)"
        }
        FNR == 1 { prev = ""; hd = "" }
        heredoc() { next }
        /^[ \t]*#/ { next }
        /(^|[;&|{]|then|else|do)[ \t]*skip([ \t]|$)/ {
            cond = prev " " $0
            if (cond ~ /LP_BUILD|(^|[^A-Za-z0-9_.-])build\/|samples\/|not built|not there yet/ || cond ~ ours) {
                line = $0; sub(/^[ \t]+/, "", line)
                printf "%s:%d: %s\n", FILENAME, FNR, line
            }
        }
        { prev = $0 }' "$@"
}

# find_unchecked_negations FILE...: "FILE:LINE: TEXT" for every `! COMMAND` that is not the
# last line of its test or function: bash's set -e ignores a negated command, so only the
# last one decides anything (write `if COMMAND; then fail ...; fi`, or `run !`).
find_unchecked_negations() {
    awk "$HEREDOC_AWK"'
        FNR == 1 { pend = ""; hd = "" }
        heredoc() { next }
        /^[ \t]*(#|$)/ { next }
        pend != "" {
            if ($0 !~ /^}/) printf "%s:%d: %s\n", FILENAME, pl, pend
            pend = ""
        }
        /^[ \t]*([^ \t()]+\)[ \t]*)?! / { pend = $0; sub(/^[ \t]+/, "", pend); pl = FNR }' "$@"
}

@test "no loop passes by finding nothing: a loop over a glob or a command's output has its count asserted" {
    printf '%s\n' '@test "x" {' \
        '    f''or o in "$B"/xen/*.o; do readelf -S "$o"; done' \
        '    f''or t in $(tools); do "$t" --help; done' \
        '    f''or _ in $(seq 3); do true; done' \
        '    f''or p in "${patches[@]}"; do true; done' \
        '    o''bjs=("$B"/*.o)' \
        '    f''or o in "${objs[@]}"; do true; done' \
        '    p''ats=("$S"/*.patch)' \
        '    [ ${#pats[@]} -ge 11 ]' \
        "    cat >list <<'EOF'" \
        '    f''or f in *.o; do' \
        'EOF' \
        '}' >sample.bats
    run find_vacuous_loops sample.bats
    assert_output - <<'OUT'
sample.bats:2: for o in "$B"/xen/*.o; do readelf -S "$o"; done
sample.bats:3: for t in $(tools); do "$t" --help; done
sample.bats:6: objs=("$B"/*.o)
OUT
    run find_vacuous_loops $(suites)
    assert_success
    assert_output ""
}

@test "no skip hides a broken build: a skip's condition is never about our own build products" {
    printf '%s\n' '@test "x" {' \
        '    command -v create-diff-object >/dev/null || s''kip "create-diff-object not built yet"' \
        '    [ -x "$LP_BUILD/bin/lp-buildid" ] || s''kip "no lp-buildid"' \
        '    [ -d "$LP_ROOT/samples/hv/xen" ] || s''kip "samples/hv not there"' \
        '    payload-mutate img link .rela.plt 0 || s''kip "no .rela.plt"' \
        '    if [ ! -x "$LP_ROOT/build/release/bin/x" ]; then' \
        '        s''kip "x"' \
        '    fi' \
        '    ld -V | grep -q i386pep || s''kip "ld has no PE emulation"' \
        '    dd if=a of=b bs=1 s''kip=4 count=1' \
        '    run livepatch-build --s''kip build' \
        '}' >sample.bats
    run find_build_skips sample.bats
    assert_output - <<'OUT'
sample.bats:2: command -v create-diff-object >/dev/null || skip "create-diff-object not built yet"
sample.bats:3: [ -x "$LP_BUILD/bin/lp-buildid" ] || skip "no lp-buildid"
sample.bats:4: [ -d "$LP_ROOT/samples/hv/xen" ] || skip "samples/hv not there"
sample.bats:5: payload-mutate img link .rela.plt 0 || skip "no .rela.plt"
sample.bats:7: skip "x"
OUT
    run find_build_skips $(suites)
    assert_success
    assert_output ""
}

@test "no negated command goes unchecked: a \`! COMMAND\` is the last line of its test or function" {
    printf '%s\n' '@test "x" {' \
        '    ! grep -q a f' \
        '    [ -f b ]' \
        '    case $p in' \
        '    10-*) ! patch -p1 <"$p" ;;' \
        '    esac' \
        '    if ! grep -q c f; then true; fi' \
        '    ! grep -q d f' \
        '}' >sample.bats
    run find_unchecked_negations sample.bats
    assert_output - <<'OUT'
sample.bats:2: ! grep -q a f
sample.bats:5: 10-*) ! patch -p1 <"$p" ;;
OUT
    run find_unchecked_negations $(suites)
    assert_success
    assert_output ""
}
