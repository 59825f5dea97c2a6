# lib.bash - shell helpers shared by the bats suites and the benchmarks: build
# objects and images like the hypervisor does, and assemble payloads the way
# livepatch-build does (through the same stamping).  Needs LP_ROOT; tools are found on
# PATH.

# Compiler flags the hypervisor uses for its objects (see shared/xen-build-facts.md).
LP_TEST_CFLAGS="-O2 -g -ffunction-sections -fdata-sections -fpic -fno-asynchronous-unwind-tables -fno-stack-protector -fcf-protection=none"

# cc_obj OUT.o SRC.c [extra flags]: compile like the hypervisor does.
cc_obj() {
    local out=$1 src=$2
    shift 2
    # shellcheck disable=SC2086
    gcc $LP_TEST_CFLAGS "$@" -c "$src" -o "$out"
}

# cc_hv OUT.o SRC.c FILE [extra flags]: compile like the hypervisor (hidden visibility,
# position-independent) and name the STT_FILE symbol FILE, as Xen's
# CONFIG_ENFORCE_UNIQUE_SYMBOLS does (e.g. common/sched.c).
cc_hv() {
    local out=$1 src=$2 file=$3
    shift 3
    # shellcheck disable=SC2086
    gcc $LP_TEST_CFLAGS -include "$LP_ROOT/test/data/hidden.h" "$@" -c "$src" -o "$out" || return 1
    objcopy --redefine-sym "$(basename "$src")=$file" "$out"
}

# link_image OUT OBJ...: a static, non-PIE test image with a build id and a full symbol table.
link_image() {
    local out=$1
    shift
    gcc -static -no-pie -Wl,--build-id=sha1 "$@" -o "$out"
}

# diff_case NAME [cflags...]: build test/data/diff/NAME/{orig,patched}.c as
# common/NAME.c into orig.o / patched.o, and a test image from orig.o.
diff_case() {
    local name=$1 dir="$LP_ROOT/test/data/diff/$1"
    shift
    mkdir -p common
    cp "$dir/orig.c" "common/$name.c"
    cc_hv orig.o "common/$name.c" "common/$name.c" -I"$LP_ROOT/include" "$@" || return 1
    cp "$dir/patched.c" "common/$name.c"
    cc_hv patched.o "common/$name.c" "common/$name.c" -I"$LP_ROOT/include" "$@" || return 1
    cc_hv main.o "$LP_ROOT/test/data/diff/main.c" main.c
    link_image image orig.o main.o
}

# note_file HEXID OUT: a GNU build-id ELF note holding HEXID (what .livepatch.depends holds).
note_file() {
    local id=$1 out=$2 n=$((${#1} / 2)) le
    le=$(printf '%08x' "$n" | sed -E 's/(..)(..)(..)(..)/\\x\4\\x\3\\x\2\\x\1/')
    printf "\\x04\\x00\\x00\\x00${le}\\x03\\x00\\x00\\x00GNU\\x00" > "$out"
    printf '%s' "$id" | sed 's/../\\x&/g' | xargs -0 printf >> "$out"
    while [ $(($(stat -c %s "$out") % 4)) -ne 0 ]; do printf '\0' >> "$out"; done
}

# build_id FILE: the GNU build id of an ELF file, in hex.
build_id() {
    readelf -n "$1" | awk '/Build ID/ {print $3; exit}'
}

# link_payload OUT IMAGE DEPENDS_HEX NAME OBJ...: what livepatch-build does after
# create-diff-object: link with a build id, then stamp it with livepatch-tool stamp (the
# stamping of lib/stamp.c that livepatch-build uses: dependency notes, .modinfo, no hook
# macro symbols, read-only .livepatch.funcs).  No --image: the loader does not judge it
# here, so that tests can build the payloads it must refuse.
link_payload() {
    local out=$1 image=$2 dep=$3 name=$4 id rc=0
    shift 4
    id=$(build_id "$image")
    ld -r --build-id=sha1 -o "$out.tmp.o" "$@" || return 1
    livepatch-tool stamp "$out.tmp.o" -o "$out" --depends "${dep:-$id}" --xen-depends "$id" \
        --modinfo "name=$name" >/dev/null || rc=1
    rm -f "$out.tmp.o"
    return $rc
}

# sample_base DIR: build the sample tree into DIR (once per suite, in setup_file).
sample_base() {
    cp -a "$LP_ROOT/samples/hv" "$1"
    cp "$1/config" "$1/xen/.config"
    make -s -C "$1/xen" -j2 XEN_BUILD_DATE=fixed XEN_BUILD_TIME=00:00:00 >/dev/null
}

# sample_payload BASE OUT NAME DEPENDS_HEX PATCH...: apply the patches to a copy of the
# built BASE, rebuild, diff every changed object and link the payload (what
# livepatch-build does, spelled out so loader tests do not depend on the driver).
sample_payload() {
    local base=$1 out=$2 name=$3 dep=$4 work o objs=()
    shift 4
    work=$(mktemp -d "${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/sp.XXXXXX")
    cp -a "$base" "$work/tree"
    for p in "$@"; do (cd "$work/tree" && patch -s -p1 < "$p") || return 1; done
    make -s -C "$work/tree/xen" XEN_BUILD_DATE=fixed XEN_BUILD_TIME=00:00:00 >/dev/null || return 1
    for o in $(cd "$base/xen" && find . -name '*.o' ! -name built_in.o ! -name prelink.o | sort); do
        cmp -s "$base/xen/$o" "$work/tree/xen/$o" && continue
        [ "$o" = ./common/version.o ] && continue
        create-diff-object "$base/xen/$o" "$work/tree/xen/$o" "$base/xen/xen-syms" \
            "$work/$(basename "$o")" 2>/dev/null
        [ -f "$work/$(basename "$o")" ] && objs+=("$work/$(basename "$o")")
    done
    link_payload "$out" "$base/xen/xen-syms" "$dep" "$name" "${objs[@]}"
}

# note_id FILE SECTION: the hex id inside an ELF note section (a GNU build-id note).
note_id() {
    objcopy -O binary --only-section="$2" "$1" "$BATS_TEST_TMPDIR/note.bin"
    od -An -v -tx1 -j16 "$BATS_TEST_TMPDIR/note.bin" | tr -d ' \n'
}
