/* test_fixlines.c - #line directives after hunks that change the line count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../livepatch-build/driver/fixlines.h"
#include "unit.h"

/* lp_fix_lines on two strings; the result as a string (freed by the next call). */
static const char *fix(const char *old, const char *new)
{
    static char *last;
    char *out;
    size_t len;

    free(last);
    last = NULL;
    if (lp_fix_lines(old, strlen(old), new, strlen(new), &out, &len) < 0)
        return NULL;
    last = realloc(out, len + 1);
    if (!last) {
        free(out);
        return NULL;
    }
    last[len] = '\0';
    return last;
}

static int contains(const char *buf, size_t len, const char *s)
{
    return memmem(buf, len, s, strlen(s)) != NULL;
}

TEST(insertion_numbers_the_next_line_as_in_old)
{
    CHECK_STR(fix("a\nb\nc\n", "a\nx\ny\nb\nc\n"), "a\nx\ny\n#line 2\nb\nc\n");
    /* At the very start, too. */
    CHECK_STR(fix("a\nb\n", "x\na\nb\n"), "x\n#line 1\na\nb\n");
}

TEST(deletion_numbers_the_next_line_as_in_old)
{
    CHECK_STR(fix("a\nb\nc\nd\n", "a\nd\n"), "a\n#line 4\nd\n");
    CHECK_STR(fix("a\nb\nc\n", "c\n"), "#line 3\nc\n");
}

TEST(replacement_with_the_same_count_needs_no_directive)
{
    CHECK_STR(fix("a\nb\nc\nd\n", "a\nB\nC\nd\n"), "a\nB\nC\nd\n");
    /* A different count does. */
    CHECK_STR(fix("a\nb\nc\nd\n", "a\nB\nd\n"), "a\nB\n#line 4\nd\n");
}

TEST(two_hunks_get_one_directive_each)
{
    const char *old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
    const char *new = "1\n2\nnew\nnew2\n3\n4\n5\n6\n8\n9\n10\n";

    CHECK_STR(fix(old, new), "1\n2\nnew\nnew2\n#line 3\n3\n4\n5\n6\n#line 8\n8\n9\n10\n");
    /* Hunks one common line apart stay separate, as in diff -U0. */
    CHECK_STR(fix("a\nb\nc\n", "x\na\ny\nz\nb\nc\n"), "x\n#line 1\na\ny\nz\n#line 2\nb\nc\n");
}

TEST(hunk_at_end_of_file_prints_nothing)
{
    CHECK_STR(fix("a\nb\n", "a\nb\nc\nd\n"), "a\nb\nc\nd\n");
    CHECK_STR(fix("a\nb\nc\n", "a\n"), "a\n");
}

TEST(directive_goes_after_a_backslash_continuation)
{
    const char *old = "#define M(x) \\\n"
                      "    do { \\\n"
                      "        f(x); \\\n"
                      "    } while (0)\n"
                      "int a;\n";
    const char *new = "#define M(x) \\\n"
                      "    do { \\\n"
                      "        g(x); \\\n"
                      "        f(x); \\\n"
                      "    } while (0)\n"
                      "int a;\n";

    /* Numbered for the line it lands on: "int a;" is line 5 of old. */
    CHECK_STR(fix(old, new), "#define M(x) \\\n"
                             "    do { \\\n"
                             "        g(x); \\\n"
                             "        f(x); \\\n"
                             "    } while (0)\n"
                             "#line 5\n"
                             "int a;\n");
    /* A continuation running to the end of the file swallows the directive. */
    CHECK_STR(fix("a\nb \\\nc\n", "a\nb \\\nX \\\nc\n"), "a\nb \\\nX \\\nc\n");
}

TEST(crlf_backslash_continuation_is_a_continuation)
{
    /* A file with DOS line ends: "\\\r\n" continues the macro as "\\\n" does. */
    const char *old = "#define M(x) \\\r\n"
                      "    f(x)\r\n"
                      "int a;\r\n";
    const char *new = "#define M(x) \\\r\n"
                      "    g(x); \\\r\n"
                      "    f(x)\r\n"
                      "int a;\r\n";

    CHECK_STR(fix(old, new), "#define M(x) \\\r\n"
                             "    g(x); \\\r\n"
                             "    f(x)\r\n"
                             "#line 3\r\n"
                             "int a;\r\n");
}

TEST(missing_final_newline_is_kept)
{
    CHECK_STR(fix("a\nb", "x\ny\na\nb"), "x\ny\n#line 1\na\nb");
    /* "b" and "b\n" are different lines, as for diff. */
    CHECK_STR(fix("a\nb", "a\nb\nc"), "a\nb\nc");
    CHECK_STR(fix("a\nb\nc", "a\nc"), "a\n#line 3\nc");
}

TEST(identical_input_is_copied)
{
    CHECK_STR(fix("a\nb\n", "a\nb\n"), "a\nb\n");
    CHECK_STR(fix("x", "x"), "x");
}

TEST(empty_files)
{
    CHECK_STR(fix("", ""), "");
    CHECK_STR(fix("", "a\nb\n"), "a\nb\n");
    CHECK_STR(fix("a\nb\n", ""), "");
}

TEST(runs_of_identical_lines_slide_down_as_in_diff)
{
    /* diff -U0 reports the added blank line as line 3, so "b" is numbered. */
    CHECK_STR(fix("a\n\nb\n", "a\n\n\nb\n"), "a\n\n\n#line 3\nb\n");
    /* An added function after an identical closing brace. */
    CHECK_STR(fix("f\n}\n\ng\n}\n", "f\n}\n\nh\n}\n\ng\n}\n"),
              "f\n}\n\nh\n}\n\n#line 4\ng\n}\n");
}

TEST(large_file_with_small_edits)
{
    size_t n = 20000, i, cap = n * 16, olen = 0, nlen = 0, len;
    char *old = malloc(cap), *new = malloc(cap), *out;
    int dirs = 0;
    const char *p;

    for (i = 0; i < n; i++) {
        olen += (size_t)sprintf(old + olen, i % 4 ? "line %zu\n" : "}\n", i);
        if (i == 1001)
            nlen += (size_t)sprintf(new + nlen, "added\nadded\n");
        if (i != 15000)
            nlen += (size_t)sprintf(new + nlen, i % 4 ? "line %zu\n" : "}\n", i);
    }
    CHECK(lp_fix_lines(old, olen, new, nlen, &out, &len) == 0);
    for (p = out; (p = memmem(p, len - (size_t)(p - out), "#line ", 6)); p++)
        dirs++;
    CHECK(dirs == 2);
    CHECK(contains(out, len, "added\n#line 1002\nline 1001\n"));
    CHECK(contains(out, len, "line 14999\n#line 15002\nline 15001\n"));
    free(out);
    free(old);
    free(new);
}

int main(void)
{
    RUN(insertion_numbers_the_next_line_as_in_old);
    RUN(deletion_numbers_the_next_line_as_in_old);
    RUN(replacement_with_the_same_count_needs_no_directive);
    RUN(two_hunks_get_one_directive_each);
    RUN(hunk_at_end_of_file_prints_nothing);
    RUN(directive_goes_after_a_backslash_continuation);
    RUN(crlf_backslash_continuation_is_a_continuation);
    RUN(missing_final_newline_is_kept);
    RUN(identical_input_is_copied);
    RUN(empty_files);
    RUN(runs_of_identical_lines_slide_down_as_in_diff);
    RUN(large_file_with_small_edits);
    fix("", "");
    return unit_done();
}
