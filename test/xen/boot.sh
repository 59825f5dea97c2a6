#!/usr/bin/env bash
# Boot a Xen hypervisor under QEMU (software emulation) with a minimal Linux dom0 that runs
# one batch of steps, then powers off.  One boot serves a whole batch: each boot costs
# half a minute under emulation.
#
#   test/xen/boot.sh --xen XEN --steps SCRIPT --files DIR --log LOG [--timeout SECONDS]
#
#   XEN      the multiboot image to boot (xen/xen of a build, or a gunzipped xen.gz)
#   SCRIPT   a busybox sh script run in dom0 as its only job (cwd: the folder of DIR's files)
#   DIR      files copied into the initramfs under /work (payloads, ...)
#   LOG      the serial console (Xen's and dom0's output, interleaved; \r\n line ends)
#
# The dom0 kernel, its modules and the userspace (busybox, xen-livepatch and its libraries)
# come from the packages test/xen/fetch.sh unpacked.  The boot is bounded by --timeout
# (default 600 s); when it ends the log must hold the batch's end marker.
# Exit: 0 the batch ran to its end; 1 the boot failed (panic, timeout, no dom0), with a
# message naming what was seen last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/xen/common.bash
. "$here/common.bash"

xen='' steps='' files='' log='' timeout=600
while [ $# -gt 0 ]; do
    case $1 in
    --xen) xen=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    *) die "boot" "unknown argument '$1' (see the comment at the top of $0)" ;;
    esac
done
[ -f "$xen" ] || die "boot" "no hypervisor image to boot: '$xen'"
[ -f "$steps" ] || die "boot" "no steps script: '$steps'"
[ -n "$log" ] || die "boot" "--log not given"

need_cmd qemu-system-x86_64 qemu-system-x86
need_cmd cpio cpio
need_cmd xz xz-utils

root=$LP_XEN_CACHE/root
[ -f "$root/.complete" ] || die "boot" "the dom0 packages are not unpacked; run test/xen/fetch.sh"

# The dom0 kernel as an ELF: Xen unpacks a bzImage's xz payload slowly under emulation,
# while the vmlinux inside it boots at once.  Extracted once, cached.
vmlinux=$LP_XEN_CACHE/vmlinux-$KERNEL_VERSION
if [ ! -s "$vmlinux" ]; then
    bz=$root/boot/vmlinuz-$KERNEL_VERSION
    [ -f "$bz" ] || die "boot" "no dom0 kernel $bz"
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | head -n 1 | cut -d: -f1)
    [ -n "$off" ] || die "boot" "no xz payload in $bz"
    tail -c +$((off + 1)) "$bz" | xz -dc --single-stream >"$vmlinux.tmp" 2>/dev/null || true
    head -c 4 "$vmlinux.tmp" | grep -q 'ELF' || { rm -f "$vmlinux.tmp"; die "boot" "could not extract vmlinux from $bz"; }
    mv "$vmlinux.tmp" "$vmlinux"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/lp-xen-boot.XXXXXX")
