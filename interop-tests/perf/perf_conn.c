/*
 * perf_conn.c - warren-perf's side of one AMQP connection: the socket, the
 * handshake, synchronous methods with deadlines, and the parser that turns
 * a large read buffer into counted deliveries, latencies, batched acks and
 * confirms. Sockets are non-blocking; the synchronous helpers poll.
 */
#include "perf.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "content.h"
#include "frame.h"
#include "table.h"

static inline uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static inline void
put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void
put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

void
perf_fail(struct perf_run *r, const char *fmt, ...)
{
    va_list ap;

    if (r->error[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
}

static const char *
role_name(enum perf_role role)
{
    switch (role) {
    case PERF_CONTROL:
        return "control";
    case PERF_PRODUCER:
        return "producer";
    case PERF_CONSUMER:
        return "consumer";
    case PERF_DLQ_CONSUMER:
        return "dlq consumer";
    case PERF_IDLE:
        return "connection";
    }
    return "?";
}

/*
 * Mark c dead and record why as the run's error, named after the
 * connection's role. A connection we are closing fails quietly: whatever
 * happens then does not change the figures.
 */
void
perf_conn_fail(struct perf_run *r, struct perf_conn *c, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    if (c->dead)
        return;
    c->dead = true;
    if (c->closing)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    perf_fail(r, "%s %d: %s", role_name(c->role), c->index, msg);
}

/*
 * A connection with its buffers. rcap is raised to hold the largest frame
 * frame_max allows. The caller owns the result; perf_conn_free(NULL) is a
 * no-op.
 */
struct perf_conn *
perf_conn_new(enum perf_role role, int index, uint32_t frame_max, size_t rcap, size_t wcap)
{
    struct perf_conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->fd = -1;
    c->role = role;
    c->index = index;
    c->frame_max = frame_max;
    if (rcap < (size_t)frame_max + WRN_FRAME_OVERHEAD)
        rcap = (size_t)frame_max + WRN_FRAME_OVERHEAD;
    c->rcap = rcap;
    c->wcap = wcap;
    c->rbuf = malloc(rcap);
    c->wbuf = malloc(wcap);
    if (c->rbuf == NULL || c->wbuf == NULL) {
        perf_conn_free(c);
        return NULL;
    }
    return c;
}

void
perf_conn_free(struct perf_conn *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c->rbuf);
    free(c->wbuf);
    free(c->settled);
    free(c);
}

/* Make room for n more output bytes, compacting first and growing if need be. */
static void
wbuf_reserve(struct perf_conn *c, size_t n)
{
    size_t cap;
    uint8_t *p;

    if (c->wcap - c->wlen >= n)
        return;
    if (c->woff > 0) {
        memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
        c->wlen -= c->woff;
        c->woff = 0;
        if (c->wcap - c->wlen >= n)
            return;
    }
    cap = c->wcap * 2;
    while (cap - c->wlen < n)
        cap *= 2;
    p = realloc(c->wbuf, cap);
    if (p == NULL) {
        fprintf(stderr, "warren-perf: out of memory\n");
        abort();
    }
    c->wbuf = p;
    c->wcap = cap;
}

/* Queue a method frame: channel 0 for the connection class, 1 for the rest. */
void
perf_conn_put_method(struct perf_conn *c, const struct wrn_method *m)
{
    uint16_t ch = WRN_METHOD_CLASS(m->id) == WRN_CLASS_CONNECTION ? 0 : 1;
    size_t need = 512;
    int n;

    for (;;) {
        wbuf_reserve(c, need);
        n = wrn_frame_encode_method(ch, m, c->wbuf + c->wlen, c->wcap - c->wlen);
        if (n >= 0)
            break;
        need *= 4;
    }
    c->wlen += (size_t)n;
}

/*
 * basic.ack (method 80) or basic.reject (method 90) written by hand: this is
 * on the consumer's hot path and is always 21 bytes.
 */
static void
put_ack(struct perf_conn *c, uint8_t method, uint64_t tag, uint8_t bits)
{
    uint8_t *p;

    wbuf_reserve(c, 21);
    p = c->wbuf + c->wlen;
    p[0] = WRN_FRAME_METHOD;
    p[1] = 0;
    p[2] = 1;
    put_be32(p + 3, 13);
    p[7] = 0;
    p[8] = WRN_CLASS_BASIC;
    p[9] = 0;
    p[10] = method;
    put_be64(p + 11, tag);
    p[19] = bits;
    p[20] = WRN_FRAME_END;
    c->wlen += 21;
}

/*
 * Write what is pending without blocking. Returns 0 (c->wblocked says
 * whether output is left for EPOLLOUT) or -1 if the connection failed.
 */
int
perf_conn_flush(struct perf_run *r, struct perf_conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n > 0) {
            c->woff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->wblocked = true;
            r->last_io = perf_now();
            return 0;
        }
        perf_conn_fail(r, c, "write: %s", n < 0 ? strerror(errno) : "no progress");
        return -1;
    }
    if (c->wlen > 0)
        r->last_io = perf_now();
    c->woff = c->wlen = 0;
    c->wblocked = false;
    return 0;
}

