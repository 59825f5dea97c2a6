/*
 * layout.c - refuse a payload whose code uses a data layout the running
 * hypervisor does not have.
 *
 * A payload replaces functions; the memory they work on was laid out by the
 * original build.  If the patch adds, moves or resizes a member of a structure,
 * widens a bit-field, changes an array bound or renumbers an enum, the new code
 * reads and writes at offsets (or with values) the existing objects do not have.
 *
 * From the DWARF of each object (read once with libdwfl, which applies the
 * relocations of an ET_REL object's debug sections):
 *   1. index every struct, union, enum and typedef by kind and name ("struct foo",
 *      "typedef foo_t"), anonymous ones through their parents (an anonymous member
 *      type is part of its parent's description; a file-scope variable's anonymous
 *      type is "struct (variable NAME)", an anonymous enum "enum (anonymous, FIRST)"),
 *      and describe each as a flat list of fields: member path, bit offset, size,
 *      bit size, type name; enumerator names and values; a typedef's target;
 *   2. compare the descriptions of every type both objects define: the changed ones;
 *   3. if any changed, walk, for each function the payload carries, the types it uses:
 *      its DIE (and the abstract ones it inlines) with parameters, variables and
 *      return type, plus the variables its relocations name, following pointers,
 *      members, arrays, typedefs and qualifiers (a visited set per function; never a
 *      scan of all types).
 * A changed type some carried function uses: refused (LPD_REFUSED), or a warning
 * when --allow-layout-change names it (recorded in the output's
 * .livepatch.allowed_layout).  A changed type no carried function uses: a note.
 * An object without DWARF: a warning that layouts could not be checked.
 */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livepatch/hash.h"
#include "differ_internal.h"

#define SEC_ALLOWED ".livepatch.allowed_layout"
#define MAX_DETAILS 4

/* --- a set / map of DIE offsets ------------------------------------------------ */

struct offmap {
    uint64_t *keys;   /* offset + 1; 0 is empty */
    void **vals;
    size_t cap, n;
};

