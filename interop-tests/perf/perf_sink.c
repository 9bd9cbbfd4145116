/*
 * perf_sink.c - `warren-perf --sink PORT`: a stand-in broker that does the
 * AMQP handshake, answers every synchronous method with its -ok, counts and
 * drops publishes (acking them at once in confirm mode) and floods each
 * consumer with pre-encoded deliveries. It does no routing or queueing, so
 * a run against it measures warren-perf's own ceiling.
 */
#include "perf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "content.h"
#include "frame.h"
#include "table.h"

#define SINK_RBUF (PERF_FRAME_MAX + 65536u)
#define SINK_WBUF (128u * 1024u)

struct sink_conn {
    int fd;
    bool got_header, confirm, closing, dead, wblocked;
    uint16_t consume_channel; /* 0: no consumer */
    uint8_t *rbuf;            /* owned */
    size_t rlen;
    uint8_t *wbuf; /* owned */
    size_t woff, wlen, wcap;
    uint64_t published, acked, delivered;
    uint8_t *dmsg; /* owned: one pre-encoded delivery */
    size_t dlen, tag_off, ts_off;
    struct sink_conn *next;
};

struct sink {
    const struct perf_opts *o;
    struct sink_conn *conns;
    uint64_t published, delivered;
    int nconns;
};

static volatile sig_atomic_t sink_stop;

static void
on_signal(int sig)
{
    (void)sig;
    sink_stop = 1;
}

static void
sink_reserve(struct sink_conn *c, size_t n)
{
    if (c->wcap - c->wlen >= n)
        return;
    if (c->woff > 0) {
        memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
        c->wlen -= c->woff;
        c->woff = 0;
    }
    while (c->wcap - c->wlen < n) {
        uint8_t *p = realloc(c->wbuf, c->wcap * 2);
        if (p == NULL)
            abort();
        c->wbuf = p;
        c->wcap *= 2;
    }
}

static void
sink_put(struct sink_conn *c, uint16_t ch, const struct wrn_method *m)
{
    int n;

    sink_reserve(c, 1024);
    n = wrn_frame_encode_method(ch, m, c->wbuf + c->wlen, c->wcap - c->wlen);
    if (n > 0)
        c->wlen += (size_t)n;
}

static void
sink_flush(struct sink_conn *c)
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
            return;
        }
        c->dead = true;
        return;
    }
    c->woff = c->wlen = 0;
    if (c->closing)
        c->dead = true;
}

static void
send_start(struct sink_conn *c)
{
    uint8_t props[256];
    struct wrn_wbuf w;
    struct wrn_method m;
    size_t t, caps;

    wrn_wbuf_init(&w, props, sizeof(props));
    t = wrn_table_begin(&w);
    wrn_table_put_longstr(&w, "product", wrn_slice_str("warren-perf sink"));
    wrn_table_put_key(&w, "capabilities", 'F');
    caps = wrn_table_begin(&w);
    wrn_table_put_bool(&w, "publisher_confirms", true);
    wrn_table_put_bool(&w, "basic.nack", true);
    wrn_table_end(&w, caps);
    wrn_table_end(&w, t);
    memset(&m, 0, sizeof(m));
    m.id = WRN_CONNECTION_START;
    m.a.connection_start.version_major = 0;
    m.a.connection_start.version_minor = 9;
    m.a.connection_start.server_properties = (struct wrn_slice){props + 4, (uint32_t)(w.len - 4)};
    m.a.connection_start.mechanisms = wrn_slice_str("PLAIN AMQPLAIN");
    m.a.connection_start.locales = wrn_slice_str("en_US");
    sink_put(c, 0, &m);
}

/*
 * Pre-encode one delivery for consumer tag on channel ch: basic.deliver,
 * a content header without properties, and the body frames. The fill loop
 * patches the delivery tag and the timestamp.
 */
