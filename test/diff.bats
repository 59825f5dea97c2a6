#!/usr/bin/env bats
# create-diff-object: what goes into a payload object, and what is refused.

load test_helper

@test "a changed function is patched and its unchanged neighbours stay out" {
    diff_case basic
    run create-diff-object orig.o patched.o image out.o
    assert_success
    run payload-funcs out.o
    assert_success
    assert_line --regexp '^check_bounds new=check_bounds new_size=[0-9]+ old_size=[0-9]+ old_addr=0 version=2 expect=0$'
    [ "${#lines[@]}" -eq 1 ]
    # Unchanged code is referenced by the image's runtime names, never carried.
    run readelf -sW out.o
    assert_output --regexp 'UND common/basic\.c#helper'
    assert_output --regexp 'UND unchanged'
    refute_line --regexp '.*FUNC .* unchanged$'
    # The static local keeps living in the image: referenced, not duplicated.
    assert_output --regexp 'UND common/basic\.c#calls\.[0-9]+'
}

@test "old_size comes from the image and -r resolves old_addr from it" {
    diff_case basic
    create-diff-object -r orig.o patched.o image out.o
    want_addr=$(nm image | awk '$3 == "check_bounds" {print $1}' | sed 's/^0*//')
    want_size=$(readelf -sW image | awk '$8 == "check_bounds" {print $3}')
    run payload-funcs out.o
    assert_output --regexp "old_size=$want_size old_addr=$want_addr "
}

@test "the payload object's loaded sections only hold relocation types the loader accepts" {
    diff_case basic
    create-diff-object orig.o patched.o image out.o
    # Debug sections are not loaded; their R_X86_64_32 entries do not concern the loader.
    run bash -c "readelf -rW out.o | awk '/^Relocation section/ {dbg = (\$3 ~ /debug/)} /R_X86_64/ && !dbg {print \$3}' | sort -u"
    [ -n "$output" ]
    for t in $output; do
        case $t in R_X86_64_64|R_X86_64_PC32|R_X86_64_PLT32|R_X86_64_NONE) ;; *) false ;; esac
    done
}

@test "nothing changed: exit 3, no output file" {
    diff_case basic
    run create-diff-object orig.o orig.o image out.o
    assert_equal "$status" 3
    assert_output --partial "no functional change"
    [ ! -e out.o ]
}

@test "an OUT.o left by an earlier run does not survive a run that writes none" {
    diff_case basic
    echo stale >out.o
    run create-diff-object orig.o orig.o image out.o
    assert_equal "$status" 3
    [ ! -e out.o ]
}

@test "moved strings and renumbered statics do not drag unchanged functions in" {
    diff_case renumber
    run create-diff-object -d orig.o patched.o image out.o
    assert_success
    run payload-funcs out.o
    assert_line --regexp '^second '
    refute_line --regexp '^first '
    refute_line --regexp '^common/renumber\.c#scale '
    # second()'s existing static keeps its state in the image; its new one is carried.
    want=$(readelf -rW orig.o | sed -n '/rela.text.second/,/^$/p' | grep -o 'seen\.[0-9]*' | head -1)
    run readelf -sW out.o
    assert_line --regexp ".*UND common/renumber\.c#$want\$"
    refute_line --regexp '.* seen\.[0-9]+\.lp_[0-9a-f]+$'
    assert_line --regexp '.*OBJECT +LOCAL +DEFAULT +[0-9]+ calls\.[0-9]+\.lp_[0-9a-f]{8}$'
}

@test "a changed initial value of existing data is refused naming the object" {
    diff_case data-change
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "data object limits"
    assert_output --partial "cannot change existing data"
    [ ! -e out.o ]
}

@test "a change only in init code is no change, and says why" {
    diff_case init-only
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 3
    assert_output --partial "init code cannot be live patched"
    assert_output --partial "setup_platform"
    [ ! -e out.o ]
}

@test "a function too small for the jump is refused" {
    diff_case too-small
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "tiny"
    assert_output --partial "too small"
    [ ! -e out.o ]
}

@test "new static functions are carried renamed, new globals keep their name" {
    diff_case new-symbols
    run create-diff-object orig.o patched.o image out.o
    assert_success
    run readelf -sW out.o
    assert_line --regexp '.*FUNC +LOCAL +DEFAULT +[0-9]+ validate\.lp_[0-9a-f]{8}$'
    assert_line --regexp '.*OBJECT +GLOBAL +[A-Z]+ +[0-9]+ handle_rejections$'
    run payload-funcs out.o
    assert_line --regexp '^handle '
    [ "${#lines[@]}" -eq 1 ]
}