static int offmap_grow(struct offmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256, i;
    uint64_t *keys = calloc(cap, sizeof(*keys));
    void **vals = calloc(cap, sizeof(*vals));

    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (i = 0; i < m->cap; i++)
        if (m->keys[i]) {
            size_t j = (size_t)(m->keys[i] * 0x9e3779b97f4a7c15ull) & (cap - 1);
            while (keys[j])
                j = (j + 1) & (cap - 1);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

/* Slot of off (present or where it would go). */
static size_t offmap_slot(const struct offmap *m, uint64_t off)
{
    uint64_t k = off + 1;
    size_t j = (size_t)(k * 0x9e3779b97f4a7c15ull) & (m->cap - 1);

    while (m->keys[j] && m->keys[j] != k)
        j = (j + 1) & (m->cap - 1);
    return j;
}

static void *offmap_get(const struct offmap *m, uint64_t off)
{
    size_t j;

    if (!m->cap)
        return NULL;
    j = offmap_slot(m, off);
    return m->keys[j] ? m->vals[j] : NULL;
}

/* Insert off -> val; 1 if it was already present, 0 if inserted, -1 on ENOMEM. */
static int offmap_put(struct offmap *m, uint64_t off, void *val)
{
    size_t j;

    if ((m->n + 1) * 2 > m->cap && offmap_grow(m))
        return -1;
    j = offmap_slot(m, off);
    if (m->keys[j])
        return 1;
    m->keys[j] = off + 1;
    m->vals[j] = val;
    m->n++;
    return 0;
}

static void offmap_clear(struct offmap *m)
{
    if (m->cap) {
        memset(m->keys, 0, m->cap * sizeof(*m->keys));
        m->n = 0;
    }
}

static void offmap_free(struct offmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* --- type descriptions ---------------------------------------------------------- */

enum fkind { F_MEMBER, F_ENUMERATOR, F_TARGET };

struct field {
    enum fkind kind;
    char *name;          /* member path ("pair.q"), enumerator, or "" for a typedef target */
    int64_t bitpos;      /* members: bit offset from the start of the type; enumerators: value */
    uint64_t size;       /* bytes of the member's type */
    uint64_t bits;       /* bit-field width, 0 if not a bit-field */
    char *type;          /* the member's type, in words ("unsigned int", "struct bar *") */
};

struct ltype {
    char *key;           /* "struct foo" */
    Dwarf_Die die;
    uint64_t size;
    struct field *f;
    size_t nf, capf;
    uint64_t fp;         /* hash of the fields */
    const char *decl_file;
    int decl_line;
    /* patched side only: */
    struct ltype *orig;  /* the original's type of the same key */
    char *change;        /* what differs, in words; NULL if nothing */
    char **users;        /* carried functions that use it */
    size_t nr_users;
    size_t last_user;    /* index+1 of the function that last added itself */
    struct ltype *next;  /* index order */
};

struct lfunc {
    Dwarf_Die die;
    struct lfunc *next;  /* same name */
};

struct ldw {
    const char *path;
    Dwfl *dwfl;
    Dwarf *dw;
    struct lp_hash *types;   /* key -> ltype */
    struct ltype *first, *last;
    struct offmap by_off;    /* DIE offset -> ltype */
    struct lp_hash *funcs;   /* name -> lfunc chain */
    struct lp_hash *vars;    /* file-scope variable name -> lfunc (its DIE) */
    struct lfunc **fpool;    /* allocations, for freeing */
    size_t nr_fpool, cap_fpool;
    int failed;              /* ENOMEM somewhere */
};

static bool is_type_tag(int tag)
{
    return tag == DW_TAG_structure_type || tag == DW_TAG_union_type ||
           tag == DW_TAG_enumeration_type || tag == DW_TAG_typedef ||
           tag == DW_TAG_class_type;
}

static const char *kind_word(int tag)
{
    switch (tag) {
    case DW_TAG_structure_type: return "struct";
    case DW_TAG_union_type: return "union";
    case DW_TAG_enumeration_type: return "enum";
    case DW_TAG_class_type: return "class";
    default: return "typedef";
    }
}

static bool ref_die(Dwarf_Die *die, unsigned at, Dwarf_Die *out)
{
    Dwarf_Attribute a;

    return dwarf_attr(die, at, &a) && dwarf_formref_die(&a, out);
}

static bool is_declaration(Dwarf_Die *die)
{
    bool flag = false;
    Dwarf_Attribute a;

    return dwarf_attr(die, DW_AT_declaration, &a) && dwarf_formflag(&a, &flag) == 0 && flag;
}

static uint64_t type_size(Dwarf_Die *type)
{
    Dwarf_Word sz;
    Dwarf_Die t = *type;
    int depth;

    for (depth = 0; depth < 16; depth++) {
        if (dwarf_aggregate_size(&t, &sz) == 0)
            return sz;
        if (!ref_die(&t, DW_AT_type, &t))
            break;
    }
    return 0;
}

/* The type in words: a base or named type by name, pointers, qualifiers, arrays. */
static void shape(Dwarf_Die *die, char *buf, size_t size, int depth)
{
    Dwarf_Die t, child;
    const char *name = dwarf_diename(die);
    size_t len;

    buf[0] = '\0';
    if (depth > 8) {
        snprintf(buf, size, "...");
        return;
    }
    switch (dwarf_tag(die)) {
    case DW_TAG_base_type:
    case DW_TAG_typedef:
        snprintf(buf, size, "%s", name ? name : "?");
        return;
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_enumeration_type:
    case DW_TAG_class_type:
        snprintf(buf, size, "%s %s", kind_word(dwarf_tag(die)), name ? name : "{...}");
        return;
    case DW_TAG_pointer_type:
    case DW_TAG_reference_type:
        if (ref_die(die, DW_AT_type, &t))
            shape(&t, buf, size, depth + 1);
        else
            snprintf(buf, size, "void");
        len = strlen(buf);
        snprintf(buf + len, size - len, " *");
        return;
    case DW_TAG_const_type:
    case DW_TAG_volatile_type:
    case DW_TAG_restrict_type:
    case DW_TAG_atomic_type: {
        const char *q = dwarf_tag(die) == DW_TAG_const_type      ? "const "
                        : dwarf_tag(die) == DW_TAG_volatile_type ? "volatile "
                        : dwarf_tag(die) == DW_TAG_atomic_type   ? "_Atomic "
                                                                 : "restrict ";
        len = (size_t)snprintf(buf, size, "%s", q);
        if (len < size) {
            if (ref_die(die, DW_AT_type, &t))
                shape(&t, buf + len, size - len, depth + 1);
            else
                snprintf(buf + len, size - len, "void");
        }
        return;
    }
    case DW_TAG_array_type:
        if (ref_die(die, DW_AT_type, &t))
            shape(&t, buf, size, depth + 1);
        if (dwarf_child(die, &child) == 0)
            do {
                Dwarf_Attribute a;
                Dwarf_Word v;

                if (dwarf_tag(&child) != DW_TAG_subrange_type)
                    continue;
                len = strlen(buf);
                if (dwarf_attr(&child, DW_AT_count, &a) && dwarf_formudata(&a, &v) == 0)
                    snprintf(buf + len, size - len, "[%" PRIu64 "]", (uint64_t)v);
                else if (dwarf_attr(&child, DW_AT_upper_bound, &a) &&
                         dwarf_formudata(&a, &v) == 0)
                    snprintf(buf + len, size - len, "[%" PRIu64 "]", (uint64_t)v + 1);
                else
                    snprintf(buf + len, size - len, "[]");
            } while (dwarf_siblingof(&child, &child) == 0);
        return;
    case DW_TAG_subroutine_type:
        snprintf(buf, size, "function");
        return;
    default:
        snprintf(buf, size, "%s", name ? name : "?");
        return;
    }
}

static int add_field(struct ldw *o, struct ltype *t, enum fkind kind, const char *name,
                     int64_t bitpos, uint64_t size, uint64_t bits, const char *type)
{
    struct field *f;

    if (t->nf == t->capf) {
        size_t cap = t->capf ? t->capf * 2 : 8;
        f = realloc(t->f, cap * sizeof(*f));
        if (!f)
            goto nomem;
        t->f = f;
        t->capf = cap;
    }
    f = &t->f[t->nf];
    f->kind = kind;
    f->name = strdup(name);
    f->type = strdup(type ? type : "");
    f->bitpos = bitpos;
    f->size = size;
    f->bits = bits;
    if (!f->name || !f->type) {
        free(f->name);
        free(f->type);
        goto nomem;
    }
    t->nf++;
    t->fp = lp_hash_bytes(name, strlen(name) + 1, t->fp);
    t->fp = lp_hash_bytes(f->type, strlen(f->type) + 1, t->fp);
    t->fp = lp_hash_bytes(&f->bitpos, sizeof(f->bitpos), t->fp + kind);
    t->fp = lp_hash_bytes(&f->size, sizeof(f->size), t->fp);
    t->fp = lp_hash_bytes(&f->bits, sizeof(f->bits), t->fp);
    return 0;
nomem:
    o->failed = 1;
    return -1;
}

static bool anonymous_aggregate(Dwarf_Die *die)
{
    int tag = dwarf_tag(die);

    return (tag == DW_TAG_structure_type || tag == DW_TAG_union_type ||
            tag == DW_TAG_enumeration_type || tag == DW_TAG_class_type) &&
           !dwarf_diename(die);
}

static int64_t member_bitpos(Dwarf_Die *m, uint64_t size, uint64_t bits)
{
    Dwarf_Attribute a;
    Dwarf_Word v;
    int64_t byte = 0;

    if (dwarf_attr(m, DW_AT_data_bit_offset, &a) && dwarf_formudata(&a, &v) == 0)
        return (int64_t)v;
    if (dwarf_attr(m, DW_AT_data_member_location, &a)) {
        if (dwarf_formudata(&a, &v) == 0) {
            byte = (int64_t)v;
        } else {
            Dwarf_Op *ops;
            size_t n;
            if (dwarf_getlocation(&a, &ops, &n) == 0 && n == 1 &&
                ops[0].atom == DW_OP_plus_uconst)
                byte = (int64_t)ops[0].number;
        }
    }
    /* DWARF 2/3 bit-fields: DW_AT_bit_offset counts from the storage unit's top bit. */
    if (bits && dwarf_attr(m, DW_AT_bit_offset, &a) && dwarf_formudata(&a, &v) == 0) {
        Dwarf_Word unit = size;
        if (dwarf_attr(m, DW_AT_byte_size, &a))
            dwarf_formudata(&a, &unit);
        return byte * 8 + (int64_t)(unit * 8 - v - bits);
    }
    return byte * 8;
}

static void describe_members(struct ldw *o, struct ltype *t, Dwarf_Die *die, const char *prefix,
                             int64_t base, int depth);

static void describe_enumerators(struct ldw *o, struct ltype *t, Dwarf_Die *die,
                                 const char *prefix)
{
    Dwarf_Die c;
    char name[512];

    if (dwarf_child(die, &c) != 0)
        return;
    do {
        Dwarf_Attribute a;
        Dwarf_Sword v = 0;

        if (dwarf_tag(&c) != DW_TAG_enumerator)
            continue;
        if (dwarf_attr(&c, DW_AT_const_value, &a) && dwarf_formsdata(&a, &v) != 0) {
            Dwarf_Word u = 0;
            dwarf_formudata(&a, &u);
            v = (Dwarf_Sword)u;
        }
        snprintf(name, sizeof(name), "%s%s", prefix, dwarf_diename(&c) ? dwarf_diename(&c) : "?");
        add_field(o, t, F_ENUMERATOR, name, v, 0, 0, NULL);
    } while (dwarf_siblingof(&c, &c) == 0);
}

static void describe_members(struct ldw *o, struct ltype *t, Dwarf_Die *die, const char *prefix,
                             int64_t base, int depth)
{
    Dwarf_Die m;
    unsigned unnamed = 0;

    if (depth > 16 || dwarf_child(die, &m) != 0)
        return;
    do {
        Dwarf_Attribute a;
        Dwarf_Word w;
        Dwarf_Die type;
        char name[512], tname[256];
        uint64_t size = 0, bits = 0;
        int64_t pos;
        bool typed;

        if (dwarf_tag(&m) != DW_TAG_member)
            continue;
        typed = ref_die(&m, DW_AT_type, &type);
        if (typed) {
            size = type_size(&type);
            shape(&type, tname, sizeof(tname), 0);
        } else {
            snprintf(tname, sizeof(tname), "?");
        }
        if (dwarf_attr(&m, DW_AT_bit_size, &a) && dwarf_formudata(&a, &w) == 0)
            bits = w;
        pos = base + member_bitpos(&m, size, bits);
        if (dwarf_diename(&m))
            snprintf(name, sizeof(name), "%s%s", prefix, dwarf_diename(&m));
        else
            snprintf(name, sizeof(name), "%s(unnamed #%u)", prefix, unnamed++);
        add_field(o, t, F_MEMBER, name, pos, size, bits, tname);
        /* An anonymous aggregate is part of its parent: describe it in place. */
        if (typed && anonymous_aggregate(&type) && !is_declaration(&type)) {
            char sub[520];

            if (dwarf_diename(&m))
                snprintf(sub, sizeof(sub), "%s.", name);
            else
                snprintf(sub, sizeof(sub), "%s", prefix); /* C11 anonymous member */
            if (dwarf_tag(&type) == DW_TAG_enumeration_type)
                describe_enumerators(o, t, &type, sub);
            else
                describe_members(o, t, &type, sub, pos, depth + 1);
        }
    } while (dwarf_siblingof(&m, &m) == 0);
}

static void describe(struct ldw *o, struct ltype *t)
{
    Dwarf_Die *die = &t->die, target;
    int tag = dwarf_tag(die);

    t->fp = 0x6c61796f7574ull;
    if (tag == DW_TAG_typedef) {
        char tname[256];

        if (!ref_die(die, DW_AT_type, &target)) {
            add_field(o, t, F_TARGET, "", 0, 0, 0, "void");
            return;
        }
        shape(&target, tname, sizeof(tname), 0);
        t->size = type_size(&target);
        add_field(o, t, F_TARGET, "", 0, t->size, 0, tname);
        if (anonymous_aggregate(&target)) {
            if (dwarf_tag(&target) == DW_TAG_enumeration_type)
                describe_enumerators(o, t, &target, "");
            else
                describe_members(o, t, &target, "", 0, 0);
        }
        return;
    }
    t->size = type_size(die);
    if (tag == DW_TAG_enumeration_type)
        describe_enumerators(o, t, die, "");
    else
        describe_members(o, t, die, "", 0, 0);
}

/* --- indexing an object ---------------------------------------------------------- */

static struct ltype *add_type(struct ldw *o, Dwarf_Die *die, const char *key)
{
    struct ltype *t = calloc(1, sizeof(*t));
    char buf[600];
    unsigned n;
    int failed = 0;

    if (!t)
        goto nomem;
    t->die = *die;
    t->key = strdup(key);
    if (!t->key)
        goto nomem;
    /* Two types of one name and kind in one unit (function-scope types): number them. */
    for (n = 2; lp_hash_find(o->types, t->key); n++) {
        free(t->key);
        snprintf(buf, sizeof(buf), "%s #%u", key, n);
        t->key = strdup(buf);
        if (!t->key)
            goto nomem;
    }
    t->decl_file = dwarf_decl_file(die);
    dwarf_decl_line(die, &t->decl_line);
    describe(o, t);
    lp_hash_insert(o->types, t->key, t, &failed);
    if (failed || offmap_put(&o->by_off, dwarf_dieoffset(die), t) < 0) {
        lp_hash_remove(o->types, t->key);
        goto nomem;
    }
    if (o->last)
        o->last->next = t;
    else
        o->first = t;
    o->last = t;
    return t;
nomem:
    if (t)
        free(t->key);
    free(t);
    o->failed = 1;
    return NULL;
}

static void add_named(struct ldw *o, struct lp_hash *h, const char *name, Dwarf_Die *die)
{
    struct lfunc *f = calloc(1, sizeof(*f)), *head;
    int failed = 0;

    if (f && o->nr_fpool == o->cap_fpool) {
        size_t cap = o->cap_fpool * 2 + 64;
        struct lfunc **pool = realloc(o->fpool, cap * sizeof(*pool));

        if (pool) {
            o->fpool = pool;
            o->cap_fpool = cap;
        }
    }
    if (!f || o->nr_fpool == o->cap_fpool) {
        free(f);
        o->failed = 1;
        return;
    }
    o->fpool[o->nr_fpool++] = f;
    f->die = *die;
    head = lp_hash_insert(h, name, f, &failed);
    if (failed)
        o->failed = 1;
    else if (head) { /* keep the chain: after the first */
        f->next = head->next;
        head->next = f;
    }
}

/* A name for a subprogram: its own or its abstract origin's / specification's. */
static const char *subprogram_name(Dwarf_Die *die)
{
    Dwarf_Attribute a;

    return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
}

static void index_die(struct ldw *o, Dwarf_Die *parent, bool cu_level)
{
    Dwarf_Die c;

    if (dwarf_child(parent, &c) != 0)
        return;
    do {
        int tag = dwarf_tag(&c);
        const char *name = dwarf_diename(&c);
        char key[600];

        if (o->failed)
            return;
        if (is_type_tag(tag)) {
            if (name && !is_declaration(&c)) {
                snprintf(key, sizeof(key), "%s %s", kind_word(tag), name);
                add_type(o, &c, key);
            } else if (!name && tag == DW_TAG_enumeration_type && cu_level) {
                Dwarf_Die e;
                if (dwarf_child(&c, &e) == 0 && dwarf_diename(&e)) {
                    snprintf(key, sizeof(key), "enum (anonymous, %s)", dwarf_diename(&e));
                    add_type(o, &c, key);
                }
            }
            if (tag != DW_TAG_typedef)
                index_die(o, &c, false); /* nested definitions */
            continue;
        }
        switch (tag) {
        case DW_TAG_subprogram: {
            const char *fn = subprogram_name(&c);
            if (fn)
                add_named(o, o->funcs, fn, &c);
            index_die(o, &c, false);
            break;
        }
        case DW_TAG_variable:
            if (cu_level && name) {
                Dwarf_Die type;
                int depth;

                add_named(o, o->vars, name, &c);
                /* A variable's anonymous type (through const, volatile and arrays) is
                 * known by the variable. */
                for (depth = 0; depth < 8 && ref_die(depth ? &type : &c, DW_AT_type, &type);
                     depth++) {
                    int tt = dwarf_tag(&type);
                    if (tt != DW_TAG_const_type && tt != DW_TAG_volatile_type &&
                        tt != DW_TAG_array_type)
                        break;
                }
                if (depth < 8 && dwarf_hasattr(depth ? &type : &c, DW_AT_type) &&
                    anonymous_aggregate(&type) &&
                    !offmap_get(&o->by_off, dwarf_dieoffset(&type))) {
                    snprintf(key, sizeof(key), "%s (variable %s)", kind_word(dwarf_tag(&type)),
                             name);
                    add_type(o, &type, key);
                }
            }
            break;
        case DW_TAG_lexical_block:
        case DW_TAG_inlined_subroutine:
            index_die(o, &c, false);
            break;
        default:
            break;
        }
    } while (dwarf_siblingof(&c, &c) == 0);
}

static int no_debuginfo(Dwfl_Module *m, void **u, const char *n, Dwarf_Addr a, const char *f,
                        const char *dl, GElf_Word crc, char **name)
{
    (void)m, (void)u, (void)n, (void)a, (void)f, (void)dl, (void)crc, (void)name;
    return -1;
}

static const Dwfl_Callbacks callbacks = {
    .find_debuginfo = no_debuginfo,
    .section_address = dwfl_offline_section_address,
};

static void ldw_close(struct ldw *o)
{
    struct ltype *t, *n;
    size_t i;

    for (t = o->first; t; t = n) {
        n = t->next;
        for (i = 0; i < t->nf; i++) {
            free(t->f[i].name);
            free(t->f[i].type);
        }
        free(t->f);
        free(t->key);
        free(t->change);
        for (i = 0; i < t->nr_users; i++)
            free(t->users[i]);
        free(t->users);
        free(t);
    }
    for (i = 0; i < o->nr_fpool; i++)
        free(o->fpool[i]);
    free(o->fpool);
    lp_hash_free(o->types);
    lp_hash_free(o->funcs);
    lp_hash_free(o->vars);
    offmap_free(&o->by_off);
    if (o->dwfl)
        dwfl_end(o->dwfl);
    memset(o, 0, sizeof(*o));
}

/* 0 indexed, 1 no DWARF (why in `why`), -1 out of memory. */
static int ldw_open(struct ldw *o, const struct lpe_object *obj, const char *suffix, char *why,
                    size_t size)
{
    Dwfl_Module *mod;
    Dwarf_Addr bias;
    Dwarf_Die *cu = NULL;
    char *twin = NULL;
    const char *from = obj->path;

    memset(o, 0, sizeof(*o));
    o->path = obj->path;
    if (!lpe_find_section(obj, ".debug_info")) {
        /* The same unit compiled again with -g: its types are the object's (-g never
         * changes what a unit defines), so the check reads them from there. */
        if (!suffix || asprintf(&twin, "%s%s", obj->path, suffix) < 0 || access(twin, R_OK)) {
            free(twin);
            snprintf(why, size, "%s has no DWARF (no .debug_info: built without -g)%s",
                     obj->path, suffix ? ", and no layout twin" : "");
            return 1;
        }
        from = twin;
    }
    o->dwfl = dwfl_begin(&callbacks);
    mod = o->dwfl ? dwfl_report_offline(o->dwfl, "unit", from, -1) : NULL;
    if (o->dwfl)
        dwfl_report_end(o->dwfl, NULL, NULL);
    o->dw = mod ? dwfl_module_getdwarf(mod, &bias) : NULL;
    if (!o->dw) {
        snprintf(why, size, "%s: its DWARF cannot be read (%s)", from, dwfl_errmsg(-1));
        free(twin);
        ldw_close(o);
        return 1;
    }
    free(twin);
    o->types = lp_hash_new(1024);
    o->funcs = lp_hash_new(256);
    o->vars = lp_hash_new(256);
    if (!o->types || !o->funcs || !o->vars)
        return -1;
    while ((cu = dwfl_module_nextcu(mod, cu, &bias)) && !o->failed)
        index_die(o, cu, true);
    return o->failed ? -1 : 0;
}

/* --- comparing ------------------------------------------------------------------- */

static const struct field *find_field(const struct ltype *t, const struct field *like, size_t hint)
{
    size_t i;

    if (hint < t->nf && t->f[hint].kind == like->kind && strcmp(t->f[hint].name, like->name) == 0)
        return &t->f[hint];
    for (i = 0; i < t->nf; i++)
        if (t->f[i].kind == like->kind && strcmp(t->f[i].name, like->name) == 0)
            return &t->f[i];
    return NULL;
}

static void where(const struct field *f, char *buf, size_t size)
{
    if (f->bits)
        snprintf(buf, size, "bit offset %" PRId64, f->bitpos);
    else if (f->bitpos % 8)
        snprintf(buf, size, "bit offset %" PRId64, f->bitpos);
    else
        snprintf(buf, size, "offset %" PRId64, f->bitpos / 8);
}

struct details {
    char text[1024];
    size_t len;
    unsigned n;
};

static void detail(struct details *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void detail(struct details *d, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (d->n++ >= MAX_DETAILS)
        return;
    if (d->len && d->len + 2 < sizeof(d->text)) {
        memcpy(d->text + d->len, "; ", 3);
        d->len += 2;
    }
    va_start(ap, fmt);
    n = vsnprintf(d->text + d->len, sizeof(d->text) - d->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        d->len = d->len + (size_t)n < sizeof(d->text) ? d->len + (size_t)n : sizeof(d->text) - 1;
}

/* What differs between the original's type o and the patched one p, in words, in
 * *out (NULL when nothing does); -1 on ENOMEM. */
static int compare_types(const struct ltype *o, const struct ltype *p, char **out)
{
    struct details d = { .len = 0 };
    char a[64];
    size_t i;

    d.text[0] = '\0';
    if (o->size != p->size)
        detail(&d, "size %" PRIu64 " -> %" PRIu64 " bytes", o->size, p->size);
    for (i = 0; i < p->nf; i++) {
        const struct field *pf = &p->f[i], *of = find_field(o, pf, i);

        if (pf->kind == F_TARGET) {
            if (of && strcmp(of->type, pf->type) != 0)
                detail(&d, "now names %s (was %s)", pf->type, of->type);
            continue;
        }
        if (!of) {
            if (pf->kind == F_ENUMERATOR) {
                detail(&d, "enumerator %s appeared (= %" PRId64 ")", pf->name, pf->bitpos);
            } else {
                where(pf, a, sizeof(a));
                detail(&d, "member %s appeared at %s%s", pf->name, a,
                       pf->bits ? " (bit-field)" : "");
            }
            continue;
        }
        if (pf->kind == F_ENUMERATOR) {
            if (of->bitpos != pf->bitpos)
                detail(&d, "enumerator %s: %" PRId64 " -> %" PRId64, pf->name, of->bitpos,
                       pf->bitpos);
            continue;
        }
        if (of->bits != pf->bits)
            detail(&d, "bit-field %s: %" PRIu64 " -> %" PRIu64 " bits", pf->name, of->bits,
                   pf->bits);
        if (of->bitpos != pf->bitpos) {
            where(of, a, sizeof(a));
            detail(&d, "member %s moved from %s to %" PRId64, pf->name, a,
                   of->bits || pf->bits || of->bitpos % 8 || pf->bitpos % 8 ? pf->bitpos
                                                                            : pf->bitpos / 8);
        }
        if (strcmp(of->type, pf->type) != 0 || of->size != pf->size)
            detail(&d, "member %s: type %s (%" PRIu64 " bytes) -> %s (%" PRIu64 " bytes)",
                   pf->name, of->type, of->size, pf->type, pf->size);
    }
    for (i = 0; i < o->nf; i++) {
        const struct field *of = &o->f[i];

        if (of->kind == F_TARGET || find_field(p, of, i))
            continue;
        if (of->kind == F_ENUMERATOR) {
            detail(&d, "enumerator %s removed (was %" PRId64 ")", of->name, of->bitpos);
        } else {
            where(of, a, sizeof(a));
            detail(&d, "member %s removed (was at %s)", of->name, a);
        }
    }
    *out = NULL;
    if (!d.n) {
        if (o->fp == p->fp && o->nf == p->nf)
            return 0;
        detail(&d, "members reordered");
    }
    if (d.n > MAX_DETAILS) {
        size_t l = strlen(d.text);
        snprintf(d.text + l, sizeof(d.text) - l, "; and %u more", d.n - MAX_DETAILS);
    }
    *out = strdup(d.text);
    return *out ? 0 : -1;
}

/* --- what carried code uses ------------------------------------------------------- */

struct walk {
    struct ldw *p;
    struct offmap seen;
    Dwarf_Die *stack;
    size_t n, cap;
    const char *user;     /* the carried function (patched object's name) */
    size_t user_id;
    int failed;
};

static void push(struct walk *w, Dwarf_Die *die)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        Dwarf_Die *s = realloc(w->stack, cap * sizeof(*s));
        if (!s) {
            w->failed = 1;
            return;
        }
        w->stack = s;
        w->cap = cap;
    }
    w->stack[w->n++] = *die;
}

static void use(struct walk *w, struct ltype *t)
{
    char **u;

    if (!t->change || t->last_user == w->user_id)
        return;
    t->last_user = w->user_id;
    u = realloc(t->users, (t->nr_users + 1) * sizeof(*u));
    if (!u || !(u[t->nr_users] = strdup(w->user))) {
        if (u)
            t->users = u;
        w->failed = 1;
        return;
    }
    t->users = u;
    t->nr_users++;
}

static void walk(struct walk *w)
{
    while (w->n && !w->failed) {
        Dwarf_Die die = w->stack[--w->n], x, c;
        int tag = dwarf_tag(&die), r;
        bool children;

        r = offmap_put(&w->seen, dwarf_dieoffset(&die), (void *)1);
        if (r < 0) {
            w->failed = 1;
            return;
        }
        if (r > 0)
            continue;
        if (is_type_tag(tag)) {
            struct ltype *t = offmap_get(&w->p->by_off, dwarf_dieoffset(&die));

            if (!t && is_declaration(&die) && dwarf_diename(&die)) {
                char key[600];
                snprintf(key, sizeof(key), "%s %s", kind_word(tag), dwarf_diename(&die));
                t = lp_hash_find(w->p->types, key);
                if (t)
                    push(w, &t->die);
                continue;
            }
            if (t)
                use(w, t);
            if (tag == DW_TAG_enumeration_type)
                continue;
        }
        switch (tag) {
        case DW_TAG_call_site:
        case DW_TAG_GNU_call_site:
            continue; /* calling a function does not touch its types */
        case DW_TAG_subprogram:
        case DW_TAG_inlined_subroutine:
        case DW_TAG_lexical_block:
        case DW_TAG_subroutine_type:
        case DW_TAG_structure_type:
        case DW_TAG_union_type:
        case DW_TAG_class_type:
            children = true;
            break;
        default:
            children = false;
        }
        if (ref_die(&die, DW_AT_type, &x))
            push(w, &x);
        if (ref_die(&die, DW_AT_abstract_origin, &x))
            push(w, &x);
        if (ref_die(&die, DW_AT_specification, &x))
            push(w, &x);
        if (children && dwarf_child(&die, &c) == 0)
            do
                push(w, &c);
            while (dwarf_siblingof(&c, &c) == 0);
    }
}

static void push_named(struct walk *w, struct lp_hash *h, const char *name)
{
    struct lfunc *f;

    for (f = lp_hash_find(h, name); f; f = f->next)
        push(w, &f->die);
}

/* Walk the types one carried function uses; returns whether it has a DIE. */
static bool walk_function(struct diff *d, struct walk *w, struct lpe_symbol *s)
{
    char base[512];
    const char *dot;
    struct lpe_rela *r;
    size_t n, i;
    bool found;

    offmap_clear(&w->seen);
    w->n = 0;
    w->user = s->name;
    w->user_id++;
    found = lp_hash_find(w->p->funcs, s->name) != NULL;
    push_named(w, w->p->funcs, s->name);
    /* foo.cold, foo.part.0, foo.isra.0: the DIE is foo's. */
    dot = strchr(s->name, '.');
    if (!found && dot && dot != s->name && (size_t)(dot - s->name) < sizeof(base)) {
        memcpy(base, s->name, (size_t)(dot - s->name));
        base[dot - s->name] = '\0';
        found = lp_hash_find(w->p->funcs, base) != NULL;
        push_named(w, w->p->funcs, base);
    }
    /* The variables its code names (globals and file-scope statics, externs). */
    r = lpe_relas_in(s->sec, s->sym.st_value, s->sym.st_value + s->sym.st_size, &n);
    for (i = 0; i < n; i++) {
        struct lpe_symbol *t = diff_rela_target(d, s->sec, &r[i]);

        if (t && t->type != STT_FUNC && t->type != STT_SECTION && t->name[0])
            push_named(w, w->p->vars, DS(t)->norm ? DS(t)->norm : t->name);
    }
    walk(w);
    return found;
}

/* --- the pass -------------------------------------------------------------------- */

static bool allowed(const struct diff *d, const char *key, size_t *which)
{
    size_t i;

    for (i = 0; i < d->opts->nr_allow_layout; i++) {
        const char *a = d->opts->allow_layout[i], *sp = strchr(key, ' ');

        if (strcmp(a, key) == 0 || (!strchr(a, ' ') && sp && strcmp(a, sp + 1) == 0)) {
            *which = i;
            return true;
        }
    }
    return false;
}

/* The functions that use t: the first MAX_USERS by name, then how many more (the whole
 * list is for the log: a Xen struct domain change is used by dozens). */
#define MAX_USERS 6
static void users_text(const struct ltype *t, char *buf, size_t size)
{
    size_t i, len = 0;

    buf[0] = '\0';
    for (i = 0; i < t->nr_users && i < MAX_USERS && len + 1 < size; i++) {
        int n = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", t->users[i]);
        if (n < 0)
            break;
        len = len + (size_t)n < size ? len + (size_t)n : size - 1;
    }
    if (t->nr_users > MAX_USERS && len + 1 < size)
        snprintf(buf + len, size - len, " and %zu more", t->nr_users - MAX_USERS);
}

static void log_users(struct diff *d, const struct ltype *t)
{
    size_t i;

    if (t->nr_users <= MAX_USERS)
        return;
    for (i = 0; i < t->nr_users; i++)
        diff_log(d, "layouts: %s is used by %s", t->key, t->users[i]);
}

static int record_allowed(struct diff *d, const char *const *keys, size_t n)
{
    size_t i, len = 0;
    char *buf;
    struct lpe_section *s;

    for (i = 0; i < n; i++)
        len += strlen(keys[i]) + 1;
    buf = malloc(len ? len : 1);
    if (!buf)
        return lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
    for (len = 0, i = 0; i < n; i++) {
        size_t l = strlen(keys[i]) + 1;
        memcpy(buf + len, keys[i], l);
        len += l;
    }
    s = lpe_add_section(d->out, SEC_ALLOWED, SHT_PROGBITS, 0, 1, 0, buf, len, d->err);
    free(buf);
    return s ? 0 : -1;
}

int diff_layout(struct diff *d)
{
    struct ldw o, p;
    struct walk w = { .p = &p };
    struct ltype *t;
    char why[1024], users[600];
    const char **used = NULL;
    bool *hit = NULL;
    size_t i, nr_used = 0, nr_carried = 0, nr_changed = 0;
    int ret = -1, ro, rp;

    memset(&o, 0, sizeof(o));
    memset(&p, 0, sizeof(p));
    for (i = 1; i < d->patched->nr_symbols; i++) {
        const struct dsym *ds = DS(d->patched->symbols[i]);
        if (ds->sym->type == STT_FUNC && ds->included && ds->sym->sec)
            nr_carried++;
    }
    if (!nr_carried)
        return 0;
    ro = ldw_open(&o, d->orig, d->opts->dwarf_suffix, why, sizeof(why));
    rp = ro ? 1 : ldw_open(&p, d->patched, d->opts->dwarf_suffix, why, sizeof(why));
    if (ro < 0 || rp < 0)
        goto nomem;
    if (ro || rp) {
        diff_note(d, LPD_WARNING, "data layouts",
                  "cannot check data layouts: %s; a change to a struct, union or enum the "
                  "patched code uses would go unnoticed", why);
        ret = 0;
        goto out;
    }
    /* Changed types: those both define, described differently. */
    for (t = p.first; t; t = t->next) {
        struct ltype *ot = lp_hash_find(o.types, t->key);

        if (!ot || ot->fp == t->fp)
            continue;
        t->orig = ot;
        if (compare_types(ot, t, &t->change))
            goto nomem;
        if (t->change)
            nr_changed++;
    }
    diff_log(d, "layouts: %zu types in %s, %zu in %s, %zu changed", lp_hash_count(o.types),
             d->orig->path, lp_hash_count(p.types), d->patched->path, nr_changed);
    if (nr_changed) {
        for (i = 1; i < d->patched->nr_symbols && !w.failed; i++) {
            struct dsym *ds = DS(d->patched->symbols[i]);
            if (ds->sym->type != STT_FUNC || !ds->included || !ds->sym->sec)
                continue;
            if (!walk_function(d, &w, ds->sym))
                diff_log(d, "layouts: %s has no DWARF subprogram (assembly?): only the "
                            "variables it names are checked", ds->sym->name);
        }
        if (w.failed)
            goto nomem;
    }
    hit = calloc(d->opts->nr_allow_layout + 1, sizeof(*hit));
    used = calloc(d->opts->nr_allow_layout + 1, sizeof(*used));
    if (!hit || !used)
        goto nomem;
    for (t = p.first; t; t = t->next) {
        char file[600];
        size_t which;

        if (!t->change)
            continue;
        if (t->decl_file)
            snprintf(file, sizeof(file), "%s:%d", t->decl_file, t->decl_line);
        else
            snprintf(file, sizeof(file), "%s", d->patched->path);
        if (!t->nr_users) {
            diff_note(d, LPD_NOTE, t->key,
                      "%s (%s) changed layout in %s: %s; no function the payload carries uses "
                      "it, so the running image's copies are never touched with the new layout",
                      t->key, file, d->patched->path, t->change);
            continue;
        }
        users_text(t, users, sizeof(users));
        log_users(d, t);
        if (allowed(d, t->key, &which)) {
            diff_note(d, LPD_WARNING, t->key,
                      "%s (%s) changed layout in %s: %s; used by %s; allowed by "
                      "--allow-layout-change (reviewed exception, recorded in %s)",
                      t->key, file, d->patched->path, t->change, users, SEC_ALLOWED);
            if (!hit[which]) {
                hit[which] = true;
                used[nr_used++] = t->key;
            }
            continue;
        }
        d->refused = true;
        diff_note(d, LPD_REFUSED, t->key,
                  "%s (%s) changed layout in %s: %s; used by the payload's %s: the running "
                  "hypervisor's objects keep the original layout, so the new code would read "
                  "and write the wrong memory (after review: --allow-layout-change '%s')",
                  t->key, file, d->patched->path, t->change, users, t->key);
    }
    for (i = 0; i < d->opts->nr_allow_layout; i++)
        if (!hit[i])
            diff_note(d, LPD_NOTE, d->opts->allow_layout[i],
                      "--allow-layout-change %s: no type of that name changed layout in code "
                      "this payload object carries", d->opts->allow_layout[i]);
    if (nr_used && record_allowed(d, used, nr_used))
        goto out;
    ret = 0;
    goto out;
nomem:
    lp_error_set(d->err, LP_ERR_NOMEM, "out of memory");
out:
    free(hit);
    free(used);
    free(w.stack);
    offmap_free(&w.seen);
    ldw_close(&o);
    ldw_close(&p);
    return ret;
}