static int
build_delivery(struct sink *s, struct sink_conn *c, uint16_t ch, struct wrn_slice tag)
{
    uint32_t size = s->o->size, chunk = PERF_FRAME_MAX - WRN_FRAME_OVERHEAD, done = 0;
    size_t cap = 1024 + (size_t)size + ((size_t)size / chunk + 1) * WRN_FRAME_OVERHEAD, off;
    uint8_t props[2] = {0, 0};
    struct wrn_method m;
    int n;

    free(c->dmsg);
    c->dmsg = calloc(1, cap);
    if (c->dmsg == NULL)
        return -1;
    memset(&m, 0, sizeof(m));
    m.id = WRN_BASIC_DELIVER;
    m.a.basic_deliver.consumer_tag = tag;
    m.a.basic_deliver.delivery_tag = 1;
    m.a.basic_deliver.routing_key = wrn_slice_str("sink");
    n = wrn_frame_encode_method(ch, &m, c->dmsg, cap);
    if (n < 0)
        return -1;
    c->tag_off = 7 + 4 + 1 + tag.len;
    off = (size_t)n;
    n = wrn_content_header_encode(WRN_CLASS_BASIC, size, (struct wrn_slice){props, 2},
                                  c->dmsg + off + 7, cap - off - 8);
    if (n < 0)
        return -1;
    wrn_frame_put_header(c->dmsg + off, WRN_FRAME_HEADER, ch, (uint32_t)n);
    c->dmsg[off + 7 + (size_t)n] = WRN_FRAME_END;
    off += 8 + (size_t)n;
    c->ts_off = size >= 8 ? off + 7 : 0;
    while (done < size) {
        uint32_t len = size - done < chunk ? size - done : chunk;
        wrn_frame_put_header(c->dmsg + off, WRN_FRAME_BODY, ch, len);
        memset(c->dmsg + off + 7, 's', len);
        c->dmsg[off + 7 + len] = WRN_FRAME_END;
        off += 8 + len;
        done += len;
    }
    c->dlen = off;
    c->consume_channel = ch;
    return 0;
}

/* Answer one method; publishes never get here (the parser counts them). */
static void
sink_method(struct sink *s, struct sink_conn *c, uint16_t ch, const uint8_t *p, uint32_t len)
{
    struct wrn_method m, out;
    char tag[32];

    if (wrn_method_decode(p, len, &m) != WRN_OK) {
        c->dead = true;
        return;
    }
    memset(&out, 0, sizeof(out));
    switch (m.id) {
    case WRN_CONNECTION_START_OK:
        out.id = WRN_CONNECTION_TUNE;
        out.a.connection_tune.channel_max = 2047;
        out.a.connection_tune.frame_max = PERF_FRAME_MAX;
        out.a.connection_tune.heartbeat = 0;
        break;
    case WRN_CONNECTION_OPEN:
        out.id = WRN_CONNECTION_OPEN_OK;
        break;
    case WRN_CONNECTION_CLOSE:
        out.id = WRN_CONNECTION_CLOSE_OK;
        c->closing = true;
        break;
    case WRN_CHANNEL_OPEN:
        out.id = WRN_CHANNEL_OPEN_OK;
        break;
    case WRN_CHANNEL_CLOSE:
        out.id = WRN_CHANNEL_CLOSE_OK;
        if (ch == c->consume_channel)
            c->consume_channel = 0;
        break;
    case WRN_EXCHANGE_DECLARE:
        out.id = m.a.exchange_declare.nowait ? 0 : WRN_EXCHANGE_DECLARE_OK;
        break;
    case WRN_EXCHANGE_DELETE:
        out.id = m.a.exchange_delete.nowait ? 0 : WRN_EXCHANGE_DELETE_OK;
        break;
    case WRN_QUEUE_DECLARE:
        out.id = m.a.queue_declare.nowait ? 0 : WRN_QUEUE_DECLARE_OK;
        out.a.queue_declare_ok.queue =
            m.a.queue_declare.queue.len ? m.a.queue_declare.queue : wrn_slice_str("sink.q");
        break;
    case WRN_QUEUE_BIND:
        out.id = m.a.queue_bind.nowait ? 0 : WRN_QUEUE_BIND_OK;
        break;
    case WRN_QUEUE_DELETE:
        out.id = m.a.queue_delete.nowait ? 0 : WRN_QUEUE_DELETE_OK;
        break;
    case WRN_QUEUE_PURGE:
        out.id = m.a.queue_purge.nowait ? 0 : WRN_QUEUE_PURGE_OK;
        break;
    case WRN_BASIC_QOS:
        out.id = WRN_BASIC_QOS_OK;
        break;
    case WRN_CONFIRM_SELECT:
        c->confirm = true;
        out.id = m.a.confirm_select.nowait ? 0 : WRN_CONFIRM_SELECT_OK;
        break;
    case WRN_BASIC_CONSUME:
        snprintf(tag, sizeof(tag), "sink-%d", s->nconns);
        out.a.basic_consume_ok.consumer_tag =
            m.a.basic_consume.consumer_tag.len ? m.a.basic_consume.consumer_tag : wrn_slice_str(tag);
        out.id = m.a.basic_consume.nowait ? 0 : WRN_BASIC_CONSUME_OK;
        if (build_delivery(s, c, ch, out.a.basic_consume_ok.consumer_tag) < 0)
            c->dead = true;
        break;
    case WRN_BASIC_CANCEL:
        c->consume_channel = 0;
        out.id = m.a.basic_cancel.nowait ? 0 : WRN_BASIC_CANCEL_OK;
        out.a.basic_cancel_ok.consumer_tag = m.a.basic_cancel.consumer_tag;
        break;
    default: /* acks, rejects, tune-ok, ...: nothing to say */
        break;
    }
    if (out.id != 0)
        sink_put(c, WRN_METHOD_CLASS(out.id) == WRN_CLASS_CONNECTION ? 0 : ch, &out);
}

