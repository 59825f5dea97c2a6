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

# patched_functions BUILD: the functions the payload patches (as the hypervisor names them:
# "file#name" for a static whose name is not unique), from livepatch-tool info, sorted.
patched_functions() {
    local f
    for f in "$RES/builds/$1"/out/*.livepatch; do
        livepatch-tool info "$f" | awk '/^functions:/ { on = 1; next } on && /^  / { print $1; next } { on = 0 }'
    done | sort
}

# new_symbols BUILD: the symbols the payload adds, sorted.
new_symbols() {
    local f
    for f in "$RES/builds/$1"/out/*.livepatch; do
        livepatch-tool info --json "$f" | grep -o '"new_symbols": \[[^]]*\]' | grep -oE '"[^"]+"' | sed 1d | tr -d '"'
    done | sort
}
