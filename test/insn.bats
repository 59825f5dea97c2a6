#!/usr/bin/env bats
# The differ's x86-64 instruction lengths (lib/differ/insn.c), from which it reads where a
# PC-relative field's instruction ends, are libopcodes' (objdump's) on real code.

load test_helper

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
}

# checked OUTPUT: the number of instructions insn-check compared, from its summary line.
checked() {
    sed -n 's/^\([0-9]*\) instructions checked, .*/\1/p' <<<"$1"
}

@test "every instruction of the hard-case corpus has libopcodes' length" {
    gcc -c "$LP_ROOT/test/data/insn/corpus.S" -o corpus.o
    run insn-check corpus.o
    assert_success
    assert_output --partial ", 0 mismatches"
    # All of them were compared: as many as objdump lists.
    n=$(objdump -d --insn-width=16 corpus.o | grep -cP '^\s+[0-9a-f]+:\t')
    [ "$n" -gt 200 ]
    assert_equal "$(checked "$output")" "$n"
}

@test "every instruction of the tools' own code has libopcodes' length" {
    run insn-check "$LP_BUILD/bin/create-diff-object" "$LP_BUILD/bin/livepatch-tool"
    assert_success
    assert_output --partial ", 0 mismatches"
    [ "$(checked "$output")" -gt 100000 ]
}

@test "random instructions of every map have libopcodes' length where libopcodes decodes them" {
    for seed in 1 2 3; do
        run insn-check --random 100000 "$seed"
        assert_success
        assert_output --partial ", 0 mismatches"
        [ "$(checked "$output")" -gt 50000 ]
    done
}

@test "insn-check reports a length libopcodes does not give, naming the bytes" {
    # mov 0x10(%rax),%eax; ret.  LP_INSN_SKEW makes the differ's lengths one too long.
    printf '.text\n.byte 0x8b, 0x40, 0x10, 0xc3\n' >code.s
    gcc -c code.s -o code.o
    run insn-check code.o
    assert_success
    assert_output "2 instructions checked, 0 not decoded by libopcodes, 0 mismatches"
    LP_INSN_SKEW=1 run insn-check code.o
    assert_failure 1
    assert_line --partial "mismatch .text+0x0: libopcodes 3, ours 4: 8b 40 10 c3"
}