static int
ms_until(uint64_t deadline)
{
    uint64_t now = perf_now();

    if (now >= deadline)
        return 0;
    return (int)((deadline - now + 999999) / 1000000);
}

/* Write everything pending, reading meanwhile so neither side can wedge. */
int
perf_conn_flush_wait(struct perf_run *r, struct perf_conn *c, uint64_t deadline)
{
    while (c->woff < c->wlen) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN | POLLOUT};
        int ms;

        if (c->dead || perf_conn_flush(r, c) < 0)
            return -1;
        if (c->woff == c->wlen)
            break;
        ms = ms_until(deadline);
        if (ms == 0 || poll(&pfd, 1, ms) == 0) {
            perf_conn_fail(r, c, "broker stopped reading (write timed out)");
            return -1;
        }
        if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && perf_conn_read(r, c) < 0)
            return -1;
        c->wblocked = false;
    }
    return c->dead ? -1 : 0;
}

/*
 * Publisher confirms. Tags above settled_low live in a ring no larger than
 * the confirm window (the producer never gets further ahead than that), so
 * single acks out of order and multiple acks both cost O(1) per message.
 */
static void
settle_one(struct perf_conn *c, uint64_t tag, bool nack)
{
    uint8_t *slot;

    if (tag <= c->settled_low || tag > c->published)
        return;
    slot = &c->settled[tag & c->ring_mask];
    if (*slot)
        return;
    *slot = 1;
    if (nack)
        c->nacked++;
    else
        c->confirmed++;
    while (c->settled_low < c->published && c->settled[(c->settled_low + 1) & c->ring_mask]) {
        c->settled[(c->settled_low + 1) & c->ring_mask] = 0;
        c->settled_low++;
    }
}

static void
settle(struct perf_conn *c, uint64_t tag, bool multiple, bool nack)
{
    uint64_t t;

    if (c->settled == NULL)
        return;
    if (!multiple) {
        settle_one(c, tag, nack);
        return;
    }
    if (tag > c->published)
        tag = c->published;
    for (t = c->settled_low + 1; t <= tag; t++)
        settle_one(c, t, nack);
}

/*
 * A whole delivery has arrived. Its latency is the receive time of the read
 * that completed it minus the timestamp the producer wrote into the body;
 * a timestamp from before this run (a queue with old messages) is ignored.
 * Rejects go out at once, acks as one multiple ack at the end of the read.
 * Nothing is counted or acked once we are closing.
 */
static void
delivery_done(struct perf_run *r, struct perf_conn *c, uint64_t now)
{
    bool dlq = c->role == PERF_DLQ_CONSUMER;
    bool timed = c->cur_ts >= r->t_setup && c->cur_ts <= now;

    if (c->closing)
        return; /* after the figures were taken */
    c->consumed++;
    if (timed) {
        if (dlq) {
            perf_hist_add(&r->dlq_hist, now - c->cur_ts);
        } else {
            perf_hist_add(&r->hist, now - c->cur_ts);
            perf_hist_add(&r->interval, now - c->cur_ts);
        }
    }
    if (r->o->autoack)
        return;
    if (!dlq && r->o->reject_ratio > 0) {
        c->reject_acc += r->o->reject_ratio;
        if (c->reject_acc >= 1.0) {
            c->reject_acc -= 1.0;
            c->rejected++;
            put_ack(c, 90, c->cur_tag, 0); /* requeue=false */
            return;
        }
    }
    c->ack_tag = c->cur_tag;
}

