/*
 * store_rocksdb.c - store.h on RocksDB's C API. One storage thread owns all
 * writes: it takes every batch that queued up while its previous write ran,
 * applies them as one WriteBatch with sync=true (group commit) and hands
 * them back to the event loop through an eventfd. Reads share the handle.
 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rocksdb/c.h>

/* Our lock file inside the data folder; RocksDB keeps its own LOCK too. */
#define LOCK_NAME "warren.lock"
/* A write group stops growing past this many bytes (one batch may exceed it). */
#define GROUP_BYTES (16u << 20)
/* A WriteBatch that grew past this is dropped rather than kept for reuse. */
#define KEEP_WB_BYTES (4u << 20)

#define STORE_CHECK(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

enum op_kind { OP_PUT, OP_DELETE, OP_DELETE_RANGE };

/* One operation; key and copied value live in the batch's buf, by offset. */
struct op {
    enum op_kind kind;
    size_t koff, klen; /* key, or the range's begin */
    size_t voff, vlen; /* value, or the range's end */
    const void *vref;  /* borrowed value (put_ref), else NULL */
    bool cancelled;    /* retracted before the storage thread took the batch */
};

struct wrn_store_batch {
    struct wrn_store_batch *next; /* in the store's pending or done list */
    void *cookie;                 /* borrowed, handed back at reap */
    int status;
    struct op *ops; /* owned */
    size_t nops, opcap;
    uint8_t *buf; /* owned: keys and copied values */
    size_t len, cap;
    size_t bytes; /* len plus borrowed values: what the write will carry */
    bool taken;   /* the storage thread has it: no more cancel or patch (under mu) */
};

struct wrn_store {
    char *dir; /* owned, for messages */
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_writeoptions_t *wopts; /* sync=true */
    rocksdb_readoptions_t *ropts;  /* for get; read-only after open */
    int lock_fd;                   /* holds the flock on LOCK_NAME */
    bool lock_created;             /* this open created LOCK_NAME */
    int event_fd;
    pthread_t thread;

    /* Everything below is guarded by mu. */
    pthread_mutex_t mu;
    pthread_cond_t wake; /* storage thread: work arrived, hold lifted, or stop */
    pthread_cond_t idle; /* drain: a write finished */
    struct wrn_store_batch *pending, **pending_tail;
    struct wrn_store_batch *done, **done_tail;
    bool writing, held, stopping;
    uint64_t syncs, batches;
    char last_error[256];
};

struct wrn_store_iter {
    struct wrn_store *store; /* borrowed */
    rocksdb_iterator_t *it;
    rocksdb_readoptions_t *ro; /* holds pointers to the bounds below */
    bool started;
    int end_rc; /* once the end or an error is reached: 0 or -1, else 1 */
    size_t llen, ulen;
    uint8_t bounds[]; /* lower bound, then upper bound */
};

