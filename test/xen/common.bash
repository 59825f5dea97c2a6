# Shared settings and helpers of the real-Xen suite (sourced, never run).
# One pinned Debian version of everything, so every run builds and boots the same bits.

XEN_DEB_VERSION=4.17.5+72-g01140da4e8-1
KERNEL_VERSION=6.1.0-50-amd64
KERNEL_DEB_VERSION=6.1.176-1
# Binary packages, pinned: Debian's hypervisor package (for its .config), the dom0 kernel, and
# the userspace of a minimal dom0 (busybox, xen-livepatch and the libraries it loads).
DEB_PACKAGES="xen-hypervisor-4.17-amd64=$XEN_DEB_VERSION xen-utils-4.17=$XEN_DEB_VERSION
  libxenmisc4.17=$XEN_DEB_VERSION libxentoollog1=$XEN_DEB_VERSION libxencall1=$XEN_DEB_VERSION
  libxenevtchn1=$XEN_DEB_VERSION libxengnttab1=$XEN_DEB_VERSION
  libxenforeignmemory1=$XEN_DEB_VERSION libxendevicemodel1=$XEN_DEB_VERSION
  libxentoolcore1=$XEN_DEB_VERSION libxenstore4=$XEN_DEB_VERSION libxenhypfs1=$XEN_DEB_VERSION
  libyajl2 busybox-static linux-image-$KERNEL_VERSION=$KERNEL_DEB_VERSION"

: "${LP_XEN_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/livepatch-tools/xen}"
export LP_XEN_CACHE

# step MSG: one line of progress on stderr.
step() { printf '%s\n' "$*" >&2; }

# die STEP MSG: the failure of a named step, and what to check.
die() {
    printf 'check-xen: %s: %s\n' "$1" "$2" >&2
    exit 1
}

# need_cmd CMD PACKAGE: install PACKAGE when CMD is missing (root only), or say what to install.
need_cmd() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        step "check-xen: installing $2 (for $1)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1 ||
            { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1; } ||
            die "setup" "could not install $2 (needed for $1): run 'apt-get install $2'"
    fi
    command -v "$1" >/dev/null 2>&1 || die "setup" "$1 is missing: install the Debian package $2"
}

# pkg_names: the package names of DEB_PACKAGES, without their pinned versions.
pkg_names() {
    local p
    for p in $DEB_PACKAGES; do printf '%s\n' "${p%%=*}"; done
}