static void
content_done(struct perf_run *r, struct perf_conn *c, uint64_t now)
{
    c->cstate = PERF_NO_CONTENT;
    if (c->content_counts)
        delivery_done(r, c, now);
}

static void
expect_content(struct perf_conn *c, bool counts, uint64_t tag)
{
    c->cstate = PERF_WANT_HEADER;
    c->content_counts = counts;
    c->cur_tag = tag;
    c->cur_ts = 0;
}

/*
 * Every method but basic.deliver: decode it with the generated codec and
 * either act on it (confirms, closes, cancels, flow) or keep it as the reply
 * a synchronous call is waiting for.
 */
static void
conn_method(struct perf_run *r, struct perf_conn *c, const uint8_t *p, uint32_t len)
{
    struct wrn_method m, reply;
    int rc = wrn_method_decode(p, len, &m);

    if (rc != WRN_OK) {
        perf_conn_fail(r, c, "undecodable method %s from the broker",
                       len >= 4 ? wrn_method_name(be32(p)) : "(short)");
        return;
    }
    switch (m.id) {
    case WRN_BASIC_DELIVER:
        expect_content(c, true, m.a.basic_deliver.delivery_tag);
        return;
    case WRN_BASIC_ACK:
        settle(c, m.a.basic_ack.delivery_tag, m.a.basic_ack.multiple, false);
        return;
    case WRN_BASIC_NACK:
        settle(c, m.a.basic_nack.delivery_tag, m.a.basic_nack.multiple, true);
        return;
    case WRN_BASIC_RETURN:
        c->returned++;
        expect_content(c, false, 0);
        return;
    case WRN_BASIC_GET_OK:
        expect_content(c, false, 0);
        break;
    case WRN_BASIC_CANCEL:
        perf_conn_fail(r, c, "the broker cancelled consumer '%.*s'",
                       WRN_SLICE_ARG(m.a.basic_cancel.consumer_tag));
        return;
    case WRN_CONNECTION_BLOCKED:
        if (!c->blocked && c->role != PERF_IDLE)
            fprintf(stderr, "warren-perf: %s %d blocked by the broker: %.*s\n",
                    role_name(c->role), c->index, WRN_SLICE_ARG(m.a.connection_blocked.reason));
        c->blocked = true;
        return;
    case WRN_CONNECTION_UNBLOCKED:
        c->blocked = false;
        return;
    case WRN_CONNECTION_CLOSE:
        perf_conn_fail(r, c, "broker closed the connection: %u %.*s", m.a.connection_close.reply_code,
                       WRN_SLICE_ARG(m.a.connection_close.reply_text));
        memset(&reply, 0, sizeof(reply));
        reply.id = WRN_CONNECTION_CLOSE_OK;
        perf_conn_put_method(c, &reply);
        perf_conn_flush(r, c);
        return;
    case WRN_CHANNEL_CLOSE:
        perf_conn_fail(r, c, "broker closed the channel: %u %.*s", m.a.channel_close.reply_code,
                       WRN_SLICE_ARG(m.a.channel_close.reply_text));
        memset(&reply, 0, sizeof(reply));
        reply.id = WRN_CHANNEL_CLOSE_OK;
        perf_conn_put_method(c, &reply);
        perf_conn_flush(r, c);
        return;
    case WRN_CONNECTION_TUNE:
        c->tune_channel_max = m.a.connection_tune.channel_max;
        c->tune_frame_max = m.a.connection_tune.frame_max;
        break;
    case WRN_QUEUE_DECLARE_OK:
        c->reply_message_count = m.a.queue_declare_ok.message_count;
        break;
    default:
        break;
    }
    c->reply_id = m.id;
}

/*
 * Consume every whole frame in the read buffer. basic.deliver, content
 * headers and bodies are picked apart by hand (fixed offsets, no decode
 * call); anything else goes to conn_method. A partial frame is moved to the
 * front for the next read. now is when the bytes were read.
 */
