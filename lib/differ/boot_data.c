/*
 * boot_data.c - refuse data a payload cannot carry because the running hypervisor
 * set it up once, at boot, from its own link-time tables:
 *
 *   per-CPU variables (DEFINE_PER_CPU: .bss.percpu, .bss.percpu.read_mostly,
 *   .bss.percpu.page_aligned; Linux-style .data..percpu too).  Each CPU's area is a
 *   copy of the image's __per_cpu_start..__per_cpu_data_end made when the CPU came
 *   up, and per_cpu()/this_cpu() add __per_cpu_offset[cpu] to the variable's
 *   address.  A payload's new variable is one ordinary object outside that
 *   template: the sum points into whatever follows some other CPU's area.
 *
 *   entries of tables the image walked at boot, between linker-made bounds:
 *     .init.setup              command line parameters (custom_param, boolean_param,
 *                              integer_param, size_param, string_param, ignore_param)
 *     .initcallpresmp.init     presmp_initcall()
 *     .initcall1.init          __initcall() (and any other .initcall*)
 *     .init_array*, .ctors*    constructors (run by init_constructors())
 *     .data.paramhypfs         runtime parameters' hypfs nodes (param_hypfs, added at boot)
 *     .data.schedulers         REGISTER_SCHEDULER (walked between __start/__end_schedulers_array)
 *     .data.vpci.*             REGISTER_VPCI_INIT handlers (__start/__end_vpci_array)
 *     .lockprofile.data        lock profiling records (__lock_profile_start/end)
 *   A payload's entry lies outside those bounds: it is never parsed, run or found.
 *
 * An entry is new when the original object has no entry of that table with the same
 * (normalised) name or, for names made from __LINE__ (ignore_param's
 * __setup_ign_<line>), the same contents.  Tables whose entries have no symbols
 * (gcc's .init_array for __attribute__((constructor))) are compared by what each
 * entry points at.
 */
#include <stdlib.h>
#include <string.h>

#include "livepatch/hash.h"
#include "differ_internal.h"

struct boot_table {
    const char *name;
    bool prefix;
    const char *why;
};

static const struct boot_table tables[] = {
    { ".bss.percpu", true, NULL },
    { ".data.percpu", true, NULL },
    { ".data..percpu", true, NULL },
    { ".init.setup", false,
      "command line parameters are parsed once at boot from the image's "
      "__setup_start..__setup_end: a payload's entry is never parsed" },
    { ".initcall", true,
      "initcalls ran once at boot from the image's __initcall_start..__initcall_end: "
      "a payload's initcall never runs" },
    { ".init_array", true,
      "constructors ran once at boot from the image's __ctors_start..__ctors_end: a "
      "payload's constructor never runs" },
    { ".ctors", true,
      "constructors ran once at boot from the image's __ctors_start..__ctors_end: a "
      "payload's constructor never runs" },
    { ".data.paramhypfs", false,
      "runtime parameters are added to hypfs at boot from the image's "
      "__paramhypfs_start..__paramhypfs_end: a payload's entry never appears" },
    { ".data.schedulers", false,
      "schedulers are found between the image's __start_schedulers_array and "
      "__end_schedulers_array: a payload's scheduler is never found" },
    { ".data.vpci.", true,
      "vPCI handlers are found between the image's __start_vpci_array and "
      "__end_vpci_array: a payload's handler is never called" },
    { ".lockprofile.data", false,
      "lock profiling records are found between the image's __lock_profile_start and "
      "__lock_profile_end: a payload's record is never registered" },
};

static const struct boot_table *table_of(const char *sec)
{
    size_t i;

    for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        if (tables[i].prefix ? strncmp(sec, tables[i].name, strlen(tables[i].name)) == 0
                             : strcmp(sec, tables[i].name) == 0)
            return &tables[i];
    return NULL;
}

static bool is_percpu(const struct boot_table *t)
{
    return t->why == NULL;
}

static bool is_strings(const struct lpe_section *s)
{
    return (s->sh.sh_flags & SHF_MERGE) && (s->sh.sh_flags & SHF_STRINGS);
}

static uint64_t mix_str(uint64_t h, const char *s)
{
    return lp_hash_bytes(s, strlen(s) + 1, h);
}

/* What an entry holds, independent of its name and of where things are: its bytes
 * with relocation fields masked and, per relocation, what it points at (read-only
 * objects such as __setup_str_ign_<line> by their contents, strings by their text,
 * anything else by normalised name). */
static uint64_t entry_key(struct diff *d, const struct lpe_symbol *s)
{
    uint64_t start = s->sym.st_value, size = s->sym.st_size, h = size;
    struct lpe_rela *r;
    size_t n, i;

    if (s->sec->sh.sh_type != SHT_NOBITS) { /* .bss: zero, by its size alone (not copied) */
        unsigned char *buf = diff_masked_bytes(s->sec, start, size);

        if (buf)
            h = lp_hash_bytes(buf, size, h);
        free(buf);
    }
    r = lpe_relas_in(s->sec, start, start + size, &n);
    for (i = 0; i < n; i++) {
        struct diff_target t;
        const struct lpe_symbol *ts;

        h = lp_hash_bytes(&r[i].type, sizeof(r[i].type), h + r[i].offset - start);
        diff_resolve(d, s->sec, &r[i], 0, &t);
        if (t.via_section && is_strings(t.sec) && t.sec->data && t.off >= 0 &&
            (uint64_t)t.off < t.sec->size) {
            h = lp_hash_bytes(t.sec->data + t.off,
                              strnlen((const char *)t.sec->data + t.off,
                                      t.sec->size - (size_t)t.off), h);
            continue;
        }
        ts = t.sym;
        if (!ts) {
            h = mix_str(h, t.sec ? t.sec->name : "?");
        } else if (ts->sec && ts->type == STT_OBJECT && !(ts->sec->sh.sh_flags & SHF_WRITE) &&
                   ts->sec->data && ts->sym.st_value + ts->sym.st_size <= ts->sec->size) {
            h = lp_hash_bytes(ts->sec->data + ts->sym.st_value, ts->sym.st_size, h);
        } else {
            h = mix_str(h, DS(ts)->norm ? DS(ts)->norm : ts->name);
        }
        h = lp_hash_bytes(&t.addend, sizeof(t.addend), h);
    }
    return h;
}

