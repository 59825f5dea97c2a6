#!/usr/bin/env bats
# Signed payloads (.note.Xen.signature): livepatch-tool sign / check --verify-key / info,
# with the format checked by the openssl command-line tool alone.

load test_helper

setup_file() {
    export BASE="$BATS_FILE_TMPDIR/base" P="$BATS_FILE_TMPDIR"
    sample_base "$BASE"
    export IMG="$BASE/xen/xen-syms"
    sample_payload "$BASE" "$P/fix01.livepatch" fix01 "" \
        "$BATS_TEST_DIRNAME/../samples/patches/01-fix-domctl-bounds.patch"
    # Keys made by the openssl tool: two 2048-bit ones and a 3072-bit one.
    local k
    for k in k1:2048 k2:2048 k3:3072; do
        openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${k#*:}" \
            -out "$P/${k%:*}.pem" 2>/dev/null
        openssl pkey -in "$P/${k%:*}.pem" -pubout -out "$P/${k%:*}.pub"
    done
}

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
    cp "$P"/fix01.livepatch "$P"/k?.pem "$P"/k?.pub .
}

# sig_field FILE FIELD: a number from `livepatch-tool info`'s signature lines
# (descriptor offset / size, signature offset / size).
desc_offset() { livepatch-tool info "$1" | awk '/^  descriptor:/ {sub(",", "", $3); print $3}'; }
desc_size() { livepatch-tool info "$1" | awk '/^  descriptor:/ {print $4}'; }
sig_offset() { livepatch-tool info "$1" | awk '/^  signature:/ {sub(",", "", $3); print $3}'; }
sig_size() { livepatch-tool info "$1" | awk '/^  signature:/ {print $4}'; }

# sec_off FILE REGEX: file offset of the first section whose name matches, as readelf says.
sec_off() {
    echo $((0x$(readelf -S -W "$1" | sed -E 's/^ *\[ *([0-9]+)\]/[\1]/' |
                awk -v re="$2" '$2 ~ re {print $5; exit}')))
}
readelf_note_offset() { sec_off "$1" '^\.note\.Xen\.signature$'; }

# openssl_verify FILE PUB: zero the descriptor with dd, take the signature bytes out,
# and let `openssl dgst -sha256 -verify` judge (no code of ours involved).
openssl_verify() {
    local f=$1 pub=$2 doff dsz soff ssz
    doff=$(desc_offset "$f"); dsz=$(desc_size "$f"); soff=$(sig_offset "$f"); ssz=$(sig_size "$f")
    cp "$f" zeroed.bin
    dd if=/dev/zero of=zeroed.bin bs=1 seek="$doff" count="$dsz" conv=notrunc status=none
    dd if="$f" of=sig.bin bs=1 skip="$soff" count="$ssz" status=none
    openssl dgst -sha256 -verify "$pub" -signature sig.bin zeroed.bin
}

# poke FILE OFFSET HEXBYTE: overwrite one byte.
poke() {
    printf "\\x$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# flip FILE OFFSET: invert one byte.
flip() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    poke "$1" "$2" "$(printf '%02x' $((b ^ 0xff)))"
}

@test "sign writes the current form (note Xen, type 1, raw signature) and the openssl tool alone verifies it" {
    run livepatch-tool sign fix01.livepatch --key k1.pem -o s.livepatch
    assert_success
    assert_output --partial "s.livepatch: signed, current form (note type 0x00000001), RSA 2048-bit"
    run readelf -n -W s.livepatch
    assert_output --partial "Displaying notes found in: .note.Xen.signature"
    assert_output --regexp 'Xen +0x00000100'
    # namesz 4, descsz 256, type 1, "Xen\0"
    run od -An -tx1 -j "$(readelf_note_offset s.livepatch)" -N16 s.livepatch
    assert_output " 04 00 00 00 00 01 00 00 01 00 00 00 58 65 6e 00"
    # The descriptor is the note's 16-byte header past the section start readelf reports.
    [ "$(desc_offset s.livepatch)" -eq $(($(readelf_note_offset s.livepatch) + 16)) ]
    [ "$(desc_size s.livepatch)" = 256 ]
    [ "$(sig_offset s.livepatch)" = "$(desc_offset s.livepatch)" ]
    run openssl_verify s.livepatch k1.pub
    assert_success
    assert_output "Verified OK"
    run openssl_verify s.livepatch k2.pub
    assert_failure
}