static void
conn_parse(struct perf_run *r, struct perf_conn *c, uint64_t now)
{
    uint8_t *p = c->rbuf, *end = c->rbuf + c->rlen;

    if (c->rlen >= 4 && memcmp(c->rbuf, "AMQP", 4) == 0) {
        perf_conn_fail(r, c, "the broker refused the protocol header");
        return;
    }
    while (!c->dead && end - p >= WRN_FRAME_HEADER_SIZE) {
        uint32_t size = be32(p + 3);
        const uint8_t *pl = p + WRN_FRAME_HEADER_SIZE;

        if ((size_t)size + WRN_FRAME_OVERHEAD > c->rcap) {
            perf_conn_fail(r, c, "frame of %u bytes is over frame-max", size);
            return;
        }
        if ((size_t)(end - p) < (size_t)size + WRN_FRAME_OVERHEAD)
            break;
        if (pl[size] != WRN_FRAME_END) {
            perf_conn_fail(r, c, "frame without frame-end octet");
            return;
        }
        switch (p[0]) {
        case WRN_FRAME_METHOD:
            /* class 60, method 60: shortstr tag, u64 delivery tag, ... */
            if (size >= 15 && pl[0] == 0 && pl[1] == WRN_CLASS_BASIC && pl[2] == 0 && pl[3] == 60 &&
                (size_t)pl[4] + 14 <= size)
                expect_content(c, true, be64(pl + 5 + pl[4]));
            else
                conn_method(r, c, pl, size);
            break;
        case WRN_FRAME_HEADER:
            if (c->cstate != PERF_WANT_HEADER || size < 14) {
                perf_conn_fail(r, c, "unexpected content header");
                return;
            }
            c->body_left = be64(pl + 4);
            c->first_body = true;
            if (c->body_left == 0)
                content_done(r, c, now);
            else
                c->cstate = PERF_WANT_BODY;
            break;
        case WRN_FRAME_BODY:
            if (c->cstate != PERF_WANT_BODY || size > c->body_left) {
                perf_conn_fail(r, c, "unexpected content body");
                return;
            }
            if (c->first_body && size >= 8)
                memcpy(&c->cur_ts, pl, 8);
            c->first_body = false;
            c->body_left -= size;
            if (c->body_left == 0)
                content_done(r, c, now);
            break;
        case WRN_FRAME_HEARTBEAT:
            break;
        default:
            perf_conn_fail(r, c, "frame of unknown type %u", p[0]);
            return;
        }
        p += (size_t)size + WRN_FRAME_OVERHEAD;
    }
    c->rlen = (size_t)(end - p);
    if (c->rlen > 0 && p != c->rbuf)
        memmove(c->rbuf, p, c->rlen);
    if (!c->closing && !c->dead && c->ack_tag > c->acked_tag) {
        put_ack(c, 80, c->ack_tag, 1); /* multiple=true */
        c->acked_tag = c->ack_tag;
    }
}

/*
 * Read until the socket is empty (the loop's epoll is edge-triggered),
 * parsing after every read and flushing the acks that produced. A short
 * read means the socket was drained at that moment; anything arriving later
 * raises a new edge. Returns 0, or -1 if the connection is dead.
 */
int
perf_conn_read(struct perf_run *r, struct perf_conn *c)
{
    for (;;) {
        size_t room = c->rcap - c->rlen;
        ssize_t n;

        if (c->dead)
            return -1;
        if (room == 0) { /* cannot happen: rcap holds the largest frame */
            perf_conn_fail(r, c, "read buffer full");
            return -1;
        }
        n = read(c->fd, c->rbuf + c->rlen, room);
        if (n > 0) {
            uint64_t now = perf_now();
            r->last_io = now;
            c->rlen += (size_t)n;
            conn_parse(r, c, now);
            if (c->dead)
                return -1;
            if (c->woff < c->wlen && !c->wblocked && perf_conn_flush(r, c) < 0)
                return -1;
            if ((size_t)n < room)
                return 0;
            continue;
        }
        if (n == 0) {
            perf_conn_fail(r, c, "the broker closed the socket%s",
                           c->opened ? "" : " during the handshake (credentials? vhost?)");
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        perf_conn_fail(r, c, "read: %s", strerror(errno));
        return -1;
    }
}

/*
 * Wait until the reply method arrives (it may have already) and consume it.
 * Frames that arrive meanwhile are handled as usual. Returns 0, or -1 when
 * the deadline passes or the connection fails.
 */
int
perf_conn_wait(struct perf_run *r, struct perf_conn *c, uint32_t reply, uint64_t deadline)
{
    for (;;) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int ms;

        if (c->reply_id == reply) {
            c->reply_id = 0;
            return 0;
        }
        if (c->dead)
            return -1;
        ms = ms_until(deadline);
        if (ms == 0 || poll(&pfd, 1, ms) == 0) {
            perf_conn_fail(r, c, "no %s from the broker in time", wrn_method_name(reply));
            return -1;
        }
        if (perf_conn_read(r, c) < 0)
            return -1;
    }
}

