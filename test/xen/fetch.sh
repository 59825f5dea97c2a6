#!/usr/bin/env bash
# Fetch what the real-Xen suite needs from Debian's archive, into the cache, without touching
# the machine's apt configuration: a private sources list (derived from the machine's own,
# plus deb-src lines), private lists and a private package cache.
#
#   test/xen/fetch.sh            fetch everything missing; print nothing else on success
#
# Everything lands under $LP_XEN_CACHE (default ~/.cache/livepatch-tools/xen):
#   src/xen-<version>/           Debian's xen source package, unpacked (with Debian's patches)
#   debs/*.deb                   the binary packages (config, dom0 kernel, busybox, tools)
#   root/                        those packages unpacked (dpkg-deb -x), for the initramfs
# LP_XEN_APT_SOURCES names a sources list to use instead of the one derived from the machine's.
# Exit: 0 fetched, 1 a step failed (the message names it and what to check).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/xen/common.bash
. "$here/common.bash"

need_cmd apt-get apt
need_cmd dpkg-source dpkg-dev
need_cmd dpkg-deb dpkg

apt_dir=$LP_XEN_CACHE/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$LP_XEN_CACHE/debs" \
         "$LP_XEN_CACHE/src"

# The machine's own archives, as deb and deb-src lines (one-line and deb822 formats).
write_sources() {
    local f out=$apt_dir/sources.list
    : >"$out.tmp"
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -n 's/^[[:space:]]*deb[[:space:]]\+\(.*debian.*\)$/\1/p' "$f" | while read -r rest; do
            printf 'deb %s\ndeb-src %s\n' "$rest" "$rest" >>"$out.tmp"
        done
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v out="$out.tmp" '
            function flush() {
                if (uris != "" && suites != "") {
                    n = split(uris, u, " "); m = split(suites, s, " ")
                    for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) {
                        opt = signed != "" ? "[signed-by=" signed "] " : ""
                        printf "deb %s%s %s %s\ndeb-src %s%s %s %s\n", opt, u[i], s[j], comps, opt, u[i], s[j], comps >> out
                    }
                }
                uris = suites = comps = signed = ""
            }
            /^[[:space:]]*$/ { flush(); next }
            /^#/ { next }
            /^URIs:/ { sub(/^URIs:[[:space:]]*/, ""); uris = $0 }
            /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
            /^Components:/ { sub(/^Components:[[:space:]]*/, ""); comps = $0 }
            /^Signed-By:/ { sub(/^Signed-By:[[:space:]]*/, ""); signed = $0 }
            END { flush() }' "$f"
    done
    grep -q . "$out.tmp" || die "fetch" "no Debian archive in /etc/apt/sources.list*; add one, or set LP_XEN_CACHE to a cache that already holds the packages"
    mv "$out.tmp" "$out"
}

APT_OPTS=()
apt_private() {
    APT_OPTS=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=-"
              -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
              -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
              -o "APT::Sandbox::User=root" -o "Acquire::Retries=3" -q)
}

have_all() {
    local p
    [ -d "$LP_XEN_CACHE/src/xen-$XEN_DEB_VERSION" ] || return 1
    for p in $DEB_PACKAGES; do
        compgen -G "$LP_XEN_CACHE/debs/${p%%=*}_*.deb" >/dev/null || return 1
    done
    [ -f "$LP_XEN_CACHE/root/.complete" ]
}

have_all && exit 0
if [ -n "${LP_XEN_APT_SOURCES-}" ]; then
    # A sources list of one's own (a mirror, or a test's unreachable archive).
    cp "$LP_XEN_APT_SOURCES" "$apt_dir/sources.list" || die "fetch" "cannot read LP_XEN_APT_SOURCES=$LP_XEN_APT_SOURCES"
else
    write_sources
fi
apt_private
step "fetch: reading the archive's package lists"
apt-get "${APT_OPTS[@]}" update >"$apt_dir/update.log" 2>&1 ||
    die "fetch" "apt-get update failed (is the Debian archive reachable?); see $apt_dir/update.log"

if [ ! -d "$LP_XEN_CACHE/src/xen-$XEN_DEB_VERSION" ]; then
    step "fetch: Debian source package xen $XEN_DEB_VERSION"
    tmp=$(mktemp -d "$LP_XEN_CACHE/src/.get.XXXXXX")
    (cd "$tmp" && apt-get "${APT_OPTS[@]}" source --download-only "xen=$XEN_DEB_VERSION") \
        >"$apt_dir/source.log" 2>&1 ||
        { rm -rf "$tmp"; die "fetch" "apt-get source xen=$XEN_DEB_VERSION failed; see $apt_dir/source.log"; }
    (cd "$tmp" && dpkg-source --no-check -x ./*.dsc "xen-$XEN_DEB_VERSION") >"$apt_dir/unpack.log" 2>&1 ||
        { rm -rf "$tmp"; die "fetch" "dpkg-source could not unpack xen $XEN_DEB_VERSION; see $apt_dir/unpack.log"; }
    mv "$tmp/xen-$XEN_DEB_VERSION" "$LP_XEN_CACHE/src/xen-$XEN_DEB_VERSION"
    rm -rf "$tmp"
fi

missing=()
for p in $DEB_PACKAGES; do
    compgen -G "$LP_XEN_CACHE/debs/${p%%=*}_*.deb" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "fetch: ${#missing[@]} binary packages"
    (cd "$LP_XEN_CACHE/debs" && apt-get "${APT_OPTS[@]}" download "${missing[@]}") \
        >"$apt_dir/download.log" 2>&1 ||
        die "fetch" "apt-get download ${missing[*]} failed; see $apt_dir/download.log"
fi

# Unpack every package into one root, from which the initramfs and the config are taken.
rm -rf "$LP_XEN_CACHE/root" "$LP_XEN_CACHE/root.new"
mkdir -p "$LP_XEN_CACHE/root.new"
for d in "$LP_XEN_CACHE"/debs/*.deb; do
    dpkg-deb -x "$d" "$LP_XEN_CACHE/root.new" || die "fetch" "dpkg-deb could not unpack $d"
done
touch "$LP_XEN_CACHE/root.new/.complete"
mv "$LP_XEN_CACHE/root.new" "$LP_XEN_CACHE/root"