@test "signing keeps every other section's bytes at their offsets; the payload stays valid" {
    livepatch-tool sign fix01.livepatch --key k1.pem -o s.livepatch
    strtab=$(sec_off fix01.livepatch '^\.shstrtab$')
    [ "$strtab" -gt 1000 ]
    # Up to the section name table only e_shoff (bytes 41-48) and e_shnum (61-62) change.
    run bash -c "cmp -l -n $strtab fix01.livepatch s.livepatch | awk '\$1 < 41 || (\$1 > 48 && \$1 < 61) || \$1 > 62'"
    assert_output ""
    # Every section of the original is there with the same offset, size and bytes.
    readelf -S -W fix01.livepatch | grep '^  \[' > before
    readelf -S -W s.livepatch | grep '^  \[' | grep -v '\.note\.Xen\.signature' | grep -v '\.shstrtab' > after
    run diff <(grep -v '\.shstrtab' before) after
    assert_success
    [ "$(build_id s.livepatch)" = "$(build_id fix01.livepatch)" ]
    run livepatch-tool check --image "$IMG" s.livepatch
    assert_success
    assert_output --partial "s.livepatch: ok (1 function, 0 new symbols); signed, current form"
    livepatch-tool apply --image "$IMG" -o patched s.livepatch
    run ./patched
    assert_line "domctl(8) unknown = -22"
    # binutils still read it.
    objdump -h s.livepatch >/dev/null
    objcopy s.livepatch copy.o
}

@test "check --verify-key verifies it together with every loader check" {
    livepatch-tool sign fix01.livepatch --key k1.pem -o s.livepatch
    run livepatch-tool check --image "$IMG" --verify-key k1.pub --require-signature s.livepatch
    assert_success
    assert_output "s.livepatch: ok (1 function, 0 new symbols); signature verified by k1.pub"
    # Any one of several keys may verify it.
    run livepatch-tool check --image "$IMG" --verify-key k2.pub --verify-key k1.pub s.livepatch
    assert_success
    assert_output --partial "signature verified by k1.pub"
    # A good signature does not excuse a loader refusal: the same payload twice (EEXIST)
    # on an image that has it applied.
    livepatch-tool apply --image "$IMG" -o patched s.livepatch
    run livepatch-tool check --image patched --verify-key k1.pub s.livepatch
    assert_equal "$status" 2
    assert_output --partial "(EEXIST)"
    # A bad one fails even when the loader accepts.
    run livepatch-tool check --image "$IMG" --verify-key k2.pub s.livepatch
    assert_equal "$status" 3
}

@test "info shows signed or not, the form, the key size and the key that verified it" {
    run livepatch-tool info fix01.livepatch
    assert_success
    assert_line "signature:   none"
    livepatch-tool sign fix01.livepatch --key k3.pem -o s.livepatch
    run livepatch-tool info s.livepatch
    assert_success
    assert_line "signature:   current form (note type 0x00000001), RSA 3072-bit, SHA-256"
    assert_line "  verified by: (no --verify-key given)"
    run livepatch-tool info --verify-key k1.pub --verify-key k3.pub s.livepatch
    assert_success
    assert_line "  verified by: k3.pub"
    run livepatch-tool info --json --verify-key k3.pub s.livepatch
    assert_success
    assert_output --regexp '"signature": \{"format": "current", "note_type": 1, "bits": 3072, "section": [0-9]+, "desc_offset": [0-9]+, "desc_size": 384, "verified_by": "k3.pub"\}'
    assert_output --partial '"refused": null'
    run livepatch-tool info --verify-key k1.pub s.livepatch
    assert_equal "$status" 3
    assert_line "  verified by: none of the keys given"
}