/* Send m and, unless reply is 0, wait for it. Returns 0 or -1. */
int
perf_conn_rpc(struct perf_run *r, struct perf_conn *c, const struct wrn_method *m, uint32_t reply,
              uint64_t deadline)
{
    if (c->dead)
        return -1;
    perf_conn_put_method(c, m);
    if (perf_conn_flush_wait(r, c, deadline) < 0)
        return -1;
    return reply == 0 ? 0 : perf_conn_wait(r, c, reply, deadline);
}

/* A non-blocking connect, finished within the deadline. */
static int
conn_connect(struct perf_run *r, struct perf_conn *c, uint64_t deadline)
{
    const struct perf_opts *o = r->o;
    int one = 1, err = 0;
    socklen_t errlen = sizeof(err);

    c->fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        perf_conn_fail(r, c, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (const struct sockaddr *)&o->addr, o->addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS) {
        perf_conn_fail(r, c, "connect to %s:%d: %s", o->host, o->port, strerror(errno));
        return -1;
    }
    for (;;) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
        int ms = ms_until(deadline);
        int n = ms == 0 ? 0 : poll(&pfd, 1, ms);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            perf_conn_fail(r, c, "connect to %s:%d timed out", o->host, o->port);
            return -1;
        }
        break;
    }
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0 || err != 0) {
        perf_conn_fail(r, c, "connect to %s:%d: %s", o->host, o->port, strerror(err ? err : errno));
        return -1;
    }
    return 0;
}

/* connection.start-ok: our properties (confirms, nacks, blocked), PLAIN. */
static void
put_start_ok(struct perf_run *r, struct perf_conn *c)
{
    uint8_t props[512], resp[2 * PERF_NAME_MAX + 2];
    struct wrn_wbuf w;
    struct wrn_method m;
    size_t t, caps, ulen = strlen(r->o->user), plen = strlen(r->o->pass);

    wrn_wbuf_init(&w, props, sizeof(props));
    t = wrn_table_begin(&w);
    wrn_table_put_longstr(&w, "product", wrn_slice_str("warren-perf"));
    wrn_table_put_key(&w, "capabilities", 'F');
    caps = wrn_table_begin(&w);
    wrn_table_put_bool(&w, "publisher_confirms", true);
    wrn_table_put_bool(&w, "basic.nack", true);
    wrn_table_put_bool(&w, "consumer_cancel_notify", true);
    wrn_table_put_bool(&w, "connection.blocked", true);
    /* so a wrong password is a connection.close 403, not a bare EOF */
    wrn_table_put_bool(&w, "authentication_failure_close", true);
    wrn_table_end(&w, caps);
    wrn_table_end(&w, t);

    resp[0] = 0;
    memcpy(resp + 1, r->o->user, ulen);
    resp[1 + ulen] = 0;
    memcpy(resp + 2 + ulen, r->o->pass, plen);

    memset(&m, 0, sizeof(m));
    m.id = WRN_CONNECTION_START_OK;
    m.a.connection_start_ok.client_properties.p = props + 4;
    m.a.connection_start_ok.client_properties.len = (uint32_t)(w.len - 4);
    m.a.connection_start_ok.mechanism = wrn_slice_str("PLAIN");
    m.a.connection_start_ok.response.p = resp;
    m.a.connection_start_ok.response.len = (uint32_t)(ulen + plen + 2);
    m.a.connection_start_ok.locale = wrn_slice_str("en_US");
    perf_conn_put_method(c, &m);
}

/*
 * One step of the opening handshake, so a caller can run step k for many
 * connections before step k+1 and let the broker work on them together:
 *   0 connect, send the protocol header
 *   1 wait connection.start, send start-ok
 *   2 wait connection.tune, send tune-ok (heartbeats off) and connection.open
 *   3 wait connection.open-ok, send channel.open on channel 1
 *   4 wait channel.open-ok
 * Returns 0 or -1 (the error is recorded).
 */
