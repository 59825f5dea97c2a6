/*
 * payload-mutate: damage one thing in a payload file, in place, so a test can
 * check the loader's verdict on exactly that.  Offsets come from the ELF model;
 * the change is written straight into the file's bytes.
 *
 *   payload-mutate FILE machine N | type N | shoff N | version N   (version: e_version)
 *   payload-mutate FILE offset SECTION N      (sh_offset)
 *   payload-mutate FILE symshndx NAME|#INDEX N   (st_shndx of the first symbol NAME)
 *   payload-mutate FILE flags SECTION wax      (any of w, a, x)
 *   payload-mutate FILE align SECTION N
 *   payload-mutate FILE link SECTION N | info SECTION N   (sh_link, sh_info)
 *   payload-mutate FILE symvalue NAME N | symsize NAME N  (of the first symbol NAME)
 *   payload-mutate FILE phdr INDEX offset|filesz|memsz N  (a program header of an image)
 *   payload-mutate FILE record count|pre_len|text_base|nr_undo|undo_off:J|undo_len:J N
 *                                  (the last entry of an applied image's .livepatch.applied)
 *   payload-mutate FILE size SECTION N
 *   payload-mutate FILE shtype SECTION N
 *   payload-mutate FILE rename-section SECTION NEWNAME   (NEWNAME no longer than the old)
 *   payload-mutate FILE byte SECTION OFFSET VALUE
 *   payload-mutate FILE reltype SECTION INDEX TYPE       (SECTION: the relocated one)
 *   payload-mutate FILE reladdend SECTION INDEX ADDEND
 *   payload-mutate FILE relsym SECTION INDEX SYMINDEX
 *   payload-mutate FILE rename-symbol NAME NEWNAME        (NEWNAME no longer than the old)
 *   payload-mutate FILE func INDEX FIELD VALUE   (FIELD: version old_size new_size old_addr
 *                                                 expect_len expect_rsv expect_enable
 *                                                 expect_byte:K)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/elf.h"
#include "livepatch/payload.h"
#include "livepatch/util.h"

static unsigned char *buf;
static size_t len;
static struct lpe_object *obj;

static void die(const char *msg, const char *arg)
{
    fprintf(stderr, "payload-mutate: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    exit(2);
}

static Elf64_Ehdr *ehdr(void)
{
    return (Elf64_Ehdr *)buf;
}

static Elf64_Shdr *shdr(size_t i)
{
    return (Elf64_Shdr *)(buf + ehdr()->e_shoff) + i;
}

static struct lpe_section *section(const char *name)
{
    struct lpe_section *s = lpe_find_section(obj, name);
    if (!s)
        die("no such section", name);
    return s;
}

static Elf64_Rela *rela(const char *secname, const char *index)
{
    struct lpe_section *s = section(secname);
    unsigned long i = strtoul(index, NULL, 0);
    if (!s->rela || i >= s->rela->nr_relas)
        die("no such relocation in", secname);
    /* The model keeps relocations sorted by offset; find the file entry by offset. */
    {
        Elf64_Rela *r = (Elf64_Rela *)(buf + s->rela->sh.sh_offset);
        size_t n = s->rela->size / sizeof(*r), k;
        for (k = 0; k < n; k++)
            if (r[k].r_offset == s->rela->relas[i].offset)
                return &r[k];
    }
    die("relocation not found", secname);
    return NULL;
}

static void set_func(unsigned long i, const char *field, const char *value)
{
    struct lpe_section *s = section(LIVEPATCH_SEC_FUNCS);
    unsigned char *e = buf + s->sh.sh_offset + i * LIVEPATCH_FUNC_SIZE;
    unsigned long long v = strtoull(value, NULL, 0);
    uint32_t v32 = (uint32_t)v;

    if ((i + 1) * LIVEPATCH_FUNC_SIZE > s->size)
        die("no such function entry", field);
    if (!strcmp(field, "version"))
        e[LIVEPATCH_FUNC_OFF_VERSION] = (unsigned char)v;
    else if (!strcmp(field, "old_size"))
        memcpy(e + LIVEPATCH_FUNC_OFF_OLD_SIZE, &v32, 4);
    else if (!strcmp(field, "new_size"))
        memcpy(e + LIVEPATCH_FUNC_OFF_NEW_SIZE, &v32, 4);
    else if (!strcmp(field, "old_addr"))
        memcpy(e + LIVEPATCH_FUNC_OFF_OLD_ADDR, &v, 8);
    else if (!strcmp(field, "expect_enable"))
        e[LIVEPATCH_FUNC_OFF_EXPECT] = (unsigned char)((e[LIVEPATCH_FUNC_OFF_EXPECT] & ~1u) | (v & 1));
    else if (!strcmp(field, "expect_len"))
        e[LIVEPATCH_FUNC_OFF_EXPECT] =
            (unsigned char)((e[LIVEPATCH_FUNC_OFF_EXPECT] & ~0x3eu) | ((v & 31) << 1));
    else if (!strcmp(field, "expect_rsv"))
        e[LIVEPATCH_FUNC_OFF_EXPECT] =
            (unsigned char)((e[LIVEPATCH_FUNC_OFF_EXPECT] & 0x3fu) | ((v & 3) << 6));
    else if (!strncmp(field, "expect_byte:", 12))
        e[LIVEPATCH_FUNC_OFF_EXPECT + 1 + atoi(field + 12)] = (unsigned char)v;
    else
        die("unknown field", field);
}