static void
sink_parse(struct sink *s, struct sink_conn *c)
{
    uint8_t *p = c->rbuf, *end = c->rbuf + c->rlen;

    if (!c->got_header) {
        int rc = wrn_protocol_header_check(p, c->rlen);
        if (rc == WRN_AGAIN)
            return;
        if (rc != WRN_OK) {
            c->dead = true;
            return;
        }
        c->got_header = true;
        p += 8;
        send_start(c);
    }
    while (!c->dead && end - p >= WRN_FRAME_HEADER_SIZE) {
        uint16_t ch = (uint16_t)(p[1] << 8 | p[2]);
        uint32_t size = (uint32_t)p[3] << 24 | (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 | p[6];
        const uint8_t *pl = p + WRN_FRAME_HEADER_SIZE;

        if ((size_t)size + WRN_FRAME_OVERHEAD > SINK_RBUF) {
            c->dead = true;
            return;
        }
        if ((size_t)(end - p) < (size_t)size + WRN_FRAME_OVERHEAD)
            break;
        if (p[0] == WRN_FRAME_METHOD) {
            if (size >= 4 && pl[0] == 0 && pl[1] == WRN_CLASS_BASIC && pl[2] == 0 && pl[3] == 40)
                c->published++;
            else
                sink_method(s, c, ch, pl, size);
        }
        p += (size_t)size + WRN_FRAME_OVERHEAD;
    }
    c->rlen = (size_t)(end - p);
    if (c->rlen > 0 && p != c->rbuf)
        memmove(c->rbuf, p, c->rlen);
    if (c->confirm && c->published > c->acked) {
        struct wrn_method m;
        memset(&m, 0, sizeof(m));
        m.id = WRN_BASIC_ACK;
        m.a.basic_ack.delivery_tag = c->published;
        m.a.basic_ack.multiple = true;
        sink_put(c, 1, &m);
        c->acked = c->published;
    }
}

static void
sink_read(struct sink *s, struct sink_conn *c)
{
    for (;;) {
        size_t room = SINK_RBUF - c->rlen;
        ssize_t n = read(c->fd, c->rbuf + c->rlen, room);
        if (n > 0) {
            uint64_t before = c->published;
            c->rlen += (size_t)n;
            sink_parse(s, c);
            s->published += c->published - before;
            if (c->dead)
                return;
            if ((size_t)n < room)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        c->dead = true;
        return;
    }
    if (c->woff < c->wlen && !c->wblocked)
        sink_flush(c);
}

/* Fill the output with deliveries (one timestamp per batch) and write. */
static bool
sink_deliver(struct sink *s, struct sink_conn *c)
{
    uint64_t ts, i, n;
    uint8_t *w;

    if (c->woff < c->wlen) {
        sink_flush(c);
        return !c->wblocked && !c->dead;
    }
    n = c->wcap / c->dlen;
    if (n == 0)
        n = 1;
    sink_reserve(c, n * c->dlen);
    ts = perf_now();
    w = c->wbuf;
    for (i = 0; i < n; i++, w += c->dlen) {
        uint64_t tag = ++c->delivered;
        int k;
        memcpy(w, c->dmsg, c->dlen);
        for (k = 0; k < 8; k++)
            w[c->tag_off + (size_t)k] = (uint8_t)(tag >> (56 - 8 * k));
        if (c->ts_off)
            memcpy(w + c->ts_off, &ts, 8);
    }
    c->wlen = n * c->dlen;
    s->delivered += n;
    sink_flush(c);
    return !c->wblocked && !c->dead;
}

static void
sink_conn_free(struct sink_conn *c)
{
    close(c->fd);
    free(c->rbuf);
    free(c->wbuf);
    free(c->dmsg);
    free(c);
}

/* Listen on loopback; port 0 picks a free one. Returns the fd and sets *bound. */
static int
sink_listen(int port, int *bound)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        close(fd);
        return -1;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

static void
sink_accept(struct sink *s, int ep, int lfd)
{
    for (;;) {
        struct epoll_event ev;
        struct sink_conn *c;
        int one = 1, fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0)
            return;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c = calloc(1, sizeof(*c));
        if (c == NULL || (c->rbuf = malloc(SINK_RBUF)) == NULL ||
            (c->wbuf = malloc(SINK_WBUF)) == NULL) {
            if (c != NULL) {
                free(c->rbuf);
                free(c);
            }
            close(fd);
            continue;
        }
        c->fd = fd;
        c->wcap = SINK_WBUF;
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            sink_conn_free(c);
            continue;
        }
        c->next = s->conns;
        s->conns = c;
        s->nconns++;
    }
}

