#!/usr/bin/env bash
# make check-xen: the real-Xen suite.  Builds Debian's Xen 4.17 once (through our own
# livepatch-build, whose cached unpatched build is the hypervisor we boot), builds payloads
# from the patch files in test/xen/patches and from the real fixes in ../shared/xen-4.17-fixes,
# builds Xen's own test payloads (make -C xen tests), makes one mutation per loader check
# class, boots the hypervisor once under QEMU with a dom0 that runs Xen's xen-livepatch over
# all of them, and then runs the bats files test/xen/*.bats over what the hypervisor and dom0
# printed.  Ends with "N passed, N failed[, N skipped]".
#
#   LP_BUILD=<build dir> test/xen/run.sh
#
# Environment: LP_XEN_CACHE (downloads and the hypervisor build, kept between runs; default
# ~/.cache/livepatch-tools/xen), LP_XEN_RESULTS (this run's payloads, logs and console;
# default build/xen), LP_XEN_BOOT_TIMEOUT (seconds, default 900), LP_XEN_FIXES (folder of
# real fixes; default ../shared/xen-4.17-fixes beside the checkout, skipped when absent).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=test/xen/common.bash
. "$here/common.bash"
: "${LP_BUILD:=$root/build/release}"
: "${LP_XEN_RESULTS:=$root/build/xen}"
: "${LP_XEN_BOOT_TIMEOUT:=900}"
: "${LP_XEN_FIXES:=$root/../shared/xen-4.17-fixes}"
export LP_BUILD LP_ROOT=$root LP_XEN_RESULTS
export PATH="$LP_BUILD/bin:$LP_BUILD/test/helpers:$PATH"
RES=$LP_XEN_RESULTS

# Everything a setup step can fail on ends the suite here with one message naming it;
# the bats files then still run, and fail, saying the results are missing.
setup_failed() {
    printf 'check-xen: %s\n' "$*" >&2
    printf '%s\n' "$*" >"$RES/setup-failed"
}

prepare() {
    local t0=$SECONDS
    rm -rf "$RES"
    mkdir -p "$RES"/{payloads,builds,verdict,mutations}
    for t in livepatch-build create-diff-object livepatch-tool lp-buildid payload-mutate; do
        command -v "$t" >/dev/null || { setup_failed "setup: $t is not built (run make tests)"; return 1; }
    done
    need_cmd flex flex; need_cmd bison bison; need_cmd python3 python3
    need_cmd qemu-system-x86_64 qemu-system-x86; need_cmd cpio cpio; need_cmd xz xz-utils
    need_cmd openssl openssl
    "$here/fetch.sh" || { setup_failed "fetch: getting Debian's packages failed (see above)"; return 1; }
    SRC=$LP_XEN_CACHE/src/xen-$XEN_DEB_VERSION
    CONFIG=$LP_XEN_CACHE/root/boot/xen-4.17-amd64.config
    [ -f "$CONFIG" ] || { setup_failed "fetch: no $CONFIG in xen-hypervisor-4.17-amd64"; return 1; }
    LPB_CACHE=$LP_XEN_CACHE/builds
    echo "# prepared in $((SECONDS - t0))s" >&2
}

