#!/usr/bin/env bash
# The whole chain on the bundled sample, narrated for a newcomer:
#   build the sample "hypervisor" -> run it -> build a payload from a patch file ->
#   check it like the hypervisor would -> apply it offline to the image -> run the
#   patched image -> revert -> run again.
# Everything happens in a scratch copy under build/demo: samples/ is never modified.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
: "${LP_BUILD:=$ROOT/build/release}"
export PATH="$LP_BUILD/bin:$PATH"
PATCH=${DEMO_PATCH:-$ROOT/samples/patches/01-fix-domctl-bounds.patch}
W=$ROOT/build/demo
rm -rf "$W"
mkdir -p "$W"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "1. Build the sample hypervisor (a Xen-shaped tree in samples/hv), in a scratch copy"
cp -a samples/hv "$W/hv"
cp samples/hv/config "$W/hv/xen/.config"
make -s -C "$W/hv/xen" -j"$(nproc)" XEN_BUILD_DATE="demo" XEN_BUILD_TIME="00:00:00" >/dev/null
IMAGE=$W/hv/xen/xen-syms
echo "image: $IMAGE"
readelf -n "$IMAGE" | awk '/Build ID/{print "build id: " $3}'

step "2. Run it: this is the behaviour the security fix will change"
show "$IMAGE"

step "3. The fix, as a maintainer receives it"
cat "$PATCH"

step "4. Build a live-patch payload from the patch (the tree is copied, never touched)"
show livepatch-build -s "$W/hv" -p "$PATCH" -c samples/hv/config -o "$W/out" \
    --xen-syms "$IMAGE"
PAYLOAD=$(ls "$W"/out/*.livepatch)

step "5. What the payload holds"
show livepatch-tool info "$PAYLOAD"

step "6. Check it exactly as the hypervisor's loader would"
show livepatch-tool check "$PAYLOAD" --image "$IMAGE"

step "7. Apply it offline to a copy of the image, and run the patched image"
show livepatch-tool apply --image "$IMAGE" -o "$W/xen-syms.patched" "$PAYLOAD"
show livepatch-tool list --image "$W/xen-syms.patched"
show "$W/xen-syms.patched"

step "8. Revert it: the original bytes come back, and so does the old behaviour"
show livepatch-tool revert --image "$W/xen-syms.patched" -o "$W/xen-syms.reverted"
show "$W/xen-syms.reverted"
if cmp -s "$IMAGE" "$W/xen-syms.reverted"; then
    echo "reverted image is byte-identical to the original"
else
    echo "reverted image differs from the original" >&2
    exit 1
fi
step "Done. Everything is under $W"
