/*
 * prefetch.h - reading paged bodies back on a thread of its own, ahead of
 * the consumers (prefetch.c). Started and stopped with the store.
 */
#ifndef WRN_PREFETCH_H
#define WRN_PREFETCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct wrn_store;
struct wrn_queue;
struct wrn_msg;

int wrn_prefetch_start(struct event_base *base, struct wrn_store *store);
/* Finishes the jobs submitted, gives their results back, stops the thread. */
void wrn_prefetch_stop(void);
/*
 * Read the bodies of n paged messages of q in the background; each body
 * still wanted when it is back is set in its message. One job per queue at
 * a time (q->prefetching); does nothing while one is out, or when stopped.
 */
void wrn_prefetch_submit(struct wrn_queue *q, struct wrn_msg **msgs, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* WRN_PREFETCH_H */
