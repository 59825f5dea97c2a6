/*
 * test_elf.c - the ELF object model: build, write, read back; name and offset
 * lookups agree with linear scans; malformed input gives a clear error, no crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livepatch/elf.h"
#include "livepatch/util.h"
#include "unit.h"

#define NSYMS 3000

static char tmpdir[] = "/tmp/lp-unit-elf-XXXXXX";
static char objpath[512];

/* An object with a text section per function, thousands of symbols (some local names
 * repeated), data with R_X86_64_64 relocations and a few undefined symbols. */
static struct lpe_object *make_object(void)
{
    struct lp_error err = { 0 };
    struct lpe_object *o = lpe_new_object(NULL, &err);
    struct lpe_section *data;
    char name[64];
    int i;

    lpe_add_symbol(o, "gen.c", STB_LOCAL, STT_FILE, NULL, 0, 0, &err);
    data = lpe_add_section(o, ".data.table", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 8, 0, NULL,
                           8 * NSYMS, &err);
    lpe_add_symbol(o, "table", STB_GLOBAL, STT_OBJECT, data, 0, 8 * NSYMS, &err);
    for (i = 0; i < NSYMS; i++) {
        unsigned char code[16] = { 0x55, 0x48, 0x89, 0xe5, 0xb8, (unsigned char)i, 0, 0, 0,
                                   0x5d, 0xc3 };
        struct lpe_section *t;
        struct lpe_symbol *f;

        snprintf(name, sizeof(name), ".text.fn_%d", i);
        t = lpe_add_section(o, name, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 16, 0, code,
                            sizeof(code), &err);
        lpe_add_symbol(o, name, STB_LOCAL, STT_SECTION, t, 0, 0, &err);
        /* Every tenth function is a local "helper": many symbols share that name. */
        if (i % 10 == 0)
            snprintf(name, sizeof(name), "helper");
        else
            snprintf(name, sizeof(name), "fn_%d", i);
        f = lpe_add_symbol(o, name, i % 10 ? STB_GLOBAL : STB_LOCAL, STT_FUNC, t, 0,
                           sizeof(code), &err);
        lpe_add_rela(o, data, 8 * (uint64_t)i, R_X86_64_64, 0, f, &err);
    }
    for (i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "extern_%d", i);
        lpe_add_symbol(o, name, STB_GLOBAL, STT_NOTYPE, NULL, 0, 0, &err);
    }
    CHECK(err.code == LP_OK);
    return o;
}

TEST(written_object_reads_back_identically)
{
    struct lp_error err = { 0 };
    struct lpe_object *o = make_object(), *r = NULL;
    struct lpe_section *data;
    size_t i, nfunc = 0;

    CHECK(lpe_write(o, objpath, &err) == 0);
    CHECK(lpe_open(objpath, &r, &err) == 0);
    if (!r) {
        printf("# %s\n", err.msg);
        lpe_close(o);
        return;
    }
    CHECK(r->ehdr.e_type == ET_REL);
    data = lpe_find_section(r, ".data.table");
    CHECK(data && data->rela && data->rela->nr_relas == NSYMS);
    for (i = 0; data && data->rela && i < data->rela->nr_relas; i++) {
        const struct lpe_rela *ra = &data->rela->relas[i];
        char want[32];
        CHECK(ra->offset == 8 * i && ra->type == R_X86_64_64);
        snprintf(want, sizeof(want), i % 10 ? "fn_%zu" : "helper", i);
        CHECK_STR(ra->sym->name, want);
    }
    for (i = 1; i < r->nr_symbols; i++)
        nfunc += r->symbols[i]->type == STT_FUNC;
    CHECK(nfunc == NSYMS);
    /* ELF wants every local before the first global. */
    for (i = 2; i < r->nr_symbols; i++)
        CHECK(!(r->symbols[i]->bind == STB_LOCAL && r->symbols[i - 1]->bind != STB_LOCAL));
    lpe_close(o);
    lpe_close(r);
}

