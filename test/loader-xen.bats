#!/usr/bin/env bats
# livepatch-tool against Xen 4.17's loader: payloads where an earlier version of our
# loader gave another verdict or errno than the hypervisor (common/livepatch.c,
# common/livepatch_elf.c, arch/x86/livepatch.c), each with the verdict Xen gives.

load test_helper
load loader_helper

setup_file() {
    export BASE="$BATS_FILE_TMPDIR/base" P="$BATS_FILE_TMPDIR"
    local pp="$BATS_TEST_DIRNAME/../samples/patches"
    sample_base "$BASE"
    export IMG="$BASE/xen/xen-syms"
    sample_payload "$BASE" "$P/fix01.livepatch" fix01 "" "$pp/01-fix-domctl-bounds.patch"
    sample_payload "$BASE" "$P/hooks08.livepatch" hooks08 "" "$pp/08-hooks.patch"
    sample_payload "$BASE" "$P/stack09.livepatch" stack09 "$(build_id "$P/fix01.livepatch")" \
        "$pp/01-fix-domctl-bounds.patch" "$pp/09-stack-followup.patch"
}

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
    cp "$P"/*.livepatch .
}


# size_of SYMBOL: its st_size in the image, in decimal.
size_of() {
    printf '%d' "0x$(nm -S "$IMG" | awk -v s="$1" '$4 == s {print $2}')"
}

# asm_payload OUT NAME: assemble stdin and link it as a payload for $IMG (what
# livepatch-build does after the differ), so a test states the exact entries.
asm_payload() {
    as --64 -o "$1.o" - || return 1
    link_payload "$1" "$IMG" "" "$2" "$1.o"
}

# A function entry: NAME_EXPR NEW_EXPR OLD_EXPR NEW_SIZE OLD_SIZE (assembler expressions).
func_entry() {
    printf '\t.section .livepatch.funcs,"a"\n\t.quad %s\n\t.quad %s\n\t.quad %s\n' "$1" "$2" "$3"
    printf '\t.long %s\n\t.long %s\n\t.byte 2\n\t.fill 71,1,0\n' "$4" "$5"
}

NEW_FN='	.text
	.type lp_new_domctl,@function
lp_new_domctl:
	movq $-22, %rax
	ret
	.size lp_new_domctl, .-lp_new_domctl
'

@test "xen: a writable .livepatch.funcs (flags WA) is accepted and applies" {
    payload-mutate fix01.livepatch flags .livepatch.funcs wa
    run readelf -SW fix01.livepatch
    assert_output --regexp '\.livepatch\.funcs +PROGBITS +[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ [0-9a-f]+ +WA'
    run livepatch-tool check --image "$IMG" fix01.livepatch
    assert_success
    livepatch-tool apply --image "$IMG" -o patched fix01.livepatch
    run ./patched
    assert_line "domctl(8) unknown = -22"
}

@test "xen: e_version other than 1 is refused (EOPNOTSUPP)" {
    payload-mutate fix01.livepatch version 2
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EOPNOTSUPP "ELF header: version 2"
}

@test "xen: a section whose data overlaps the ELF header is refused (EINVAL)" {
    payload-mutate fix01.livepatch offset .debug_abbrev 16
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EINVAL "section .debug_abbrev: data at offset 16 overlaps the ELF header"
}

# Symbol 1 is the section symbol of .note.gnu.build-id: no relocation uses it.
@test "xen: a symbol in SHN_COMMON is refused (EINVAL), even one nothing uses" {
    run readelf -sW fix01.livepatch
    assert_line --regexp '^ +1: 0+ +0 SECTION +LOCAL +DEFAULT +1 \.note\.gnu\.build-id$'
    payload-mutate fix01.livepatch symshndx '#1' 0xfff2
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EINVAL "in SHN_COMMON"
}

@test "xen: a symbol with a reserved section index is refused (EOPNOTSUPP), SHN_XINDEX too" {
    cp fix01.livepatch x.livepatch
    payload-mutate fix01.livepatch symshndx '#1' 0xff00
    run livepatch-tool check --image "$IMG" fix01.livepatch
    refused EOPNOTSUPP "reserved section index 0xff00"
    payload-mutate x.livepatch symshndx '#1' 0xffff
    run livepatch-tool check --image "$IMG" x.livepatch
    refused EOPNOTSUPP "reserved section index 0xffff (SHN_XINDEX)"
}

@test "xen: an undefined symbol nothing relocates against must still resolve (ENOENT), in check and apply" {
    { echo "$NEW_FN"; printf '\t.globl lp_no_such_fn\n'
      func_entry 0 lp_new_domctl do_domctl 8 "$(size_of do_domctl)"; } | asm_payload u.livepatch u
    run readelf -sW u.livepatch
    assert_output --regexp 'NOTYPE +GLOBAL +DEFAULT +UND lp_no_such_fn'
    run livepatch-tool check --image "$IMG" u.livepatch
    refused ENOENT "u: symbol lp_no_such_fn: unresolved"
    run livepatch-tool apply --image "$IMG" -o out u.livepatch
    refused ENOENT "symbol lp_no_such_fn: unresolved"
    [ ! -e out ]
}

@test "xen: a section named twice is accepted, and the first one counts (Xen's duplicate check never fires)" {
    cp fix01.livepatch twice.livepatch
    payload-mutate twice.livepatch rename-section .debug_line_str .debug_str
    [ "$(readelf -SW twice.livepatch | grep -c ' \.debug_str ')" = 2 ]
    run livepatch-tool check --image "$IMG" twice.livepatch
    assert_success
    # Two .modinfo: the first is the one read (a debug section's bytes, no name= in it).
    payload-mutate twice.livepatch rename-section .debug_rnglists .modinfo
    [ "$(readelf -SW twice.livepatch | grep -c ' \.modinfo ')" = 2 ]
    run livepatch-tool info twice.livepatch
    assert_success
    assert_line "name:        twice"
    refute_line "  name=fix01"
}

@test "xen: old_addr is read after relocation: R_X86_64_64 on old_addr decides what is patched" {
    # name says domctl_name, the relocated old_addr says do_domctl: Xen patches do_domctl.
    { echo "$NEW_FN"; printf '\t.section .rodata.lpname,"a"\nlp_fname:\n\t.asciz "domctl_name"\n'
      func_entry lp_fname lp_new_domctl do_domctl 8 "$(size_of do_domctl)"; } |
        asm_payload r.livepatch reloc
    run readelf -rW r.livepatch
    assert_output --regexp 'R_X86_64_64 +[0-9a-f]+ do_domctl'
    run livepatch-tool info r.livepatch
    assert_success
    assert_line --regexp '^  domctl_name  old_size=[0-9]+ new_size=8 old_addr=do_domctl$'
    run livepatch-tool check --image "$IMG" r.livepatch
    assert_success
    livepatch-tool apply --image "$IMG" -o patched r.livepatch
    addr=$(nm "$IMG" | awk '$3 == "do_domctl" {print $1}')
    run objdump -d --start-address=0x$addr --stop-address=$((0x$addr + 9)) patched
    assert_output --regexp 'jmp +[0-9a-f]+'
    cmp <(objdump -d --section=.text "$IMG" | awk '/<domctl_name>:/,/^$/') \
        <(objdump -d --section=.text patched | awk '/<domctl_name>:/,/^$/')
    run ./patched
    assert_line "domctl(4) getdomaininfo = -22"
    assert_line "domctl(8) unknown = -22"
}

@test "xen: new_addr is read after relocation too, and an unrelocated name field is no name" {
    # The name field's relocation moves to old_addr: no name, old_addr = do_domctl.
    { echo "$NEW_FN"; func_entry 0 lp_new_domctl do_domctl 8 "$(size_of do_domctl)"; } |
        asm_payload n.livepatch noname
    run livepatch-tool check --image "$IMG" n.livepatch
    assert_success
    livepatch-tool apply --image "$IMG" -o patched n.livepatch
    run ./patched
    assert_line "domctl(8) unknown = -22"
}

@test "xen: NOP mode with old_addr set and no name (xen_nop) is accepted and NOPs the function" {
    func_entry 0 0 do_domctl 5 "$(size_of do_domctl)" | asm_payload nop.livepatch xen_nop
    run livepatch-tool check --image "$IMG" nop.livepatch
    assert_success
    run livepatch-tool info nop.livepatch
    assert_line --regexp '^  entry 0  old_size=[0-9]+ new_size=5 \(NOP mode\) old_addr=do_domctl$'
    livepatch-tool apply --image "$IMG" -o nopped nop.livepatch
    addr=$(nm "$IMG" | awk '$3 == "do_domctl" {print $1}')
    run objdump -d --start-address=0x$addr --stop-address=$((0x$addr + 5)) nopped
    assert_output --regexp 'nopl +0x0\(%rax,%rax,1\)'
    livepatch-tool revert --image nopped -o back
    cmp "$IMG" back
    # An empty name is no different.
    { printf '\t.section .rodata.lpname,"a"\nlp_empty:\n\t.asciz ""\n'
      func_entry lp_empty 0 do_domctl 5 "$(size_of do_domctl)"; } | asm_payload e.livepatch empty
    run livepatch-tool check --image "$IMG" e.livepatch
    assert_success
}

@test "xen: an entry with neither old_addr nor a name is refused (EINVAL); an empty name does not resolve (ENOENT)" {
    { echo "$NEW_FN"; func_entry 0 lp_new_domctl 0 8 20; } | asm_payload a.livepatch a
    run livepatch-tool check --image "$IMG" a.livepatch
    refused EINVAL "entry 0 has neither old_addr nor a readable name"
    { echo "$NEW_FN"; printf '\t.section .rodata.lpname,"a"\nlp_empty:\n\t.asciz ""\n'
      func_entry lp_empty lp_new_domctl 0 8 20; } | asm_payload b.livepatch b
    run livepatch-tool check --image "$IMG" b.livepatch
    refused ENOENT "(empty name): not found in the image"
}

@test "xen: an empty SHF_ALLOC section is placed, and symbols and relocations in it work" {
    { echo "$NEW_FN"
      printf '\t.section .altinstr_replacement,"ax"\nlp_repl:\n'
      printf '\t.section .altinstructions,"a"\n\t.long lp_new_domctl - .\n\t.long lp_repl - .\n'
      printf '\t.word 0\n\t.byte 1, 0, 0, 0\n'
      printf '\t.section .rodata.lpname,"a"\nlp_fname:\n\t.asciz "do_domctl"\n'
      func_entry lp_fname lp_new_domctl 0 8 "$(size_of do_domctl)"; } | asm_payload alt.livepatch alt
    run readelf -SW alt.livepatch
    assert_output --regexp '\.altinstr_replacement +PROGBITS +0+ [0-9a-f]+ 0+ '
    run readelf -rW alt.livepatch
    assert_output --regexp 'R_X86_64_PC32 +0+ \.altinstr_replacement \+ 0'
    run livepatch-tool check --image "$IMG" alt.livepatch
    assert_success
    # lp_repl, in the empty section, is one of the payload's new symbols.
    assert_output --partial "alt.livepatch: ok (1 function, 2 new symbols)"
    livepatch-tool apply --image "$IMG" -o patched alt.livepatch
    run ./patched
    assert_line "domctl(8) unknown = -22"
}

@test "messages name the payload by its .modinfo name, else by the file's base name" {
    mkdir -p some/dir
    cp fix01.livepatch some/dir/renamed-copy.livepatch
    payload-mutate some/dir/renamed-copy.livepatch flags .text.do_domctl wax
    run livepatch-tool check --image "$IMG" some/dir/renamed-copy.livepatch
    refused EOPNOTSUPP "livepatch-tool: fix01: section .text.do_domctl: both writable"
    refute_output --partial "some/dir"
    objcopy --remove-section .modinfo fix01.livepatch some/dir/anon.livepatch
    payload-mutate some/dir/anon.livepatch func 0 old_size 0
    run livepatch-tool check --image "$IMG" some/dir/anon.livepatch
    refused EINVAL "livepatch-tool: anon: function do_domctl: old_size is 0"
    # Before a section table is read there is no name but the file's.
    head -c 40 fix01.livepatch > some/dir/short.livepatch
    run livepatch-tool check --image "$IMG" some/dir/short.livepatch
    refused EINVAL "some/dir/short.livepatch: ELF header"
}

@test "info shows a refused payload as far as it reads, then the reason, and exits 2" {
    payload-mutate hooks08.livepatch size .livepatch.hooks.load 12
    run livepatch-tool info hooks08.livepatch
    refused EINVAL "hooks08: .livepatch.hooks.load: size 12 is not a multiple of 8"
    assert_line "name:        hooks08"
    assert_line --regexp '^  do_domctl  old_size=[0-9]+ new_size=[0-9]+$'
    run livepatch-tool info --json hooks08.livepatch
    assert_equal "$status" 2
    assert_output --partial '"name": "hooks08"'
    assert_output --partial '"refused": "hooks08: .livepatch.hooks.load: size 12 is not a multiple of 8 (EINVAL)"'
    # A refusal after the notes are read shows them too (the name= string is cut, so the
    # name is the file's).
    size=$((16#$(readelf -SW fix01.livepatch | awk '$2 == ".modinfo" {print $6}')))
    cp fix01.livepatch m.livepatch
    payload-mutate m.livepatch byte .modinfo $((size - 1)) 65
    run livepatch-tool info m.livepatch
    refused EINVAL "livepatch-tool: m: .modinfo: not NUL-terminated"
    assert_line "build id:    $(build_id fix01.livepatch)"
    # Without a symbol table there is little to show, but still the name and why.
    payload-mutate fix01.livepatch shtype .symtab 1
    run livepatch-tool info fix01.livepatch
    refused EINVAL "fix01: no symbol table"
    assert_line "name:        fix01"
}

@test "check on an image patched by apply takes the applied stack into account" {
    livepatch-tool apply --image "$IMG" -o one fix01.livepatch
    run livepatch-tool check --image one stack09.livepatch
    assert_success
    assert_output --partial "stack09.livepatch: ok"
    run livepatch-tool check --image one fix01.livepatch
    refused EEXIST "fix01: build id is the same as loaded payload fix01's"
    run livepatch-tool check --image one hooks08.livepatch
    refused EINVAL "hooks08: .livepatch.depends: depends on a build id that is not the previous payload's (fix01, the top of the stack)"
}