@test "a changed static inline patches every caller that inlined it" {
    diff_case inline-header
    run create-diff-object orig.o patched.o image out.o
    assert_success
    run payload-funcs out.o
    assert_line --regexp '^caller_one '
    assert_line --regexp '^caller_two '
    refute_line --regexp '^bystander '
}

@test "a changed format string patches its function and the log says a string differs" {
    diff_case format-string
    run create-diff-object -d orig.o patched.o image out.o
    assert_success
    assert_output --partial "string referenced"
    run payload-funcs out.o
    assert_line --regexp '^report '
    refute_line --regexp '^quiet '
}

@test "--explain disassembles the first differing instruction on both sides" {
    diff_case basic
    run create-diff-object --explain orig.o patched.o image out.o
    assert_success
    # The patch adds `idx < 0 ||`, which gcc folds into one unsigned compare: the jump
    # at the same place is jg on one side and ja on the other.
    assert_output --regexp 'explain: +original +\+0x([0-9a-f]+): jg '
    at=$(sed -n 's/^explain: *original *+\(0x[0-9a-f]*\): .*/\1/p' <<<"$output")
    assert_output --regexp "explain: +patched +\\+$at: ja "
}

@test "special-section entries are kept only for carried functions" {
    diff_case special
    run create-diff-object orig.o patched.o image out.o
    assert_success
    run readelf -SW out.o
    assert_output --regexp '\.bug_frames\.1 +PROGBITS +0+ [0-9a-f]+ 000008 '
    assert_output --regexp '\.ex_table +PROGBITS +0+ [0-9a-f]+ 000008 '
    assert_output --regexp '\.altinstructions +PROGBITS +0+ [0-9a-f]+ 00000e '
    assert_output --regexp '\.alt_call_sites +PROGBITS +0+ [0-9a-f]+ 000004 '
    assert_output --partial ".fixup"
    assert_output --partial ".altinstr_replacement"
    # The kept entries point into the carried function, not at its unchanged neighbour.
    run bash -c "readelf -rW out.o | sed -n '/rela.ex_table/,/^\$/p'"
    assert_output --partial "warn_two"
    refute_output --partial "warn_one"
    run payload-funcs out.o
    assert_line --regexp '^warn_two '
    refute_line --regexp '^warn_one '
}

@test "LIVEPATCH_IGNORE_FUNCTION leaves a changed function out" {
    diff_case ignore
    run create-diff-object orig.o patched.o image out.o
    assert_success
    run payload-funcs out.o
    assert_line --regexp '^real_fix '
    refute_line --regexp '^noisy '
    run readelf -SW out.o
    refute_output --partial ".livepatch.ignore"
}

@test "hook sections travel with the functions they point at" {
    diff_case hooks
    run create-diff-object orig.o patched.o image out.o
    assert_success
    run readelf -SW out.o
    assert_output --partial ".livepatch.hooks.load"
    assert_output --partial ".livepatch.hooks.unload"
    run readelf -sW out.o
    assert_line --regexp '.*FUNC +LOCAL +DEFAULT +[0-9]+ on_load\.lp_[0-9a-f]{8}$'
}

@test "LIVEPATCH_NOP: NOP-mode entries (new_addr 0, new_size the length) and nothing else" {
    diff_case nop
    run create-diff-object -r orig.o patched.o image out.o
    assert_success
    assert_output --partial "0 functions patched, 2 NOPped"
    want_hit=$(readelf -sW image | awk '$8 == "trace_hit" {print $3}')
    want_log=$(readelf -sW image | awk '$8 == "log_event" {print $3}')
    addr_hit=$(nm image | awk '$3 == "trace_hit" {print $1}' | sed 's/^0*//')
    run payload-funcs out.o
    assert_success
    # Plain name for a global, file#name for a local; no relocation of new_addr.
    assert_line "trace_hit new=(nop) new_size=5 old_size=$want_hit old_addr=$addr_hit version=2 expect=0"
    assert_line --regexp "^common/nop\\.c#log_event new=\\(nop\\) new_size=7 old_size=$want_log old_addr=[0-9a-f]+ version=2 expect=0\$"
    [ "${#lines[@]}" -eq 2 ]
    run bash -c "readelf -rW out.o | sed -n '/rela.livepatch.funcs/,/^\$/p' | grep -c R_X86_64"
    assert_output 2
    # Neither the request section nor its helper symbols reach the payload, nor the code.
    run readelf -SW out.o
    refute_output --partial ".livepatch.nops"
    refute_output --partial ".text.trace_hit"
    run readelf -sW out.o
    refute_output --partial "livepatch_nop_data"
}

