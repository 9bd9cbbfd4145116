/*
 * prefetch.c - reads paged message bodies back on a thread of its own,
 * ahead of the consumers, so that the event loop finds them in memory
 * instead of waiting on the store (DESIGN.md §2). It is only ever ahead of
 * need: a body the loop wants before its read is back is still read on the
 * loop (persist.c), and the late result is then dropped.
 *
 * The thread sees nothing of the broker's state: each job carries copies
 * of the keys and sizes it reads, and references that keep its messages
 * and queue alive until the loop takes the results back.
 */
#include "prefetch.h"

#include "alloc.h"
#include "keys.h"
#include "message.h"
#include "persist.h"
#include "queue.h"
#include "store.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct item {
    struct wrn_msg *m; /* one ref */
    uint64_t id;       /* its page or stored body, as it was at submit */
    bool page;
    size_t head;       /* a stored value starts with the message header */
    void *val;         /* the thread's result (malloc'd), or NULL */
    size_t vlen;
};

struct job {
    struct job *next;
    struct wrn_queue *q; /* one ref */
    uint32_t n;
    struct item items[];
};

static struct {
    struct wrn_store *store; /* borrowed */
    pthread_t thread;
    bool running;
    int event_fd;
    struct event *done_ev;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct job *todo, **todo_tail; /* under mu */
    struct job *done, **done_tail; /* under mu */
    bool stopping;                 /* under mu */
} F;

/* The thread allocates with malloc: alloc.c's counters belong to the loop. */
static void *
thread_copy(const void *p, size_t n)
{
    void *c = malloc(n ? n : 1);

    if (c == NULL)
        abort();
    memcpy(c, p, n);
    return c;
}

static int
by_key(const void *a, const void *b)
{
    const struct item *x = a, *y = b;

    if (x->page != y->page)
        return x->page ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static uint64_t
item_id(uint32_t i, void *arg)
{
    return ((struct item *)arg)[i].id;
}

static void
item_found(uint32_t i, const void *val, size_t vlen, void *arg)
{
    struct item *it = &((struct item *)arg)[i];

    it->val = thread_copy(val, vlen);
    it->vlen = vlen;
}

/* items[0..n), all stored or all paged, sorted by id: a scan, then lookups for the rest. */
static void
read_run(struct item *items, uint32_t n)
{
    wrn_persist_scan(items[0].page, n, item_id, item_found, items);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t k[WRN_KEY_MESSAGE_LEN];
        void *v;
        if (items[i].val != NULL)
            continue;
        if (items[i].page)
            wrn_key_page(k, items[i].id);
        else
            wrn_key_message(k, items[i].id);
        if (wrn_store_get(F.store, k, sizeof(k), &v, &items[i].vlen) == 1) {
            items[i].val = thread_copy(v, items[i].vlen);
            wrn_store_free(v);
        }
    }
}

static void
read_job(struct job *j)
{
    uint32_t stored = 0;

    qsort(j->items, j->n, sizeof(j->items[0]), by_key);
    while (stored < j->n && !j->items[stored].page)
        stored++;
    if (stored > 0)
        read_run(j->items, stored);
    if (stored < j->n)
        read_run(j->items + stored, j->n - stored);
}

static void *
prefetch_thread(void *arg)
{
    uint64_t one = 1;

    (void)arg;
    pthread_mutex_lock(&F.mu);
    for (;;) {
        struct job *j;
        while (F.todo == NULL && !F.stopping)
            pthread_cond_wait(&F.wake, &F.mu);
        if (F.todo == NULL)
            break;
        j = F.todo;
        F.todo = j->next;
        if (F.todo == NULL)
            F.todo_tail = &F.todo;
        pthread_mutex_unlock(&F.mu);

        read_job(j);

        pthread_mutex_lock(&F.mu);
        j->next = NULL;
        *F.done_tail = j;
        F.done_tail = &j->next;
        if (write(F.event_fd, &one, sizeof(one)) < 0) {
            /* the counter is saturated: the fd is readable anyway */
        }
    }
    pthread_mutex_unlock(&F.mu);
    return NULL;
}

