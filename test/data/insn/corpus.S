/*
 * Instructions whose length is easy to get wrong: every immediate size, every ModRM and
 * SIB form, RIP-relative fields with an immediate after them, the maps reached through
 * 0F, 0F 38, 0F 3A, VEX, EVEX and 3DNow!, the opcodes a prefix changes, and the system
 * and virtualisation instructions a hypervisor uses.  test/insn.bats decodes every one
 * with the differ's decoder and with libopcodes.
 */
    .text
    .globl corpus
corpus:
    /* immediates */
    movabs $0x1122334455667788, %rax
    mov $0x11223344, %eax
    movw $0x1122, %ax
    mov $0x12, %al
    movabs 0x1122334455667788, %al
    movabs %eax, 0x1122334455667788
    addr32 mov 0x11223344, %eax
    add $0x12, %al
    add $0x1234, %ax
    add $0x12345678, %eax
    addq $0x12345678, (%rax)
    addw $0x1234, (%rax)
    addl $0x12, (%rax)
    push $1
    push $0x12345
    pushw $0x1234
    imul $3, %eax, %ebx
    imul $300, %eax, %ebx
    imul $300, %ax, %bx
    enter $16, $1
    ret $8
    lretq $8
    int $0x80
    in $0x80, %al
    out %al, $0x80
    in %dx, %al
    /* RIP-relative fields and what follows them */
    cmpb $0, flag(%rip)
    movl $1, counter(%rip)
    movw $1, counter(%rip)
    movq $-1, counter(%rip)
    testb $1, flag(%rip)
    testl $0x100, counter(%rip)
    testw $0x100, counter(%rip)
    notl counter(%rip)
    negb flag(%rip)
    shll $3, counter(%rip)
    btl $3, counter(%rip)
    lea counter(%rip), %rax
    call *counter(%rip)
    /* ModRM and SIB */
    lea 0x10(%rsp,%rcx,8), %rax
    mov (%rbp), %eax
    mov (%r13), %eax
    mov (%rsp), %eax
    mov (%r12), %eax
    mov 0x12345678(,%rcx,4), %eax
    mov 0x12345678, %eax
    mov -0x80(%rax), %eax
    mov 0x80(%rax), %eax
    mov %fs:0x28, %rax
    mov %gs:(%rax), %rax
    addr32 mov (%eax), %eax
    movslq %eax, %rbx
    /* branches */
1:  jmp 1b
    jne 1b
    jmp corpus_far
    je corpus_far
    call corpus_far
    jrcxz 1b
    loop 1b
    /* control and system registers, privileged and virtualisation */
    mov %cr0, %rax
    mov %rax, %cr4
    mov %cr8, %rax
    mov %dr7, %rax
    mov %rax, %dr0
    vmcall
    vmlaunch
    vmresume
    vmxoff
    vmread %rax, %rbx
    vmwrite %rax, %rbx
    vmptrld (%rax)
    vmclear (%rax)
    invept (%rax), %rcx
    invvpid (%rax), %rcx
    vmrun
    vmload
    vmsave
    stgi
    clgi
    invlpga
    xgetbv
    xsetbv
    rdtscp
    rdtsc
    swapgs
    clac
    stac
    wrmsr
    rdmsr
    cpuid
    pause
    lfence
    mfence
    sfence
    monitor
    mwait
    rdpkru
    wrpkru
    xsaveopt (%rdi)
    xsaves (%rdi)
    xrstor (%rdi)
    xrstors (%rdi)
    fxsave (%rdi)
    fxrstor64 (%rdi)
    wbinvd
    invlpg (%rax)
    invpcid (%rax), %rax
    sgdt (%rax)
    lidt (%rax)
    ltr %ax
    str %ax
    lgdt 0x10(%rax)
    sysretq
    syscall
    iretq
    hlt
    endbr64
    int3
    ud2
    ud1 (%rax), %eax
    clflush (%rax)
    clflushopt (%rax)
    clwb (%rax)
    prefetcht0 (%rax)
    prefetchw (%rax)
    rdrand %rax
    rdseed %eax
    xbegin 2f
    xabort $1
    xend
2:  lock cmpxchg16b (%rdi)
    lock xaddl %eax, (%rdi)
    rep movsb
    repne scasb
    rep stosq
    /* 0F map */
    bswap %rax
    bswap %r9d
    shld $3, %rax, %rbx
    shrd %cl, %rax, %rbx
    btl $3, (%rax)
    btsq $63, (%rax)
    cmovne %rax, %rbx
    setne %al
    movzbl (%rax), %eax
    popcnt %rax, %rbx
    lzcnt %eax, %ebx
    tzcnt %eax, %ebx
    crc32q %rax, %rbx
    movbe (%rax), %eax
    nopw 0x0(%rax,%rax,1)
    nopl 0x0(%rax)
    data16 nop
    xchg %ax, %ax
    /* SSE: 0F, 0F 38, 0F 3A with and without imm8 */
    pshufd $0x1b, %xmm1, %xmm2
    psrld $3, %xmm1
    palignr $4, %xmm1, %xmm2
    pclmulqdq $0x11, %xmm1, %xmm2
    aesenc %xmm1, %xmm2
    pshufb %xmm1, %xmm2
    cmpps $1, %xmm1, %xmm2
    pinsrw $1, %eax, %xmm1
    pextrw $1, %xmm1, %eax
    shufps $1, %xmm1, %xmm2
    movdqu 0x40(%rax), %xmm9
    extrq $1, $2, %xmm1
    insertq $1, $2, %xmm1, %xmm2
    /* 3DNow! */
    femms
    pfadd %mm1, %mm2
    /* x87 */
    fninit
    fnstsw %ax
    fldcw (%rax)
    fwait
    nop
    fstsw %ax
    fldl 0x10(%rax)
    /* VEX */
    vpxor %ymm1, %ymm2, %ymm3
    vpxor %ymm9, %ymm10, %ymm11
    vpshufb %ymm1, %ymm2, %ymm3
    vpermq $0x4e, %ymm1, %ymm2
    vzeroupper
    vzeroall
    vpsrld $3, %ymm1, %ymm2
    vcmpps $1, %ymm1, %ymm2, %ymm3
    vpinsrw $1, %eax, %xmm1, %xmm2
    vpextrw $1, %xmm1, %eax
    vshufps $1, %ymm1, %ymm2, %ymm3
    kmovw %k1, %eax
    andn %eax, %ebx, %ecx
    rorx $3, %eax, %ebx
    shlx %eax, %ebx, %ecx
    vmovdqu counter(%rip), %ymm1
    vpshufd $1, counter(%rip), %ymm1
    /* EVEX */
    vpaddd %zmm1, %zmm2, %zmm3
    vpternlogd $0xff, %zmm1, %zmm2, %zmm3
    vmovdqu64 0x40(%rax), %zmm1{%k1}
    vpshufd $1, 0x1000(%rax), %zmm1
    vpsrld $3, %zmm1, %zmm2
    vpermt2q %zmm1, %zmm2, %zmm3
    vpaddd counter(%rip), %zmm2, %zmm3
    vcmpps $1, %zmm1, %zmm2, %k1
    ret
corpus_far:
    ret

    .data
flag:
    .byte 0
counter:
    .long 0
