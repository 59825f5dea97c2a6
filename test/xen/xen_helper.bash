# Helpers of the real-Xen bats files: read what test/xen/run.sh left in LP_XEN_RESULTS
# (the console of the one boot, the builds, the verdicts).  Every test fails, never skips,
# when the setup did not get that far.

RES=${LP_XEN_RESULTS:?run these through test/xen/run.sh (make check-xen)}
CONSOLE=$RES/console.log

# needs_boot: fail, saying why, when the boot did not happen.
needs_boot() {
    if [ -f "$RES/setup-failed" ]; then
        echo "the real-Xen setup failed: $(cat "$RES/setup-failed")" >&2
        return 1
    fi
    [ -s "$CONSOLE" ] || { echo "no console log in $RES (the boot did not run)" >&2; return 1; }
}

# out NAME: what dom0 and the hypervisor printed during the step NAME.
out() {
    awk -v n="$1" '
        index($0, "@@RUN " n ": ") { on = 1; next }
        on && index($0, "@@RC " n " ") { exit }
        on { print }' "$CONSOLE"
}

# rc NAME: the exit status of step NAME ("" when it never ran).
rc() {
    grep -aoE "@@RC $1 -?[0-9]+@@" "$CONSOLE" | tail -n 1 | sed -E 's/.* (-?[0-9]+)@@/\1/'
}

# ok NAME / refused NAME: the step ran and succeeded / ran and failed.
ok() {
    local r
    r=$(rc "$1")
    [ "$r" = 0 ] || { echo "step $1: exit '${r:-never ran}', expected 0; it printed:" >&2; out "$1" >&2; return 1; }
}
refused() {
    local r
    r=$(rc "$1")
    [ -n "$r" ] && [ "$r" != 0 ] || { echo "step $1: exit '${r:-never ran}', expected a refusal; it printed:" >&2; out "$1" >&2; return 1; }
}

# value NAME KEY: what dom0 read (extra=..., changeset=...) at point NAME.
value() {
    grep -aoE "@@VALUE $1 $2=[^@]*@@" "$CONSOLE" | tail -n 1 | sed -E "s/^@@VALUE $1 $2=(.*)@@$/\1/"
}

# expect_value NAME KEY WANT
expect_value() {
    local v
    v=$(value "$1" "$2")
    [ "$v" = "$3" ] || { echo "at $1: $2 is '$v', expected '$3'" >&2; return 1; }
}

# console_has TEXT: the hypervisor or dom0 printed TEXT somewhere.
console_has() {
    grep -aqF -- "$1" "$CONSOLE" || { echo "the console never showed: $1" >&2; return 1; }
}

# build_ok NAME: livepatch-build succeeded for the build NAME.
build_ok() {
    local r
    r=$(cat "$RES/builds/$1/rc" 2>/dev/null)
    [ "$r" = 0 ] || { echo "livepatch-build $1 exited '${r:-never ran}':" >&2; tail -n 5 "$RES/builds/$1/log" >&2; return 1; }
}

# payload_of BUILD: the path of the one payload the build BUILD wrote; fails, saying so,
# when it wrote none or several (so that what is read from it cannot come from nothing).
payload_of() {
    local files=("$RES/builds/$1"/out/*.livepatch)
    if [ ${#files[@]} -ne 1 ] || [ ! -f "${files[0]}" ]; then
        echo "build $1: no single payload in $RES/builds/$1/out: ${files[*]}" >&2
        return 1
    fi
    printf '%s\n' "${files[0]}"
}

# patched_functions BUILD: the functions the payload patches (as the hypervisor names them:
# "file#name" for a static whose name is not unique), from livepatch-tool info, sorted.
patched_functions() {
    local f
    f=$(payload_of "$1") || return 1
    livepatch-tool info "$f" | awk '/^functions:/ { on = 1; next } on && /^  / { print $1; next } { on = 0 }' | sort
}

# new_symbols BUILD: the symbols the payload adds, sorted.
new_symbols() {
    local f
    f=$(payload_of "$1") || return 1
    livepatch-tool info --json "$f" | grep -o '"new_symbols": \[[^]]*\]' | grep -oE '"[^"]+"' | sed 1d | tr -d '"' | sort
}

# expect_files MIN NAME PATH...: as test/test_helper.bash's (these files do not load it): set
# the array NAME to those of the PATHs that exist (an unmatched glob stays as its own
# pattern, which does not); fails, naming the PATHs, when fewer than MIN do, so that a loop
# over NAME cannot pass by finding nothing.
expect_files() {
    local _ef_min=$1 _ef_p
    local -n _ef_out=$2
    shift 2
    _ef_out=()
    for _ef_p in "$@"; do
        if [ -e "$_ef_p" ]; then _ef_out+=("$_ef_p"); fi
    done
    if [ ${#_ef_out[@]} -lt "$_ef_min" ]; then
        echo "found ${#_ef_out[@]} of at least $_ef_min: $*" >&2
        return 1
    fi
}
