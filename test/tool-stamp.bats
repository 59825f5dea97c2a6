#!/usr/bin/env bats
# livepatch-tool stamp: a linked payload object (ld -r --build-id) becomes a payload
# through lib/stamp.c, the stamping livepatch-build uses (lp-build-helper stamp has its
# own suite, build-stamp.bats): the ids and .modinfo it is given, the loader's verdict
# with --image, none without, and never an input overwritten or a file left on failure.

load test_helper

setup_file() {
    cd "$BATS_FILE_TMPDIR" || return 1
    diff_case basic
    create-diff-object orig.o patched.o image out.o >/dev/null
    ld -r --build-id=sha1 -o linked.o out.o
    # The same code under another build id: a second payload to stack on the first.
    ld -r --build-id=0x00112233445566778899aabbccddeeff00112233 -o linked2.o out.o
}

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
    cp "$BATS_FILE_TMPDIR/image" "$BATS_FILE_TMPDIR/linked.o" "$BATS_FILE_TMPDIR/linked2.o" .
    ID=$(lp-buildid image)
}

@test "stamp writes a payload check accepts, with the ids, .modinfo and read-only funcs given" {
    run livepatch-tool stamp linked.o -o p.livepatch --image image --depends "$ID" \
        --xen-depends "$ID" --modinfo name=basic --modinfo k=v
    assert_success
    assert_output "p.livepatch: stamped, build id $(lp-buildid linked.o); the loader accepts it on image"
    run livepatch-tool check --image image p.livepatch
    assert_success
    assert_output "p.livepatch: ok (1 function, 0 new symbols)"
    [ "$(note_id p.livepatch .livepatch.depends)" = "$ID" ]
    [ "$(note_id p.livepatch .livepatch.xen_depends)" = "$ID" ]
    run livepatch-tool info --json p.livepatch
    assert_output --partial '"metadata": ["name=basic", "k=v"]'
    run readelf -SW p.livepatch
    assert_output --regexp '\.livepatch\.funcs +PROGBITS +[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ [0-9a-f]+ +A '
    assert_line --regexp '\.livepatch\.depends +PROGBITS +[0-9a-f]+ [0-9a-f]+ 0+24 00 +A +0 +0 +4$'
    assert_line --regexp '\.modinfo +PROGBITS +[0-9a-f]+ [0-9a-f]+ 0+0f 00 +A +0 +0 +1$'
}

@test "without --image the payload is written unchecked: one the loader refuses too" {
    run livepatch-tool stamp linked.o -o p.livepatch --depends "$ID" \
        --xen-depends 00112233445566778899aabbccddeeff00112233
    assert_success
    assert_output "p.livepatch: stamped, build id $(lp-buildid linked.o); not checked (no --image)"
    run livepatch-tool check --image image p.livepatch
    assert_equal "$status" 2
    assert_output --partial "p: .livepatch.xen_depends: built for image 00112233445566778899aabbccddeeff00112233"
}

@test "no --modinfo adds no .modinfo (an empty one is misread by Xen 4.17)" {
    livepatch-tool stamp linked.o -o p.livepatch --depends "$ID" --xen-depends "$ID" >/dev/null
    run readelf -SW p.livepatch
    refute_output --partial ".modinfo"
    run livepatch-tool check --image image p.livepatch
    assert_success
}

@test "a payload the loader refuses exits 2 with its reason; no output, no temporary folder" {
    run livepatch-tool stamp linked.o -o p.livepatch --image image --modinfo name=bad \
        --depends 00112233445566778899aabbccddeeff00112233 --xen-depends "$ID"
    assert_equal "$status" 2
    assert_output "livepatch-tool: bad: .livepatch.depends: depends on a build id that is not the image's (EINVAL)"
    [ "$(ls -A | sort | tr '\n' ' ')" = "image linked.o linked2.o " ]
}

@test "--chain checks it loaded after its predecessor, whose build id it must depend on" {
    livepatch-tool stamp linked.o -o first.livepatch --image image --depends "$ID" \
        --xen-depends "$ID" --modinfo name=first >/dev/null
    first=$(lp-buildid first.livepatch)
    run livepatch-tool stamp linked2.o -o second.livepatch --image image --depends "$first" \
        --xen-depends "$ID" --chain first.livepatch --modinfo name=second
    assert_success
    assert_output --partial "the loader accepts it on image after the --chain payloads"
    run livepatch-tool check --image image first.livepatch second.livepatch
    assert_success
    run livepatch-tool stamp linked2.o -o third.livepatch --image image --depends "$ID" \
        --xen-depends "$ID" --chain first.livepatch --modinfo name=third
    assert_equal "$status" 2
    assert_output --partial "third: .livepatch.depends: depends on a build id that is not the previous payload's (first, the top of the stack)"
    [ ! -e third.livepatch ]
}

@test "--check-depends lets the loader check a copy on the image; the payload keeps --depends" {
    other=aabbccddeeff00112233445566778899aabbccdd
    run livepatch-tool stamp linked.o -o p.livepatch --image image --depends "$other" \
        --xen-depends "$ID" --check-depends "$ID"
    assert_success
    [ "$(note_id p.livepatch .livepatch.depends)" = "$other" ]
}

@test "an output that is an input (path, hard link, symlink; object, image, chain) is refused before any work" {
    cp linked.o keep.o
    ln linked.o hard.o
    ln -s linked.o soft.o
    for o in linked.o hard.o soft.o; do
        run livepatch-tool stamp linked.o -o "$o" --depends "$ID" --xen-depends "$ID"
        assert_equal "$status" 1
        assert_output "livepatch-tool: stamp: output $o is the input linked.o: an input is never overwritten (choose another output)"
    done
    cmp linked.o keep.o
    run livepatch-tool stamp linked.o -o image --image image --depends "$ID" --xen-depends "$ID"
    assert_equal "$status" 1
    assert_output --partial "output image is the input image"
    livepatch-tool stamp linked.o -o first.livepatch --depends "$ID" --xen-depends "$ID" >/dev/null
    cp first.livepatch keep.livepatch
    run livepatch-tool stamp linked2.o -o first.livepatch --depends "$ID" --xen-depends "$ID" \
        --chain first.livepatch
    assert_equal "$status" 1
    assert_output --partial "output first.livepatch is the input first.livepatch"
    cmp first.livepatch keep.livepatch
    # Nothing else was made: no temporary folder either.
    [ "$(ls -A | grep -c stamp)" = 0 ]
}

@test "stamp's usage: --help shows it, missing ids or -o are named, its options belong to it" {
    run livepatch-tool --help
    assert_success
    assert_output --partial "stamp LINKED.o -o OUT --depends HEX --xen-depends HEX [--image IMAGE]"
    assert_output --partial "--modinfo K=V    stamp: an entry of .modinfo"
    run livepatch-tool stamp --help
    assert_success
    assert_output --partial "Usage: livepatch-tool COMMAND [options]"
    run livepatch-tool stamp linked.o -o p.livepatch --depends "$ID"
    assert_equal "$status" 1
    assert_output --partial "livepatch-tool: stamp: --depends and --xen-depends are needed"
    run livepatch-tool stamp linked.o --depends "$ID" --xen-depends "$ID"
    assert_equal "$status" 1
    assert_output --partial "livepatch-tool: missing or unexpected arguments for 'stamp'"
    run livepatch-tool info --chain linked.o linked.o
    assert_equal "$status" 1
    assert_output --partial "are options of 'stamp'"
    [ ! -e p.livepatch ]
}