static void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL) {
        fputs("warren storage: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void *
xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL) {
        fputs("warren storage: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void
set_last_error(struct wrn_store *s, const char *what, const char *msg)
{
    pthread_mutex_lock(&s->mu);
    snprintf(s->last_error, sizeof(s->last_error), "%s: %s", what, msg);
    pthread_mutex_unlock(&s->mu);
}

/*
 * Blocks asynchronous signals in the calling thread, so that threads created
 * meanwhile (ours and RocksDB's) leave them to the event loop. Faults stay
 * deliverable so crashes still report.
 */
static void
block_signals(sigset_t *old)
{
    sigset_t set;

    sigfillset(&set);
    sigdelset(&set, SIGSEGV);
    sigdelset(&set, SIGBUS);
    sigdelset(&set, SIGFPE);
    sigdelset(&set, SIGILL);
    sigdelset(&set, SIGABRT);
    sigdelset(&set, SIGTRAP);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

/* ---- batches ---- */

struct wrn_store_batch *
wrn_store_batch_new(void)
{
    struct wrn_store_batch *b = xmalloc(sizeof(*b));

    memset(b, 0, sizeof(*b));
    b->opcap = 8;
    b->ops = xmalloc(b->opcap * sizeof(*b->ops));
    b->cap = 256;
    b->buf = xmalloc(b->cap);
    return b;
}

void
wrn_store_batch_free(struct wrn_store_batch *b)
{
    if (b == NULL)
        return;
    free(b->ops);
    free(b->buf);
    free(b);
}

/* Copies n bytes to the end of b's buffer; returns their offset. */
static size_t
batch_append(struct wrn_store_batch *b, const void *p, size_t n)
{
    size_t off = b->len;

    STORE_CHECK(n <= SIZE_MAX / 2 - b->len);
    if (b->len + n > b->cap) {
        while (b->len + n > b->cap)
            b->cap *= 2;
        b->buf = xrealloc(b->buf, b->cap);
    }
    if (n)
        memcpy(b->buf + off, p, n);
    b->len += n;
    return off;
}

static void
batch_add(struct wrn_store_batch *b, enum op_kind kind, const void *key, size_t klen,
          const void *val, size_t vlen, bool borrow)
{
    struct op *op;

    if (b->nops == b->opcap) {
        b->opcap *= 2;
        b->ops = xrealloc(b->ops, b->opcap * sizeof(*b->ops));
    }
    op = &b->ops[b->nops++];
    op->kind = kind;
    op->cancelled = false;
    op->koff = batch_append(b, key, klen);
    op->klen = klen;
    op->vlen = vlen;
    if (borrow) {
        op->vref = val;
        op->voff = 0;
    } else {
        op->vref = NULL;
        op->voff = batch_append(b, val, vlen);
    }
    b->bytes += klen + vlen;
}

void
wrn_store_batch_put(struct wrn_store_batch *b, const void *key, size_t klen, const void *val,
                    size_t vlen)
{
    batch_add(b, OP_PUT, key, klen, val, vlen, false);
}

void
wrn_store_batch_put_ref(struct wrn_store_batch *b, const void *key, size_t klen, const void *val,
                        size_t vlen)
{
    batch_add(b, OP_PUT, key, klen, val, vlen, true);
}

void
wrn_store_batch_delete(struct wrn_store_batch *b, const void *key, size_t klen)
{
    batch_add(b, OP_DELETE, key, klen, NULL, 0, false);
}

/*
 * Retracting an operation: the mutex orders it with take_group, after which
 * the storage thread reads the batch without the lock.
 */
bool
wrn_store_batch_cancel(struct wrn_store *s, struct wrn_store_batch *b, size_t op)
{
    bool done;

    pthread_mutex_lock(&s->mu);
    done = !b->taken && op < b->nops;
    if (done)
        b->ops[op].cancelled = true;
    pthread_mutex_unlock(&s->mu);
    return done;
}

bool
wrn_store_batch_patch(struct wrn_store *s, struct wrn_store_batch *b, size_t op, size_t offset,
                      uint8_t byte)
{
    bool done;

    pthread_mutex_lock(&s->mu);
    done = !b->taken && op < b->nops && b->ops[op].kind == OP_PUT && b->ops[op].vref == NULL &&
           !b->ops[op].cancelled && offset < b->ops[op].vlen;
    if (done)
        b->buf[b->ops[op].voff + offset] = byte;
    pthread_mutex_unlock(&s->mu);
    return done;
}

/*
 * RocksDB rejects a range whose end sorts before its begin, which would fail
 * the whole write group; an empty range is dropped here instead.
 */
void
wrn_store_batch_delete_range(struct wrn_store_batch *b, const void *begin, size_t blen,
                             const void *end, size_t elen)
{
    size_t n = blen < elen ? blen : elen;
    int cmp = n ? memcmp(begin, end, n) : 0;

    if (cmp > 0 || (cmp == 0 && blen >= elen))
        return;
    batch_add(b, OP_DELETE_RANGE, begin, blen, end, elen, false);
}

size_t
wrn_store_batch_count(const struct wrn_store_batch *b)
{
    return b->nops;
}

/* Adds b's operations to the group's WriteBatch. */
static void
batch_apply(const struct wrn_store_batch *b, rocksdb_writebatch_t *wb)
{
    for (size_t i = 0; i < b->nops; i++) {
        const struct op *op = &b->ops[i];
        const char *k = (const char *)b->buf + op->koff;
        const char *v = op->vref ? op->vref : (const char *)b->buf + op->voff;

        if (op->cancelled)
            continue;
        switch (op->kind) {
        case OP_PUT:
            rocksdb_writebatch_put(wb, k, op->klen, v, op->vlen);
            break;
        case OP_DELETE:
            rocksdb_writebatch_delete(wb, k, op->klen);
            break;
        case OP_DELETE_RANGE:
            rocksdb_writebatch_delete_range(wb, k, op->klen, v, op->vlen);
            break;
        }
    }
}

/* ---- the storage thread ---- */

/*
 * Detaches the head of the pending list: every batch waiting, up to about
 * GROUP_BYTES (at least one). Called with mu held; returns the group, its
 * last batch in *last and its length in *n.
 */
static struct wrn_store_batch *
take_group(struct wrn_store *s, struct wrn_store_batch **last, size_t *n)
{
    struct wrn_store_batch *group = s->pending, *b = group;
    size_t bytes = b->bytes;

    *n = 1;
    b->taken = true;
    while (b->next != NULL && bytes + b->next->bytes <= GROUP_BYTES) {
        b = b->next;
        b->taken = true;
        bytes += b->bytes;
        (*n)++;
    }
    s->pending = b->next;
    if (s->pending == NULL)
        s->pending_tail = &s->pending;
    b->next = NULL;
    *last = b;
    return group;
}

/*
 * Writes a group as one synced WriteBatch. Returns 0 or -1 (reason in
 * err); *synced tells whether a write happened (a group of empty batches
 * needs none).
 */
static int
write_group(struct wrn_store *s, rocksdb_writebatch_t *wb, const struct wrn_store_batch *group,
            bool *synced, char *err, size_t errlen)
{
    char *rerr = NULL;

    *synced = false;
    rocksdb_writebatch_clear(wb);
    for (const struct wrn_store_batch *b = group; b != NULL; b = b->next)
        batch_apply(b, wb);
    if (rocksdb_writebatch_count(wb) == 0)
        return 0;
    rocksdb_write(s->db, s->wopts, wb, &rerr);
    if (rerr != NULL) {
        snprintf(err, errlen, "write to data folder %s failed: %s", s->dir, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    *synced = true;
    return 0;
}

static void
notify_loop(struct wrn_store *s)
{
    uint64_t one = 1;

    /* EAGAIN would mean the counter is saturated: the fd is readable anyway. */
    if (write(s->event_fd, &one, sizeof(one)) < 0)
        return;
}

static void *
store_thread(void *arg)
{
    struct wrn_store *s = arg;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    struct wrn_store_batch *group, *last;
    char err[sizeof(s->last_error)];
    size_t n, wblen;
    bool synced;
    int status;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stopping && (s->pending == NULL || s->held))
            pthread_cond_wait(&s->wake, &s->mu);
        if (s->pending == NULL)
            break; /* stopping, and everything submitted is written */
        group = take_group(s, &last, &n);
        s->writing = true;
        pthread_mutex_unlock(&s->mu);

        status = write_group(s, wb, group, &synced, err, sizeof(err));
        rocksdb_writebatch_data(wb, &wblen);
        if (wblen > KEEP_WB_BYTES) {
            rocksdb_writebatch_destroy(wb);
            wb = rocksdb_writebatch_create();
        }
        for (struct wrn_store_batch *b = group; b != NULL; b = b->next)
            b->status = status;

        pthread_mutex_lock(&s->mu);
        s->writing = false;
        *s->done_tail = group;
        s->done_tail = &last->next;
        if (status == 0) {
            s->syncs += synced;
            s->batches += n;
        } else {
            snprintf(s->last_error, sizeof(s->last_error), "%s", err);
        }
        notify_loop(s);
        pthread_cond_broadcast(&s->idle);
    }
    pthread_mutex_unlock(&s->mu);
    rocksdb_writebatch_destroy(wb);
    return NULL;
}

void
wrn_store_submit(struct wrn_store *s, struct wrn_store_batch *b, void *cookie)
{
    b->cookie = cookie;
    b->status = 0;
    b->next = NULL;
    pthread_mutex_lock(&s->mu);
    STORE_CHECK(!s->stopping);
    *s->pending_tail = b;
    s->pending_tail = &b->next;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

int
wrn_store_notify_fd(const struct wrn_store *s)
{
    return s->event_fd;
}

/*
 * The fd is cleared before the list is taken: a completion that lands in
 * between makes the fd readable again, so none is missed (at worst a wake-up
 * finds nothing). done must not call reap.
 */
size_t
wrn_store_reap(struct wrn_store *s, void (*done)(void *cookie, int status, void *arg), void *arg)
{
    struct wrn_store_batch *b, *next;
    uint64_t count;
    size_t n = 0;

    if (read(s->event_fd, &count, sizeof(count)) < 0) {
        /* EAGAIN: nothing was signalled, but look anyway */
    }
    pthread_mutex_lock(&s->mu);
    b = s->done;
    s->done = NULL;
    s->done_tail = &s->done;
    pthread_mutex_unlock(&s->mu);
    for (; b != NULL; b = next) {
        next = b->next;
        if (done != NULL)
            done(b->cookie, b->status, arg);
        wrn_store_batch_free(b);
        n++;
    }
    return n;
}

void
wrn_store_drain(struct wrn_store *s)
{
    pthread_mutex_lock(&s->mu);
    s->held = false;
    pthread_cond_signal(&s->wake);
    while (s->pending != NULL || s->writing)
        pthread_cond_wait(&s->idle, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void
wrn_store_hold(struct wrn_store *s, bool hold)
{
    pthread_mutex_lock(&s->mu);
    s->held = hold;
    if (!hold)
        pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

void
wrn_store_stats(const struct wrn_store *s, uint64_t *syncs, uint64_t *batches)
{
    struct wrn_store *m = (struct wrn_store *)s; /* the mutex is not part of the value */

    pthread_mutex_lock(&m->mu);
    if (syncs != NULL)
        *syncs = m->syncs;
    if (batches != NULL)
        *batches = m->batches;
    pthread_mutex_unlock(&m->mu);
}

void
wrn_store_last_error(struct wrn_store *s, char *buf, size_t len)
{
    if (len == 0)
        return;
    pthread_mutex_lock(&s->mu);
    snprintf(buf, len, "%s", s->last_error);
    pthread_mutex_unlock(&s->mu);
}

/* ---- open and close ---- */

/* Makes sure dir is a directory, creating it (not its parents) if missing. */
static int
prepare_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;

    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            set_err(err, errlen, "data folder %s is not a directory", dir);
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        set_err(err, errlen, "cannot open data folder %s: %s", dir, strerror(errno));
        return -1;
    }
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        set_err(err, errlen, "cannot create data folder %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * Takes an exclusive flock on dir/LOCK_NAME and writes our pid into it for
 * the next one who finds it taken. flock (unlike RocksDB's fcntl lock) also
 * refuses a second open from the same process, and the kernel drops it when
 * the process dies, so a kill -9 leaves nothing stale behind.
 */
static int
lock_dir(struct wrn_store *s, char *err, size_t errlen)
{
    char path[4096], pid[32];
    ssize_t n;
    int len;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->dir, LOCK_NAME) >= sizeof(path)) {
        set_err(err, errlen, "cannot open data folder %s: path too long", s->dir);
        return -1;
    }
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    s->lock_created = s->lock_fd >= 0;
    if (s->lock_fd < 0 && errno == EEXIST)
        s->lock_fd = open(path, O_RDWR | O_CLOEXEC);
    if (s->lock_fd < 0) {
        set_err(err, errlen, "cannot open data folder %s: %s: %s", s->dir, LOCK_NAME,
                strerror(errno));
        return -1;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            set_err(err, errlen, "cannot lock data folder %s: %s", s->dir, strerror(errno));
        } else {
            n = pread(s->lock_fd, pid, sizeof(pid) - 1, 0);
            pid[n > 0 ? n : 0] = '\0';
            if (atol(pid) > 0)
                set_err(err, errlen, "data folder %s is in use by another warren process (pid %ld)",
                        s->dir, atol(pid));
            else
                set_err(err, errlen, "data folder %s is in use by another warren process", s->dir);
        }
        close(s->lock_fd);
        s->lock_fd = -1;
        return -1;
    }
    len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(s->lock_fd, 0) != 0 || pwrite(s->lock_fd, pid, (size_t)len, 0) != len) {
        /* the pid is only a hint for the error message above */
    }
    return 0;
}

static void
unlink_lock(struct wrn_store *s)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", s->dir, LOCK_NAME);
    unlink(path);
}

/*
 * RocksDB, asked to create a missing store, writes a fresh MANIFEST and
 * CURRENT over whatever is there. So a folder without CURRENT must hold
 * nothing but what an interrupted first open leaves (locks and info logs)
 * before we let it: anything else may be a damaged store, never to be
 * overwritten.
 */
static int
check_not_foreign(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    struct dirent *de;
    struct stat st;
    DIR *d;
    int rc = 0;

    snprintf(path, sizeof(path), "%s/CURRENT", dir);
    if (stat(path, &st) == 0)
        return 0;
    if (errno != ENOENT) {
        set_err(err, errlen, "cannot read data folder %s: CURRENT: %s", dir, strerror(errno));
        return -1;
    }
    d = opendir(dir);
    if (d == NULL) {
        set_err(err, errlen, "cannot read data folder %s: %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;

        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, LOCK_NAME) == 0 ||
            strcmp(n, "LOCK") == 0 || strcmp(n, "LOG") == 0 || strncmp(n, "LOG.old.", 8) == 0 ||
            strcmp(n, "lost+found") == 0)
            continue;
        set_err(err, errlen,
                "data folder %s holds files (%s) but no store (CURRENT is missing); "
                "refusing to create a store over them",
                dir, n);
        rc = -1;
        break;
    }
    closedir(d);
    return rc;
}

int
wrn_store_open(const char *dir, struct wrn_store **out, char *err, size_t errlen)
{
    struct wrn_store *s;
    char *rerr = NULL;
    sigset_t old;
    size_t dlen = strlen(dir);
    int rc;

    *out = NULL;
    s = xmalloc(sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->lock_fd = -1;
    s->event_fd = -1;
    s->dir = xmalloc(dlen + 1);
    memcpy(s->dir, dir, dlen + 1);

    if (prepare_dir(dir, err, errlen) != 0)
        goto out_free;
    if (lock_dir(s, err, errlen) != 0)
        goto out_free;
    if (check_not_foreign(dir, err, errlen) != 0) {
        if (s->lock_created)
            unlink_lock(s); /* leave a folder we refuse as we found it */
        goto out_unlock;
    }
    s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->event_fd < 0) {
        set_err(err, errlen, "cannot open data folder %s: eventfd: %s", dir, strerror(errno));
        goto out_unlock;
    }

    s->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(s->opts, 1);
    /*
     * Paranoid checks (the default) make a damaged file fail the open
     * instead of being skipped. WAL recovery keeps RocksDB's default, point
     * in time: a record torn by a crash ends replay there, and no synced
     * write is ever after it.
     */
    rocksdb_options_set_paranoid_checks(s->opts, 1);
    /* Each open starts a new info LOG; keep a few, not a thousand. */
    rocksdb_options_set_keep_log_file_num(s->opts, 10);
    /*
     * Bounded memory: the broker pages message bodies out to the store, so
     * the store must not keep them all in memtables. Two 8 MiB memtables
     * (RocksDB's default is 64 MiB each) flush early and often instead.
     */
    rocksdb_options_set_write_buffer_size(s->opts, 8u << 20);
    rocksdb_options_set_max_write_buffer_number(s->opts, 2);
    s->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wopts, 1);
    s->ropts = rocksdb_readoptions_create();
    /* bodies are read back once, on their way to a consumer: caching their
     * blocks would only grow the heap (index and filter blocks still cache) */
    rocksdb_readoptions_set_fill_cache(s->ropts, 0);

    block_signals(&old);
    s->db = rocksdb_open(s->opts, dir, &rerr);
    if (s->db == NULL) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        set_err(err, errlen, "cannot open data folder %s: %s", dir,
                rerr ? rerr : "unknown RocksDB error");
        rocksdb_free(rerr);
        goto out_options;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->idle, NULL);
    s->pending_tail = &s->pending;
    s->done_tail = &s->done;
    rc = pthread_create(&s->thread, NULL, store_thread, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        set_err(err, errlen, "cannot open data folder %s: storage thread: %s", dir, strerror(rc));
        goto out_close_db;
    }
    *out = s;
    return 0;

out_close_db:
    pthread_cond_destroy(&s->idle);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    rocksdb_close(s->db);
out_options:
    rocksdb_readoptions_destroy(s->ropts);
    rocksdb_writeoptions_destroy(s->wopts);
    rocksdb_options_destroy(s->opts);
out_unlock:
    if (s->event_fd >= 0)
        close(s->event_fd);
    close(s->lock_fd); /* releases the flock */
out_free:
    free(s->dir);
    free(s);
    return -1;
}

void
wrn_store_close(struct wrn_store *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    STORE_CHECK(s->pending == NULL);
    wrn_store_reap(s, NULL, NULL);

    rocksdb_close(s->db);
    rocksdb_readoptions_destroy(s->ropts);
    rocksdb_writeoptions_destroy(s->wopts);
    rocksdb_options_destroy(s->opts);
    pthread_cond_destroy(&s->idle);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    close(s->event_fd);
    close(s->lock_fd); /* only now may another process open the folder */
    free(s->dir);
    free(s);
}

/* ---- reads ---- */

/*
 * Uses the pinned get so an empty value and an absent key stay distinct
 * (a plain get hands back malloc(0), which may be NULL), and so the copy
 * comes from our allocator. One extra NUL byte is added for convenience.
 */
int
wrn_store_get(struct wrn_store *s, const void *key, size_t klen, void **val, size_t *vlen)
{
    rocksdb_pinnableslice_t *ps;
    char *rerr = NULL;
    const char *p;
    size_t n;

    *val = NULL;
    *vlen = 0;
    ps = rocksdb_get_pinned(s->db, s->ropts, key, klen, &rerr);
    if (rerr != NULL) {
        set_last_error(s, "read", rerr);
        rocksdb_free(rerr);
        return -1;
    }
    if (ps == NULL)
        return 0;
    p = rocksdb_pinnableslice_value(ps, &n);
    *val = xmalloc(n + 1);
    if (n)
        memcpy(*val, p, n);
    ((char *)*val)[n] = '\0';
    *vlen = n;
    rocksdb_pinnableslice_destroy(ps);
    return 1;
}

void
wrn_store_free(void *p)
{
    free(p);
}

struct wrn_store_iter *
wrn_store_iter_new(struct wrn_store *s, const void *lower, size_t llen, const void *upper,
                   size_t ulen)
{
    struct wrn_store_iter *it;

    if (s == NULL)
        return NULL;
    if (lower == NULL)
        llen = 0;
    if (upper == NULL)
        ulen = 0;
    it = xmalloc(sizeof(*it) + llen + ulen);
    it->store = s;
    it->started = false;
    it->end_rc = 1;
    it->llen = llen;
    it->ulen = ulen;
    if (llen)
        memcpy(it->bounds, lower, llen);
    if (ulen)
        memcpy(it->bounds + llen, upper, ulen);
    it->ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_fill_cache(it->ro, 0); /* one pass: see ropts */
    /* RocksDB keeps pointers to the bounds: they live as long as it does. */
    if (llen)
        rocksdb_readoptions_set_iterate_lower_bound(it->ro, (const char *)it->bounds, llen);
    if (ulen)
        rocksdb_readoptions_set_iterate_upper_bound(it->ro, (const char *)it->bounds + llen, ulen);
    it->it = rocksdb_create_iterator(s->db, it->ro);
    return it;
}

int
wrn_store_iter_next(struct wrn_store_iter *it, const void **key, size_t *klen, const void **val,
                    size_t *vlen)
{
    char *rerr = NULL;

    if (it->end_rc != 1)
        return it->end_rc;
    if (!it->started) {
        it->started = true;
        if (it->llen)
            rocksdb_iter_seek(it->it, (const char *)it->bounds, it->llen);
        else
            rocksdb_iter_seek_to_first(it->it);
    } else {
        rocksdb_iter_next(it->it);
    }
    if (!rocksdb_iter_valid(it->it)) {
        it->end_rc = 0;
        rocksdb_iter_get_error(it->it, &rerr);
        if (rerr != NULL) {
            set_last_error(it->store, "iterate", rerr);
            rocksdb_free(rerr);
            it->end_rc = -1;
        }
        return it->end_rc;
    }
    *key = rocksdb_iter_key(it->it, klen);
    *val = rocksdb_iter_value(it->it, vlen);
    return 1;
}

void
wrn_store_iter_free(struct wrn_store_iter *it)
{
    if (it == NULL)
        return;
    rocksdb_iter_destroy(it->it);
    rocksdb_readoptions_destroy(it->ro);
    free(it);
}
