/*
 * perf_run.c - the hot path of warren-perf: one pre-encoded message copied
 * into large batches (one timestamp read per batch), and an edge-triggered
 * epoll loop over every producer and consumer connection, with pacing,
 * confirm windows, progress lines and a deadline on everything.
 */
#include "perf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "content.h"
#include "frame.h"

#define PRIORITY_SENTINEL 0xA5

/*
 * Encode one message as it goes on the wire - basic.publish, the content
 * header and as many body frames as frame_max needs - into r->msg, and note
 * where the timestamp (first 8 body bytes) and the priority byte sit so the
 * fill loop can patch them. Returns 0 or -1.
 */
int
perf_message_build(struct perf_run *r, uint32_t frame_max)
{
    const struct perf_opts *o = r->o;
    uint32_t chunk = frame_max - WRN_FRAME_OVERHEAD;
    uint64_t nbody = o->size == 0 ? 0 : (o->size + (uint64_t)chunk - 1) / chunk;
    size_t cap = 2048 + (size_t)o->size + (size_t)nbody * WRN_FRAME_OVERHEAD;
    struct wrn_basic_properties bp;
    struct wrn_method m;
    uint8_t props[64], *buf;
    size_t off, body_done = 0;
    int n, plen;

    buf = calloc(1, cap);
    if (buf == NULL)
        return -1;
    memset(&m, 0, sizeof(m));
    m.id = WRN_BASIC_PUBLISH;
    m.a.basic_publish.exchange = wrn_slice_str(o->exchange);
    m.a.basic_publish.routing_key = wrn_slice_str(r->routing_key);
    n = wrn_frame_encode_method(1, &m, buf, cap);
    if (n < 0)
        goto out_free_buf;
    off = (size_t)n;

    memset(&bp, 0, sizeof(bp));
    if (o->persistent) {
        bp.flags |= WRN_BASIC_DELIVERY_MODE_FLAG;
        bp.delivery_mode = 2;
    }
    if (o->priorities > 0) {
        bp.flags |= WRN_BASIC_PRIORITY_FLAG;
        bp.priority = PRIORITY_SENTINEL;
    }
    plen = wrn_basic_properties_encode(&bp, props, sizeof(props));
    if (plen < 0)
        goto out_free_buf;
    n = wrn_content_header_encode(WRN_CLASS_BASIC, o->size,
                                  (struct wrn_slice){props, (uint32_t)plen}, buf + off + 7,
                                  cap - off - 8);
    if (n < 0)
        goto out_free_buf;
    wrn_frame_put_header(buf + off, WRN_FRAME_HEADER, 1, (uint32_t)n);
    buf[off + 7 + (size_t)n] = WRN_FRAME_END;
    if (o->priorities > 0) {
        /* class, weight, body size, flag word, then delivery-mode if set */
        r->prio_off = off + 7 + 12 + 2 + (o->persistent ? 1 : 0);
        if (buf[r->prio_off] != PRIORITY_SENTINEL)
            goto out_free_buf;
        buf[r->prio_off] = 0;
    }
    off += 8 + (size_t)n;

    r->ts_off = o->size >= 8 ? off + 7 : 0;
    while (body_done < o->size) {
        size_t len = o->size - body_done < chunk ? o->size - body_done : chunk;
        size_t i;
        wrn_frame_put_header(buf + off, WRN_FRAME_BODY, 1, (uint32_t)len);
        for (i = 0; i < len; i++)
            buf[off + 7 + i] = (uint8_t)('a' + (body_done + i) % 26);
        buf[off + 7 + len] = WRN_FRAME_END;
        off += len + 8;
        body_done += len;
    }
    r->msg = buf;
    r->msg_len = off;
    return 0;

out_free_buf:
    free(buf);
    return -1;
}

/* Add up every connection's counters. */
void
perf_totals(const struct perf_run *r, struct perf_totals *t)
{
    int i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < r->nconns; i++) {
        const struct perf_conn *c = r->conns[i];
        switch (c->role) {
        case PERF_PRODUCER:
            t->published += c->published - perf_conn_unsent(r, c);
            t->confirmed += c->confirmed;
            t->nacked += c->nacked;
            t->returned += c->returned;
            break;
        case PERF_CONSUMER:
            t->consumed += c->consumed;
            t->rejected += c->rejected;
            break;
        case PERF_DLQ_CONSUMER:
            t->dlq_consumed += c->consumed;
            break;
        default:
            break;
        }
    }
}

/*
 * How many messages producer c may add now: what fits in its batch buffer,
 * what is left of its count, what the confirm window allows and what the
 * rate allows (rate * elapsed, the first message due at once).
 */