TEST(name_lookup_agrees_with_linear_scan)
{
    struct lp_error err = { 0 };
    struct lpe_object *r = NULL;
    size_t i, j;

    CHECK(lpe_open(objpath, &r, &err) == 0);
    if (!r)
        return;
    for (i = 1; i < r->nr_symbols; i++) {
        struct lpe_symbol *want = NULL, *got;
        size_t nlinear = 0, nchain = 0;

        for (j = 1; j < r->nr_symbols; j++)
            if (strcmp(r->symbols[j]->name, r->symbols[i]->name) == 0) {
                if (!want)
                    want = r->symbols[j];
                nlinear++;
            }
        if (!r->symbols[i]->name[0])
            continue;
        got = lpe_find_symbol(r, r->symbols[i]->name);
        CHECK(got == want);
        for (; got; got = got->next_same_name)
            nchain++;
        CHECK(nchain == nlinear);
    }
    CHECK(lpe_find_symbol(r, "no_such_symbol") == NULL);
    for (i = 1; i < r->nr_sections; i++) {
        struct lpe_section *want = NULL;
        for (j = 1; j < r->nr_sections && !want; j++)
            if (strcmp(r->sections[j]->name, r->sections[i]->name) == 0)
                want = r->sections[j];
        CHECK(lpe_find_section(r, r->sections[i]->name) == want);
    }
    lpe_close(r);
}

TEST(offset_lookup_agrees_with_linear_scan)
{
    struct lp_error err = { 0 };
    struct lpe_object *r = NULL;
    size_t i, j;

    CHECK(lpe_open(objpath, &r, &err) == 0);
    if (!r)
        return;
    for (i = 1; i < r->nr_sections; i++) {
        struct lpe_section *s = r->sections[i];
        uint64_t off;
        if (!(s->sh.sh_flags & SHF_ALLOC))
            continue;
        for (off = 0; off < s->size + 2; off += 3) {
            struct lpe_symbol *want = NULL;
            for (j = 1; j < r->nr_symbols; j++) {
                struct lpe_symbol *y = r->symbols[j];
                if (y->sec == s && (y->type == STT_FUNC || y->type == STT_OBJECT) &&
                    off >= y->sym.st_value && off < y->sym.st_value + y->sym.st_size)
                    want = y;
            }
            CHECK(lpe_symbol_at(s, off) == want);
        }
    }
    lpe_close(r);
}

TEST(rename_keeps_index_consistent)
{
    struct lp_error err = { 0 };
    struct lpe_object *r = NULL;
    struct lpe_symbol *h, *second;
    size_t n = 0;

    CHECK(lpe_open(objpath, &r, &err) == 0);
    if (!r)
        return;
    h = lpe_find_symbol(r, "helper");
    second = h->next_same_name;
    CHECK(lpe_rename_symbol(r, h, "helper.lp_1234", &err) == 0);
    CHECK(lpe_find_symbol(r, "helper.lp_1234") == h);
    CHECK(lpe_find_symbol(r, "helper") == second);
    for (h = lpe_find_symbol(r, "helper"); h; h = h->next_same_name)
        n++;
    CHECK(n == NSYMS / 10 - 1);
    lpe_close(r);
}

/* --- malformed input ------------------------------------------------------------ */

static unsigned char *good;
static size_t good_len;

static void expect_error(const unsigned char *buf, size_t len, const char *needle)
{
    struct lp_error err = { 0 };
    struct lpe_object *o = NULL;

    CHECK(lpe_open_memory(buf, len, "bad.o", &o, &err) == -1);
    CHECK(o == NULL);
    CHECK(err.code != LP_OK);
    CHECK_CONTAINS(err.msg, "bad.o");
    CHECK_CONTAINS(err.msg, needle);
    lpe_close(o);
}

static unsigned char *copy_good(void)
{
    unsigned char *b = malloc(good_len);
    memcpy(b, good, good_len);
    return b;
}

static Elf64_Shdr *shdr(unsigned char *b, size_t i)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
    return (Elf64_Shdr *)(b + eh->e_shoff + i * sizeof(Elf64_Shdr));
}

static size_t find_shdr(unsigned char *b, uint32_t type)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
    size_t i;
    for (i = 1; i < eh->e_shnum; i++)
        if (shdr(b, i)->sh_type == type)
            return i;
    return 0;
}

TEST(bad_empty_file)
{
    expect_error((const unsigned char *)"", 0, "empty file");
}

