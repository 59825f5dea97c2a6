#!/usr/bin/env bats
# The real security fixes of ../shared/xen-4.17-fixes (released after Xen 4.17.5): each gives
# a payload that the running hypervisor applies and reverts, or a refusal that names why.
# What each payload must patch is read from the fix as a maintainer would: the functions
# whose code the fix changes, and every caller of a changed static inline.

load xen_helper

setup() {
    [ -d "$RES/builds/fix-01-xen-dmop-check-number-of-input-buffers" ] ||
        [ ! -f "$RES/no-fixes" ] || skip "no ../shared/xen-4.17-fixes on this machine"
    needs_boot
}

# fix_applies NN BUILD FUNCTIONS...: the payload patches exactly FUNCTIONS, and the running
# hypervisor uploaded, applied, reverted and unloaded it.
fix_applies() {
    local n=$1 b=fix-$2 want got
    shift 2
    build_ok "$b"
    want=$(printf '%s\n' "$@" | sort)
    got=$(patched_functions "$b")
    [ "$got" = "$want" ] || { printf 'patched: %s\nwanted:  %s\n' "$(echo $got)" "$(echo $want)" >&2; return 1; }
    ok "upload-fix-$n"
    ok "apply-fix-$n"
    out "apply-fix-$n" | grep -qF "f$n finished APPLY with rc=0"
    out "list-fix-$n" | grep -E "^f$n +\| APPLIED"
    ok "revert-fix-$n"
    out "revert-fix-$n" | grep -qF "f$n finished REVERT with rc=0"
    ok "unload-fix-$n"
}

@test "fix 01 (dm_op: check the number of input buffers) patches dm_op, compat_dm_op and do_dm_op" {
    fix_applies 01 01-xen-dmop-check-number-of-input-buffers dm_op compat_dm_op do_dm_op
}

@test "fix 02 (PoD: do not reclaim special pages) patches p2m_pod_decrease_reservation" {
    fix_applies 02 02-x86-pod-do-not-reclaim-special-pages-for-PoD-cache p2m_pod_decrease_reservation
}

@test "fix 03 (evtchn FIFO expand/reset race) patches add_page_to_event_array" {
    fix_applies 03 03-xen-evtchn-fix-race-between-FIFO-expand-and-reset- add_page_to_event_array
}

@test "fix 04 (gnttab copy: check against the active entry) patches acquire_grant_for_copy" {
    fix_applies 04 04-gnttab-check-values-against-active-entry-when-copy acquire_grant_for_copy
}