@test "LIVEPATCH_NOP lengths outside 1..31 or beyond the function are refused naming it" {
    diff_case nop -DNOP_FN=trace_hit -DNOP_LEN=0
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "LIVEPATCH_NOP(trace_hit, 0): NOP mode overwrites 1 to 31 bytes"
    [ ! -e out.o ]
    diff_case nop -DNOP_FN=trace_hit -DNOP_LEN=32
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "LIVEPATCH_NOP(trace_hit, 32): NOP mode overwrites 1 to 31 bytes"
    diff_case nop -DNOP_FN=tiny -DNOP_LEN=4
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "LIVEPATCH_NOP(tiny, 4): tiny is 3 bytes in the image"
    [ ! -e out.o ]
    # The whole function is allowed.
    diff_case nop -DNOP_FN=tiny -DNOP_LEN=3
    run create-diff-object orig.o patched.o image out.o
    assert_success
    run payload-funcs out.o
    assert_line "tiny new=(nop) new_size=3 old_size=3 old_addr=0 version=2 expect=0"
}

@test "LIVEPATCH_NOP of a function that also changed, of data or cutting ENDBR64 is refused" {
    diff_case nop -DNOP_FN=trace_hit -DNOP_LEN=5 -DCHANGE_TOO
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "LIVEPATCH_NOP(trace_hit, 5): trace_hit changed in this patch: a function cannot be both replaced and NOPped"
    [ ! -e out.o ]
    diff_case nop -DNOP_FN=trace_buf -DNOP_LEN=5
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "LIVEPATCH_NOP(trace_buf, 5): trace_buf is not a function"
    diff_case nop -DNOP_FN=trace_hit -DNOP_LEN=2 -fcf-protection=branch
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "LIVEPATCH_NOP(trace_hit, 2): trace_hit starts with ENDBR64"
}

@test "LIVEPATCH_NOP next to a changed function: one replaced, one NOPped" {
    diff_case nop -DNOP_FN=log_event -DNOP_LEN=6 -DCHANGE_TOO
    run create-diff-object orig.o patched.o image out.o
    assert_success
    assert_output --partial "1 function patched, 1 NOPped"
    run payload-funcs out.o
    assert_line --regexp '^trace_hit new=trace_hit new_size=[0-9]+ old_size=[0-9]+ old_addr=0 version=2 expect=0$'
    assert_line --regexp '^common/nop\.c#log_event new=\(nop\) new_size=6 old_size=[0-9]+ old_addr=0 version=2 expect=0$'
    [ "${#lines[@]}" -eq 2 ]
}

@test "the same inputs give a byte-identical payload object" {
    diff_case new-symbols
    create-diff-object orig.o patched.o image a.o
    create-diff-object orig.o patched.o image b.o
    cmp a.o b.o
}

@test "--json lists changed functions, carried symbols and refusals" {
    diff_case new-symbols
    run create-diff-object --json r.json orig.o patched.o image out.o
    assert_success
    run cat r.json
    assert_output --partial '"status": "written"'
    assert_line '  "changed_functions": ['
    assert_output --partial '{"name": "handle"'
    assert_output --regexp '"name": "validate\.lp_[0-9a-f]+"'
    diff_case data-change
    run create-diff-object --json r2.json orig.o patched.o image out2.o
    assert_equal "$status" 2
    run cat r2.json
    assert_output --partial '"status": "unsupported"'
    assert_output --partial '{"name": "limits"'
}

@test "code built without hidden visibility is refused naming the relocation type" {
    mkdir -p common
    cp "$LP_ROOT/test/data/diff/basic/orig.c" common/basic.c
    gcc $LP_TEST_CFLAGS -c common/basic.c -o orig.o
    cp "$LP_ROOT/test/data/diff/basic/patched.c" common/basic.c
    gcc $LP_TEST_CFLAGS -c common/basic.c -o patched.o
    cc_hv main.o "$LP_ROOT/test/data/diff/main.c" main.c
    link_image image orig.o main.o
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "GOTPCREL"
    [ ! -e out.o ]
}