TEST(bad_not_elf)
{
    static const char text[] = "#!/bin/sh\necho this is not an object\n";
    expect_error((const unsigned char *)text, sizeof(text), "not an ELF file");
}

TEST(bad_truncated_header)
{
    expect_error(good, 40, "truncated ELF header");
}

TEST(bad_section_table_past_eof)
{
    unsigned char *b = copy_good();
    ((Elf64_Ehdr *)b)->e_shoff = good_len - 10;
    expect_error(b, good_len, "section header table past end of file");
    free(b);
}

TEST(bad_shstrndx_out_of_range)
{
    unsigned char *b = copy_good();
    ((Elf64_Ehdr *)b)->e_shstrndx = 60000;
    expect_error(b, good_len, "out of range");
    free(b);
}

TEST(bad_symbol_name_past_strtab)
{
    unsigned char *b = copy_good();
    Elf64_Shdr *st = shdr(b, find_shdr(b, SHT_SYMTAB));
    Elf64_Sym *sym = (Elf64_Sym *)(b + st->sh_offset) + 2;
    sym->st_name = 0x7fffffff;
    expect_error(b, good_len, "past the end of its string table");
    free(b);
}

TEST(bad_rela_without_symtab)
{
    unsigned char *b = copy_good();
    Elf64_Shdr *rs = shdr(b, find_shdr(b, SHT_RELA));
    rs->sh_link = 1; /* not the symbol table */
    expect_error(b, good_len, "is missing or not the symbol table");
    free(b);
}

TEST(bad_rela_symbol_index)
{
    unsigned char *b = copy_good();
    Elf64_Shdr *rs = shdr(b, find_shdr(b, SHT_RELA));
    Elf64_Rela *ra = (Elf64_Rela *)(b + rs->sh_offset);
    ra->r_info = ELF64_R_INFO(123456, R_X86_64_64);
    expect_error(b, good_len, "refers to symbol 123456, which does not exist");
    free(b);
}

TEST(bad_section_contents_past_eof)
{
    unsigned char *b = copy_good();
    Elf64_Shdr *s = shdr(b, 1);
    s->sh_size = good_len * 2;
    expect_error(b, good_len, "run past end of file");
    free(b);
}

/* Found by fuzz/fuzz_payload: the section-name table itself pointing past the file. */
TEST(bad_string_table_past_eof)
{
    unsigned char *b = copy_good();
    Elf64_Shdr *st = shdr(b, ((Elf64_Ehdr *)b)->e_shstrndx);
    st->sh_offset = good_len - 2;
    expect_error(b, good_len, "string table");
    free(b);
}

TEST(every_truncation_fails_cleanly)
{
    size_t len;
    struct lp_error err;
    struct lpe_object *o;

    /* No prefix of a valid object may crash the reader (the sanitizer build checks). */
    for (len = 0; len < good_len; len += 1 + len / 64) {
        memset(&err, 0, sizeof(err));
        o = NULL;
        if (lpe_open_memory(good, len, "trunc.o", &o, &err) == 0)
            lpe_close(o);
        else
            CHECK(err.msg[0] != '\0');
    }
}

int main(void)
{
    struct lp_error err = { 0 };

    if (!mkdtemp(tmpdir))
        return 2;
    snprintf(objpath, sizeof(objpath), "%s/gen.o", tmpdir);
    RUN(written_object_reads_back_identically);
    RUN(name_lookup_agrees_with_linear_scan);
    RUN(offset_lookup_agrees_with_linear_scan);
    RUN(rename_keeps_index_consistent);
    if (lp_read_file(objpath, &good, &good_len, &err)) {
        printf("# %s\n", err.msg);
        return 1;
    }
    RUN(bad_empty_file);
    RUN(bad_not_elf);
    RUN(bad_truncated_header);
    RUN(bad_section_table_past_eof);
    RUN(bad_shstrndx_out_of_range);
    RUN(bad_symbol_name_past_strtab);
    RUN(bad_rela_without_symtab);
    RUN(bad_rela_symbol_index);
    RUN(bad_section_contents_past_eof);
    RUN(bad_string_table_past_eof);
    RUN(every_truncation_fails_cleanly);
    free(good);
    unlink(objpath);
    rmdir(tmpdir);
    return unit_done();
}
