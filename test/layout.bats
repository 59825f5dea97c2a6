#!/usr/bin/env bats
# create-diff-object: changed data layouts (DWARF), new per-CPU variables and new
# boot-time table entries are refused; --allow-layout-change is the reviewed exception.

load test_helper

@test "a member added to a struct the patched code uses is refused naming type, member, file and function" {
    diff_case layout-add
    run create-diff-object --json r.json orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "struct session (common/layout-add.c:3) changed layout in patched.o"
    assert_output --partial "member lock appeared at offset 4"
    assert_output --partial "member count moved from offset 4 to 8"
    assert_output --partial "size 24 -> 28 bytes"
    assert_output --partial "used by the payload's session_bump:"
    assert_output --partial "--allow-layout-change 'struct session'"
    # session_id's code did not change (id stays at 0): it is not carried, not named.
    refute_output --partial "session_id"
    [ ! -e out.o ]
    run cat r.json
    assert_output --partial '"status": "unsupported"'
    assert_output --partial '{"name": "struct session"'
}

@test "members reordered in a typedef'd anonymous struct are refused through the typedef" {
    diff_case layout-reorder
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "typedef sched_unit_t (common/layout-reorder.c:5) changed layout"
    assert_output --partial "member credit moved from offset 8 to 0"
    assert_output --partial "member weight moved from offset 0 to 8"
    assert_output --partial "used by the payload's unit_credit"
}

@test "a type reached only through a global the function names is checked too" {
    diff_case layout-global
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "struct counters (common/layout-global.c:3) changed layout"
    assert_output --partial "member drops appeared at offset 8"
    assert_output --partial "member misses moved from offset 8 to 16"
    assert_output --partial "used by the payload's count_miss"
}

@test "a widened bit-field is refused with its width and the bit-fields that moved" {
    diff_case layout-bitfield
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "struct port_flags (common/layout-bitfield.c:2) changed layout"
    assert_output --partial "bit-field mode: 3 -> 4 bits"
    assert_output --partial "member busy moved from bit offset 3 to 4"
    assert_output --partial "used by the payload's port_set_mode"
}

@test "an enum value inserted is refused naming the new and the renumbered enumerators" {
    diff_case layout-enum
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "enum job_state (common/layout-enum.c:3) changed layout"
    assert_output --partial "enumerator JOB_WAITING appeared (= 1)"
    assert_output --partial "enumerator JOB_DONE: 2 -> 3"
    assert_output --partial "used by the payload's job_finish"
    # struct job holds an enum job_state of the same size: its own layout is unchanged.
    refute_output --partial "struct job "
}

