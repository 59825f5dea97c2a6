#!/usr/bin/env bats
# The ELF object model and the target-image reader, on real compiler output.

load test_helper

@test "an object read and written back links and runs the same" {
    cc_obj orig.o "$LP_ROOT/test/data/roundtrip.c"
    run elf-roundtrip orig.o copy.o
    assert_success
    gcc orig.o -o orig
    gcc copy.o -o copy
    run ./orig
    assert_success
    expected=$output
    run ./copy
    assert_success
    assert_output "$expected"
    # Same sections, same relocation counts.
    diff <(readelf -SW orig.o | awk '/\]/{print $2, $3}' | sort) \
         <(readelf -SW copy.o | awk '/\]/{print $2, $3}' | sort)
    diff <(readelf -rW orig.o | grep -c R_X86) <(readelf -rW copy.o | grep -c R_X86)
}

@test "a written object is a pure function of its input" {
    cc_obj orig.o "$LP_ROOT/test/data/roundtrip.c"
    elf-roundtrip orig.o a.o
    elf-roundtrip orig.o b.o
    cmp a.o b.o
}

@test "local functions get file#name runtime names, globals their plain name" {
    mkdir -p common arch
    printf 'static int __attribute__((noinline)) helper(int x) { return x + 1; }\nint call_a(int x) { return helper(x); }\n' > common/a.c
    printf 'static int __attribute__((noinline)) helper(int x) { return x + 2; }\nint call_b(int x) { return helper(x); }\n' > arch/b.c
    printf 'int call_a(int); int call_b(int);\nint main(void) { return call_a(1) + call_b(1) == 5 ? 0 : 1; }\n' > main.c
    # Like Xen with CONFIG_ENFORCE_UNIQUE_SYMBOLS: the STT_FILE symbol carries the path.
    cc_obj a.o common/a.c
    objcopy --redefine-sym a.c=common/a.c a.o
    cc_obj b.o arch/b.c
    objcopy --redefine-sym b.c=arch/b.c b.o
    cc_obj main.o main.c
    gcc -Wl,--build-id=sha1 a.o b.o main.o -o image
    run image-syms image
    assert_success
    assert_line --regexp '^common/a\.c#helper 0x[0-9a-f]+ [0-9]+$'
    assert_line --regexp '^arch/b\.c#helper 0x[0-9a-f]+ [0-9]+$'
    assert_line --regexp '^call_a 0x'
    run image-syms image 'common/a.c#helper' 'arch/b.c#helper'
    assert_success
    run image-syms image helper
    assert_failure
    assert_output --partial "symbol helper not found"
}

@test "the build id read from the image equals readelf's" {
    printf 'int main(void) { return 0; }\n' > m.c
    gcc -Wl,--build-id=sha1 m.c -o image
    want=$(readelf -n image | awk '/Build ID/{print $3}')
    run image-syms image
    assert_success
    assert_line "build-id $want"
}

@test "the same file#name twice is reported as ambiguous" {
    mkdir -p one two
    printf 'static int __attribute__((noinline)) dup(int x) { return x + 1; }\nint f1(int x) { return dup(x); }\n' > one/x.c
    printf 'static int __attribute__((noinline)) dup(int x) { return x + 2; }\nint f2(int x) { return dup(x); }\n' > two/x.c
    printf 'int f1(int); int f2(int);\nint main(void) { return f1(0) + f2(0); }\n' > main.c
    (cd one && cc_obj ../x1.o x.c)
    (cd two && cc_obj ../x2.o x.c)
    cc_obj main.o main.c
    gcc x1.o x2.o main.o -o image
    run image-syms image 'x.c#dup'
    assert_failure
    assert_output --partial "x.c#dup is ambiguous"
}

@test "a stripped image is refused with a clear reason" {
    printf 'int main(void) { return 0; }\n' > m.c
    gcc -s m.c -o image
    run image-syms image
    assert_failure
    assert_output --partial "no symbol table"
}

@test "non-ELF and empty files are refused, not crashed on" {
    : > empty
    run elf-roundtrip empty out.o
    assert_failure
    assert_output --partial "empty file"
    [ ! -e out.o ]
    echo "hello" > text
    run elf-roundtrip text out.o
    assert_failure
    assert_output --partial "not an ELF file"
    [ ! -e out.o ]
}
