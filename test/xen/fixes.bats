#!/usr/bin/env bats
# The real security fixes of ../shared/xen-4.17-fixes (released after Xen 4.17.5): each gives
# a payload that the running hypervisor applies and reverts, or a refusal that names why.
# What each payload must patch is read from the fix as a maintainer would: the functions
# whose code the fix changes, and every caller of a changed static inline.

load xen_helper

# The skip may stay: the fixes are an input from outside this repository (run.sh says their
# tests are skipped without them), not a product of our build; a failed build of one fails.
FIXES=${LP_XEN_FIXES:-$LP_ROOT/../shared/xen-4.17-fixes}

setup() {
    [ -d "$FIXES" ] || skip "no ../shared/xen-4.17-fixes on this machine"
    needs_boot
}

# fix_applies NN BUILD FUNCTIONS... [-- NEW SYMBOLS...]: the payload patches exactly
# FUNCTIONS and adds exactly NEW SYMBOLS, and the running hypervisor uploaded, applied,
# reverted and unloaded it.
fix_applies() {
    local n=$1 b=fix-$2 want got funcs=() news=() a
    shift 2
    for a in "$@"; do
        [ "$a" = -- ] && { news=(-); continue; }
        if [ ${#news[@]} -gt 0 ]; then news+=("$a"); else funcs+=("$a"); fi
    done
    [ ${#news[@]} -gt 0 ] && news=("${news[@]:1}")
    build_ok "$b"
    want=$(printf '%s\n' "${funcs[@]}" | sort)
    got=$(patched_functions "$b")
    [ "$got" = "$want" ] || { printf 'patched: %s\nwanted:  %s\n' "$(echo $got)" "$(echo $want)" >&2; return 1; }
    want=$( [ ${#news[@]} -eq 0 ] || printf '%s\n' "${news[@]}" | sort)
    got=$(new_symbols "$b")
    [ "$got" = "$want" ] || { printf 'new symbols: %s\nwanted:      %s\n' "$(echo $got)" "$(echo $want)" >&2; return 1; }
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

# decrease_reservation() is static and gcc inlines it into its only caller.
@test "fix 02 (PoD: do not reclaim special pages) patches p2m_pod_decrease_reservation" {
    fix_applies 02 02-x86-pod-do-not-reclaim-special-pages-for-PoD-cache p2m_pod_decrease_reservation
}

# The second hunk's header names add_page_to_event_array (the function above it); the code
# it changes is evtchn_fifo_expand_array's.
@test "fix 03 (evtchn FIFO expand/reset race) patches evtchn_fifo_expand_array" {
    fix_applies 03 03-xen-evtchn-fix-race-between-FIFO-expand-and-reset- evtchn_fifo_expand_array
}

@test "fix 04 (gnttab copy: check against the active entry) patches acquire_grant_for_copy" {
    fix_applies 04 04-gnttab-check-values-against-active-entry-when-copy \
        common/grant_table.c#acquire_grant_for_copy
}

# multi.c is built three times (guest_2/3/4.o, one per guest paging level), so the static
# trace_emulate_write_val() exists three times, named by each wrapper file.  The per-CPU
# variable changes type (guest_pa_t -> guest_l1e_t) but not size at any level: existing
# per-CPU data keeps its layout.  sh_page_fault's "= 0" -> "= (guest_l1e_t){}" and the
# trace_shadow_emulate() change compile to the same code.
@test "fix 05 (shadow: do not overrun trace_emulate_write_val) patches the three trace_emulate_write_val" {
    fix_applies 05 05-x86-shadow-don-t-overrun-trace-emul-write-val \
        arch/x86/mm/shadow/guest_2.c#trace_emulate_write_val \
        arch/x86/mm/shadow/guest_3.c#trace_emulate_write_val \
        arch/x86/mm/shadow/guest_4.c#trace_emulate_write_val
}

# p2m_change_altp2m_gfn() is not in the fix, but gcc allocates its registers differently once
# p2m_free_ptp() changed (same unit): its code differs, so it is patched too.
@test "fix 06 (p2m: sync flush before freeing paging pages) patches p2m_free_ptp" {
    fix_applies 06 06-x86-p2m-issue-a-sync-flush-before-freeing-paging-p \
        p2m_free_ptp p2m_change_altp2m_gfn
}

# The removed per-CPU 'last' stays in the image, unused.
@test "fix 07 (spec-ctrl: IBPB on every vCPU switch) patches context_switch" {
    fix_applies 07 07-x86-spec-ctrl-Fix-incomplete-IBPB-flushing-during- context_switch
}

# gnttab_map_frame() becomes the pair gnttab_map_frame_begin()/_end(), both new; the only
# x86 caller, xenmem_add_to_physmap_one(), is patched to use them (the ARM hunks are not
# built on x86).  p2m_get_gfn_type_access() and p2m_change_altp2m_gfn() differ through
# gcc's register allocation in the same unit, as in fix 06.
@test "fix 08 (gnttab: split gnttab_map_frame) patches xenmem_add_to_physmap_one, adds the begin/end pair" {
    fix_applies 08 08-gnttab-split-gnttab-map-frame \
        xenmem_add_to_physmap_one p2m_get_gfn_type_access p2m_change_altp2m_gfn \
        -- gnttab_map_frame_begin gnttab_map_frame_end
}

@test "every real fix was built by remaking only the objects it touches, and each build's time is recorded" {
    local patches builds
    expect_files 1 patches "$FIXES"/*.patch
    expect_files "${#patches[@]}" builds "$RES"/builds/fix-*/
    for d in "${builds[@]}"; do
        grep -qE 'made only the [0-9]+ object' "$d/log" || { echo "$(basename "$d"): full build" >&2; false; }
        printf '%s: %ss\n' "$(basename "$d")" "$(cat "$d/seconds")" >&2
    done
}