@test "a type changed only in code the payload does not carry is accepted and noted in --json" {
    diff_case layout-unused
    run create-diff-object --json r.json orig.o patched.o image out.o
    assert_success
    refute_output --partial "struct stats"
    run payload-funcs out.o
    assert_line --regexp '^compute '
    [ "${#lines[@]}" -eq 1 ]
    run cat r.json
    assert_output --partial '"warnings": []'
    assert_output --regexp '"notes": \[
    \{"name": "struct stats", "reason": "struct stats \(common/layout-unused\.c:3\) changed layout in patched\.o: size 4 -> 8 bytes; member misses appeared at offset 4; no function the payload carries uses it'
}

@test "--allow-layout-change TYPE turns the refusal into a warning recorded in the payload" {
    diff_case layout-add
    run create-diff-object --json r.json --allow-layout-change 'struct session' orig.o patched.o image out.o
    assert_success
    assert_output --partial "create-diff-object: warning: struct session (common/layout-add.c:3) changed layout"
    assert_output --partial "allowed by --allow-layout-change"
    run readelf -p .livepatch.allowed_layout out.o
    assert_line --regexp '.*\[ +0\]  struct session$'
    # Not loaded: the hypervisor never sees it, the linked payload keeps it.
    run readelf -SW out.o
    assert_line --regexp '.*\.livepatch\.allowed_layout +PROGBITS +0+ [0-9a-f]+ 00000f 00 +0 +0 +1$'
    run cat r.json
    assert_output --partial '"warnings": [
    {"name": "struct session"'
    run payload-funcs out.o
    assert_line --regexp '^session_bump '
    # The bare name allows any kind; another type's exception allows nothing.
    run create-diff-object --allow-layout-change session orig.o patched.o image out.o
    assert_success
    run create-diff-object --allow-layout-change 'union session' --allow-layout-change other \
        --json r2.json orig.o patched.o image out.o
    assert_equal "$status" 2
    [ ! -e out.o ]
    run cat r2.json
    assert_output --partial '"name": "other", "reason": "--allow-layout-change other: no type of that name changed layout'
    # An exception nothing needed records nothing.
    diff_case basic
    run create-diff-object --allow-layout-change 'struct session' orig.o patched.o image out.o
    assert_success
    run readelf -SW out.o
    refute_output --partial "allowed_layout"
}

@test "the allowed-layout record survives linking into the payload" {
    diff_case layout-add
    create-diff-object --allow-layout-change 'struct session' orig.o patched.o image a.o 2>/dev/null
    diff_case layout-enum
    create-diff-object --allow-layout-change job_state orig.o patched.o image b.o 2>/dev/null
    link_payload p.o image "" layouts a.o b.o
    run readelf -p .livepatch.allowed_layout p.o
    assert_output --partial "struct session"
    assert_output --partial "enum job_state"
}

@test "without DWARF the layouts cannot be checked: a warning, in --json too, not a silent pass" {
    diff_case layout-add -g0
    run create-diff-object --json r.json orig.o patched.o image out.o
    assert_success
    assert_output --partial "create-diff-object: warning: cannot check data layouts: orig.o has no DWARF (no .debug_info: built without -g)"
    run cat r.json
    assert_output --partial '{"name": "data layouts", "reason": "cannot check data layouts'
}

# What livepatch-build does for a tree built without -g: the unit compiled again with -g
# (a "layout twin", OBJECT.dwarf) gives the types; the objects themselves stay as built.
@test "without DWARF, --dwarf-from reads the layouts from the twins: the change is refused" {
    diff_case layout-add -g0
    cp "$LP_ROOT/test/data/diff/layout-add/orig.c" common/layout-add.c
    cc_hv orig.o.dwarf common/layout-add.c common/layout-add.c -I"$LP_ROOT/include" -g
    cp "$LP_ROOT/test/data/diff/layout-add/patched.c" common/layout-add.c
    cc_hv patched.o.dwarf common/layout-add.c common/layout-add.c -I"$LP_ROOT/include" -g
    run readelf -S orig.o
    refute_output --partial .debug_info
    run create-diff-object --dwarf-from .dwarf orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "struct session (common/layout-add.c:3) changed layout in patched.o"
    assert_output --partial "member lock appeared at offset 4"
    assert_output --partial "used by the payload's session_bump:"
    [ ! -e out.o ]
    # A missing twin is said, and the check is a warning as without --dwarf-from.
    rm orig.o.dwarf
    run create-diff-object --dwarf-from .dwarf orig.o patched.o image out.o
    assert_success
    assert_output --partial "orig.o has no DWARF (no .debug_info: built without -g), and no layout twin"
}

@test "a new per-CPU variable is refused naming it and why" {
    diff_case percpu
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "new per-CPU variable irq_storms (per_cpu__irq_storms, in .bss.percpu)"
    assert_output --partial "a payload cannot add per-CPU data"
    [ ! -e out.o ]
}

@test "new command line parameter and initcall entries are refused; a __LINE__-named entry that moved is not new" {
    diff_case init-table -I"$LP_ROOT/test/data/diff/init-table"
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --partial "new entry __setup_opt_audit in .init.setup: command line parameters are parsed once at boot"
    assert_output --partial "new entry __initcall_audit_init in .initcall1.init: initcalls ran once at boot"
    refute_output --partial "__setup_ign"
    [ ! -e out.o ]
    # ignore_param's entry is __setup_ign_<line>: its lines moved, it is the same entry.
    diff_case init-table -I"$LP_ROOT/test/data/diff/init-table" -DNO_NEW
    run readelf -sW patched.o
    assert_line --regexp '.* __setup_ign_9$'
    run readelf -sW orig.o
    assert_line --regexp '.* __setup_ign_7$'
    run create-diff-object -d orig.o patched.o image out.o
    assert_success
    assert_output --partial "__setup_ign_9 is an existing entry of .init.setup under a new name"
}

@test "a constructor (.init_array entry without a symbol) is refused naming its function" {
    mkdir -p common
    printf 'int seen;\nint __attribute__((noinline)) probe(int x) { return x + seen * 3 + 1; }\n' > common/ctor.c
    cc_hv orig.o common/ctor.c common/ctor.c
    printf 'int seen;\nstatic void __attribute__((constructor)) early(void) { seen = 1; }\nint __attribute__((noinline)) probe(int x) { return x + seen * 5 + 1; }\n' > common/ctor.c
    cc_hv patched.o common/ctor.c common/ctor.c
    cc_hv main.o "$LP_ROOT/test/data/diff/main.c" main.c
    link_image image orig.o main.o
    run create-diff-object orig.o patched.o image out.o
    assert_equal "$status" 2
    assert_output --regexp 'new entry in \.init_array \(at \+0x0, pointing at early\): constructors ran once at boot'
}

@test "constructors that only moved are not new entries" {
    mkdir -p common
    printf 'int seen;\nstatic void __attribute__((constructor)) a1(void) { seen = 1; }\nstatic void __attribute__((constructor)) a2(void) { seen += 2; }\nint __attribute__((noinline)) probe(int x) { return x + seen * 3 + 1; }\n' > common/ctor.c
    cc_hv orig.o common/ctor.c common/ctor.c
    printf 'int seen;\nstatic void __attribute__((constructor)) a2(void) { seen += 2; }\nstatic void __attribute__((constructor)) a1(void) { seen = 1; }\nint __attribute__((noinline)) probe(int x) { return x + seen * 5 + 1; }\n' > common/ctor.c
    cc_hv patched.o common/ctor.c common/ctor.c
    cc_hv main.o "$LP_ROOT/test/data/diff/main.c" main.c
    link_image image orig.o main.o
    run create-diff-object orig.o patched.o image out.o
    assert_success
    run payload-funcs out.o
    assert_line --regexp '^probe '
}
