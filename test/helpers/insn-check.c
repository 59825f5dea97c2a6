/*
 * insn-check: hold the differ's x86-64 instruction lengths (lib/differ/insn.c) to
 * libopcodes', the disassembler objdump uses, read through lpd_insn_text (what the
 * differ's --explain shows).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/elf.h"
#include "differ/insn.h"

static size_t skew;   /* LP_INSN_SKEW: added to the differ's lengths, to see the check fail */
static unsigned long checked, undecoded, mismatches;

/* Compare at p; returns the length to step by (libopcodes', or 1). */
static size_t check_at(const char *where, unsigned long long off, const unsigned char *p,
                       size_t avail)
{
    char text[256];
    size_t theirs = lpd_insn_text(p, avail, 0, text, sizeof(text));
    size_t ours = lpd_insn_length(p, avail), i;

    if (ours)
        ours += skew;

    if (!theirs) {
        undecoded++;
        return 1;
    }
    checked++;
    if (ours != theirs) {
        mismatches++;
        printf("mismatch %s+0x%llx: libopcodes %zu, ours %zu:", where, off, theirs, ours);
        for (i = 0; i < avail && (i < theirs || i < ours); i++)
            printf(" %02x", p[i]);
        printf("  (%s)\n", text);
    }
    return theirs;
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