@test "--signature-format xenserver writes type 0 with its header {1, 0, 0, length}; openssl verifies it" {
    run livepatch-tool sign fix01.livepatch --key k1.pem --signature-format xenserver -o x.livepatch
    assert_success
    assert_output --partial "xenserver form (note type 0x00000000)"
    run readelf -n -W x.livepatch
    assert_output --regexp 'Xen +0x00000108'
    # { u16 version 1; u8 RSA 0; u8 SHA-256 0; u32 256 } then the signature
    assert_output --partial "description data: 01 00 00 00 00 01 00 00 "
    run od -An -tx1 -j "$(readelf_note_offset x.livepatch)" -N16 x.livepatch
    assert_output " 04 00 00 00 08 01 00 00 00 00 00 00 58 65 6e 00"
    [ "$(desc_size x.livepatch)" = 264 ]
    [ "$(sig_offset x.livepatch)" -eq $(($(desc_offset x.livepatch) + 8)) ]
    run openssl_verify x.livepatch k1.pub
    assert_output "Verified OK"
    run livepatch-tool check --image "$IMG" --verify-key k1.pub --require-signature x.livepatch
    assert_success
}

@test "a signature made by the openssl tool alone over --data-out is accepted by --signature" {
    for fmt in current xenserver; do
        run livepatch-tool sign fix01.livepatch --signature-format $fmt --digest-out d.bin \
            --data-out data.bin
        assert_success
        openssl dgst -sha256 -sign k1.pem -out ext.sig data.bin
        run livepatch-tool sign fix01.livepatch --signature-format $fmt --signature ext.sig \
            --verify-key k1.pub -o ext.livepatch
        assert_success
        assert_output --partial "signature verified by k1.pub"
        run livepatch-tool check --image "$IMG" --verify-key k1.pub --require-signature ext.livepatch
        assert_success
        # What was signed is the signed file with its descriptor zeroed.
        openssl_verify ext.livepatch k1.pub
        cmp zeroed.bin data.bin
    done
}

@test "the HSM flow end to end: --digest-out, openssl pkeyutl over the digest, --signature" {
    # The key's size decides the note's size, so the digest step takes it from the key.
    run livepatch-tool sign fix01.livepatch --verify-key k3.pub --digest-out d.bin --data-out data.bin
    assert_success
    assert_output --partial "for a 3072-bit RSA key, current form"
    [ "$(stat -c %s d.bin)" = 32 ]
    openssl dgst -sha256 -binary data.bin | cmp - d.bin
    assert_output --partial "SHA-256 to sign: $(od -An -v -tx1 d.bin | tr -d ' \n')"
    # The "HSM": a private key only openssl touches, signing the bare digest.
    openssl pkeyutl -sign -inkey k3.pem -pkeyopt digest:sha256 -in d.bin -out hsm.sig
    run livepatch-tool sign fix01.livepatch --signature hsm.sig --verify-key k3.pub -o hsm.livepatch
    assert_success
    run livepatch-tool check --image "$IMG" --verify-key k3.pub --require-signature hsm.livepatch
    assert_success
    # PKCS#1 v1.5 is deterministic: the same bytes as signing with the key directly.
    livepatch-tool sign fix01.livepatch --key k3.pem -o direct.livepatch
    cmp hsm.livepatch direct.livepatch
    # --key-size gives the size without a key; the default is 2048 bits.
    livepatch-tool sign fix01.livepatch --key-size 3072 --digest-out d2.bin
    cmp d.bin d2.bin
    livepatch-tool sign fix01.livepatch --digest-out d3.bin
    openssl pkeyutl -sign -inkey k1.pem -pkeyopt digest:sha256 -in d3.bin -out s3.sig
    run livepatch-tool sign fix01.livepatch --signature s3.sig --verify-key k1.pub -o s3.livepatch
    assert_success
}

