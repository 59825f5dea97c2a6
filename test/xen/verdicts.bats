#!/usr/bin/env bats
# The loader agrees with the hypervisor: for every payload the running Xen saw on its own
# (ours, Xen's 14 test payloads from make -C xen tests, and one mutation of a valid payload
# per check class), `livepatch-tool check` gives the same verdict, and the same errno
# where the hypervisor reports one.  The table is in $LP_XEN_RESULTS/verdicts.txt.

load xen_helper

setup() { needs_boot; }

@test "Xen's own test payloads were built against the booted hypervisor" {
    n=$(ls "$RES"/xen-payloads/*.livepatch 2>/dev/null | wc -l)
    [ "$n" -ge 14 ] || { echo "only $n of Xen's test payloads" >&2; false; }
}

@test "at least 20 mutations, one per check class, were judged by the hypervisor" {
    n=$(ls "$RES"/verdict/m*.xen 2>/dev/null | wc -l)
    [ "$n" -ge 20 ] || { echo "only $n mutations reached the hypervisor" >&2; false; }
}

@test "every payload of the verdict loop left the hypervisor with nothing loaded" {
    ! grep -a '@@DIRTY' "$CONSOLE"
}

@test "the hypervisor gave a verdict on every payload" {
    # One verdict of ours per payload of the loop (run.sh's verdict_list): ours, Xen's 14
    # and the 20 mutations at least.
    local payloads ours
    expect_files 34 payloads "$RES"/payloads/*.livepatch "$RES"/xen-payloads/*.livepatch \
        "$RES"/mutations/*.livepatch
    expect_files "${#payloads[@]}" ours "$RES"/verdict/*.ours
    missing=()
    for f in "${ours[@]}"; do
        n=$(basename "$f" .ours)
        [ -s "$RES/verdict/$n.xen" ] || missing+=("$n")
    done
    [ ${#missing[@]} -eq 0 ] || { echo "no verdict from Xen for: ${missing[*]}" >&2; false; }
}

@test "livepatch-tool check and the running hypervisor give the same verdict and errno on every payload" {
    cat "$RES/verdicts.txt" >&2
    bad=$(awk '$4 == "NO"' "$RES/verdicts.txt")
    [ -z "$bad" ] || { echo "disagreements:" >&2; echo "$bad" >&2; false; }
}

@test "Xen refuses xen_no_xen_buildid, and so do we" {
    [ "$(cat "$RES/verdict/xen_no_xen_buildid.xen")" != ok ]
    [ "$(cat "$RES/verdict/xen_no_xen_buildid.ours")" = "$(cat "$RES/verdict/xen_no_xen_buildid.xen")" ]
}

@test "Xen applies xen_hello_world and xen_nop, and we accept both" {
    for n in xen_hello_world xen_nop; do
        [ "$(cat "$RES/verdict/$n.xen")" = ok ] || { echo "$n: xen says $(cat "$RES/verdict/$n.xen")" >&2; false; }
        [ "$(cat "$RES/verdict/$n.ours")" = ok ] || { cat "$RES/verdict/$n.ours.msg" >&2; false; }
    done
}