@test "corrupt, mismatched or symbol-less inputs are clear errors" {
    diff_case basic
    head -c 100 patched.o > trunc.o
    run create-diff-object orig.o trunc.o image out.o
    assert_equal "$status" 1
    assert_output --partial "trunc.o"
    # Another architecture: same object with e_machine changed to AArch64 (183).
    cp patched.o arm.o
    printf '\xb7\x00' | dd of=arm.o bs=1 seek=18 conv=notrunc status=none
    run create-diff-object orig.o arm.o image out.o
    assert_equal "$status" 1
    assert_output --partial "different architectures"
    strip -o stripped image
    run create-diff-object orig.o patched.o stripped out.o
    assert_equal "$status" 1
    assert_output --partial "no symbol table"
    [ ! -e out.o ]
}

@test "objects from different compilers are refused" {
    diff_case basic
    objcopy --remove-section .comment patched.o
    printf 'GCC: (Other) 99.1\0' > c.txt
    objcopy --add-section .comment=c.txt patched.o
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 1
    assert_output --partial "different compilers"
}

@test "a change in a split-out .cold piece patches its parent and carries the piece" {
    diff_case cold
    run create-diff-object -d orig.o patched.o image out.o
    assert_success
    run payload-funcs out.o
    assert_line --regexp '^process new=process '
    refute_line --regexp '^common/cold\.c#process\.cold '
    [ "${#lines[@]}" -eq 1 ]
    run readelf -sW out.o
    assert_line --regexp '.*FUNC +LOCAL +DEFAULT +[0-9]+ process\.cold\.lp_[0-9a-f]{8}$'
}

@test "special-section entry sizes come from the image's DWARF complete type, or the environment" {
    diff_case special
    cc_hv decl.o "$LP_ROOT/test/data/diff/dwarf/decl.c" decl.c
    cc_hv full.o "$LP_ROOT/test/data/diff/dwarf/full.c" full.c
    # The forward declaration comes first in the image; the complete type decides.
    link_image image orig.o decl.o full.o main.o
    run create-diff-object -d orig.o patched.o image out.o
    assert_output --partial ".ex_table entry size 12 (image DWARF)"
    assert_output --partial ".bug_frames.1 entry size 8 (payload.h default)"
    EX_STRUCT_SIZE=8 run create-diff-object -d orig.o patched.o image out.o
    assert_success
    assert_output --partial ".ex_table entry size 8 (EX_STRUCT_SIZE)"
}

@test "debug sections are carried, with relocations to dropped code removed" {
    diff_case basic
    run create-diff-object -d orig.o patched.o image out.o
    assert_success
    assert_output --regexp '\.debug_info: [0-9]+ relocations kept, [1-9][0-9]* to dropped code or data removed'
    run readelf -SW out.o
    assert_output --partial ".debug_info"
    assert_output --partial ".debug_aranges"
    # Every relocation left in the debug sections names something the payload defines.
    run bash -c "readelf -rW out.o | sed -n '/rela.debug/,/^\$/p' | grep -c 'unchanged'"
    assert_output "0"
    readelf --debug-dump=info out.o > /dev/null
}

@test "a function that gains or loses a reference to an existing static is reported" {
    diff_case renumber
    run create-diff-object -d orig.o patched.o image out.o
    assert_success
    assert_output --regexp 'static seen\.[0-9]+ \(original seen\.[0-9]+\) correlated through second'
    diff_case basic
    cp "$LP_ROOT/test/data/diff/basic/patched.c" common/basic.c
    sed -i 's/calls++;/calls += 0;/; s/    static int calls;/    static int calls;\n    (void)calls;/' common/basic.c
    sed -i 's/printf("check_bounds: idx=%d mode=%s calls=%d\\n", idx, modes\[idx \& 1\], calls);/printf("idx=%d\\n", idx);/' common/basic.c
    cc_hv patched.o common/basic.c common/basic.c
    run create-diff-object -d orig.o patched.o image out.o
    assert_success
    assert_output --regexp 'check_bounds no longer references the static calls\.[0-9]+'
}

@test "__func__ constants of carried functions never collide with the image's" {
    diff_case func-name
    run create-diff-object orig.o patched.o image out.o
    assert_success
    run payload-funcs out.o
    assert_line --regexp '^beta '
    refute_line --regexp '^alpha '
    # beta's name string is either the image's own (referenced by runtime name) or a
    # renamed copy; a plain __func__.N definition would clash with the image.
    run readelf -sW out.o
    refute_line --regexp '.*OBJECT +LOCAL +DEFAULT +[0-9]+ __func__\.[0-9]+$'
    run bash -c "readelf -sW out.o | grep -E '__func__\\.[0-9]+(\\.lp_[0-9a-f]{8})?\$'"
    assert_success
}

