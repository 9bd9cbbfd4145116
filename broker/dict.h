/*
 * dict.h - a hash map from byte-string keys (copied in) to borrowed pointers.
 * Chained buckets, doubled when the load passes 1. Used for the exchanges and
 * queues of a vhost and the routing-key index of direct exchanges.
 */
#ifndef WRN_DICT_H
#define WRN_DICT_H

#include "wire.h"

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_dict;

struct wrn_dict *wrn_dict_new(void);
/* Frees the map and its keys, not the values. NULL is a no-op. */
void wrn_dict_free(struct wrn_dict *d);
void *wrn_dict_get(const struct wrn_dict *d, struct wrn_slice key);
/* Insert or replace. */
void wrn_dict_set(struct wrn_dict *d, struct wrn_slice key, void *value);
/* Returns the removed value, or NULL if absent. */
void *wrn_dict_remove(struct wrn_dict *d, struct wrn_slice key);
size_t wrn_dict_size(const struct wrn_dict *d);

/*
 * Iteration. The map must not change while iterating, except through
 * wrn_dict_remove() of the entry just returned (whose key then dies).
 */
struct wrn_dict_iter {
    struct wrn_dict *d;
    size_t bucket;
    void *next;
    void *cur;
};
void wrn_dict_iter_init(struct wrn_dict_iter *it, struct wrn_dict *d);
/* true with *key and *value set; false at the end. */
bool wrn_dict_iter_next(struct wrn_dict_iter *it, struct wrn_slice *key, void **value);

#ifdef __cplusplus
}
#endif

#endif /* WRN_DICT_H */