@test "a detached signature that does not verify is refused and nothing is written" {
    livepatch-tool sign fix01.livepatch --digest-out d.bin
    openssl pkeyutl -sign -inkey k2.pem -pkeyopt digest:sha256 -in d.bin -out wrong.sig
    run livepatch-tool sign fix01.livepatch --signature wrong.sig --verify-key k1.pub -o out.livepatch
    assert_equal "$status" 3
    assert_output --partial "no key verifies"
    [ ! -e out.livepatch ]
    # Signed for a 3072-bit note layout but inserted: the digest differs.
    openssl pkeyutl -sign -inkey k3.pem -pkeyopt digest:sha256 -in d.bin -out big.sig
    run livepatch-tool sign fix01.livepatch --signature big.sig --verify-key k3.pub -o out.livepatch
    assert_equal "$status" 3
    [ ! -e out.livepatch ]
    : > empty.sig
    run livepatch-tool sign fix01.livepatch --signature empty.sig -o out.livepatch
    assert_failure
    [ ! -e out.livepatch ]
    [ -z "$(ls | grep '\.tmp\.')" ]
}

@test "re-signing replaces the note: one note, the new key verifies, the old does not" {
    livepatch-tool sign fix01.livepatch --key k1.pem -o s1.livepatch
    livepatch-tool sign s1.livepatch --key k2.pem -o s2.livepatch
    [ "$(readelf -S -W s2.livepatch | grep -c '\.note\.Xen\.signature')" = 1 ]
    [ "$(stat -c %s s2.livepatch)" = "$(stat -c %s s1.livepatch)" ]
    run livepatch-tool check --image "$IMG" --verify-key k2.pub s2.livepatch
    assert_success
    run livepatch-tool check --image "$IMG" --verify-key k1.pub s2.livepatch
    assert_equal "$status" 3
    # Another size and another form: still one note, and back to the first key gives
    # the very bytes of the first signing.
    livepatch-tool sign s2.livepatch --key k3.pem --signature-format xenserver -o s3.livepatch
    [ "$(readelf -S -W s3.livepatch | grep -c '\.note\.Xen\.signature')" = 1 ]
    run livepatch-tool check --image "$IMG" --verify-key k3.pub --require-signature s3.livepatch
    assert_success
    livepatch-tool sign s3.livepatch --key k1.pem -o back.livepatch
    cmp back.livepatch s1.livepatch
    run openssl_verify s3.livepatch k3.pub
    assert_output "Verified OK"
}

@test "refused: unsigned with --require-signature (exit 4); --require-signature needs a key" {
    run livepatch-tool check --image "$IMG" --verify-key k1.pub --require-signature fix01.livepatch
    assert_equal "$status" 4
    assert_output --partial "fix01.livepatch: unsigned (no .note.Xen.signature note), and --require-signature was given"
    # Without --require-signature an unsigned payload passes, and says so.
    run livepatch-tool check --image "$IMG" --verify-key k1.pub fix01.livepatch
    assert_success
    assert_output --partial "; unsigned"
    run livepatch-tool check --image "$IMG" --require-signature fix01.livepatch
    assert_equal "$status" 1
    assert_output --partial "--require-signature needs --verify-key"
}

@test "refused: a wrong key (exit 3)" {
    livepatch-tool sign fix01.livepatch --key k1.pem -o s.livepatch
    run livepatch-tool check --image "$IMG" --verify-key k2.pub --verify-key k3.pub s.livepatch
    assert_equal "$status" 3
    assert_output --partial "s.livepatch: .note.Xen.signature: no key verifies the 2048-bit RSA signature (current form; tried k2.pub (2048-bit), k3.pub (3072-bit))"
}