@test "pooled constants are compared by value, so a moved constant drags nothing in" {
    diff_case constants
    run create-diff-object orig.o patched.o image out.o
    assert_success
    run payload-funcs out.o
    assert_line --regexp '^scale_b '
    refute_line --regexp '^scale_a '
}

@test "LIVEPATCH_IGNORE_SECTION leaves the functions of that section out" {
    diff_case ignore-section
    run create-diff-object orig.o patched.o image out.o
    assert_success
    assert_output --partial "1 function patched"
    run payload-funcs out.o
    assert_line --regexp '^hot_path '
    refute_line --regexp '^rare_path '
}

@test "a changed function starting with ENDBR64 needs 9 bytes in the image" {
    mkdir -p src
    printf 'int __attribute__((noinline)) small_fn(int x) { return x + 1; }\nint (*fp)(int) = small_fn;\n' > src/o.c
    printf 'int __attribute__((noinline)) small_fn(int x) { return x + 1000; }\nint (*fp)(int) = small_fn;\n' > src/p.c
    mkdir -p common
    cp src/o.c common/ibt.c
    cc_hv orig.o common/ibt.c common/ibt.c -fcf-protection=branch
    cp src/p.c common/ibt.c
    cc_hv patched.o common/ibt.c common/ibt.c -fcf-protection=branch
    cc_hv main.o "$LP_ROOT/test/data/diff/main.c" main.c
    link_image image orig.o main.o
    size=$(readelf -sW image | awk '$8 == "small_fn" {print $3}')
    [ "$size" -ge 5 ]
    [ "$size" -lt 9 ]
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "after its ENDBR64"
}

@test "renumbered clone suffixes do not drag unchanged callers in" {
    diff_case clones
    run readelf -sW orig.o
    assert_output --partial "mix.constprop.0"
    # What gcc does when another clone appears earlier in the unit: the numbers move.
    objcopy --redefine-sym mix.constprop.0=mix.constprop.3 \
            --redefine-sym scale.constprop.0=scale.constprop.2 patched.o
    run create-diff-object orig.o patched.o image out.o
    assert_success
    run payload-funcs out.o
    assert_line --regexp '^entry_b '
    refute_line --regexp '^entry_a '
    [ "${#lines[@]}" -eq 1 ]
    run readelf -sW out.o
    assert_line --regexp '.*UND common/clones\.c#mix\.constprop\.0$'
}

@test "PC-relative references with an immediate after the field reach the right static" {
    diff_case pcrel
    # What the compiler made: the addends are -5 and -8, not -4, and pair_a sits at +4.
    run bash -c "readelf -rW patched.o | sed -n '/rela.text.poll_flag/,/^\$/p'"
    assert_output --regexp 'R_X86_64_PC32 +0+ \.bss\.flag - 5'
    assert_output --regexp 'R_X86_64_PC32 +0+ \.bss\.counter - 8'
    assert_output --regexp 'R_X86_64_PC32 +0+ \.data\.pair - 4'
    run readelf -sW patched.o
    assert_line --regexp '.* 0+4 +4 OBJECT +LOCAL +DEFAULT +[0-9]+ pair_a$'
    run create-diff-object orig.o patched.o image out.o
    assert_success
    run payload-funcs out.o
    assert_line --regexp '^poll_flag '
    [ "${#lines[@]}" -eq 1 ]
    # The payload names the variables the instructions use, with the addends unchanged.
    run bash -c "readelf -rW out.o | sed -n '/rela.text.poll_flag/,/^\$/p'"
    assert_output --regexp 'R_X86_64_PC32 .* common/pcrel\.c#flag - 5'
    assert_output --regexp 'R_X86_64_PC32 .* common/pcrel\.c#counter - 8'
    assert_output --regexp 'R_X86_64_PC32 .* common/pcrel\.c#pair_a - 8'
    refute_output --partial 'pair_b'
    # And the image has every one of them, so the linked payload loads.
    link_payload p.o image "" pcrel out.o
    run livepatch-tool check --image image p.o
    assert_success
}

