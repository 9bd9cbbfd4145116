/*
 * fake_persist.cc - persist.c's hooks as the broker runs them without a
 * store: nothing is written. The unit tests keep RocksDB and the storage
 * thread out of the queue and exchange logic; storage has its own tests.
 */
extern "C" {
#include "persist.h"

void
wrn_persist_exchange(struct wrn_exchange *x, bool present)
{
    (void)x;
    (void)present;
}

void
wrn_persist_queue(struct wrn_queue *q, bool present)
{
    (void)q;
    (void)present;
}

void
wrn_persist_binding(struct wrn_binding *b, bool present)
{
    (void)b;
    (void)present;
}

void
wrn_persist_enqueue(struct wrn_queue *q, struct wrn_qentry *e)
{
    (void)q;
    (void)e;
}

void
wrn_persist_dequeue(struct wrn_queue *q, struct wrn_qentry *e)
{
    (void)q;
    (void)e;
}

} // extern "C"

/* The memory budget (memory.c) needs connections; the data structures under
 * test only tell it that message memory changed. */
extern "C" void
wrn_memory_check(void)
{
}

extern "C" struct wrn_msg *
wrn_persist_page_out(struct wrn_msg *m, uint64_t *write_allowance)
{
    (void)write_allowance;
    return m;
}

extern "C" bool
wrn_persist_load(struct wrn_msg *m)
{
    (void)m;
    return true;
}

extern "C" void
wrn_persist_purge(struct wrn_queue *q)
{
    (void)q;
}

extern "C" void
wrn_persist_forget_entry(struct wrn_queue *q, struct wrn_qentry *e)
{
    (void)q;
    (void)e;
}

extern "C" void
wrn_persist_load_many(struct wrn_msg **msgs, uint32_t n)
{
    (void)msgs;
    (void)n;
}

extern "C" void
wrn_persist_drop_page(struct wrn_msg *m)
{
    (void)m; /* nothing is ever paged without a store */
}

extern "C" void
wrn_persist_prefetch(struct wrn_queue *q, struct wrn_msg **msgs, uint32_t n)
{
    (void)q;
    (void)msgs;
    (void)n;
}
