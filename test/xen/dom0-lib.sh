# Helpers of the dom0 batch (busybox sh), prepended to the generated steps script.
# Every step's output is framed by markers the host-side tests read:
#   @@SECTION name@@            start of a group of steps
#   @@RUN name: command@@ ... @@RC name N@@     one command, its output, its exit status
#   @@VERDICT payload upload|apply N@@          the verdict loop's results

section() { echo; echo "@@SECTION $1@@"; }

# run NAME CMD...: run one command, framed.
run() {
    _n=$1; shift
    echo; echo "@@RUN $_n: $*@@"
    "$@" >/tmp/out 2>&1
    _rc=$?
    cat /tmp/out
    echo; echo "@@RC $_n $_rc@@"
    return $_rc
}

# extra NAME: what dom0 reads as xen_extra_version() now.
extra() { echo; echo "@@VALUE $1 extra=$(cat /sys/hypervisor/version/extra)@@"; }
changeset() { echo; echo "@@VALUE $1 changeset=$(cat /sys/hypervisor/properties/changeset)@@"; }

# The errno xen-livepatch reported ("Error N: ..."), else 1.
xen_errno() { sed -n 's/.*Error \(-\{0,1\}[0-9][0-9]*\).*/\1/p' /tmp/out | tail -n 1; }

# verdict PAYLOAD ID FILE: upload and apply one payload on its own, report both
# results, then leave nothing behind (revert, unload).
verdict() {
    echo; echo "@@RUN verdict-$1: upload $2@@"
    if xen-livepatch upload "$2" "$3" >/tmp/out 2>&1; then
        cat /tmp/out
        echo; echo "@@VERDICT $1 upload 0@@"
        if xen-livepatch apply "$2" >/tmp/out 2>&1; then
            cat /tmp/out; echo; echo "@@VERDICT $1 apply 0@@"
            xen-livepatch revert "$2" >/dev/null 2>&1
        else
            cat /tmp/out; _e=$(xen_errno); echo; echo "@@VERDICT $1 apply ${_e:-1}@@"
        fi
        xen-livepatch unload "$2" >/dev/null 2>&1
    else
        cat /tmp/out; _e=$(xen_errno); echo; echo "@@VERDICT $1 upload ${_e:-1}@@"
    fi
}
