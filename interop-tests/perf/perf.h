/*
 * perf.h - the types warren-perf's files share: options, connections, the
 * run with its counters and histograms, and the latency histogram itself.
 * Everything runs on one thread, so nothing here is locked.
 */
#ifndef WRN_PERF_H
#define WRN_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "methods.h"

#define PERF_NAME_MAX 256
#define PERF_MAX_QUEUES 1024
#define PERF_FRAME_MAX 131072u      /* what we ask for; RabbitMQ's default too */
#define PERF_IDLE_FRAME_MAX 16384u  /* idle connections (--connections) */
#define PERF_RBUF (512u * 1024u)    /* read buffer of a working connection */
#define PERF_WBUF (128u * 1024u)    /* producer batch: many messages per write() */

/* ---- latency histogram ---------------------------------------------------- */

/*
 * Log-linear histogram of nanosecond values: exact below 64, then 32
 * sub-buckets per power of two, so a reported percentile is within about 3%
 * of the true value. Adding is a few instructions and never allocates.
 */
#define PERF_HIST_BUCKETS (64 + 58 * 32)

struct perf_hist {
    uint64_t count;
    uint64_t max;
    uint64_t b[PERF_HIST_BUCKETS];
};

static inline unsigned
perf_hist_index(uint64_t v)
{
    unsigned msb, shift;

    if (v < 64)
        return (unsigned)v;
    msb = 63u - (unsigned)__builtin_clzll(v);
    shift = msb - 5u;
    return 64u + (msb - 6u) * 32u + (unsigned)((v >> shift) - 32u);
}

static inline void
perf_hist_add(struct perf_hist *h, uint64_t v)
{
    h->b[perf_hist_index(v)]++;
    h->count++;
    if (v > h->max)
        h->max = v;
}

/* The value below which a fraction p (0..1) of the samples fall; 0 if empty. */
uint64_t perf_hist_percentile(const struct perf_hist *h, double p);
void perf_hist_merge(struct perf_hist *into, const struct perf_hist *from);

/* ---- broker sampling from /proc ------------------------------------------- */

struct perf_proc {
    bool ok;
    uint64_t cpu_ticks; /* utime + stime */
    uint64_t rss_kb;
};

/* Read pid's CPU time and RSS. Returns 0, or -1 (out->ok false) if pid is gone. */
int perf_proc_sample(pid_t pid, struct perf_proc *out);
long perf_proc_ticks_per_second(void);

/* ---- options -------------------------------------------------------------- */

struct perf_kv {
    char key[PERF_NAME_MAX];
    char val[PERF_NAME_MAX];
    bool is_int;
    int64_t ival;
};

struct perf_opts {
    /* -h amqp://user:pass@host:port/vhost */
    char user[PERF_NAME_MAX];
    char pass[PERF_NAME_MAX];
    char host[PERF_NAME_MAX];
    char vhost[PERF_NAME_MAX];
    int port;
    struct sockaddr_storage addr;
    socklen_t addrlen;

    int producers;            /* -x */
    int consumers;            /* -y; -1 until decided */
    uint32_t size;            /* -s body bytes */
    double seconds;           /* -z; 0 = until the counts are done */
    double rate;              /* -r per producer, 0 = unlimited */
    uint64_t count;           /* -C per producer, 0 = unlimited */
    uint32_t confirm;         /* -c window, 0 = no confirms */
    uint16_t prefetch;        /* -q */
    bool autoack;             /* -a */
    bool persistent;          /* -f */
    char exchange_type[32];   /* -t */
    char exchange[PERF_NAME_MAX]; /* -e */
    char queue[PERF_NAME_MAX];    /* -u */
    int queues;               /* --queues */
    struct perf_kv qargs[16]; /* --queue-args */
    int nqargs;
    int priorities;           /* --priorities */
    double reject_ratio;      /* --reject-ratio */
    uint64_t backlog;         /* --backlog */
    int connections;          /* --connections */
    pid_t broker_pid;         /* --broker-pid */
    char dlq[PERF_NAME_MAX];  /* --dlq */
    int bindings;             /* --bindings: extra non-matching bindings */
    bool keep;                /* --keep: leave queues and exchanges */
    double timeout;           /* --timeout: whole run, count and backlog modes */
    double stall;             /* --stall: no traffic while waiting -> error */
    int sink_port;            /* --sink; -1 = not a sink */
    char label[64];           /* --label, echoed in RESULT */
    bool quiet;               /* --quiet: no progress lines */
};

/* ---- connections ---------------------------------------------------------- */

enum perf_role {
    PERF_CONTROL,
    PERF_PRODUCER,
    PERF_CONSUMER,
    PERF_DLQ_CONSUMER,
    PERF_IDLE,
};

enum perf_content_state {
    PERF_NO_CONTENT,
    PERF_WANT_HEADER,
    PERF_WANT_BODY,
};

struct perf_conn {
    int fd;
    enum perf_role role;
    int index;
    uint32_t frame_max; /* asked for, then negotiated */
    bool opened;        /* connection.open-ok came */
    bool dead;          /* the connection failed or the broker closed it */
    bool closing;       /* we sent connection.close: send nothing else */
    bool blocked;       /* connection.blocked from the broker */