@test "a PC-relative field in data means S + A: the string after its target is not its target" {
    diff_case pcrel-data
    run bash -c "readelf -rW patched.o | sed -n '/rela.rodata.msg_offsets/,/^\$/p'"
    assert_output --regexp 'R_X86_64_PC32 +0+ \.Lmsg_abc \+ 0'
    run create-diff-object orig.o patched.o image out.o
    assert_success
    run payload-funcs out.o
    assert_line --regexp '^poll '
    [ "${#lines[@]}" -eq 1 ]
    # The string the table does point at changes: now the table changed, and the
    # refusal says which string.
    sed 's/Lmsg_abc: .asciz \\"abc\\"/Lmsg_abc: .asciz \\"abd\\"/' \
        "$LP_ROOT/test/data/diff/pcrel-data/patched.c" > common/pcrel-data.c
    grep -q '"abd' common/pcrel-data.c
    cc_hv patched.o common/pcrel-data.c common/pcrel-data.c
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial 'data object msg_offsets (.rodata.msg_offsets)'
    assert_output --partial 'string referenced at +0x0 differs: "abc" -> "abd"'
}

@test "an object built init-only (Xen's foo.init.o) that changed is no change, and says why" {
    diff_case init-object
    for o in orig.o patched.o; do
        objcopy --rename-section .rodata.str1.1=.init.rodata.str1.1 "$o"
    done
    link_image image orig.o main.o
    # What makes it init-only: no function outside .init.text, none in a .text.<fn>.
    run readelf -sW patched.o
    assert_line --regexp '.* FUNC +GLOBAL +HIDDEN +[0-9]+ parse_options$'
    run bash -c "readelf -SW patched.o | grep -E ' \\.(text|data|rodata)\\.' || true"
    assert_output ""
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 3
    assert_output --partial "only init code changed"
    assert_output --partial "parse_options"
    refute_output --partial "-ffunction-sections"
    [ ! -e out.o ]
    # An ordinary object without -ffunction-sections is still refused.
    gcc -O2 -fpic -c "$LP_ROOT/test/data/diff/basic/orig.c" -o plain.o
    run create-diff-object plain.o plain.o image out.o
    assert_equal "$status" 2
    assert_output --partial "without -ffunction-sections"
}

@test "a refused data change says what differs: the bytes and where, the size, or a pointer" {
    diff_case data-change
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "data object limits (.data.limits) in patched.o changed: initial value differs at +0xc: 04 00 00 00 -> 05 00 00 00"
    refute_output --partial "initial value or size"
    sed 's/int limits\[4\] = { 1, 2, 3, 5 };/int limits[5] = { 1, 2, 3, 4, 5 };/' \
        "$LP_ROOT/test/data/diff/data-change/patched.c" > common/data-change.c
    cc_hv patched.o common/data-change.c common/data-change.c
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "data object limits (.data.limits) in patched.o changed: its size differs: 16 -> 20 bytes"
    # Same bytes, another pointer: the relocation in the data says what changed.
    printf 'int a, b, c;\nint *ptrs[2] = { &a, &b };\nint __attribute__((noinline)) get(int i) { return *ptrs[i & 1]; }\n' > common/ptrs.c
    cc_hv orig.o common/ptrs.c common/ptrs.c
    sed -i 's/&b }/\&c }/' common/ptrs.c
    cc_hv patched.o common/ptrs.c common/ptrs.c
    link_image image orig.o main.o
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "data object ptrs (.data.rel.local.ptrs) in patched.o changed: pointer (relocation) at +0x8 differs: b -> c"
}

@test "a PC-relative field in code that no instruction holds is read as data (S + A)" {
    diff_case data-in-code
    run bash -c "readelf -rW patched.o | sed -n '/rela.text.odd/,/^\$/p'"
    assert_output --regexp 'R_X86_64_PC32 +0+ \.rodata\.odd_limit \+ 0'
    run create-diff-object -d orig.o patched.o image out.o
    assert_success
    assert_output --regexp 'text\.odd\+0x6: R_X86_64_PC32: .*; reading the field as data \(S \+ A\)'
    # The image's odd_limit, not a copy of its section carried because the +4 missed it.
    run bash -c "readelf -rW out.o | sed -n '/rela.text.odd/,/^\$/p'"
    assert_output --regexp 'R_X86_64_PC32 .* common/data-in-code\.c#odd_limit \+ 0'
    run readelf -sW out.o
    refute_output --partial 'odd_limit.lp_'
}