static uint64_t
producer_budget(struct perf_run *r, struct perf_conn *c, uint64_t now)
{
    const struct perf_opts *o = r->o;
    uint64_t n = c->wcap / r->msg_len;

    if (c->target != 0)
        n = c->published >= c->target ? 0 : (c->target - c->published < n ? c->target - c->published : n);
    if (o->confirm != 0) {
        uint64_t inflight = c->published - c->settled_low;
        n = inflight >= o->confirm ? 0 : (o->confirm - inflight < n ? o->confirm - inflight : n);
    }
    if (o->rate > 0 && n > 0) {
        double due = o->rate * (double)(now - r->t0) / 1e9 + 1.0;
        uint64_t d = (uint64_t)due;
        n = c->published >= d ? 0 : (d - c->published < n ? d - c->published : n);
    }
    return n;
}

/*
 * Copy n messages into the empty batch buffer. One clock read stamps the
 * whole batch: filling takes a few microseconds, well under what the
 * broker adds, and it keeps clock_gettime off the per-message path.
 */
static void
producer_fill(struct perf_run *r, struct perf_conn *c, uint64_t n)
{
    const size_t len = r->msg_len;
    const uint8_t *msg = r->msg;
    uint8_t *w = c->wbuf;
    uint64_t ts = perf_now(), i;

    for (i = 0; i < n; i++, w += len) {
        memcpy(w, msg, len);
        if (r->ts_off != 0)
            memcpy(w + r->ts_off, &ts, 8);
        if (r->prio_off != 0) {
            w[r->prio_off] = (uint8_t)c->prio_next;
            if (++c->prio_next == (uint32_t)r->o->priorities)
                c->prio_next = 0;
        }
    }
    c->woff = 0;
    c->wlen = (size_t)n * len;
    c->published += n;
}

/*
 * Fill and write a few batches for producer c. Returns true if it could go
 * on at once (so the loop should not sleep), false when it waits for the
 * socket, the confirm window, the rate clock or is done.
 */
static bool
producer_pump(struct perf_run *r, struct perf_conn *c, uint64_t now)
{
    int rounds;

    for (rounds = 0; rounds < 4; rounds++) {
        if (c->dead || c->wblocked)
            return false;
        if (c->woff == c->wlen) {
            uint64_t n = producer_budget(r, c, now);
            if (n == 0)
                return false;
            producer_fill(r, c, n);
        }
        if (perf_conn_flush(r, c) < 0)
            return false;
    }
    return !c->wblocked;
}

static bool
producer_done(const struct perf_run *r, const struct perf_conn *c)
{
    if (c->target == 0 || c->published < c->target || c->woff < c->wlen)
        return false;
    return r->o->confirm == 0 || c->settled_low >= c->published;
}

/* Every producer finished and, if asked, every message consumed. */
static bool
phase_done(const struct perf_run *r, const struct perf_phase *ph, const struct perf_totals *t)
{
    bool have_main = false, have_dlq = false;
    int i;

    for (i = 0; i < r->nconns; i++) {
        const struct perf_conn *c = r->conns[i];
        if (c->role == PERF_PRODUCER && !producer_done(r, c))
            return false;
        if (c->role == PERF_CONSUMER && c->consuming)
            have_main = true;
        if (c->role == PERF_DLQ_CONSUMER && c->consuming)
            have_dlq = true;
    }
    if (!ph->wait_consumers)
        return true;
    if (have_main && t->consumed < t->published * (uint64_t)r->nqueues)
        return false;
    if (have_dlq && t->dlq_consumed < t->rejected)
        return false;
    return true;
}

/* Something is outstanding that only the broker can move along. */
static bool
waiting_on_broker(const struct perf_run *r, const struct perf_phase *ph)
{
    int i;

    if (ph->until_done)
        return true;
    for (i = 0; i < r->nconns; i++) {
        const struct perf_conn *c = r->conns[i];
        if (c->role != PERF_PRODUCER || !ph->producers)
            continue;
        if (c->wblocked)
            return true;
        if (r->o->confirm != 0 && c->published - c->settled_low >= r->o->confirm)
            return true;
    }
    return false;
}

static void
progress(struct perf_run *r, const struct perf_phase *ph, const struct perf_totals *t,
         const struct perf_totals *prev, double elapsed, double dt)
{
    char lat[96] = "", dlq[64] = "";

    if (r->o->broker_pid > 0) {
        struct perf_proc s;
        if (perf_proc_sample(r->o->broker_pid, &s) == 0 && s.rss_kb > r->rss_peak_kb)
            r->rss_peak_kb = s.rss_kb;
    }
    if (r->o->quiet)
        goto out_reset;
    if (r->interval.count > 0)
        snprintf(lat, sizeof(lat), "  latency p50 %.0f us p99 %.0f us",
                 (double)perf_hist_percentile(&r->interval, 0.50) / 1e3,
                 (double)perf_hist_percentile(&r->interval, 0.99) / 1e3);
    if (r->o->dlq[0] != '\0')
        snprintf(dlq, sizeof(dlq), "  dead-lettered %9.0f/s",
                 (double)(t->dlq_consumed - prev->dlq_consumed) / dt);
    fprintf(stderr, "warren-perf: %-7s %5.1fs  sent %9.0f/s  confirmed %9.0f/s  received %9.0f/s%s%s\n",
            ph->name, elapsed, (double)(t->published - prev->published) / dt,
            (double)(t->confirmed - prev->confirmed) / dt, (double)(t->consumed - prev->consumed) / dt,
            dlq, lat);
out_reset:
    memset(&r->interval, 0, sizeof(r->interval));
}