/* Give each body back to its message if it is still the one wanted. */
static void
finish_job(struct job *j)
{
    for (uint32_t i = 0; i < j->n; i++) {
        struct item *it = &j->items[i];
        struct wrn_msg *m = it->m;
        bool same = it->page ? m->page_id == it->id : m->store_id == it->id;

        if (it->val != NULL && same && wrn_msg_paged(m) && it->vlen == it->head + m->body_size) {
            wrn_msg_set_body(m, (const uint8_t *)it->val + it->head, m->body_size);
            if (it->page)
                wrn_persist_drop_page(m);
        }
        free(it->val);
        wrn_msg_unref(m);
    }
    j->q->prefetching = false;
    wrn_queue_unref(j->q);
    wrn_free(j);
}

static void
reap(void)
{
    struct job *list;
    uint64_t n;

    if (read(F.event_fd, &n, sizeof(n)) < 0) {
        /* nothing signalled: the list may still hold what a drain left */
    }
    pthread_mutex_lock(&F.mu);
    list = F.done;
    F.done = NULL;
    F.done_tail = &F.done;
    pthread_mutex_unlock(&F.mu);
    while (list != NULL) {
        struct job *j = list;
        list = j->next;
        finish_job(j);
    }
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    reap();
}

int
wrn_prefetch_start(struct event_base *base, struct wrn_store *store)
{
    memset(&F, 0, sizeof(F));
    F.store = store;
    F.todo_tail = &F.todo;
    F.done_tail = &F.done;
    F.event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (F.event_fd < 0)
        return -1;
    pthread_mutex_init(&F.mu, NULL);
    pthread_cond_init(&F.wake, NULL);
    F.done_ev = event_new(base, F.event_fd, EV_READ | EV_PERSIST, done_cb, NULL);
    event_add(F.done_ev, NULL);
    if (pthread_create(&F.thread, NULL, prefetch_thread, NULL) != 0) {
        event_free(F.done_ev);
        close(F.event_fd);
        return -1;
    }
    F.running = true;
    return 0;
}

void
wrn_prefetch_stop(void)
{
    if (!F.running)
        return;
    pthread_mutex_lock(&F.mu);
    F.stopping = true;
    pthread_cond_signal(&F.wake);
    pthread_mutex_unlock(&F.mu);
    pthread_join(F.thread, NULL);
    F.running = false;
    reap(); /* every job submitted is done now */
    event_free(F.done_ev);
    close(F.event_fd);
    pthread_cond_destroy(&F.wake);
    pthread_mutex_destroy(&F.mu);
}

void
wrn_prefetch_submit(struct wrn_queue *q, struct wrn_msg **msgs, uint32_t n)
{
    struct job *j;

    if (!F.running || n == 0 || q->prefetching)
        return;
    j = wrn_xmalloc(sizeof(*j) + n * sizeof(j->items[0]));
    j->next = NULL;
    j->q = q;
    j->n = n;
    wrn_queue_ref(q);
    q->prefetching = true;
    for (uint32_t i = 0; i < n; i++) {
        struct wrn_msg *m = msgs[i];
        struct item *it = &j->items[i];
        it->m = wrn_msg_ref(m);
        it->page = m->page_id != 0;
        it->id = it->page ? m->page_id : m->store_id;
        it->head = it->page ? 0 : (size_t)m->exchange_len + m->routing_key_len + m->props_len;
        it->val = NULL;
        it->vlen = 0;
    }
    pthread_mutex_lock(&F.mu);
    *F.todo_tail = j;
    F.todo_tail = &j->next;
    pthread_cond_signal(&F.wake);
    pthread_mutex_unlock(&F.mu);
}
