/* hash.c - string-keyed open-addressing hash table (see include/livepatch/hash.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "livepatch/hash.h"

struct slot {
    const char *key;
    uint64_t hash;
    void *value;
};

struct lp_hash {
    struct slot *slots;
    size_t cap;   /* power of two */
    size_t count;
};

uint64_t lp_hash_bytes(const void *data, size_t len, uint64_t seed)
{
    return XXH3_64bits_withSeed(data, len, seed);
}

static uint64_t key_hash(const char *key)
{
    return XXH3_64bits(key, strlen(key));
}

struct lp_hash *lp_hash_new(size_t expected)
{
    struct lp_hash *h = calloc(1, sizeof(*h));
    size_t cap = 16;

    if (!h)
        return NULL;
    while (cap < expected * 2)
        cap <<= 1;
    h->slots = calloc(cap, sizeof(*h->slots));
    if (!h->slots) {
        free(h);
        return NULL;
    }
    h->cap = cap;
    return h;
}

void lp_hash_free(struct lp_hash *h)
{
    if (h) {
        free(h->slots);
        free(h);
    }
}

static struct slot *probe(const struct lp_hash *h, const char *key, uint64_t hash)
{
    size_t i = hash & (h->cap - 1);

    for (;;) {
        struct slot *s = &h->slots[i];
        if (!s->key || (s->hash == hash && strcmp(s->key, key) == 0))
            return s;
        i = (i + 1) & (h->cap - 1);
    }
}

static int grow(struct lp_hash *h)
{
    struct slot *old = h->slots;
    size_t oldcap = h->cap, i;

    h->slots = calloc(oldcap * 2, sizeof(*h->slots));
    if (!h->slots) {
        h->slots = old;
        return -1;
    }
    h->cap = oldcap * 2;
    for (i = 0; i < oldcap; i++)
        if (old[i].key)
            *probe(h, old[i].key, old[i].hash) = old[i];
    free(old);
    return 0;
}

void *lp_hash_insert(struct lp_hash *h, const char *key, void *value, int *failed)
{
    uint64_t hash = key_hash(key);
    struct slot *s;

    if (failed)
        *failed = 0;
    if ((h->count + 1) * 4 > h->cap * 3 && grow(h) < 0) {
        if (failed)
            *failed = 1;
        return NULL;
    }
    s = probe(h, key, hash);
    if (s->key)
        return s->value;
    s->key = key;
    s->hash = hash;
    s->value = value;
    h->count++;
    return NULL;
}

void *lp_hash_find(const struct lp_hash *h, const char *key)
{
    struct slot *s = probe(h, key, key_hash(key));
    return s->key ? s->value : NULL;
}

int lp_hash_replace(struct lp_hash *h, const char *key, void *value)
{
    struct slot *s = probe(h, key, key_hash(key));
    if (!s->key)
        return -1;
    s->value = value;
    return 0;
}

int lp_hash_remove(struct lp_hash *h, const char *key)
{
    struct slot *s = probe(h, key, key_hash(key));
    size_t i, j, mask = h->cap - 1;

    if (!s->key)
        return -1;
    /* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
    i = (size_t)(s - h->slots);
    h->slots[i].key = NULL;
    h->count--;
    for (j = (i + 1) & mask; h->slots[j].key; j = (j + 1) & mask) {
        size_t home = h->slots[j].hash & mask;
        bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);

        if (movable) {
            h->slots[i] = h->slots[j];
            h->slots[j].key = NULL;
            i = j;
        }
    }
    return 0;
}

size_t lp_hash_count(const struct lp_hash *h)
{
    return h->count;
}
