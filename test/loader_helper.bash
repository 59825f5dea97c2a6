# Helpers of the loader suites (loader.bats, loader-xen.bats).

# refused ERRNO TEXT: the last `run` was refused by the loader (exit 2) with this errno
# and message part.
refused() {
    assert_equal "$status" 2
    assert_output --partial "($1)"
    assert_output --partial "$2"
}