static int
add_fd(int ep, int fd, void *ptr, uint32_t events)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = ptr;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/*
 * A timer for rate-limited producers: one tick per message due, but no
 * more often than every 100 us - faster ticks cost the tool and the broker
 * a wakeup and a small read each, and buy nothing: each message is stamped
 * when it is written, not when it fell due. Returns the fd or -1.
 */
static int
pacing_timer(double rate)
{
    struct itimerspec its;
    double interval_ns = 1e9 / rate;
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

    if (fd < 0)
        return -1;
    if (interval_ns < 100000)
        interval_ns = 100000;
    if (interval_ns > 10e6)
        interval_ns = 10e6;
    memset(&its, 0, sizeof(its));
    its.it_interval.tv_nsec = (long)interval_ns;
    its.it_value.tv_nsec = (long)interval_ns;
    timerfd_settime(fd, 0, &its, NULL);
    return fd;
}

/*
 * Run one phase: producers (if the phase has them) publish, consumers
 * count, until the phase is done or its deadline. Returns 0, or -1 with
 * r->error set (a broker error, a stall, or the deadline of a phase that
 * had to finish).
 */
int
perf_loop(struct perf_run *r, const struct perf_phase *ph)
{
    const struct perf_opts *o = r->o;
    struct epoll_event evs[256];
    struct perf_totals t, prev;
    uint64_t now = perf_now(), next_tick = now + 1000000000u, last_tick = now;
    uint64_t stall_ns = (uint64_t)(o->stall * 1e9);
    int ep, tfd = -1, i, rc = -1;

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perf_fail(r, "epoll_create1: %s", strerror(errno));
        return -1;
    }
    for (i = 0; i < r->nconns; i++) {
        struct perf_conn *c = r->conns[i];
        if (c->fd >= 0 && !c->dead &&
            add_fd(ep, c->fd, c, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
            perf_fail(r, "epoll_ctl: %s", strerror(errno));
            goto out_close_ep;
        }
    }
    if (ph->producers && o->rate > 0) {
        tfd = pacing_timer(o->rate);
        if (tfd < 0 || add_fd(ep, tfd, NULL, EPOLLIN) < 0) {
            perf_fail(r, "timerfd: %s", strerror(errno));
            goto out_close_ep;
        }
    }
    r->last_io = now;
    perf_totals(r, &prev);
    t = prev;
    memset(&r->interval, 0, sizeof(r->interval));

    for (;;) {
        bool busy = false;
        int n, timeout;

        now = perf_now();
        if (ph->producers)
            for (i = 0; i < r->nconns; i++)
                if (r->conns[i]->role == PERF_PRODUCER && producer_pump(r, r->conns[i], now))
                    busy = true;
        if (r->error[0] != '\0')
            goto out_close_timer;
        if (now >= next_tick || ph->until_done)
            perf_totals(r, &t);
        if (ph->until_done && phase_done(r, ph, &t)) {
            rc = 0;
            break;
        }
        if (now >= ph->deadline) {
            if (ph->deadline_is_ok)
                rc = 0;
            else
                perf_fail(r, "%s did not finish within its time limit", ph->name);
            break;
        }
        if (now > r->last_io && now - r->last_io > stall_ns && waiting_on_broker(r, ph)) {
            perf_fail(r, "%s: no traffic for %.1f s while waiting on the broker", ph->name,
                      o->stall);
            break;
        }
        if (now >= next_tick) {
            progress(r, ph, &t, &prev, (double)(now - r->t0) / 1e9,
                     (double)(now - last_tick) / 1e9);
            prev = t;
            last_tick = now;
            next_tick = now + 1000000000u;
        }

        if (busy) {
            timeout = 0;
        } else {
            uint64_t until = next_tick < ph->deadline ? next_tick : ph->deadline;
            timeout = until > now ? (int)((until - now + 999999) / 1000000) : 0;
            if (timeout > 100)
                timeout = 100;
        }
        n = epoll_wait(ep, evs, 256, timeout);
        if (n < 0 && errno != EINTR) {
            perf_fail(r, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (i = 0; i < n; i++) {
            struct perf_conn *c = evs[i].data.ptr;
            if (c == NULL) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
                    perf_fail(r, "timerfd read: %s", strerror(errno));
                continue;
            }
            if (evs[i].events & EPOLLOUT) {
                c->wblocked = false;
                if (c->woff < c->wlen)
                    perf_conn_flush(r, c);
            }
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                perf_conn_read(r, c);
        }
        if (r->error[0] != '\0')
            break;
    }

out_close_timer:
    if (tfd >= 0)
        close(tfd);
out_close_ep:
    close(ep);
    return r->error[0] != '\0' ? -1 : rc;
}
