/*
 * store.h - Warren's durable store: the only storage interface the broker
 * sees. Writes go as batches to a storage thread that commits everything
 * waiting as one synced write (group commit) and reports completions through
 * a file descriptor the event loop watches. Reads are synchronous.
 */
#ifndef WRN_STORE_H
#define WRN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_store;       /* opaque */
struct wrn_store_batch; /* opaque: a list of operations applied atomically */
struct wrn_store_iter;  /* opaque */

/*
 * Threads: open, close, submit, reap, drain and hold belong to one thread
 * (the broker's event loop). get and the iterator functions may be called
 * from any thread, concurrently with the storage thread's writes. A batch is
 * used by one thread at a time.
 */

/*
 * Open (creating if missing) the store in dir; the parent must exist.
 * Fails cleanly, with a message naming the folder and the reason, if another
 * process holds it ("data folder X is in use by another warren process"), if
 * it is unreadable, or corrupt; it never repairs or wipes anything, and it
 * refuses to create a store in a folder that holds other files. Starts the
 * storage thread. Returns 0, or -1 with err filled (err may be NULL).
 */
int wrn_store_open(const char *dir, struct wrn_store **out, char *err, size_t errlen);
/*
 * Finishes all submitted batches (they are written even when held), stops
 * the thread and closes. Completed batches not yet reaped are freed without
 * a callback. Iterators must be freed first. NULL ok.
 */
void wrn_store_close(struct wrn_store *s);

struct wrn_store_batch *wrn_store_batch_new(void);
void wrn_store_batch_free(struct wrn_store_batch *b); /* NULL ok */
/* key and val are copied. */
void wrn_store_batch_put(struct wrn_store_batch *b, const void *key, size_t klen, const void *val,
                         size_t vlen);
/*
 * Like put, but val is borrowed, not copied: it must stay valid and
 * unchanged until the batch is reaped or freed. Lets a message body be
 * written without a copy while the broker holds a reference to it.
 */
void wrn_store_batch_put_ref(struct wrn_store_batch *b, const void *key, size_t klen,
                             const void *val, size_t vlen);
void wrn_store_batch_delete(struct wrn_store_batch *b, const void *key, size_t klen);
/*
 * Deletes every key in [begin, end), for purge and queue delete (RocksDB
 * DeleteRange). begin >= end is an empty range and adds nothing.
 */
void wrn_store_batch_delete_range(struct wrn_store_batch *b, const void *begin, size_t blen,
                                  const void *end, size_t elen);
/* Number of operations in b; the next operation added gets this index. */
size_t wrn_store_batch_count(const struct wrn_store_batch *b);

/*
 * Retract before writing. cancel drops operation op (its index, from
 * wrn_store_batch_count before it was added) from b; patch rewrites one
 * byte of a put's copied (not borrowed) value. Both work while the storage
 * thread has not yet taken b: before submit, and after it until b's group
 * starts to be written. They return false, changing nothing, once it has.
 * b must not have been reaped. This is how an acknowledgement that arrives
 * before its message's write keeps the write from happening at all.
 */
bool wrn_store_batch_cancel(struct wrn_store *s, struct wrn_store_batch *b, size_t op);
bool wrn_store_batch_patch(struct wrn_store *s, struct wrn_store_batch *b, size_t op, size_t offset,
                           uint8_t byte);

/*
 * Hand a batch to the storage thread (ownership passes to the store). The
 * thread applies everything that arrived while the previous sync ran as ONE
 * WriteBatch with sync=true (group commit), then marks those batches done.
 * Never blocks on disk. cookie is returned at completion.
 */
void wrn_store_submit(struct wrn_store *s, struct wrn_store_batch *b, void *cookie);
/*
 * A file descriptor (eventfd) that becomes readable when completed batches
 * are waiting; the broker's event loop watches it. Owned by the store.
 */
int wrn_store_notify_fd(const struct wrn_store *s);
/*
 * Clears the fd and calls done(cookie, status, arg) for each completed batch
 * in submission order (status 0 ok, -1 write failed), freeing the batches.
 * done may be NULL and must not call reap. Returns the number reaped. A
 * failed write fails every batch in its group, and RocksDB then refuses
 * all writes until the store is reopened; wrn_store_last_error says why.
 */
size_t wrn_store_reap(struct wrn_store *s, void (*done)(void *cookie, int status, void *arg),
                      void *arg);
/*
 * Blocks until every batch submitted so far has been written (releasing a
 * hold first); a following reap returns them all. For shutdown and tests.
 */
void wrn_store_drain(struct wrn_store *s);
/*
 * Test hook. While held, the storage thread starts no new write; a write
 * already running finishes. Lets a test make a group deterministic.
 */
void wrn_store_hold(struct wrn_store *s, bool hold);

/*
 * Synchronous reads from the calling thread. get: 1 found (*val malloc'd,
 * caller frees with wrn_store_free), 0 absent, -1 error.
 */
int wrn_store_get(struct wrn_store *s, const void *key, size_t klen, void **val, size_t *vlen);
void wrn_store_free(void *p);
/*
 * Ordered iteration over [lower, upper); upper NULL or ulen 0 means no upper
 * bound, and likewise for lower. The bounds are copied and passed to RocksDB
 * as iterate_lower_bound/upper_bound, so a drained range full of tombstones
 * is not walked past. Returns NULL only if s is NULL.
 */
struct wrn_store_iter *wrn_store_iter_new(struct wrn_store *s, const void *lower, size_t llen,
                                          const void *upper, size_t ulen);
/*
 * 1 with key/val pointing at memory valid until the next call, 0 at the end,
 * -1 error.
 */
int wrn_store_iter_next(struct wrn_store_iter *it, const void **key, size_t *klen, const void **val,
                        size_t *vlen);
void wrn_store_iter_free(struct wrn_store_iter *it); /* NULL ok */

/*
 * Stats for tests and metrics: number of synced writes done and of batches
 * committed by them so far (failed writes are not counted).
 */
void wrn_store_stats(const struct wrn_store *s, uint64_t *syncs, uint64_t *batches);
/*
 * Copies the message of the last failed write or read into buf (empty if
 * none), so the caller can log why a status was -1.
 */
void wrn_store_last_error(struct wrn_store *s, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* WRN_STORE_H */
