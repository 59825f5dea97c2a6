/*
 * target.c - what a relocation points at.  Every pass that follows a relocation
 * (correlate, compare, boot_data, include, special, debug, layout, emit) asks
 * diff_resolve() (or diff_rela_target(), its target alone), so the rule below lives
 * here and nowhere else.
 *
 * A relocation stores S + A (absolute types) or S + A - P (PC-relative, P the
 * address of the field).  The place the reference means:
 *   - absolute: S + A;
 *   - PC-relative in a data section (.ex_table, .altinstructions, .bug_frames.*,
 *     .alt_call_sites, tables of `.long sym - .`): S + A, the field holds target - P;
 *   - PC-relative in an instruction: S + A + (end - P).  The CPU adds the field to
 *     the address of the END of the instruction, so the assembler folds end - P
 *     into the addend: -4 when the field ends the instruction (call, jmp, a plain
 *     disp32 operand), -5 for `cmpb $0, x(%rip)`, -8 for `movl $imm32, x(%rip)`.
 * end - P is read off the instruction itself: each executable section is decoded
 * once, restarting at every symbol, which starts an instruction.  Only lengths are
 * needed, and insn.c gives them from the opcode maps in some 10 ns an instruction;
 * libopcodes, which the differ used before, formats every operand as it goes, 550 ns
 * an instruction, most of the time of a small object pair.  test/insn.bats holds the
 * two to each other on a corpus of hard cases, on every instruction of the tools' own
 * code and on random ones, and the real-Xen suite on Xen's xen-syms and objects.  A
 * field that lies in no decoded instruction is data in code (asm's `.long x - .` in
 * .text): it is read as data, S + A, and the log says so.
 *
 * One field is not all offset: a bug frame's holds line-number bits above a 24-bit
 * displacement (Xen's BUG_FRAME).  They are taken out of the addend before anything
 * is looked up, and given back (extra) to whoever writes the relocation again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "differ_internal.h"
#include "insn.h"

/* Would decoding a and b give the same?  The same bytes, relocation places and types,
 * and symbol values: everything decode_section reads. */
static bool same_code(const struct lpe_section *a, const struct lpe_section *b)
{
    size_t n = a->rela ? a->rela->nr_relas : 0, i;

    if (a->size != b->size || !a->data || !b->data || memcmp(a->data, b->data, a->size) ||
        n != (b->rela ? b->rela->nr_relas : 0) || a->nr_by_offset != b->nr_by_offset)
        return false;
    for (i = 0; i < n; i++)
        if (a->rela->relas[i].offset != b->rela->relas[i].offset ||
            a->rela->relas[i].type != b->rela->relas[i].type)
            return false;
    for (i = 0; i < a->nr_by_offset; i++)
        if (a->by_offset[i]->sym.st_value != b->by_offset[i]->sym.st_value)
            return false;
    return true;
}

/* The section of the same name in the other object, already decoded without a word,
 * whose decoding sec's would repeat (an unchanged function: most of them), or NULL. */
static const struct dsec *decoded_twin(const struct diff *d, const struct lpe_section *sec)
{
    const struct dsec *ds = DSEC(sec);
    bool in_orig = ds >= d->osecs && ds < d->osecs + d->orig->nr_sections;
    const struct lpe_section *o;

    for (o = lpe_find_section(in_orig ? d->patched : d->orig, sec->name); o;
         o = o->next_same_name) {
        const struct dsec *od = DSEC(o);

        if (od && od->pc_bias_done && od->pc_bias_clean && od->pc_bias && same_code(sec, o))
            return od;
    }
    return NULL;
}

/*
 * Fill ds->pc_bias[i] with end - P for every PC-relative relocation i of an
 * executable section (0 for the others).  Relocations are sorted by offset, so one
 * forward walk serves them all; a section the other object has decoded already, with
 * the same code, takes its answers.
 */
static void decode_section(struct diff *d, const struct lpe_section *sec, struct dsec *ds)
{
    const struct lpe_section *rs = sec->rela;
    size_t n = rs ? rs->nr_relas : 0, i, k = 0;
    uint64_t pc = 0, sync = 0, bad = 0;
    bool lost = false;

    ds->pc_bias_done = true;
    if (!n)
        return;
    ds->pc_bias = calloc(n, sizeof(*ds->pc_bias));
    if (!ds->pc_bias) {
        diff_log(d, "%s: out of memory decoding its instructions; every PC-relative field "
                    "in it is taken to end its instruction", sec->name);
        return;
    }
    {
        const struct dsec *twin = decoded_twin(d, sec);

        if (twin) {
            memcpy(ds->pc_bias, twin->pc_bias, n * sizeof(*ds->pc_bias));
            ds->pc_bias_clean = true;
            return;
        }
    }
    ds->pc_bias_clean = true;
    for (i = 0; i < n; i++) {
        const struct lpe_rela *r = &rs->relas[i];
        unsigned w = diff_reloc_width(r->type);
        const char *why = NULL;
        char at[64] = "";
        int len = 0;

        if (!diff_is_pc_relative(r->type))
            continue;
        ds->pc_bias[i] = 0; /* unless an instruction holds it: data in code */
        /* The last symbol at or before the field starts an instruction. */
        while (k < sec->nr_by_offset && sec->by_offset[k]->sym.st_value <= r->offset)
            sync = sec->by_offset[k++]->sym.st_value;
        if (sync > pc) {
            pc = sync;
            lost = false;
        }
        if (!sec->data) {
            why = "its section has no bytes to decode";
        } else if (lost) {
            why = "an earlier instruction does not decode";
            snprintf(at, sizeof(at), " (at +0x%llx)", (unsigned long long)bad);
        } else {
            for (;;) {
                len = pc < sec->size ? (int)lpd_insn_length(sec->data + pc, sec->size - pc) : 0;
                if (len <= 0 || pc + (uint64_t)len > r->offset)
                    break;
                pc += (uint64_t)len;
            }
            if (len <= 0) {
                lost = true;
                bad = pc;
                why = "the bytes from here to the field do not decode as instructions";
                snprintf(at, sizeof(at), " (from +0x%llx)", (unsigned long long)pc);
            } else if (r->offset + w > pc + (uint64_t)len) {
                why = "the field does not fit in the instruction decoded around it";
                snprintf(at, sizeof(at), " (+0x%llx, %d bytes)", (unsigned long long)pc, len);
            } else {
                ds->pc_bias[i] = (signed char)(pc + (uint64_t)len - r->offset);
            }
        }
        if (why) {
            ds->pc_bias_clean = false;
            diff_log(d, "%s+0x%llx: %s: %s%s; reading the field as data (S + A)",
                     sec->name, (unsigned long long)r->offset, diff_reloc_name(r->type), why,
                     at);
        }
    }
}

