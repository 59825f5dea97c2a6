# Common set-up for every bats suite: assertions, paths, a private scratch folder.
# Usage at the top of a suite:  load test_helper
load '/usr/lib/bats/bats-support/load.bash'
load '/usr/lib/bats/bats-assert/load.bash'

: "${LP_ROOT:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
: "${LP_BUILD:=$LP_ROOT/build/release}"
export LP_ROOT LP_BUILD
export PATH="$LP_BUILD/bin:$LP_BUILD/test/helpers:$PATH"

. "$LP_ROOT/test/lib.bash"

# The driver, by path, for tests that name it: livepatch-build of the build under test.
LPB=$LP_BUILD/bin/livepatch-build
export LPB

# The programs a build must give, each in $LP_BUILD/bin.
LP_TOOLS=(create-diff-object livepatch-tool lp-buildid livepatch-gcc lp-build-helper livepatch-build)

# lp_tools: set TOOLS to the path of each of LP_TOOLS and of any other program in
# $LP_BUILD/bin (held to the same conventions); fail, naming every one missing, when some
# of LP_TOOLS is not built, so that a loop over TOOLS cannot pass by finding nothing.
lp_tools() {
    local t p missing=() bin
    TOOLS=()
    for t in "${LP_TOOLS[@]}"; do
        p=$LP_BUILD/bin/$t
        if [ -n "$p" ] && [ -x "$p" ]; then TOOLS+=("$p"); else missing+=("$t"); fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        fail "not built in $LP_BUILD/bin: ${missing[*]} (run make tests)"
        return 1
    fi
    expect_files 0 bin "$LP_BUILD"/bin/*
    for p in "${bin[@]}"; do
        case " ${LP_TOOLS[*]} " in
        *" ${p##*/} "*) ;;
        *) if [ -x "$p" ]; then TOOLS+=("$p"); fi ;;
        esac
    done
}

# expect_files MIN NAME PATH...: set the array NAME to those of the PATHs that exist (a glob
# that matched nothing stays as its own pattern, which does not), and fail, naming the
# PATHs, when fewer than MIN do.  Every loop over a glob goes through it (test/lint.bats),
# so that a loop cannot pass by finding nothing.
expect_files() {
    local _ef_min=$1 _ef_p
    local -n _ef_out=$2
    shift 2
    _ef_out=()
    for _ef_p in "$@"; do
        if [ -e "$_ef_p" ] || [ -L "$_ef_p" ]; then _ef_out+=("$_ef_p"); fi
    done
    if [ ${#_ef_out[@]} -lt "$_ef_min" ]; then
        fail "found ${#_ef_out[@]} of at least $_ef_min: $*"
        return 1
    fi
}

# need_built PROGRAM...: fail, naming them, when some of our own programs (tools or test
# helpers) are not on PATH: a broken build is a failure, never a skip.
need_built() {
    local t missing=()
    for t in "$@"; do
        command -v "$t" >/dev/null || missing+=("$t")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        fail "not built: ${missing[*]} (run make tests)"
        return 1
    fi
}

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
}

# tree_sum DIR: one checksum over every file's path and content.
tree_sum() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum); }