@test "refused: any changed byte outside the signature, or in it (exit 3, or the loader's or the note's refusal)" {
    livepatch-tool sign fix01.livepatch --key k1.pem -o s.livepatch
    # A byte of the patched function's code, an ELF header padding byte, the .modinfo
    # name, a byte added at the end: the loader accepts each, the signature does not.
    text=$(sec_off s.livepatch '^\.text\.')
    modinfo=$(sec_off s.livepatch '^\.modinfo$')
    [ "$text" -gt 64 ]
    [ "$modinfo" -gt 64 ]
    for off in $text 10 $((modinfo + 5)) $(sig_offset s.livepatch) $(($(sig_offset s.livepatch) + 255)); do
        cp s.livepatch t.livepatch
        flip t.livepatch $off
        run livepatch-tool check --image "$IMG" --verify-key k1.pub --require-signature t.livepatch
        assert_equal "$status" 3
        assert_output --partial "no key verifies"
    done
    cp s.livepatch t.livepatch
    printf '\0' >> t.livepatch
    run livepatch-tool check --image "$IMG" --verify-key k1.pub --require-signature t.livepatch
    assert_equal "$status" 3
    # Every 53rd byte of the file: never accepted.
    size=$(stat -c %s s.livepatch)
    for ((off = 0; off < size; off += 53)); do
        cp s.livepatch t.livepatch
        flip t.livepatch $off
        run livepatch-tool check --image "$IMG" --verify-key k1.pub --require-signature t.livepatch
        [ "$status" -ge 2 ] || { echo "byte $off changed and accepted"; false; }
    done
}

@test "refused: a malformed note: wrong type bits, empty or oversized descriptor, two notes (exit 5)" {
    livepatch-tool sign fix01.livepatch --key k1.pem -o s.livepatch
    note=$(readelf_note_offset s.livepatch)
    # Type bits: algorithm 1 (not RSA).
    cp s.livepatch t.livepatch
    poke t.livepatch $((note + 10)) 01
    run livepatch-tool check --image "$IMG" --verify-key k1.pub t.livepatch
    assert_equal "$status" 5
    assert_output --partial "unsupported note type 0x00010001 (version 1, algorithm 1, hash 0)"
    # Version 2.
    cp s.livepatch t.livepatch
    poke t.livepatch $((note + 8)) 02
    run livepatch-tool check --image "$IMG" --verify-key k1.pub t.livepatch
    assert_equal "$status" 5
    # Empty descriptor (descsz 0).
    cp s.livepatch t.livepatch
    poke t.livepatch $((note + 5)) 00
    run livepatch-tool check --image "$IMG" --verify-key k1.pub t.livepatch
    assert_equal "$status" 5
    assert_output --partial "empty descriptor"
    # Oversized: descsz 0x800.
    cp s.livepatch t.livepatch
    poke t.livepatch $((note + 5)) 08
    run livepatch-tool check --image "$IMG" --verify-key k1.pub t.livepatch
    assert_equal "$status" 5
    assert_output --partial "descriptor of 2048 bytes is larger than 1008"
    # Note name not "Xen".
    cp s.livepatch t.livepatch
    poke t.livepatch $((note + 12)) 59
    run livepatch-tool check --image "$IMG" --verify-key k1.pub t.livepatch
    assert_equal "$status" 5
    # Malformed is refused even when no key is given, and by info.
    run livepatch-tool check --image "$IMG" t.livepatch
    assert_equal "$status" 5
    run livepatch-tool info t.livepatch
    assert_equal "$status" 5
    assert_line "signature:   malformed"
    # XenServer header with another version.
    livepatch-tool sign fix01.livepatch --key k1.pem --signature-format xenserver -o x.livepatch
    cp x.livepatch t.livepatch
    poke t.livepatch $(desc_offset x.livepatch) 02
    run livepatch-tool check --image "$IMG" --verify-key k1.pub t.livepatch
    assert_equal "$status" 5
    assert_output --partial "XenServer header version 2"
    # Two notes in the section.
    dd if=s.livepatch of=note.bin bs=1 skip="$note" count=272 status=none
    cat note.bin note.bin > two.bin
    objcopy --add-section .note.Xen.signature=two.bin fix01.livepatch two.livepatch
    run livepatch-tool check --image "$IMG" --verify-key k1.pub two.livepatch
    assert_equal "$status" 5
    assert_output --partial "two signature notes"
    # Two signature sections: add one under a near name, then rename it in .shstrtab.
    objcopy --add-section .note.Xen.signaturX=note.bin s.livepatch pre.livepatch
    name=$(grep -obUa 'signaturX' pre.livepatch | cut -d: -f1)
    poke pre.livepatch $((name + 8)) 65
    run livepatch-tool check --image "$IMG" --verify-key k1.pub pre.livepatch
    assert_equal "$status" 5
    assert_output --regexp 'two signature notes: sections [0-9]+ and [0-9]+ are both \.note\.Xen\.signature'
    run livepatch-tool sign pre.livepatch --key k1.pem -o again.livepatch
    assert_equal "$status" 5
    [ ! -e again.livepatch ]
}

