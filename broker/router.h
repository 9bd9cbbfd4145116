/*
 * router.h - the matchers behind topic and headers exchanges: a trie of
 * binding patterns over dot-separated words, and the headers-table test.
 * Pure data structures: no I/O, nothing allocated while matching.
 */
#ifndef WRN_ROUTER_H
#define WRN_ROUTER_H

#include "wire.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Topic index. A pattern and a routing key are lists of words split on '.';
 * the empty string is a list of zero words, "a." is "a" and "", and ".." is
 * three empty words (RabbitMQ does the same). In a pattern, a word that is
 * exactly "*" matches one word and "#" matches zero or more; "a*" is a
 * literal word, and a key word "*" or "#" is literal too. Patterns and keys
 * are AMQP shortstrs (at most 255 bytes); matching recurses once per
 * pattern word.
 *
 * Each entry is a (pattern, dest) pair: one pattern may have many dests and
 * one dest many patterns. dest must not be NULL; it is borrowed, never freed.
 */
struct wrn_topic_trie;

struct wrn_topic_trie *wrn_topic_trie_new(void);
/* Frees the trie, not the dests. NULL is a no-op. */
void wrn_topic_trie_free(struct wrn_topic_trie *t);
/* Add (pattern, dest): 0 if added, 1 if that pair was already there. */
int wrn_topic_trie_add(struct wrn_topic_trie *t, struct wrn_slice pattern, void *dest);
/* Remove (pattern, dest): true if it was there. Nodes left empty are freed. */
bool wrn_topic_trie_remove(struct wrn_topic_trie *t, struct wrn_slice pattern, void *dest);
/*
 * Call fn(dest, arg) for each dest with a pattern that matches key. A dest
 * bound with several matching patterns is reported once per pattern; the
 * caller removes duplicates. Cost grows with the key's words times the
 * trie nodes on matching paths, not with the number of patterns. fn must
 * not add to or remove from t; it may match t again (the inner results are
 * right, the outer pass may then report some dests twice).
 */
void wrn_topic_trie_match(const struct wrn_topic_trie *t, struct wrn_slice key,
                          void (*fn)(void *dest, void *arg), void *arg);
/* Number of (pattern, dest) pairs. */
size_t wrn_topic_trie_count(const struct wrn_topic_trie *t);

/*
 * Headers exchange. binding_args and msg_headers are encoded field tables
 * (contents without the length prefix, already validated, possibly empty).
 * x-match is "all" (the default), "any", "all-with-x" or "any-with-x". Keys
 * starting with "x-" are left out by all/any and compared by the -with-x
 * modes; "x-match" itself never is. A void ('V') binding value matches any
 * value of that key. Other values are compared as RabbitMQ compares them:
 * numbers by value whatever their type letter ('I' 1 equals 'l' 1 and 'd'
 * 1.0), 'S' equals 'x' with the same bytes, and nested tables and arrays
 * entry by entry in order with the same type letters. "any" with nothing
 * to compare matches nothing; "all" with nothing to compare matches all.
 */
bool wrn_headers_match(struct wrn_slice binding_args, struct wrn_slice msg_headers);
/*
 * false if binding_args has an x-match that RabbitMQ refuses at bind time
 * (406 PRECONDITION_FAILED): not a longstr ('S'), or not one of the four
 * values. true if x-match is absent or valid.
 */
bool wrn_headers_binding_valid(struct wrn_slice binding_args);

#ifdef __cplusplus
}
#endif

#endif /* WRN_ROUTER_H */