/* end of instruction - P for a PC-relative relocation of code, else 0 (the addend rule). */
static int64_t pc_bias(struct diff *d, const struct lpe_section *sec, const struct lpe_rela *r)
{
    struct dsec *ds;
    struct lpe_rela *at;
    size_t n;

    if (!diff_is_pc_relative(r->type) || !(sec->sh.sh_flags & SHF_EXECINSTR))
        return 0;
    ds = DSEC(sec);
    if (!ds)
        return diff_reloc_width(r->type);
    if (!ds->pc_bias_done)
        decode_section(d, sec, ds);
    /* By offset, so a caller may pass a copy of the relocation. */
    at = lpe_relas_in(sec, r->offset, r->offset + 1, &n);
    if (!ds->pc_bias || !n)
        return diff_reloc_width(r->type);
    return ds->pc_bias[at - sec->rela->relas];
}

/*
 * A bug frame's 32-bit fields hold a 24-bit displacement with line-number bits added
 * on top (Xen's BUG_FRAME; line_bits in livepatch/special.h): the part of the addend
 * above the displacement is not an offset.  Returns the displacement, the offset part
 * (the whole addend elsewhere), and sets *extra to the rest (addend - displacement,
 * modulo 2^64: the bits, whatever the addend).
 */
static int64_t offset_part(const struct lpe_section *sec, int64_t addend, int64_t *extra)
{
    const struct dsec *ds = DSEC(sec);
    int64_t disp;

    *extra = 0;
    if (!ds || !ds->line_bits)
        return addend;
    disp = addend & 0xffffff;
    if (disp & 0x800000)
        disp -= 0x1000000;
    *extra = diff_addend_add(addend, -disp);
    return disp;
}

/* value + a + bias exactly, or DIFF_NO_PLACE when that does not fit in an int64_t: a
 * symbol value near 2^64 or an addend near 2^63 points at no place in any section. */
static int64_t place_of(uint64_t value, int64_t a, int64_t bias)
{
    __int128 off = (__int128)value + a + bias;

    return off < INT64_MIN || off > INT64_MAX ? DIFF_NO_PLACE : (int64_t)off;
}

void diff_resolve(struct diff *d, const struct lpe_section *sec, const struct lpe_rela *r,
                  unsigned want, struct diff_target *t)
{
    struct lpe_symbol *s = r->sym, *c;
    uint64_t value;
    int64_t a;

    memset(t, 0, sizeof(*t));
    a = offset_part(sec, r->addend, &t->extra);
    t->sym = t->ref = s;
    t->addend = a;
    if (!s->sec)
        return; /* undefined, absolute or common: only the name says where */
    t->sec = s->sec;
    value = s->type == STT_SECTION ? 0 : s->sym.st_value;
    t->sec_addend = (int64_t)(value + (uint64_t)a);
    /* A named symbol is the target whatever the addend; only through section symbols and
     * unsized labels (gcc's .LC0: places in their section) does the place decide. */
    t->via_section = s->type == STT_SECTION || s->type == STT_NOTYPE;
    if (!t->via_section) {
        if (want & DIFF_PLACE) {
            t->bias = pc_bias(d, sec, r);
            t->off = place_of(value, a, t->bias);
        }
        return;
    }
    t->bias = pc_bias(d, sec, r);
    t->off = place_of(value, a, t->bias);
    c = t->off >= 0 ? lpe_symbol_at(s->sec, (uint64_t)t->off) : NULL;
    if (c && (c->type == STT_FUNC || c->type == STT_OBJECT)) {
        t->sym = t->ref = c;
        t->addend = (int64_t)((uint64_t)t->sec_addend - c->sym.st_value);
    } else {
        t->sym = NULL;
        t->addend = t->sec_addend;
    }
}

void diff_place_words(const struct diff_target *t, char *buf, size_t size)
{
    if (t->off == DIFF_NO_PLACE)
        snprintf(buf, size, "a place of %s past 64 bits", t->sec->name);
    else
        snprintf(buf, size, "%s%+lld", t->sec->name, (long long)t->off);
}
