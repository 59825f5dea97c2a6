#!/usr/bin/env bats
# The differ's x86-64 instruction lengths (lib/differ/insn.c) are libopcodes' on all of
# the real hypervisor's code: the xen-syms we boot and the objects it was linked from.

load xen_helper

@test "every instruction of the booted xen-syms and of its objects has libopcodes' length" {
    local image objs
    image=$(cat "$RES/image" 2>/dev/null)
    [ -f "$image" ] || { echo "no hypervisor image recorded in $RES/image (the first build failed)" >&2; false; }
    run insn-check "$image"
    echo "$output" | tail -n 5 >&2
    [ "$status" -eq 0 ]
    n=$(sed -n 's/^\([0-9]*\) instructions checked, .*/\1/p' <<<"${lines[-1]}")
    [ "$n" -gt 400000 ]
    # The 64-bit objects (the 32-bit boot code and the PE stubs are no x86-64 code).
    objs=()
    while read -r f; do
        [ "$(head -c 5 "$f" | od -An -tx1 | tr -d ' \n')" = 7f454c4602 ] && objs+=("$f")
    done < <(find "$(dirname "$image")" -name '*.o' ! -name 'built_in*.o' ! -name 'prelink*.o')
    [ "${#objs[@]}" -gt 300 ]
    run insn-check "${objs[@]}"
    echo "$output" | tail -n 5 >&2
    [ "$status" -eq 0 ]
}