    uint8_t *rbuf; /* owned: unparsed input at [0, rlen) */
    size_t rlen, rcap;
    uint8_t *wbuf; /* owned: output still to write at [woff, wlen) */
    size_t woff, wlen, wcap;
    bool wblocked; /* last write hit EAGAIN: wait for EPOLLOUT */

    /* The last synchronous reply and what the caller wants from it. */
    uint32_t reply_id;
    uint32_t reply_message_count;
    uint16_t tune_channel_max;
    uint32_t tune_frame_max;

    /* Content being received. */
    enum perf_content_state cstate;
    bool content_counts; /* basic.deliver, not basic.return */
    bool first_body;
    uint64_t body_left;
    uint64_t cur_tag;
    uint64_t cur_ts;

    /* Producer. */
    uint64_t target;     /* -C or backlog share; 0 = unlimited */
    uint64_t published;  /* messages put in wbuf (see perf_conn_unsent) */
    uint64_t confirmed, nacked, returned;
    uint64_t settled_low; /* every tag <= this is confirmed or nacked */
    uint8_t *settled;     /* owned: ring of tags above settled_low */
    uint64_t ring_mask;
    uint32_t prio_next;

    /* Consumer. */
    int queue;
    bool consuming;
    uint64_t consumed, rejected;
    uint64_t ack_tag, acked_tag;
    double reject_acc;
};

/* ---- the run -------------------------------------------------------------- */

struct perf_run {
    struct perf_opts *o; /* borrowed */

    char queue_names[PERF_MAX_QUEUES][PERF_NAME_MAX];
    int nqueues;
    char routing_key[PERF_NAME_MAX];
    bool exchange_declared, dlx_declared, dlq_declared;
    int queues_declared;
    char dlx[PERF_NAME_MAX];

    struct perf_conn *control;
    struct perf_conn **conns; /* producers, then consumers, then the dlq consumer */
    int nconns;

    /* The pre-encoded message: publish method, content header, body frames. */
    uint8_t *msg;
    size_t msg_len;
    size_t ts_off;   /* 0: body too small for a timestamp */
    size_t prio_off; /* 0: no priority property */

    uint64_t t_setup;   /* timestamps older than this are not ours */
    uint64_t t0;        /* rate clock of the current phase */
    uint64_t last_io;   /* last byte moved on any connection */
    struct perf_hist hist, dlq_hist, interval;

    uint64_t rss_peak_kb; /* the broker's, sampled once a second */
    char error[512];      /* the first error; the run fails if set */
};

static inline uint64_t
perf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Record the run's first error (later ones are usually consequences). */
void perf_fail(struct perf_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* perf_conn.c: sockets, frames, handshake, synchronous methods. */
struct perf_conn *perf_conn_new(enum perf_role role, int index, uint32_t frame_max,
                                size_t rcap, size_t wcap);
void perf_conn_free(struct perf_conn *c);
int perf_conn_handshake_step(struct perf_run *r, struct perf_conn *c, int step,
                             uint64_t deadline);
#define PERF_HANDSHAKE_STEPS 5
int perf_conn_open(struct perf_run *r, struct perf_conn *c, uint64_t deadline);
void perf_conn_put_method(struct perf_conn *c, const struct wrn_method *m);
int perf_conn_rpc(struct perf_run *r, struct perf_conn *c, const struct wrn_method *m,
                  uint32_t reply, uint64_t deadline);
int perf_conn_flush(struct perf_run *r, struct perf_conn *c);
int perf_conn_flush_wait(struct perf_run *r, struct perf_conn *c, uint64_t deadline);
int perf_conn_read(struct perf_run *r, struct perf_conn *c);
int perf_conn_wait(struct perf_run *r, struct perf_conn *c, uint32_t reply, uint64_t deadline);
void perf_conn_close_all(struct perf_run *r, struct perf_conn **cs, int n, uint64_t deadline);
uint64_t perf_conn_unsent(const struct perf_run *r, const struct perf_conn *c);
void perf_conn_fail(struct perf_run *r, struct perf_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* perf_run.c: the pre-encoded message and the event loop. */
int perf_message_build(struct perf_run *r, uint32_t frame_max);

struct perf_phase {
    const char *name;
    uint64_t deadline;   /* the phase ends here */
    bool deadline_is_ok; /* timed run: reaching the deadline is success */
    bool until_done;     /* end when the count targets are met */
    bool wait_consumers; /* "done" includes every message consumed */
    bool producers;      /* producers publish in this phase */
};

struct perf_totals {
    uint64_t published, confirmed, nacked, returned;
    uint64_t consumed, rejected, dlq_consumed;
};

void perf_totals(const struct perf_run *r, struct perf_totals *t);
int perf_loop(struct perf_run *r, const struct perf_phase *ph);

/* perf_sink.c: a broker stand-in that answers and discards, for the ceiling. */
int perf_sink_main(const struct perf_opts *o);

#endif /* WRN_PERF_H */