/* An unpaired entry of the original's table with the same contents (taken once). */
static bool same_content_in_orig(struct diff *d, const struct lpe_symbol *p, bool *taken)
{
    uint64_t key = entry_key(d, p);
    const struct lpe_section *os;

    for (os = lpe_find_section(d->orig, p->sec->name); os; os = os->next_same_name) {
        size_t i;

        for (i = 0; i < os->nr_by_offset; i++) {
            const struct lpe_symbol *o = os->by_offset[i];

            if (o->type != STT_OBJECT || DS(o)->twin || taken[o->index] ||
                o->sym.st_size != p->sym.st_size || entry_key(d, o) != key)
                continue;
            taken[o->index] = true;
            return true;
        }
    }
    return false;
}

static void refuse_symbol(struct diff *d, const struct boot_table *t, const struct lpe_symbol *s)
{
    d->refused = true;
    if (is_percpu(t)) {
        const char *bare = strncmp(s->name, "per_cpu__", 9) == 0 ? s->name + 9 : NULL;

        diff_note(d, LPD_REFUSED, s->name,
                  "%s: new per-CPU variable %s (%s%s%s): a payload cannot add per-CPU "
                  "data: each CPU's area is a copy of the image's per-CPU template made at boot, "
                  "and per_cpu()/this_cpu() on a payload's variable reach memory outside every "
                  "CPU's area", d->patched->path, bare ? bare : s->name, bare ? s->name : "",
                  bare ? ", in " : "in ", s->sec->name);
        return;
    }
    diff_note(d, LPD_REFUSED, s->name, "%s: new entry %s in %s: %s", d->patched->path, s->name,
              s->sec->name, t->why);
}

/* A table without symbols for its entries: compare what the relocations point at. */
static int check_anonymous_table(struct diff *d, const struct boot_table *t,
                                 const struct lpe_section *ps)
{
    const struct lpe_section *first = lpe_find_section(d->orig, ps->name), *os;
    struct lp_hash *seen = lp_hash_new(16);
    size_t i, *counts = NULL, nr = 0, total = 0;
    int ret = -1;

    if (!seen)
        return lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
    for (os = first; os; os = os->next_same_name)
        total += os->rela ? os->rela->nr_relas : 0;
    counts = calloc(total + 1, sizeof(*counts));
    if (!counts)
        goto nomem;
    /* Count the original's entries by target name; each patched entry uses one. */
    for (os = first; os; os = os->next_same_name)
        for (i = 0; os->rela && i < os->rela->nr_relas; i++) {
            const struct lpe_symbol *ts = diff_rela_target(d, os, &os->rela->relas[i]);
            const char *name = DS(ts)->norm ? DS(ts)->norm : ts->name;
            size_t *c = lp_hash_find(seen, name);
            int failed = 0;

            if (!c) {
                c = &counts[nr++];
                lp_hash_insert(seen, name, c, &failed);
                if (failed)
                    goto nomem;
            }
            (*c)++;
        }
    for (i = 0; ps->rela && i < ps->rela->nr_relas; i++) {
        const struct lpe_symbol *ts = diff_rela_target(d, ps, &ps->rela->relas[i]);
        const char *name = DS(ts)->norm ? DS(ts)->norm : ts->name;
        size_t *c = lp_hash_find(seen, name);

        if (c && *c) {
            (*c)--;
            continue;
        }
        d->refused = true;
        diff_note(d, LPD_REFUSED, ts->name, "%s: new entry in %s (at +0x%llx, pointing at %s): %s",
                  d->patched->path, ps->name,
                  (unsigned long long)ps->rela->relas[i].offset, ts->name, t->why);
    }
    ret = 0;
    goto out;
nomem:
    lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
out:
    lp_hash_free(seen);
    free(counts);
    return ret;
}

int diff_boot_data(struct diff *d)
{
    bool *taken = calloc(d->orig->nr_symbols + 1, sizeof(*taken));
    size_t i;

    if (!taken)
        return lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
    for (i = 1; i < d->patched->nr_sections; i++) {
        const struct lpe_section *ps = d->patched->sections[i];
        const struct boot_table *t = table_of(ps->name);
        bool has_symbols = false;
        size_t k;

        if (!t || !ps->size)
            continue;
        for (k = 0; k < ps->nr_by_offset; k++) {
            const struct lpe_symbol *s = ps->by_offset[k];

            if (s->type != STT_OBJECT || !s->name[0])
                continue;
            has_symbols = true;
            if (DS(s)->status != ST_NEW)
                continue;
            /* A name made from __LINE__ moves with the lines: the same entry. */
            if (!is_percpu(t) && same_content_in_orig(d, s, taken)) {
                diff_log(d, "%s: %s is an existing entry of %s under a new name", d->patched->path,
                         s->name, ps->name);
                continue;
            }
            refuse_symbol(d, t, s);
        }
        if (!has_symbols && !is_percpu(t) && check_anonymous_table(d, t, ps)) {
            free(taken);
            return -1;
        }
    }
    free(taken);
    return 0;
}
