/*
 * insn-check: hold the differ's x86-64 instruction lengths (lib/differ/insn.c) to
 * libopcodes', the disassembler objdump uses.
 *
 * Usage: insn-check ELF...          every instruction of every code section, decoded
 *                                   from the start of the section and of each symbol
 *        insn-check --random N SEED N random instructions (prefixes, maps and ModRM
 *                                   forms drawn to cover the opcode tables; no fwait)
 *
 * Where libopcodes decodes an instruction ("(bad)" is not one), the lengths must be
 * the same; where it does not, the differ's decoder may say either (the differ then
 * reads a field there as data).  Prints one line of counts, and each mismatch; exits 1
 * on any.  LP_INSN_SKEW=N adds N to the differ's lengths (the tests' proof that a wrong
 * length is caught).
 */
#include <dis-asm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/elf.h"
#include "differ/insn.h"

struct text {
    char buf[256];
    size_t len;
};

static int vput(struct text *t, const char *fmt, va_list ap)
{
    int n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);

    if (n > 0)
        t->len += (size_t)n < sizeof(t->buf) - t->len ? (size_t)n : sizeof(t->buf) - t->len - 1;
    return n;
}

static int put(void *stream, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vput(stream, fmt, ap);
    va_end(ap);
    return n;
}

static int put_styled(void *stream, enum disassembler_style style, const char *fmt, ...)
{
    va_list ap;
    int n;

    (void)style;
    va_start(ap, fmt);
    n = vput(stream, fmt, ap);
    va_end(ap);
    return n;
}

static disassembler_ftype dis;
static size_t skew;   /* LP_INSN_SKEW: added to the differ's lengths, to see the check fail */
static unsigned long checked, undecoded, mismatches;

/* libopcodes' length of the instruction at p (0 for "(bad)"), and its text. */
static int opcodes_length(const unsigned char *p, size_t avail, struct text *t)
{
    struct disassemble_info info;
    int len;

    memset(t, 0, sizeof(*t));
    init_disassemble_info(&info, t, put, put_styled);
    info.arch = bfd_arch_i386;
    info.mach = bfd_mach_x86_64;
    info.buffer = (bfd_byte *)p;
    info.buffer_length = avail;
    info.buffer_vma = 0;
    disassemble_init_for_target(&info);
    len = dis(0, &info);
    if (len <= 0 || strstr(t->buf, "(bad)") || (size_t)len > avail)
        return 0;
    return len;
}

/* Compare at p; returns the length to step by (libopcodes', or 1). */
static size_t check_at(const char *where, unsigned long long off, const unsigned char *p,
                       size_t avail)
{
    struct text t;
    int theirs = opcodes_length(p, avail, &t);
    size_t ours = lpd_insn_length(p, avail), i;

    if (ours)
        ours += skew;

    if (!theirs) {
        undecoded++;
        return 1;
    }
    checked++;
    if (ours != (size_t)theirs) {
        mismatches++;
        printf("mismatch %s+0x%llx: libopcodes %d, ours %zu:", where, off, theirs, ours);
        for (i = 0; i < avail && (i < (size_t)theirs || i < ours); i++)
            printf(" %02x", p[i]);
        printf("  (%s)\n", t.buf);
    }
    return (size_t)theirs;
}

static int check_file(const char *path)
{
    struct lp_error err = { 0 };
    struct lpe_object *o;
    size_t i, k;

    if (lpe_open(path, &o, &err)) {
        fprintf(stderr, "insn-check: %s\n", err.msg);
        return -1;
    }
    for (i = 1; i < o->nr_sections; i++) {
        const struct lpe_section *s = o->sections[i];
        uint64_t pc = 0, base = o->ehdr.e_type == ET_REL ? 0 : s->sh.sh_addr;

        if (!(s->sh.sh_flags & SHF_EXECINSTR) || !s->data)
            continue;
        /* Restart at each symbol of the section, as the differ does. */
        k = 0;
        while (pc < s->size) {
            uint64_t bound = s->size, at;

            while (k < s->nr_by_offset && s->by_offset[k]->sym.st_value - base <= pc)
                k++;
            if (k < s->nr_by_offset) {
                at = s->by_offset[k]->sym.st_value - base;
                if (at < bound)
                    bound = at;
            }
            pc += check_at(s->name, (unsigned long long)pc, s->data + pc, (size_t)(s->size - pc));
            if (pc > bound)
                pc = bound;
        }
    }
    lpe_close(o);
    return 0;
}

/* A random instruction: prefixes, an escape or vector prefix, an opcode, ModRM forms. */
static size_t random_insn(unsigned char *b)
{
    static const unsigned char prefixes[] = { 0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x64, 0x65 };
    size_t n = 0, i, op;
    int r = rand() % 16;

    for (i = rand() % 3; i > 0; i--)
        b[n++] = prefixes[rand() % sizeof(prefixes)];
    if (rand() % 3 == 0)
        b[n++] = (unsigned char)(0x40 | (rand() % 16));
    if (r < 6) {
        ;                                   /* one-byte map */
    } else if (r < 10) {
        b[n++] = 0x0f;
    } else if (r < 11) {
        b[n++] = 0x0f;
        b[n++] = 0x38;
    } else if (r < 12) {
        b[n++] = 0x0f;
        b[n++] = 0x3a;
    } else if (r < 13) {
        b[n++] = 0xc5;
        b[n++] = (unsigned char)rand();
    } else if (r < 14) {
        b[n++] = 0xc4;
        b[n++] = (unsigned char)((rand() & 0xe0) | (1 + rand() % 3));
        b[n++] = (unsigned char)rand();
    } else if (r < 15) {
        b[n++] = 0x62;
        b[n++] = (unsigned char)((rand() & 0xf0) | (1 + rand() % 3));
        b[n++] = (unsigned char)(rand() | 0x04);
        b[n++] = (unsigned char)rand();
    } else {
        b[n++] = 0x8f;
        b[n++] = (unsigned char)((rand() & 0xe0) | (8 + rand() % 3));
        b[n++] = (unsigned char)rand();
    }
    op = n;
    while (n < 16)
        b[n++] = (unsigned char)rand();
    /* Not fwait: libopcodes joins it to the prefixes around it and to an x87
     * instruction after it by rules of its own, which no compiler's code meets. */
    if (b[op] == 0x9b)
        b[op] = 0x90;
    return 16;
}

int main(int argc, char **argv)
{
    int a, rc = 0;

    dis = disassembler(bfd_arch_i386, false, bfd_mach_x86_64, NULL);
    if (getenv("LP_INSN_SKEW"))
        skew = strtoul(getenv("LP_INSN_SKEW"), NULL, 0);
    if (argc == 4 && strcmp(argv[1], "--random") == 0) {
        unsigned long n = strtoul(argv[2], NULL, 0), i;
        unsigned char b[16];

        srand((unsigned)strtoul(argv[3], NULL, 0));
        for (i = 0; i < n; i++) {
            random_insn(b);
            check_at("random", i, b, sizeof(b));
        }
    } else if (argc >= 2 && argv[1][0] != '-') {
        for (a = 1; a < argc; a++)
            if (check_file(argv[a]))
                rc = 2;
    } else {
        fprintf(stderr, "usage: insn-check ELF... | insn-check --random N SEED\n");
        return 2;
    }
    printf("%lu instructions checked, %lu not decoded by libopcodes, %lu mismatches\n",
           checked, undecoded, mismatches);
    return rc ? rc : mismatches ? 1 : 0;
}
