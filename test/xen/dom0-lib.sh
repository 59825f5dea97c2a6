# Helpers of the dom0 batch (busybox sh), prepended to the generated steps script.
# Every step's output is framed by markers the host-side tests read:
#   @@SECTION name@@            start of a group of steps
#   @@RUN name: command@@ ... @@RC name N@@     one command, its output, its exit status
#   @@VERDICT payload upload|apply N@@          the verdict loop's results

section() { echo; echo "@@SECTION $1@@"; }

# attempt CMD...: run CMD with its output in /tmp/out.  Under software emulation the
# hypervisor's rendezvous of all CPUs can miss its 30 ms deadline ("Timed out on
# semaphore", EBUSY): an action that failed that way is tried again, up to 5 times, as an
# operator would; each retry is marked @@RETRY@@.
attempt() {
    _try=1
    while :; do
        "$@" >/tmp/out 2>&1
        _rc=$?
        [ $_rc -ne 0 ] && [ $_try -lt 5 ] && grep -q 'Error 16' /tmp/out || break
        cat /tmp/out; echo; echo "@@RETRY $*@@"
        _try=$((_try + 1))
    done
    return $_rc
}

# run NAME CMD...: run one command, framed.
run() {
    _n=$1; shift
    echo; echo "@@RUN $_n: $*@@"
    attempt "$@"
    _rc=$?
    cat /tmp/out
    echo; echo "@@RC $_n $_rc@@"
    return $_rc
}

# extra NAME: what dom0 reads as xen_extra_version() now.
extra() { echo; echo "@@VALUE $1 extra=$(cat /sys/hypervisor/version/extra)@@"; }
changeset() { echo; echo "@@VALUE $1 changeset=$(cat /sys/hypervisor/properties/changeset)@@"; }
minor() { echo; echo "@@VALUE $1 minor=$(cat /sys/hypervisor/version/minor)@@"; }

# The errno xen-livepatch reported ("Error N: ..."), else 1.
xen_errno() { sed -n 's/.*Error \(-\{0,1\}[0-9][0-9]*\).*/\1/p' /tmp/out | tail -n 1; }

# verdict PAYLOAD ID FILE [upload-only]: upload and apply one payload on its own, report
# both results, then leave nothing behind (revert, unload).  upload-only: no apply, for a
# payload whose apply would crash the hypervisor (see run.sh).
verdict() {
    echo; echo "@@RUN verdict-$1: upload $2@@"
    if ! xen-livepatch upload "$2" "$3" >/tmp/out 2>&1; then
        cat /tmp/out; _e=$(xen_errno); echo; echo "@@VERDICT $1 upload ${_e:-1}@@"
        return
    fi
    cat /tmp/out
    if [ "${4-}" = upload-only ]; then
        echo; echo "@@VERDICT $1 upload-only 0@@"
    else
        echo; echo "@@VERDICT $1 upload 0@@"
        if attempt xen-livepatch apply "$2"; then
            cat /tmp/out; echo; echo "@@VERDICT $1 apply 0@@"
            # A pre-revert hook may refuse once (Xen's xen_prepost_hooks does): try again.
            for _i in 1 2 3; do attempt xen-livepatch revert "$2" && break; done
        else
            cat /tmp/out; _e=$(xen_errno); echo; echo "@@VERDICT $1 apply ${_e:-1}@@"
        fi
    fi
    xen-livepatch unload "$2" >/dev/null 2>&1
    # The next verdict must start from a hypervisor with nothing loaded.
    xen-livepatch list 2>&1 | grep -q 'Nothing to list' || { echo; echo "@@DIRTY $1@@"; }
}
