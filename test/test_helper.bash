# Common set-up for every bats suite: assertions, paths, a private scratch folder.
# Usage at the top of a suite:  load test_helper
load '/usr/lib/bats/bats-support/load.bash'
load '/usr/lib/bats/bats-assert/load.bash'

: "${LP_ROOT:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
: "${LP_BUILD:=$LP_ROOT/build/release}"
export LP_ROOT LP_BUILD
export PATH="$LP_BUILD/bin:$LP_BUILD/test/helpers:$LP_ROOT/livepatch-build:$PATH"

. "$LP_ROOT/test/lib.bash"

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
}
