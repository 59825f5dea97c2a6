/*
 * report.c - the differ explains itself: every symbol it patches, carries,
 * ignores or refuses is recorded with the reason (for --json and the log), and
 * --explain disassembles the first differing instruction of a changed function
 * on both sides, so a user can see why a function is in their payload.
 */
#include <dis-asm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "differ_internal.h"
#include "insn.h"
#include "livepatch/util.h"

int diff_note(struct diff *d, enum lpd_item_kind kind, const char *name, const char *fmt, ...)
{
    struct lpd_result *res = d->res;
    struct lpd_item *n;
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    n = realloc(res->items, (res->nr_items + 1) * sizeof(*n));
    if (!n)
        return -1;
    res->items = n;
    n[res->nr_items].kind = kind;
    n[res->nr_items].name = strdup(name);
    n[res->nr_items].reason = strdup(buf);
    res->nr_items++;
    if (d->opts->log) {
        static const char *const what[] = { "patched", "new function", "new data", "ignored",
                                            "REFUSED", "warning", "note" };
        fprintf(d->opts->log, "%s: %s: %s\n", what[kind], name, buf);
    }
    return 0;
}

void diff_log(struct diff *d, const char *fmt, ...)
{
    va_list ap;

    if (!d->opts->log)
        return;
    va_start(ap, fmt);
    fputs("debug: ", d->opts->log);
    vfprintf(d->opts->log, fmt, ap);
    fputc('\n', d->opts->log);
    va_end(ap);
}

/* --- disassembly --------------------------------------------------------------- */

struct sbuf {
    char text[256];
    size_t len;
};

static int sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
    int n = vsnprintf(b->text + b->len, sizeof(b->text) - b->len, fmt, ap);

    if (n > 0)
        b->len = b->len + (size_t)n < sizeof(b->text) ? b->len + (size_t)n : sizeof(b->text) - 1;
    return n;
}

static int sbuf_printf(void *stream, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = sbuf_vprintf(stream, fmt, ap);
    va_end(ap);
    return n;
}

/* libopcodes' styled output (binutils 2.39+): the style is of no use in a log line. */
static int sbuf_styled(void *stream, enum disassembler_style style, const char *fmt, ...)
{
    va_list ap;
    int n;

    (void)style;
    va_start(ap, fmt);
    n = sbuf_vprintf(stream, fmt, ap);
    va_end(ap);
    return n;
}

size_t lpd_insn_text(const unsigned char *code, size_t len, uint64_t pc, char *out,
                     size_t size)
{
    disassembler_ftype dis = disassembler(bfd_arch_i386, false, bfd_mach_x86_64, NULL);
    struct disassemble_info info;
    struct sbuf b = { 0 };
    int n;

    snprintf(out, size, "(no instruction)");
    if (!dis || pc >= len)
        return 0;
    init_disassemble_info(&info, &b, sbuf_printf, sbuf_styled);
    info.arch = bfd_arch_i386;
    info.mach = bfd_mach_x86_64;
    info.buffer = (bfd_byte *)code;
    info.buffer_length = len;
    info.buffer_vma = 0;
    disassemble_init_for_target(&info);
    n = dis(pc, &info);
    if (n <= 0 || strstr(b.text, "(bad)") || (uint64_t)n > len - pc)
        return 0;
    snprintf(out, size, "%s", b.text);
    return (size_t)n;
}

/* The instruction of [code, code+len) holding offset `at`, as text; returns its start.
 * The instructions before it are stepped over by the differ's own lengths, so the one
 * shown is the one the differ decoded there. */
static uint64_t insn_at(const unsigned char *code, size_t len, uint64_t at, char *out, size_t size)
{
    char text[256];
    uint64_t pc = 0;

    snprintf(out, size, "(no instruction)");
    while (pc < len) {
        size_t n = lpd_insn_length(code + pc, len - pc);

        if (!n)
            break;
        if (at < pc + n) {
            lpd_insn_text(code, len, pc, text, sizeof(text));
            snprintf(out, size, "+0x%llx: %s", (unsigned long long)pc, text);
            return pc;
        }
        pc += n;
    }
    return pc;
}

void diff_explain(struct diff *d, const struct lpe_symbol *o, const struct lpe_symbol *p)
{
    uint64_t os = o->sym.st_size, ps = p->sym.st_size, n, i;
    unsigned char *ob, *pb;
    char oi[300], pi[300];

    if (!d->opts->log || !o->sec->data || !p->sec->data)
        return;
    ob = diff_masked_bytes(o->sec, o->sym.st_value, os);
    pb = diff_masked_bytes(p->sec, p->sym.st_value, ps);
    if (!ob || !pb) {
        free(ob);
        free(pb);
        return;
    }
    n = os < ps ? os : ps;
    for (i = 0; i < n && ob[i] == pb[i]; i++)
        ;
    if (i == n && os == ps) {
        /* Same bytes: a relocation target or a string differs; show the first relocation. */
        size_t on, pn;
        struct lpe_rela *pr = lpe_relas_in(p->sec, p->sym.st_value, p->sym.st_value + ps, &pn);
        (void)lpe_relas_in(o->sec, o->sym.st_value, o->sym.st_value + os, &on);
        i = pn ? pr->offset - p->sym.st_value : 0;
    }
    /* Disassemble the real bytes (relocation fields are zero in the object anyway). */
    insn_at(o->sec->data + o->sym.st_value, os, i < os ? i : (os ? os - 1 : 0), oi, sizeof(oi));
    insn_at(p->sec->data + p->sym.st_value, ps, i < ps ? i : (ps ? ps - 1 : 0), pi, sizeof(pi));
    fprintf(d->opts->log, "explain: %s: first difference at +0x%llx\n", p->name,
            (unsigned long long)i);
    fprintf(d->opts->log, "explain:   original  %s\n", oi);
    fprintf(d->opts->log, "explain:   patched   %s\n", pi);
    free(ob);
    free(pb);
}

/* --- JSON ------------------------------------------------------------------------ */

void lpd_result_json(const struct lpd_result *res, FILE *f)
{
    static const char *const keys[] = { "changed_functions", "new_functions", "new_data",
                                        "ignored", "refused", "warnings", "notes" };
    static const char *const status[] = { "written", "error", "unsupported", "no-change" };
    size_t k, i;

    fprintf(f, "{\n  \"status\": \"%s\",\n  \"exit_code\": %d,\n  \"summary\": ",
            status[res->status], (int)res->status);
    lp_json_str(f, res->summary);
    for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        bool first = true;
        fprintf(f, ",\n  \"%s\": [", keys[k]);
        for (i = 0; i < res->nr_items; i++) {
            if (res->items[i].kind != (enum lpd_item_kind)k)
                continue;
            fprintf(f, "%s\n    {\"name\": ", first ? "" : ",");
            lp_json_str(f, res->items[i].name);
            fprintf(f, ", \"reason\": ");
            lp_json_str(f, res->items[i].reason);
            fputc('}', f);
            first = false;
        }
        fprintf(f, "%s]", first ? "" : "\n  ");
    }
    fprintf(f, "\n}\n");
}

void lpd_result_free(struct lpd_result *res)
{
    size_t i;

    for (i = 0; i < res->nr_items; i++) {
        free(res->items[i].name);
        free(res->items[i].reason);
    }
    free(res->items);
    free(res->summary);
    memset(res, 0, sizeof(*res));
}
