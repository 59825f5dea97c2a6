#!/bin/sh
# Install the Debian packages this project needs, but only those that are missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -eu

PKGS="gcc make libc6-dev libelf-dev libdw-dev zlib1g-dev binutils binutils-dev libxxhash-dev libssl-dev openssl
      bats bats-support bats-assert patch diffutils git time"
# create-diff-object links libdw, libelf, libbfd and libopcodes in (Makefile): the static
# archives of what they need besides binutils-dev's.
PKGS="$PKGS libiberty-dev libzstd-dev liblzma-dev libbz2-dev"
# The fuzz targets (fuzz/, test/fuzz.bats) need clang and its libFuzzer runtime: on
# Debian 12 libclang-rt-dev (libclang_rt.fuzzer and the sanitizer runtimes), which the
# clang package does not pull in.
PKGS="$PKGS clang libclang-rt-dev"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