# build NAME [livepatch-build options...]: one livepatch-build run into RES/builds/NAME;
# its payloads are copied to RES/payloads.  The exit status, seconds, log and JSON stay.
build() {
    local name=$1 t0=$SECONDS rc out=$RES/builds/$1
    shift
    mkdir -p "$out"
    livepatch-build -s "$SRC" -c "$CONFIG" -o "$out/out" -j "$(nproc)" --cache-dir "$LPB_CACHE" \
        --json "$out/report.json" "$@" >"$out/log" 2>&1
    rc=$?
    echo "$rc" >"$out/rc"
    echo $((SECONDS - t0)) >"$out/seconds"
    cp "$out"/out/*.livepatch "$RES/payloads/" 2>/dev/null
    printf '# built %-58s exit %d in %3ds: %s\n' "$name" "$rc" $((SECONDS - t0)) \
        "$(grep -m1 -oE 'made only the [0-9]+ object|building the whole tree|error: .{0,160}' "$out/log")" >&2
}

build_payloads() {
    local p n
    P=$here/patches
    # The first build also makes (or reuses) the cached unpatched build: the hypervisor we boot.
    build 01-extra-version -p "$P/01-extra-version.patch"
    IMAGE=$(sed -n 's/.*"image": "\([^"]*\)".*/\1/p' "$RES/builds/01-extra-version/report.json")
    if [ -z "$IMAGE" ] || [ ! -f "$IMAGE" ]; then
        setup_failed "build: the first payload build made no hypervisor (see $RES/builds/01-extra-version/log: $(grep -m1 'error:' "$RES/builds/01-extra-version/log"))"
        return 1
    fi
    XEN_DIR=$(dirname "$IMAGE")
    echo "$IMAGE" >"$RES/image"
    for n in 02-hooks 05-replace 06-expect-holds 07-expect-fails 08-new-function 09-static-a \
             10-static-b 11-nop; do
        build "$n" -p "$P/$n.patch"
    done
    build stack --stack "$P/03-stack-first.patch" "$P/04-stack-second.patch"
    build 12-new-percpu -p "$P/12-new-percpu.patch"
    build 14-struct-member -p "$P/14-struct-member.patch"
    # A signed payload (the hypervisor, which does not verify, must ignore the note).
    openssl genrsa -out "$RES/sign-key.pem" 2048 2>/dev/null &&
        openssl rsa -in "$RES/sign-key.pem" -pubout -out "$RES/sign-pub.pem" 2>/dev/null ||
        { setup_failed "build: openssl could not make a signing key"; return 1; }
    cp "$P/01-extra-version.patch" "$RES/13-signed.patch"
    build 13-signed -p "$RES/13-signed.patch" --sign "$RES/sign-key.pem"
    # An expectation that does not hold against the image: livepatch-build refuses to write
    # it (its loader check compares the image's bytes).  For the hypervisor's own refusal,
    # the same payload is 06's with the expected bytes changed after the build.
    if [ -f "$RES/payloads/06-expect-holds.livepatch" ]; then
        cp "$RES/payloads/06-expect-holds.livepatch" "$RES/payloads/07-expect-fails.livepatch"
        for k in 0 1 2; do
            payload-mutate "$RES/payloads/07-expect-fails.livepatch" func 0 "expect_byte:$k" 0x90 ||
                rm -f "$RES/payloads/07-expect-fails.livepatch"
        done
    fi
    if [ -d "$LP_XEN_FIXES" ]; then
        for p in "$LP_XEN_FIXES"/*.patch; do
            n=$(basename "$p" .patch)
            build "fix-$n" -p "$p"
        done
    else
        echo "# no real fixes at $LP_XEN_FIXES: their tests are skipped" >&2
    fi
}

# Xen's own 14 test payloads, built by its tree against the very image we boot (in a copy
# of the cached build, so the cache stays as livepatch-build left it).
build_xen_tests() {
    local t=$RES/xen-tree
    rm -rf "$t"
    cp -a "$(dirname "$XEN_DIR")" "$t" || { setup_failed "xen tests: cannot copy $XEN_DIR"; return 1; }
    if ! make -C "$t/xen" -j"$(nproc)" XEN_BUILD_DATE=livepatch-build XEN_BUILD_TIME=00:00:00 tests \
        >"$RES/xen-tests.log" 2>&1; then
        setup_failed "xen tests: make -C xen tests failed (see $RES/xen-tests.log)"
        return 1
    fi
    cmp -s "$t/xen/xen-syms" "$IMAGE" ||
        { setup_failed "xen tests: make tests relinked xen-syms, so its payloads target another build"; return 1; }
    mkdir -p "$RES/xen-payloads"
    cp "$t"/xen/test/livepatch/*.livepatch "$RES/xen-payloads/"
    rm -rf "$t"
}

# One mutation of a valid payload per check class of the loader: "NAME VERB ARGS..." for
# payload-mutate, applied to a copy of 01-extra-version.  Not among them: an old_addr that
# points outside the image.  Xen 4.17 does not check old_addr and takes a fatal page fault
# writing the jump (seen here: "Faulting linear address: 0000000000001234"); our loader
# refuses it (test/loader.bats), but the suite cannot show the hypervisor's verdict.
MUTATIONS='
m01-machine            machine 3
m02-type-exec          type 2
m03-shoff-past-end     shoff 0x7fffffff
m04-text-wax           flags .text.xen_extra_version wax
m05-align-3            align .text.xen_extra_version 3
m06-xen-depends-byte   byte .livepatch.xen_depends 16 0x00
m07-no-xen-depends     rename-section .livepatch.xen_depends .livepatch.xen_dependx
m08-no-depends         rename-section .livepatch.depends .livepatch.dependx
m09-no-build-id        rename-section .note.gnu.build-id .note.gnu.build-ix
m10-func-version-1     func 0 version 1
m11-func-old-size-0    func 0 old_size 0
m12-func-new-size-0    func 0 new_size 0
m13-reloc-32s          reltype .text.xen_extra_version 0 11
m14-reloc-sym-0        relsym .text.xen_extra_version 0 0
m15-funcs-size-100     size .livepatch.funcs 100
m16-expect-rsv         func 0 expect_rsv 1
m17-expect-len-32      func 0 expect_len 31
m18-expect-mismatch    func 0 expect_enable 1
m19-modinfo-open       byte .modinfo LAST 0x41
m20-funcs-writable     flags .livepatch.funcs wa
m21-funcs-exec         flags .livepatch.funcs ax
m22-rela-type-rel      shtype .rela.text.xen_extra_version 9
m23-strtab-no-nul      byte .strtab 0 0x41
m24-rename-dup-section rename-section .note.gnu.build-id .livepatch.depends
m25-undef-symbol       rename-symbol __x86_return_thunk __x86_return_thunX
m27-reloc-past-end     reladdend .text.xen_extra_version 0 0x7fffffff
m28-hooks-size         size .livepatch.funcs 0
'

make_mutations() {
    local base=$RES/payloads/01-extra-version.livepatch name verb
    [ -f "$base" ] || { setup_failed "mutations: no 01-extra-version.livepatch to mutate"; return 1; }
    while read -r name verb; do
        [ -n "$name" ] || continue
        # LAST: the offset of the named section's last byte.
        if [[ $verb == *LAST* ]]; then
            local sec=${verb#* } size
            sec=${sec%% *}
            size=$(readelf -SW "$base" | sed 's/^ *\[ */[/' | awk -v s="$sec" '$2 == s { print $6 }')
            verb=${verb/LAST/$((16#$size - 1))}
        fi
        cp "$base" "$RES/mutations/$name.livepatch"
        # shellcheck disable=SC2086  # the verb's words are separate arguments
        if ! payload-mutate "$RES/mutations/$name.livepatch" $verb >"$RES/mutations/$name.err" 2>&1; then
            echo "# mutation $name could not be made: $(cat "$RES/mutations/$name.err")" >&2
            rm -f "$RES/mutations/$name.livepatch"
        fi
    done <<<"$MUTATIONS"
}

# The payloads whose verdicts are compared: each is uploaded and applied on its own.
verdict_list() {
    local f
    for f in "$RES"/payloads/*.livepatch "$RES"/xen-payloads/*.livepatch "$RES"/mutations/*.livepatch; do
        [ -f "$f" ] && printf '%s\n' "$f"
    done
}

# What our loader says of each payload on its own, against the image: "ok" or the errno.
our_verdicts() {
    local f n out
    verdict_list | while read -r f; do
        n=$(basename "$f" .livepatch)
        out=$(livepatch-tool check --image "$IMAGE" "$f" 2>&1)
        case $? in
        0) echo ok ;;
        2) echo "$out" | grep -oE '\((E[A-Z0-9]+)\)$' | tail -n 1 | tr -d '()' ;;
        *) echo "error" ;;
        esac >"$RES/verdict/$n.ours"
        printf '%s\n' "$out" >"$RES/verdict/$n.ours.msg"
    done
}

# The dom0 batch: the scenario steps, then one upload/apply/revert/unload per payload.
write_steps() {
    local f n i=0
    mkdir -p "$RES/dom0"
    cp "$RES"/payloads/*.livepatch "$RES/dom0/" 2>/dev/null
    { cat "$here/dom0-lib.sh" "$here/dom0-scenarios.sh"
      for f in "$RES"/builds/fix-*/out/*.livepatch; do
          [ -f "$f" ] || continue
          n=$(basename "$(dirname "$(dirname "$f")")")
          n=${n#fix-}; n=${n%%-*}
          cp "$f" "$RES/dom0/fix-$n.livepatch"
          printf 'section fix-%s\n' "$n"
          printf 'run upload-fix-%s xen-livepatch upload f%s fix-%s.livepatch\n' "$n" "$n" "$n"
          printf 'run apply-fix-%s xen-livepatch apply f%s\n' "$n" "$n"
          printf 'run list-fix-%s xen-livepatch list\n' "$n"
          printf 'run revert-fix-%s xen-livepatch revert f%s\n' "$n" "$n"
          printf 'run unload-fix-%s xen-livepatch unload f%s\n' "$n" "$n"
      done
      echo 'section verdicts'
      verdict_list | while read -r f; do
          i=$((i + 1))
          n=$(basename "$f" .livepatch)
          cp "$f" "$RES/dom0/v$i.livepatch"
          # Xen's xen_nop overwrites all of xen_minor_version but its last byte; with
          # return thunks (jmp __x86_return_thunk, 5 bytes) that leaves a broken jump, and
          # Xen 4.17 takes a double fault on the next version hypercall.  Upload only.
          case $n in
          xen_nop) printf 'verdict %s v%d v%d.livepatch upload-only\n' "$n" "$i" "$i" ;;
          *) printf 'verdict %s v%d v%d.livepatch\n' "$n" "$i" "$i" ;;
          esac
      done
    } >"$RES/dom0-steps.sh"
}

boot() {
    local t0=$SECONDS
    "$here/boot.sh" --xen "$XEN_DIR/xen" --steps "$RES/dom0-steps.sh" --files "$RES/dom0" \
        --log "$RES/console.raw" --timeout "$LP_XEN_BOOT_TIMEOUT" ||
        { setup_failed "boot: the hypervisor batch failed (see the message above and $RES/console.raw)"; return 1; }
    tr -d '\r' <"$RES/console.raw" >"$RES/console.log"
    echo "# boot and batch: $((SECONDS - t0))s" >&2
}

# Xen's verdict per payload, from the batch's markers: "ok" or the errno name.
xen_verdicts() {
    local n stage rc
    grep -aoE '@@VERDICT [^ ]+ (upload|upload-only|apply) -?[0-9]+@@' "$RES/console.log" | tr -d '@' |
    while read -r _ n stage rc; do
        if [ "$stage" != upload ] && [ "$rc" = 0 ]; then
            echo ok >"$RES/verdict/$n.xen"
        elif [ "$rc" != 0 ]; then
            # An apply that one of the payload's own hooks failed (a pre-apply hook's veto,
            # an apply action hook's error) is the hook's decision, which no offline check
            # can make: it is marked, and compared as such.
            if [ "$stage" = apply ] && awk -v n="$n" '
                    index($0, "@@RUN verdict-" n ": ") { on = 1 }
                    on && index($0, "@@VERDICT " n " apply") { exit }
                    on && /livepatch: .*: Calling .*hook function/ { found = 1 }
                    END { exit !found }' "$RES/console.log"; then
                echo "hook:$(errno_name "$rc")" >"$RES/verdict/$n.xen"
            else
                errno_name "$rc" >"$RES/verdict/$n.xen"
            fi
        fi
    done
}

errno_name() {
    case ${1#-} in
    2) echo ENOENT ;; 7) echo E2BIG ;; 11) echo EAGAIN ;; 12) echo ENOMEM ;; 14) echo EFAULT ;;
    16) echo EBUSY ;; 17) echo EEXIST ;; 22) echo EINVAL ;; 34) echo ERANGE ;; 61) echo ENODATA ;;
    75) echo EOVERFLOW ;; 95) echo EOPNOTSUPP ;; 105) echo ENOBUFS ;; *) echo "errno$1" ;;
    esac
}

verdict_table() {
    local f n ours xen agree=0 total=0
    printf '%-58s %-12s %-12s %s\n' payload ours xen agree
    for f in "$RES"/verdict/*.ours; do
        n=$(basename "$f" .ours)
        ours=$(cat "$f")
        xen=$(cat "$RES/verdict/$n.xen" 2>/dev/null || echo '?')
        total=$((total + 1))
        if [ "$ours" = "$xen" ]; then
            agree=$((agree + 1)); a=yes
        elif [ "$ours" = ok ] && [ "${xen#hook:}" != "$xen" ]; then
            # We accept what the loader checks; the payload's own hook said no at apply.
            agree=$((agree + 1)); a="yes (its hook refused)"
        else
            a=NO
        fi
        printf '%-58s %-12s %-12s %s\n' "$n" "$ours" "$xen" "$a"
    done
    echo "# $agree of $total verdicts agree"
} 

main() {
    local t0=$SECONDS
    mkdir -p "$RES"
    rm -f "$RES/setup-failed"
    prepare && build_payloads && build_xen_tests && make_mutations && our_verdicts &&
        write_steps && boot && xen_verdicts &&
        verdict_table | tee "$RES/verdicts.txt"
    echo "# real-Xen setup and boot: $((SECONDS - t0))s" >&2
    LP_XEN_RESULTS=$RES "$root/test/run-tests.sh" "$here"/*.bats
}

main "$@"
