/* test_hash.c - the name index: insert/find/remove agree with a plain array. */
#include <stdio.h>
#include <stdlib.h>

#include "livepatch/hash.h"
#include "unit.h"

#define N 20000

static char names[N][24];

TEST(insert_find_remove_agree_with_array)
{
    struct lp_hash *h = lp_hash_new(4);
    int i, failed;

    for (i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "sym_%d", i * 7919 % 100003);
        CHECK(lp_hash_insert(h, names[i], &names[i], &failed) == NULL);
        CHECK(!failed);
    }
    CHECK(lp_hash_count(h) == N);
    /* A second insert under an existing name returns the first value. */
    CHECK(lp_hash_insert(h, "sym_0", NULL, &failed) == &names[0]);
    for (i = 0; i < N; i += 2)
        CHECK(lp_hash_remove(h, names[i]) == 0);
    for (i = 0; i < N; i++) {
        void *v = lp_hash_find(h, names[i]);
        CHECK(i % 2 ? v == &names[i] : v == NULL);
    }
    CHECK(lp_hash_remove(h, "missing") == -1);
    CHECK(lp_hash_count(h) == N / 2);
    lp_hash_free(h);
}

TEST(content_hash_is_stable_and_seeded)
{
    CHECK(lp_hash_bytes("abc", 3, 0) == lp_hash_bytes("abc", 3, 0));
    CHECK(lp_hash_bytes("abc", 3, 0) != lp_hash_bytes("abd", 3, 0));
    CHECK(lp_hash_bytes("abc", 3, 0) != lp_hash_bytes("abc", 3, 1));
}

int main(void)
{
    RUN(insert_find_remove_agree_with_array);
    RUN(content_hash_is_stable_and_seeded);
    return unit_done();
}