/* The field of the last entry of the applied-payloads record (see lib/loader/image_file.c). */
static void set_record(const char *field, const char *value)
{
    struct lpe_section *s = section(".livepatch.applied");
    unsigned char *d = buf + s->sh.sh_offset, *at;
    uint64_t v = strtoull(value, NULL, 0), count, i, n;
    uint32_t namesz;

    memcpy(&namesz, d, 4);
    at = d + 12 + ((namesz + 3) & ~3u) + 8;
    if (!strcmp(field, "count")) {
        memcpy(at, &v, 8);
        return;
    }
    memcpy(&count, at, 8);
    at += 8;
    for (i = 0; i < count; i++) {
        unsigned char *entry = at;
        memcpy(&n, at, 8);
        at += 8 + n;
        memcpy(&n, at, 8);
        at += 8 + n;
        if (i + 1 < count) {
            memcpy(&n, at + 8 + 64 + 16, 8);
            at += 8 + 64 + 16 + 8 + n * (8 + 1 + LIVEPATCH_OPAQUE_SIZE);
            continue;
        }
        (void)entry;
        if (!strcmp(field, "pre_len"))
            memcpy(at, &v, 8);
        else if (!strcmp(field, "text_base"))
            memcpy(at + 8 + 64, &v, 8);
        else if (!strcmp(field, "nr_undo"))
            memcpy(at + 8 + 64 + 16, &v, 8);
        else if (!strncmp(field, "undo_off:", 9))
            memcpy(at + 8 + 64 + 24 + atoi(field + 9) * (9 + LIVEPATCH_OPAQUE_SIZE), &v, 8);
        else if (!strncmp(field, "undo_len:", 9))
            at[8 + 64 + 24 + atoi(field + 9) * (9 + LIVEPATCH_OPAQUE_SIZE) + 8] = (unsigned char)v;
        else
            die("unknown record field", field);
    }
}

