#!/usr/bin/env bats
# The real-Xen suite's own failure paths: a boot that cannot succeed, or a download that
# cannot, ends with a message naming the step, a non-zero exit, and nothing left running.

load xen_helper

setup() {
    T=$(mktemp -d)
    printf 'echo hello\n' >"$T/steps.sh"
}
teardown() { rm -rf "$T"; }

no_qemu_left() {
    ! pgrep -f "qemu-system-x86_64.*$T" >/dev/null
}

@test "boot: a hypervisor image that does not exist is named" {
    run "$LP_ROOT/test/xen/boot.sh" --xen "$T/nothing" --steps "$T/steps.sh" --log "$T/log"
    [ "$status" -eq 1 ]
    [[ $output == *"check-xen: boot: no hypervisor image to boot: '$T/nothing'"* ]]
}

@test "boot: an image that never starts dom0 fails within its time bound, saying so, and leaves no QEMU" {
    # An ELF that is no hypervisor: QEMU loads it and nothing ever prints our markers.
    cp /bin/true "$T/notxen"
    start=$SECONDS
    run "$LP_ROOT/test/xen/boot.sh" --xen "$T/notxen" --steps "$T/steps.sh" --log "$T/log" --timeout 15
    [ "$status" -eq 1 ]
    [[ $output == *"check-xen: boot: "* ]]
    [[ $output == *"no end of the batch within 15s"* || $output == *"dom0 never reached its /init"* ]]
    [ $((SECONDS - start)) -lt 60 ]
    no_qemu_left
}

@test "boot: a hypervisor that crashes ends the boot at once, naming the dom0 step" {
    [ -f "$RES/image" ] || { echo "no hypervisor was built in this run" >&2; false; }
    xen=$(dirname "$(cat "$RES/image")")/xen
    # A payload whose old_addr points at nothing: Xen 4.17 does not check it, and the
    # jump it writes there is a fatal page fault.
    mkdir -p "$T/files"
    cp "$RES/payloads/01-extra-version.livepatch" "$T/files/crash.livepatch"
    payload-mutate "$T/files/crash.livepatch" func 0 old_addr 0x1234
    printf '%s\n' 'echo "@@RUN crash-step: load@@"' 'xen-livepatch upload crash crash.livepatch' \
        'xen-livepatch apply crash' 'sleep 200' >"$T/steps2.sh"
    start=$SECONDS
    run "$LP_ROOT/test/xen/boot.sh" --xen "$xen" --steps "$T/steps2.sh" --files "$T/files" \
        --log "$T/log" --timeout 150
    [ "$status" -eq 1 ]
    echo "$output" >&2
    [[ $output == *"the machine crashed during dom0 step 'crash-step'"* ]]
    [ $((SECONDS - start)) -lt 140 ]
    no_qemu_left
}

@test "fetch: an unreachable archive is reported as the fetch step, with the log to read" {
    printf 'deb [trusted=yes] http://127.0.0.1:9/debian bookworm main\ndeb-src [trusted=yes] http://127.0.0.1:9/debian bookworm main\n' >"$T/sources.list"
    LP_XEN_CACHE=$T/cache LP_XEN_APT_SOURCES=$T/sources.list run "$LP_ROOT/test/xen/fetch.sh"
    [ "$status" -eq 1 ]
    [[ $output == *"check-xen: fetch: "* ]]
    [[ $output == *"see $T/cache/apt/"* ]]
}