/*
 * Serve on 127.0.0.1:o->sink_port until SIGINT/SIGTERM or, with -z, for
 * that many seconds. With --queue-args or anything else it has no opinion:
 * every declare succeeds. Prints one line a second with what it took and gave.
 */
int
perf_sink_main(const struct perf_opts *o)
{
    struct sink s = {.o = o};
    struct epoll_event evs[256], lev;
    uint64_t start = perf_now(), next_tick = start + 1000000000u, prev_pub = 0, prev_del = 0;
    uint64_t end = o->seconds > 0 ? start + (uint64_t)(o->seconds * 1e9) : UINT64_MAX;
    int ep, lfd, i, port = 0;

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    lfd = sink_listen(o->sink_port, &port);
    if (lfd < 0) {
        fprintf(stderr, "warren-perf: sink cannot listen on 127.0.0.1:%d: %s\n", o->sink_port,
                strerror(errno));
        return 1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    memset(&lev, 0, sizeof(lev));
    lev.events = EPOLLIN | EPOLLET;
    lev.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
    /* A script that asked for port 0 reads the port from this line. */
    fprintf(stderr, "warren-perf: sink listening on 127.0.0.1:%d\n", port);

    while (!sink_stop) {
        struct sink_conn **pp;
        uint64_t now = perf_now();
        bool busy = false;
        int n;

        if (now >= end)
            break;
        for (struct sink_conn *c = s.conns; c != NULL; c = c->next)
            if (c->consume_channel != 0 && !c->wblocked && !c->dead && !c->closing &&
                sink_deliver(&s, c))
                busy = true;
        if (now >= next_tick) {
            if (!o->quiet)
                fprintf(stderr, "warren-perf: sink  %d connections  took %.0f publishes/s  gave %.0f "
                                "deliveries/s\n",
                        s.nconns, (double)(s.published - prev_pub), (double)(s.delivered - prev_del));
            prev_pub = s.published;
            prev_del = s.delivered;
            next_tick = now + 1000000000u;
        }
        n = epoll_wait(ep, evs, 256, busy ? 0 : 100);
        for (i = 0; i < n; i++) {
            struct sink_conn *c = evs[i].data.ptr;
            if (c == NULL) {
                sink_accept(&s, ep, lfd);
                continue;
            }
            if (evs[i].events & EPOLLOUT) {
                c->wblocked = false;
                sink_flush(c);
            }
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                sink_read(&s, c);
        }
        for (pp = &s.conns; *pp != NULL;) {
            struct sink_conn *c = *pp;
            if (c->dead) {
                *pp = c->next;
                sink_conn_free(c);
                s.nconns--;
            } else {
                pp = &c->next;
            }
        }
    }
    while (s.conns != NULL) {
        struct sink_conn *c = s.conns;
        s.conns = c->next;
        sink_conn_free(c);
    }
    close(ep);
    close(lfd);
    return 0;
}
