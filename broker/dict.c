/*
 * dict.c - chained hash map with FNV-1a hashing of byte-string keys.
 */
#include "dict.h"

#include "alloc.h"

struct dict_entry {
    struct dict_entry *next;
    void *value;
    uint32_t hash;
    uint32_t keylen;
    uint8_t key[]; /* owned, inline */
};

struct wrn_dict {
    struct dict_entry **buckets;
    size_t nbuckets; /* power of two */
    size_t size;
};

static uint32_t
hash_bytes(struct wrn_slice key)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < key.len; i++) {
        h ^= key.p[i];
        h *= 16777619u;
    }
    return h;
}

struct wrn_dict *
wrn_dict_new(void)
{
    struct wrn_dict *d = wrn_xcalloc(1, sizeof(*d));
    d->nbuckets = 8;
    d->buckets = wrn_xcalloc(d->nbuckets, sizeof(*d->buckets));
    return d;
}

void
wrn_dict_free(struct wrn_dict *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->nbuckets; i++) {
        struct dict_entry *e = d->buckets[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            wrn_free(e);
        }
    }
    wrn_free(d->buckets);
    wrn_free(d);
}

static struct dict_entry **
find_slot(const struct wrn_dict *d, struct wrn_slice key, uint32_t h)
{
    struct dict_entry **slot = &d->buckets[h & (d->nbuckets - 1)];
    for (; *slot != NULL; slot = &(*slot)->next) {
        struct dict_entry *e = *slot;
        if (e->hash == h && e->keylen == key.len &&
            (key.len == 0 || memcmp(e->key, key.p, key.len) == 0))
            return slot;
    }
    return slot;
}

void *
wrn_dict_get(const struct wrn_dict *d, struct wrn_slice key)
{
    struct dict_entry *e = *find_slot(d, key, hash_bytes(key));
    return e ? e->value : NULL;
}

static void
grow(struct wrn_dict *d)
{
    size_t n = d->nbuckets * 2;
    struct dict_entry **b = wrn_xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < d->nbuckets; i++) {
        struct dict_entry *e = d->buckets[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    wrn_free(d->buckets);
    d->buckets = b;
    d->nbuckets = n;
}

void
wrn_dict_set(struct wrn_dict *d, struct wrn_slice key, void *value)
{
    uint32_t h = hash_bytes(key);
    struct dict_entry **slot = find_slot(d, key, h);
    struct dict_entry *e;

    if (*slot != NULL) {
        (*slot)->value = value;
        return;
    }
    e = wrn_xmalloc(sizeof(*e) + key.len);
    e->next = NULL;
    e->value = value;
    e->hash = h;
    e->keylen = key.len;
    if (key.len)
        memcpy(e->key, key.p, key.len);
    *slot = e;
    if (++d->size > d->nbuckets)
        grow(d);
}

void *
wrn_dict_remove(struct wrn_dict *d, struct wrn_slice key)
{
    struct dict_entry **slot = find_slot(d, key, hash_bytes(key));
    struct dict_entry *e = *slot;
    void *value;

    if (e == NULL)
        return NULL;
    *slot = e->next;
    value = e->value;
    wrn_free(e);
    d->size--;
    return value;
}

size_t
wrn_dict_size(const struct wrn_dict *d)
{
    return d->size;
}

void
wrn_dict_iter_init(struct wrn_dict_iter *it, struct wrn_dict *d)
{
    it->d = d;
    it->bucket = 0;
    it->next = NULL;
    it->cur = NULL;
}

bool
wrn_dict_iter_next(struct wrn_dict_iter *it, struct wrn_slice *key, void **value)
{
    struct dict_entry *e = it->next;

    while (e == NULL && it->bucket < it->d->nbuckets)
        e = it->d->buckets[it->bucket++];
    if (e == NULL)
        return false;
    /* Remember the successor now, so the caller may remove e. */
    it->next = e->next;
    it->cur = e;
    key->p = e->key;
    key->len = e->keylen;
    *value = e->value;
    return true;
}