qpid=
cleanup() {
    [ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the initramfs ---------------------------------------------------------------------
ir=$work/initramfs
mkdir -p "$ir"/{bin,sbin,dev,proc,sys,tmp,lib64,lib/modules,work,usr/lib}
cp "$root/bin/busybox" "$ir/bin/busybox"
for a in sh mount umount mkdir cat echo insmod poweroff sleep ls grep sed dmesg head tail \
         cp rm sync tr wc md5sum true false test; do
    ln -sf busybox "$ir/bin/$a"
done
lp=$root/usr/lib/xen-4.17/bin/xen-livepatch
[ -x "$lp" ] || die "boot" "xen-livepatch not found in the unpacked xen-utils package ($lp)"
cp "$lp" "$ir/bin/xen-livepatch"
# Its libraries: the Xen ones from the packages, glibc from this machine (the same Debian).
libdirs=$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu
mkdir -p "$ir/lib/x86_64-linux-gnu"
LD_LIBRARY_PATH=$libdirs ldd "$lp" | awk '/=> \//{print $3} /^\t\/lib64/{print $1}' | while read -r l; do
    cp -L "$l" "$ir/lib/x86_64-linux-gnu/"
done
missing=$(LD_LIBRARY_PATH=$libdirs ldd "$lp" | grep 'not found' || true)
[ -z "$missing" ] || die "boot" "xen-livepatch needs libraries the packages lack: $missing"
cp -L /lib64/ld-linux-x86-64.so.2 "$ir/lib64/"
for m in xen-privcmd xen-evtchn xen-gntdev xenfs/xenfs; do
    f=$root/lib/modules/$KERNEL_VERSION/kernel/drivers/xen/$m.ko
    [ -f "$f" ] || die "boot" "dom0 module $m.ko not in linux-image-$KERNEL_VERSION"
    cp "$f" "$ir/lib/modules/"
done
[ -z "$files" ] || cp -a "$files"/. "$ir/work/"
cp "$steps" "$ir/work/steps.sh"
cat >"$ir/init" <<'EOF'
#!/bin/sh
export PATH=/bin:/sbin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in xen-privcmd xenfs xen-evtchn xen-gntdev; do
    insmod /lib/modules/$m.ko || echo "@@DOM0 insmod $m failed@@"
done
mkdir -p /proc/xen
mount -t xenfs xenfs /proc/xen || echo "@@DOM0 mount xenfs failed@@"
echo "@@DOM0 READY@@"
cd /work
sh ./steps.sh 2>&1
echo "@@BATCH END@@"
sync
poweroff -f
EOF
chmod +x "$ir/init"
(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

# --- the boot ----------------------------------------------------------------------------
: >"$log"
qemu-system-x86_64 -accel tcg -machine pc -cpu qemu64 -m 1024 -smp 2 \
    -nodefaults -no-reboot -display none -monitor none -serial "file:$log" \
    -kernel "$xen" \
    -append "console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all console_timestamps=boot bootscrub=0 dom0_mem=512M,max:512M dom0_max_vcpus=2" \
    -initrd "$vmlinux console=hvc0 earlyprintk=xen rdinit=/init quiet,$work/initrd.gz" \
    </dev/null >"$work/qemu.out" 2>&1 &
qpid=$!
t0=$SECONDS
fatal='Panic on CPU|FATAL TRAP|DOUBLE FAULT|Kernel panic'
while kill -0 "$qpid" 2>/dev/null; do
    # A hypervisor that faults may loop in its fault handler instead of rebooting.
    if grep -aqE "$fatal" "$log"; then
        sleep 2
        kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null || true; qpid=
        break
    fi
    if [ $((SECONDS - t0)) -ge "$timeout" ]; then
        kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null || true; qpid=
        last=$(tr -d '\r' <"$log" | grep -v '^$' | tail -n 1)
        die "boot" "no end of the batch within ${timeout}s (QEMU stopped); last line of $log: ${last:-<empty>}"
    fi
    sleep 1
done
wait "$qpid" || true
qpid=
if grep -aqE "$fatal" "$log"; then
    step=$(tr -d '\r' <"$log" | grep -aoE '@@RUN [^:]*:' | tail -n 1 | sed 's/@@RUN //; s/:$//')
    die "boot" "the machine crashed during dom0 step '${step:-<before dom0>}': $(tr -d '\r' <"$log" | grep -a -m1 -A2 -E "$fatal" | tr '\n' ' ')"
fi
grep -q '@@DOM0 READY@@' "$log" ||
    die "boot" "dom0 never reached its /init (see $log; QEMU said: $(head -c 300 "$work/qemu.out"))"
grep -q '@@BATCH END@@' "$log" ||
    die "boot" "the batch did not finish (see $log)"
step "boot: batch done in $((SECONDS - t0))s"