int
perf_conn_handshake_step(struct perf_run *r, struct perf_conn *c, int step, uint64_t deadline)
{
    struct wrn_method m;

    memset(&m, 0, sizeof(m));
    switch (step) {
    case 0:
        if (conn_connect(r, c, deadline) < 0)
            return -1;
        wbuf_reserve(c, sizeof(wrn_protocol_header));
        memcpy(c->wbuf + c->wlen, wrn_protocol_header, sizeof(wrn_protocol_header));
        c->wlen += sizeof(wrn_protocol_header);
        return perf_conn_flush_wait(r, c, deadline);
    case 1:
        if (perf_conn_wait(r, c, WRN_CONNECTION_START, deadline) < 0)
            return -1;
        put_start_ok(r, c);
        return perf_conn_flush_wait(r, c, deadline);
    case 2:
        if (perf_conn_wait(r, c, WRN_CONNECTION_TUNE, deadline) < 0)
            return -1;
        if (c->tune_frame_max != 0 && c->tune_frame_max < c->frame_max)
            c->frame_max = c->tune_frame_max;
        m.id = WRN_CONNECTION_TUNE_OK;
        m.a.connection_tune_ok.channel_max = c->tune_channel_max ? c->tune_channel_max : 2047;
        m.a.connection_tune_ok.frame_max = c->frame_max;
        m.a.connection_tune_ok.heartbeat = 0;
        perf_conn_put_method(c, &m);
        memset(&m, 0, sizeof(m));
        m.id = WRN_CONNECTION_OPEN;
        m.a.connection_open.virtual_host = wrn_slice_str(r->o->vhost);
        perf_conn_put_method(c, &m);
        return perf_conn_flush_wait(r, c, deadline);
    case 3:
        if (perf_conn_wait(r, c, WRN_CONNECTION_OPEN_OK, deadline) < 0)
            return -1;
        c->opened = true;
        m.id = WRN_CHANNEL_OPEN;
        perf_conn_put_method(c, &m);
        return perf_conn_flush_wait(r, c, deadline);
    case 4:
        return perf_conn_wait(r, c, WRN_CHANNEL_OPEN_OK, deadline);
    }
    return -1;
}

/* The whole handshake for one connection. */
int
perf_conn_open(struct perf_run *r, struct perf_conn *c, uint64_t deadline)
{
    int step;

    for (step = 0; step < PERF_HANDSHAKE_STEPS; step++)
        if (perf_conn_handshake_step(r, c, step, deadline) < 0)
            return -1;
    return 0;
}

/*
 * Close connections politely: connection.close to all of them first, then
 * wait for each close-ok until the shared deadline. Deliveries still in
 * flight are read and dropped. Sockets are closed in any case.
 */
void
perf_conn_close_all(struct perf_run *r, struct perf_conn **cs, int n, uint64_t deadline)
{
    struct wrn_method m;
    int i;

    memset(&m, 0, sizeof(m));
    m.id = WRN_CONNECTION_CLOSE;
    m.a.connection_close.reply_code = WRN_REPLY_SUCCESS;
    m.a.connection_close.reply_text = wrn_slice_str("warren-perf done");
    for (i = 0; i < n; i++) {
        struct perf_conn *c = cs[i];
        if (c == NULL || c->fd < 0 || c->dead)
            continue;
        c->closing = true;
        c->reply_id = 0;
        perf_conn_put_method(c, &m);
        perf_conn_flush(r, c);
    }
    for (i = 0; i < n; i++) {
        struct perf_conn *c = cs[i];
        if (c == NULL || c->fd < 0)
            continue;
        if (!c->dead && perf_conn_flush_wait(r, c, deadline) == 0)
            perf_conn_wait(r, c, WRN_CONNECTION_CLOSE_OK, deadline);
        close(c->fd);
        c->fd = -1;
    }
}

/* Messages a producer has counted as published but not yet written. */
uint64_t
perf_conn_unsent(const struct perf_run *r, const struct perf_conn *c)
{
    if (c->role != PERF_PRODUCER || r->msg_len == 0)
        return 0;
    return (c->wlen - c->woff + r->msg_len - 1) / r->msg_len;
}
