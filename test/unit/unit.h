/*
 * unit.h - a minimal unit-test harness producing TAP, so test/run-tests.sh can
 * count C unit tests and bats tests the same way.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_STR(a, b); }
 *   int main(void) { RUN(name); return unit_done(); }
 */
#ifndef LIVEPATCH_UNIT_H
#define LIVEPATCH_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_count, unit_failed, unit_cur_failed;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            printf("#   %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
            unit_cur_failed = 1;                                                       \
        }                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                \
    do {                                                                               \
        const char *a_ = (a), *b_ = (b);                                               \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                       \
            printf("#   %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,                 \
                   a_ ? a_ : "(null)", b_ ? b_ : "(null)");                            \
            unit_cur_failed = 1;                                                       \
        }                                                                              \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                    \
    do {                                                                               \
        const char *h_ = (hay), *n_ = (needle);                                        \
        if (!h_ || !strstr(h_, n_)) {                                                  \
            printf("#   %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,   \
                   h_ ? h_ : "(null)", n_);                                            \
            unit_cur_failed = 1;                                                       \
        }                                                                              \
    } while (0)

#define RUN(name)                                                                      \
    do {                                                                               \
        unit_cur_failed = 0;                                                           \
        name();                                                                        \
        unit_count++;                                                                  \
        if (unit_cur_failed)                                                           \
            unit_failed++;                                                             \
        printf("%sok %d - %s\n", unit_cur_failed ? "not " : "", unit_count, #name);     \
        fflush(stdout);                                                                \
    } while (0)

static inline int unit_done(void)
{
    printf("1..%d\n", unit_count);
    return unit_failed ? 1 : 0;
}

#endif
