#!/usr/bin/env bats
# lp-buildid: the build id read from every form a hypervisor image ships in (ELF
# xen-syms, the ELF32 wrapper, xen.gz, a PE xen.efi) and from payloads, and the
# note it writes for .livepatch.depends.

load test_helper

# image: a small executable with a GNU build id, like xen-syms.
make_image() {
    printf 'int main(void) { return 0; }\n' >m.c
    gcc -Wl,--build-id=sha1 m.c -o image
    readelf -n image | awk '/Build ID/{print $3}'
}

@test "the id of an ELF image is its GNU build-id note" {
    want=$(make_image)
    run lp-buildid image
    assert_success
    assert_output "$want"
}

@test "the same id is read from the image gzip'd, as xen.gz ships" {
    want=$(make_image)
    gzip -n -c image >xen.gz
    run lp-buildid --source xen.gz
    assert_success
    assert_output "$want gzip-elf-note"
}

@test "the same id is read from an ELF32 copy, like the multiboot xen wrapper" {
    want=$(make_image)
    objcopy -O elf32-i386 image image32
    run lp-buildid image32
    assert_success
    assert_output "$want"
}

@test "a PE image's id is the 16-byte signature of its CodeView RSDS record" {
    # The skip may stay: PE output is an optional emulation of the host's ld (Debian's
    # binutils has it; a cross or minimal ld may not), not a product of our build.
    ld -V | grep -q i386pep || skip "ld has no PE (i386pep) emulation"
    printf 'int start(void) { return 0; }\n' >s.c
    gcc -fno-asynchronous-unwind-tables -c s.c -o s.o
    objcopy -O pe-x86-64 s.o s.obj
    ld -mi386pep --build-id=sha1 -e start s.obj -o xen.efi 2>/dev/null
    # objdump prints the GUID with its first three fields byte-swapped.
    guid=$(objdump -p xen.efi | sed -n 's/.*RSDS signature \([0-9a-f]*\).*/\1/p')
    [ ${#guid} -eq 32 ]
    raw=${guid:6:2}${guid:4:2}${guid:2:2}${guid:0:2}${guid:10:2}${guid:8:2}${guid:14:2}${guid:12:2}${guid:16}
    run lp-buildid --source xen.efi
    assert_success
    assert_output "$raw pe-codeview"
}

@test "a payload's id is its own .note.gnu.build-id, not the ids it depends on" {
    printf 'int f(void) { return 1; }\n' >f.c
    gcc -c f.c -o f.o
    ld -r --build-id=sha1 f.o -o p.o
    own=$(readelf -n p.o | awk '/Build ID/{print $3}')
    lp-buildid --note dep.bin --id 00112233445566778899aabbccddeeff00112233
    objcopy --add-section .livepatch.depends=dep.bin p.o payload
    # Put the dependency note first in the file as well: the name decides, not the order.
    objcopy --add-section .livepatch.xen_depends=dep.bin --set-section-flags .livepatch.xen_depends=alloc payload
    run lp-buildid payload
    assert_success
    assert_output "$own"
}

@test "--note writes an ELF note readelf decodes as the same build id" {
    lp-buildid --note n.bin --id 0xDEADBEEF00112233
    printf 'int f(void) { return 1; }\n' >f.c
    gcc -c f.c -o f.o
    objcopy --add-section .note.gnu.build-id=n.bin --set-section-flags .note.gnu.build-id=alloc,readonly f.o g.o
    run readelf -n g.o
    assert_output --partial "Build ID: deadbeef00112233"
    want=$(make_image)
    lp-buildid --note n2.bin image
    [ "$(od -An -v -tx1 -j16 n2.bin | tr -d ' \n')" = "$want" ]
}

@test "a file without a build id is an error naming the file" {
    printf 'int f(void) { return 1; }\n' >f.c
    gcc -c f.c -o f.o
    run lp-buildid f.o
    assert_failure 1
    assert_output "lp-buildid: f.o: no GNU build id note"
    printf 'hello' >junk
    run lp-buildid junk
    assert_failure 1
    assert_output --partial "junk: neither ELF"
    head -c 100 /dev/urandom | gzip -c | head -c 40 >bad.gz
    run lp-buildid bad.gz
    assert_failure 1
    assert_output --partial "bad.gz"
}

@test "lp-buildid refuses a malformed --id and bad usage with status 2" {
    run lp-buildid --note n.bin --id abc
    assert_failure 2
    run lp-buildid
    assert_failure 2
    run lp-buildid --help
    assert_success
    assert_output --partial "usage: lp-buildid"
}