int main(int argc, char **argv)
{
    struct lp_error err = { 0 };
    const char *file, *op;

    if (argc < 4)
        die("usage: payload-mutate FILE OP ARGS... (see the source)", NULL);
    file = argv[1];
    op = argv[2];
    if (lp_read_file(file, &buf, &len, &err) || lpe_open_memory(buf, len, file, &obj, &err))
        die(err.msg, NULL);
    if (!strcmp(op, "machine"))
        ehdr()->e_machine = (Elf64_Half)strtoul(argv[3], NULL, 0);
    else if (!strcmp(op, "type"))
        ehdr()->e_type = (Elf64_Half)strtoul(argv[3], NULL, 0);
    else if (!strcmp(op, "shoff"))
        ehdr()->e_shoff = strtoull(argv[3], NULL, 0);
    else if (!strcmp(op, "version"))
        ehdr()->e_version = (Elf64_Word)strtoul(argv[3], NULL, 0);
    else if (argc >= 5 && !strcmp(op, "offset"))
        shdr(section(argv[3])->index)->sh_offset = strtoull(argv[4], NULL, 0);
    else if (argc >= 5 && !strcmp(op, "symshndx")) {
        struct lpe_symbol *y = argv[3][0] == '#' && strtoul(argv[3] + 1, NULL, 0) <
                                                        obj->nr_symbols
                                   ? obj->symbols[strtoul(argv[3] + 1, NULL, 0)]
                                   : lpe_find_symbol(obj, argv[3]);
        if (!y)
            die("no such symbol", argv[3]);
        ((Elf64_Sym *)(buf + obj->symtab->sh.sh_offset))[y->index].st_shndx =
            (Elf64_Half)strtoul(argv[4], NULL, 0);
    }
    else if (argc >= 5 && !strcmp(op, "flags")) {
        Elf64_Shdr *sh = shdr(section(argv[3])->index);
        sh->sh_flags &= ~(uint64_t)(SHF_WRITE | SHF_ALLOC | SHF_EXECINSTR);
        sh->sh_flags |= (strchr(argv[4], 'w') ? SHF_WRITE : 0) |
                        (strchr(argv[4], 'a') ? SHF_ALLOC : 0) |
                        (strchr(argv[4], 'x') ? SHF_EXECINSTR : 0);
    } else if (argc >= 5 && !strcmp(op, "align"))
        shdr(section(argv[3])->index)->sh_addralign = strtoull(argv[4], NULL, 0);
    else if (argc >= 5 && !strcmp(op, "link"))
        shdr(section(argv[3])->index)->sh_link = (Elf64_Word)strtoul(argv[4], NULL, 0);
    else if (argc >= 5 && !strcmp(op, "info"))
        shdr(section(argv[3])->index)->sh_info = (Elf64_Word)strtoul(argv[4], NULL, 0);
    else if (argc >= 5 && (!strcmp(op, "symvalue") || !strcmp(op, "symsize"))) {
        struct lpe_symbol *y = lpe_find_symbol(obj, argv[3]);
        Elf64_Sym *es;
        if (!y)
            die("no such symbol", argv[3]);
        es = (Elf64_Sym *)(buf + obj->symtab->sh.sh_offset) + y->index;
        if (op[3] == 'v')
            es->st_value = strtoull(argv[4], NULL, 0);
        else
            es->st_size = strtoull(argv[4], NULL, 0);
    } else if (argc >= 6 && !strcmp(op, "phdr")) {
        unsigned long i = strtoul(argv[3], NULL, 0);
        Elf64_Phdr *ph = (Elf64_Phdr *)(buf + ehdr()->e_phoff) + i;
        unsigned long long v = strtoull(argv[5], NULL, 0);
        if (i >= ehdr()->e_phnum)
            die("no such program header", argv[3]);
        if (!strcmp(argv[4], "offset"))
            ph->p_offset = v;
        else if (!strcmp(argv[4], "filesz"))
            ph->p_filesz = v;
        else if (!strcmp(argv[4], "memsz"))
            ph->p_memsz = v;
        else
            die("unknown program header field", argv[4]);
    } else if (argc >= 5 && !strcmp(op, "size"))
        shdr(section(argv[3])->index)->sh_size = strtoull(argv[4], NULL, 0);
    else if (argc >= 5 && !strcmp(op, "shtype"))
        shdr(section(argv[3])->index)->sh_type = (Elf64_Word)strtoul(argv[4], NULL, 0);
    else if (argc >= 5 && !strcmp(op, "rename-section")) {
        struct lpe_section *s = section(argv[3]);
        char *name = (char *)buf + shdr(ehdr()->e_shstrndx)->sh_offset + shdr(s->index)->sh_name;
        if (strlen(argv[4]) > strlen(name))
            die("new name is longer", argv[4]);
        strcpy(name, argv[4]);
    } else if (argc >= 6 && !strcmp(op, "byte"))
        buf[section(argv[3])->sh.sh_offset + strtoul(argv[4], NULL, 0)] =
            (unsigned char)strtoul(argv[5], NULL, 0);
    else if (argc >= 6 && !strcmp(op, "reltype")) {
        Elf64_Rela *r = rela(argv[3], argv[4]);
        r->r_info = ELF64_R_INFO(ELF64_R_SYM(r->r_info), strtoul(argv[5], NULL, 0));
    } else if (argc >= 6 && !strcmp(op, "reladdend"))
        rela(argv[3], argv[4])->r_addend = strtoll(argv[5], NULL, 0);
    else if (argc >= 6 && !strcmp(op, "relsym")) {
        Elf64_Rela *r = rela(argv[3], argv[4]);
        r->r_info = ELF64_R_INFO(strtoul(argv[5], NULL, 0), ELF64_R_TYPE(r->r_info));
    } else if (argc >= 5 && !strcmp(op, "rename-symbol")) {
        struct lpe_symbol *y = lpe_find_symbol(obj, argv[3]);
        char *name;
        if (!y)
            die("no such symbol", argv[3]);
        name = (char *)buf + shdr(obj->symtab->sh.sh_link)->sh_offset + y->sym.st_name;
        if (strlen(argv[4]) > strlen(name))
            die("new name is longer", argv[4]);
        strcpy(name, argv[4]);
    } else if (argc >= 5 && !strcmp(op, "record"))
        set_record(argv[3], argv[4]);
    else if (argc >= 6 && !strcmp(op, "func"))
        set_func(strtoul(argv[3], NULL, 0), argv[4], argv[5]);
    else
        die("unknown operation or missing arguments", op);
    lpe_close(obj);
    if (lp_write_file(file, buf, len, 0644, &err))
        die(err.msg, NULL);
    free(buf);
    return 0;
}
