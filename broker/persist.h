/*
 * persist.h - the event loop's side of durability. Definitions (durable
 * exchanges, queues, bindings) and persistent messages in durable queues go
 * into one store batch per loop turn; the storage thread commits it with a
 * single fsync together with whatever else arrived meanwhile, and tells the
 * loop, which only then confirms those publishes (DESIGN.md §2, §5).
 */
#ifndef WRN_PERSIST_H
#define WRN_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_exchange;
struct wrn_queue;
struct wrn_binding;
struct wrn_qentry;
struct wrn_channel;
struct wrn_vhost;
struct wrn_user;
struct wrn_permission;
struct wrn_topic_permission;

/*
 * Open the store in dir and recover: definitions first, then every durable
 * queue's messages in order. Returns 0, or -1 with the reason logged.
 */
int wrn_persist_open(const char *dir);
/* Write what is pending, wait for it, close the store. */
void wrn_persist_close(void);
bool wrn_persist_enabled(void);

/* Definitions: store (present) or forget. Non-durable objects are ignored. */
void wrn_persist_exchange(struct wrn_exchange *x, bool present);
void wrn_persist_queue(struct wrn_queue *q, bool present);
void wrn_persist_binding(struct wrn_binding *b, bool present);

/* Accounts: vhosts (with their limits), users, and user rights in a vhost. */
void wrn_persist_vhost(struct wrn_vhost *v, bool present);
void wrn_persist_user(struct wrn_user *u, bool present);
/* p NULL forgets user's permission in v. */
void wrn_persist_permission(struct wrn_vhost *v, const char *user, const struct wrn_permission *p);
/* t NULL forgets user's topic permission on exchange in v. */
void wrn_persist_topic_permission(struct wrn_vhost *v, const char *user,
                                  const struct wrn_topic_permission *t, const char *exchange);

/* A message entered q: stored if the message is persistent and q durable. */
void wrn_persist_enqueue(struct wrn_queue *q, struct wrn_qentry *e);
/* A stored entry was delivered: remember it, so recovery flags it redelivered. */
void wrn_persist_delivered(struct wrn_queue *q, struct wrn_qentry *e);
/* A stored entry left q for good (ack, reject, expiry, purge, delete). */
void wrn_persist_dequeue(struct wrn_queue *q, struct wrn_qentry *e);
/*
 * Purge with one range delete: every stored entry of q goes (the caller
 * knows none is out for delivery), then wrn_persist_forget_entry for each ready
 * entry settles its message's body.
 */
void wrn_persist_purge(struct wrn_queue *q);
void wrn_persist_forget_entry(struct wrn_queue *q, struct wrn_qentry *e);

/*
 * Paging. A message only its caller holds can drop its body from memory:
 * page_out returns a bodiless stand-in (or the message itself, unchanged,
 * when it cannot be paged). A stored body is already on disk; any other is
 * written to a page first, which is not synced, never recovered, and goes
 * when the message is read back or freed (drop_page, from message.c); such
 * writes take from *write_allowance, and page_out returns NULL, paging
 * nothing, when it is too small. load reads a paged body back (false if the
 * store cannot give it).
 */
struct wrn_msg *wrn_persist_page_out(struct wrn_msg *m, uint64_t *write_allowance);
bool wrn_persist_load(struct wrn_msg *m);
void wrn_persist_drop_page(struct wrn_msg *m);
/* Read back several paged bodies at once (one ordered scan); msgs is reordered. */
void wrn_persist_load_many(struct wrn_msg **msgs, uint32_t n);
/*
 * The values of n stored bodies (pages when pages is set) whose ids,
 * id_of(0..n), ascend, read with one ordered scan of the store when the ids
 * are dense (found is called for each one present); when they are sparse,
 * nothing is read and the caller looks them up one by one. Reads only: the
 * prefetch thread calls it too.
 */
void wrn_persist_scan(bool pages, uint32_t n, uint64_t (*id_of)(uint32_t i, void *arg),
                      void (*found)(uint32_t i, const void *val, size_t vlen, void *arg),
                      void *arg);
/* Have them read back in the background instead (prefetch.c), ahead of need. */
void wrn_persist_prefetch(struct wrn_queue *q, struct wrn_msg **msgs, uint32_t n);

/*
 * Durability points. Every write goes into the batch of the current
 * generation; synced() is the newest generation known to be on disk.
 * writes() counts writes, so a caller can tell whether an operation wrote.
 */
uint64_t wrn_persist_generation(void);
uint64_t wrn_persist_synced(void);
uint64_t wrn_persist_writes(void);
/* Ask to be told (wrn_channel_durable) when the current generation is synced. */
void wrn_persist_wait(struct wrn_channel *ch);
/* A channel going away must not be told anything any more. */
void wrn_persist_forget(struct wrn_channel *ch);

#ifdef __cplusplus
}
#endif

#endif /* WRN_PERSIST_H */