@test "sign never overwrites an input: -o the input (path, hard link, symlink) is refused before any work" {
    sum=$(sha256sum < fix01.livepatch)
    run livepatch-tool sign fix01.livepatch --key k1.pem -o fix01.livepatch
    assert_equal "$status" 1
    assert_output --partial "is the input fix01.livepatch: an input is never overwritten"
    ln fix01.livepatch hard.livepatch
    run livepatch-tool sign fix01.livepatch --key k1.pem -o hard.livepatch
    assert_equal "$status" 1
    ln -s fix01.livepatch soft.livepatch
    run livepatch-tool sign fix01.livepatch --key k1.pem -o soft.livepatch
    assert_equal "$status" 1
    run livepatch-tool sign fix01.livepatch --key k1.pem -o ./fix01.livepatch
    assert_equal "$status" 1
    run livepatch-tool sign fix01.livepatch --key k1.pem -o k1.pem
    assert_equal "$status" 1
    run livepatch-tool sign fix01.livepatch --digest-out fix01.livepatch
    assert_equal "$status" 1
    run livepatch-tool sign fix01.livepatch --digest-out d.bin --data-out hard.livepatch
    assert_equal "$status" 1
    [ ! -e d.bin ]
    # Refused before any work: even with a key that does not exist.
    run livepatch-tool sign fix01.livepatch --key missing.pem -o fix01.livepatch
    assert_output --partial "an input is never overwritten"
    [ "$(sha256sum < fix01.livepatch)" = "$sum" ]
    [ -z "$(ls | grep '\.tmp\.')" ]
    # Without -o the output is PAYLOAD.signed.
    run livepatch-tool sign fix01.livepatch --key k1.pem
    assert_success
    [ -f fix01.livepatch.signed ]
    [ "$(sha256sum < fix01.livepatch)" = "$sum" ]
}

@test "sign refuses what it cannot sign, and leaves nothing behind" {
    payload-mutate fix01.livepatch machine 3
    run livepatch-tool sign fix01.livepatch --key k1.pem -o out.livepatch
    assert_equal "$status" 2
    assert_output --partial "not signing fix01.livepatch: the loader refuses it"
    [ ! -e out.livepatch ]
    cp "$P/fix01.livepatch" .
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
    run livepatch-tool sign fix01.livepatch --key ec.pem -o out.livepatch
    assert_equal "$status" 1
    assert_output --partial "not an RSA key"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes-128-cbc -pass pass:x \
        -out enc.pem 2>/dev/null
    run livepatch-tool sign fix01.livepatch --key enc.pem -o out.livepatch
    assert_equal "$status" 1
    assert_output --partial "no passphrase is asked for"
    run livepatch-tool sign fix01.livepatch --key k1.pem -o nodir/out.livepatch
    assert_equal "$status" 1
    [ ! -e out.livepatch ]
    [ -z "$(ls | grep '\.tmp\.')" ]
    run livepatch-tool sign fix01.livepatch --key k1.pem --signature x.sig
    assert_equal "$status" 1
    assert_output --partial "exactly one of --key, --signature, --digest-out"
    run livepatch-tool sign fix01.livepatch --key k1.pem --signature-format pkcs7
    assert_equal "$status" 1
    run livepatch-tool check --image "$IMG" --key k1.pem fix01.livepatch
    assert_equal "$status" 1
}
