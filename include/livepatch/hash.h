/*
 * hash.h - a string-keyed hash table (open addressing, xxHash) used to index
 * sections and symbols by name.  Keys are not copied: they must outlive the table.
 * Each key maps to one value; callers that keep several items under one name chain
 * them themselves (see next_same_name in elf.h).
 */
#ifndef LIVEPATCH_HASH_H
#define LIVEPATCH_HASH_H

#include <stddef.h>
#include <stdint.h>

struct lp_hash;

/* A table sized for about `expected` keys (it grows as needed); NULL on ENOMEM. */
struct lp_hash *lp_hash_new(size_t expected);
void lp_hash_free(struct lp_hash *h);

/*
 * Insert key -> value unless the key is present.  Returns the value already stored
 * for the key (the new value is then not stored), or NULL when inserted.
 * Sets *failed to 1 on ENOMEM (when failed is not NULL).
 */
void *lp_hash_insert(struct lp_hash *h, const char *key, void *value, int *failed);

/* The value stored for key, or NULL. */
void *lp_hash_find(const struct lp_hash *h, const char *key);

/* Replace the value of a present key; returns 0, or -1 when absent. */
int lp_hash_replace(struct lp_hash *h, const char *key, void *value);

/* Remove a key; returns 0, or -1 when absent. */
int lp_hash_remove(struct lp_hash *h, const char *key);

size_t lp_hash_count(const struct lp_hash *h);

/* 64-bit content hash (XXH3) of a byte range; stable across runs. */
uint64_t lp_hash_bytes(const void *data, size_t len, uint64_t seed);

#endif
