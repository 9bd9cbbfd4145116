/*
 * connection.c - AMQP connections: the handshake, frame demultiplexing,
 * heartbeats, output and exceptions. Bytes come in through a libevent
 * bufferevent; each complete frame is parsed where it lies in the input
 * buffer and handed on, and replies are queued on the output buffer, which
 * libevent writes once per loop turn.
 */
#include "connection.h"

#include "access.h"
#include "alloc.h"
#include "auth.h"
#include "channel.h"
#include "content.h"
#include "frame.h"
#include "log.h"
#include "memory.h"
#include "message.h"
#include "queue.h"
#include "server.h"
#include "table.h"
#include "tls.h"
#include "vhost.h"
#include "dict.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Delivery to a connection pauses above HIGH bytes of unsent output and resumes below LOW. */
#define OUTPUT_HIGH_WATERMARK (4u << 20)
#define OUTPUT_LOW_WATERMARK (1u << 20)
/* Above this much unsent output the peer is not read either: whatever it sends
 * (mandatory publishes that come back, say) would only add to the pile. */
#define OUTPUT_READ_LIMIT (16u << 20)
#define HANDSHAKE_TIMEOUT_SEC 10
#define CLOSE_OK_TIMEOUT_SEC 5
/* Bodies at least this large are attached by reference instead of copied. */
#define BODY_REFERENCE_MIN 4096

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void conn_free_cb(evutil_socket_t fd, short what, void *arg);
static void conn_kill(struct wrn_conn *c, bool flush);
static void conn_linger(struct wrn_conn *c);

/* ---- setup ---------------------------------------------------------------- */

static bool
addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

static void
addr_format(const struct sockaddr *sa, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, len, "%s:%d", host, port);
}

static void
timer_arm(struct wrn_conn *c, uint32_t msec)
{
    struct timeval tv = {msec / 1000, (msec % 1000) * 1000};
    event_del(c->timer);
    event_add(c->timer, &tv);
}

/*
 * Events of a TLS connection. When the TLS handshake completes, the AMQP
 * handshake gets its own full timeout, as after a plain accept; when it
 * fails, say why (a wrong CA, an old protocol version) before the usual
 * teardown.
 */
static void
conn_tls_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct wrn_conn *c = arg;
    char why[256];

    if (what & BEV_EVENT_CONNECTED) {
        if (c->state == WRN_CONN_WAIT_HEADER)
            timer_arm(c, HANDSHAKE_TIMEOUT_SEC * 1000);
        wrn_log(WRN_LOG_DEBUG, c->who, "TLS handshake done: %s",
                wrn_tls_describe(bev, why, sizeof(why)));
        return;
    }
    if ((what & BEV_EVENT_ERROR) && c->state == WRN_CONN_WAIT_HEADER)
        wrn_log(WRN_LOG_INFO, c->who, "TLS handshake failed: %s",
                wrn_tls_describe(bev, why, sizeof(why)));
    conn_event_cb(bev, what, arg);
}

void
wrn_conn_accept(int fd, const struct sockaddr *peer, int peerlen, struct wrn_tls *tls)
{
    struct wrn_conn *c = wrn_xcalloc(1, sizeof(*c));
    struct sockaddr_storage local;
    socklen_t locallen = sizeof(local);
    char p[96], l[96] = "?";
    int one = 1;

    (void)peerlen;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->loopback = addr_is_loopback(peer);
    addr_format(peer, p, sizeof(p));
    if (getsockname(fd, (struct sockaddr *)&local, &locallen) == 0)
        addr_format((struct sockaddr *)&local, l, sizeof(l));
    snprintf(c->who, sizeof(c->who), "%s -> %s", p, l);

    c->state = WRN_CONN_WAIT_HEADER;
    c->frame_max = WRN_FRAME_MIN_SIZE; /* until tune-ok (spec README) */
    c->channel_max = server.cfg.channel_max;
    if (tls != NULL) {
        c->tls = true;
        c->bev = wrn_tls_bufferevent(tls, server.base, fd,
                                     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (c->bev == NULL) {
            wrn_log(WRN_LOG_ERROR, c->who, "cannot set up TLS, closing");
            close(fd);
            wrn_free(c);
            return;
        }
        bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_tls_event_cb, c);
    } else {
        c->bev = bufferevent_socket_new(server.base, fd,
                                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    }
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->timer = event_new(server.base, -1, EV_PERSIST, conn_timer_cb, c);
    c->free_ev = event_new(server.base, -1, 0, conn_free_cb, c);
    /* A TLS client first has ssl_handshake_timeout to finish TLS (conn_tls_event_cb) */
    timer_arm(c, tls != NULL ? server.cfg.ssl_handshake_timeout_ms : HANDSHAKE_TIMEOUT_SEC * 1000);

    c->next = server.conns;
    if (server.conns)
        server.conns->prev = c;
    server.conns = c;
    server.nconns++;
    wrn_log(WRN_LOG_DEBUG, c->who, "accepted %sconnection", c->tls ? "TLS " : "");
}

/* ---- output --------------------------------------------------------------- */

static void
note_output(struct wrn_conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);

    c->sent_since_tick = true;
    if (!c->delivery_paused && evbuffer_get_length(out) > OUTPUT_HIGH_WATERMARK) {
        c->delivery_paused = true;
        bufferevent_setwatermark(c->bev, EV_WRITE, OUTPUT_LOW_WATERMARK, 0);
    }
    if (!c->input_paused && evbuffer_get_length(out) > OUTPUT_READ_LIMIT) {
        c->input_paused = true;
        bufferevent_disable(c->bev, EV_READ);
    }
}

void
wrn_conn_send_method(struct wrn_conn *c, uint16_t channel, const struct wrn_method *m)
{
    uint8_t buf[8192];
    int n;

    if (c->state == WRN_CONN_DEAD)
        return;
    n = wrn_frame_encode_method(channel, m, buf, sizeof(buf));
    WRN_ASSERT(n > 0);
    evbuffer_add(bufferevent_get_output(c->bev), buf, (size_t)n);
    note_output(c);
}

static void
body_unref(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    wrn_msg_unref(arg);
}

void
wrn_conn_send_content(struct wrn_conn *c, uint16_t channel, const struct wrn_method *m,
                      struct wrn_msg *msg)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    uint8_t buf[8192], end = WRN_FRAME_END;
    struct wrn_wbuf w;
    uint64_t chunk, off;
    int n;

    if (c->state == WRN_CONN_DEAD)
        return;
    WRN_ASSERT(!wrn_msg_paged(msg));
    n = wrn_frame_encode_method(channel, m, buf, sizeof(buf));
    WRN_ASSERT(n > 0);
    evbuffer_add(out, buf, (size_t)n);

    /* content header: class, weight, body size, then the properties block exactly as the
     * publisher sent it */
    wrn_frame_put_header(buf, WRN_FRAME_HEADER, channel, 12 + msg->props_len);
    wrn_wbuf_init(&w, buf, sizeof(buf));
    w.len = WRN_FRAME_HEADER_SIZE;
    wrn_put_u16(&w, WRN_CLASS_BASIC);
    wrn_put_u16(&w, 0);
    wrn_put_u64(&w, msg->body_size);
    evbuffer_add(out, buf, w.len);
    evbuffer_add(out, msg->props, msg->props_len);
    evbuffer_add(out, &end, 1);

    chunk = c->frame_max ? c->frame_max - WRN_FRAME_OVERHEAD : msg->body_size;
    for (off = 0; off < msg->body_size; off += chunk) {
        uint64_t len = msg->body_size - off < chunk ? msg->body_size - off : chunk;
        wrn_frame_put_header(buf, WRN_FRAME_BODY, channel, (uint32_t)len);
        evbuffer_add(out, buf, 7);
        if (len >= BODY_REFERENCE_MIN) {
            wrn_msg_ref(msg);
            evbuffer_add_reference(out, msg->body + off, len, body_unref, msg);
        } else {
            evbuffer_add(out, msg->body + off, len);
        }
        evbuffer_add(out, &end, 1);
    }
    note_output(c);
}

bool
wrn_conn_writable(const struct wrn_conn *c)
{
    return c->state == WRN_CONN_OPEN && !c->delivery_paused;
}

/* ---- exceptions ----------------------------------------------------------- */

int
wrn_conn_raise(struct wrn_conn *c, uint16_t channel, uint16_t code, const char *fmt, ...)
{
    struct wrn_exception *e = &c->exc;
    const char *name = wrn_reply_name(code);
    va_list ap;
    int n;

    if (e->code != 0)
        return WRN_EAMQP; /* the first exception wins */
    e->code = code;
    e->channel = channel;
    e->method_id = c->cur_method;
    n = snprintf(e->text, sizeof(e->text), "%s - ", name ? name : "ERROR");
    va_start(ap, fmt);
    vsnprintf(e->text + n, sizeof(e->text) - (size_t)n, fmt, ap);
    va_end(ap);
    return WRN_EAMQP;
}

static void
send_close(struct wrn_conn *c, uint16_t channel, uint32_t mid, uint16_t code, const char *text,
           uint32_t failed_method)
{
    struct wrn_method m = {.id = mid};
    /* connection.close and channel.close have the same arguments */
    m.a.connection_close.reply_code = code;
    m.a.connection_close.reply_text = wrn_slice_str(text);
    m.a.connection_close.class_id = WRN_METHOD_CLASS(failed_method);
    m.a.connection_close.method_id = WRN_METHOD_INDEX(failed_method);
    wrn_conn_send_method(c, channel, &m);
}

static void
free_channels(struct wrn_conn *c)
{
    for (uint32_t i = 0; i < c->nchannel_slots; i++) {
        if (c->channels[i] != NULL) {
            wrn_channel_free(c->channels[i]);
            c->channels[i] = NULL;
        }
    }
    c->nchannels = 0;
}

/*
 * Start a server-initiated connection.close: tell the client, let go of every
 * channel (unacked messages go back to their queues) and wait for close-ok.
 */
void
wrn_conn_close(struct wrn_conn *c, uint16_t code, const char *text)
{
    if (c->state == WRN_CONN_CLOSING || c->state == WRN_CONN_DEAD)
        return;
    wrn_log(code == WRN_REPLY_SUCCESS ? WRN_LOG_INFO : WRN_LOG_WARNING, c->who,
            "closing connection: %s", text);
    send_close(c, 0, WRN_CONNECTION_CLOSE, code, text, c->exc.code ? c->exc.method_id : 0);
    free_channels(c);
    c->state = WRN_CONN_CLOSING;
    timer_arm(c, CLOSE_OK_TIMEOUT_SEC * 1000);
}

static void
apply_exception(struct wrn_conn *c)
{
    struct wrn_exception *e = &c->exc;
    struct wrn_channel *ch;

    if (e->code == 0)
        return;
    ch = e->channel < c->nchannel_slots ? c->channels[e->channel] : NULL;
    if (c->state == WRN_CONN_WAIT_START_OK && !c->cap_auth_failure_close) {
        /* a client that did not ask for authentication_failure_close just loses the socket */
        wrn_log(WRN_LOG_WARNING, c->who, "login refused: %s", e->text);
        conn_kill(c, false);
    } else if (wrn_reply_is_hard(e->code) || e->channel == 0 || ch == NULL) {
        wrn_conn_close(c, e->code, e->text);
    } else {
        wrn_log(WRN_LOG_INFO, c->who, "channel %u error: %s", e->channel, e->text);
        send_close(c, e->channel, WRN_CHANNEL_CLOSE, e->code, e->text, e->method_id);
        wrn_channel_shutdown(ch);
    }
    e->code = 0;
}

/* ---- handshake ------------------------------------------------------------ */

/*
 * The identity of the client's verified TLS certificate (its CN, or its
 * whole subject with ssl_cert_login_from = distinguished_name), or NULL.
 * Read once: the handshake is over by the time the protocol header came.
 */
static const char *
conn_cert_name(struct wrn_conn *c)
{
    if (!c->tls)
        return NULL;
    if (!c->cert_checked) {
        c->cert_checked = true;
        if (!wrn_tls_peer_name(c->bev, server.cfg.ssl_login_from_dn, c->cert_name,
                               sizeof(c->cert_name)))
            c->cert_name[0] = '\0';
    }
    return c->cert_name[0] != '\0' ? c->cert_name : NULL;
}

static void
send_start(struct wrn_conn *c)
{
    struct wrn_method m = {.id = WRN_CONNECTION_START};
    char mechanisms[160];
    m.a.connection_start.version_major = 0;
    m.a.connection_start.version_minor = 9;
    m.a.connection_start.server_properties.p = (const uint8_t *)server.server_properties;
    m.a.connection_start.server_properties.len = server.server_properties_len;
    wrn_auth_mechanisms(conn_cert_name(c), mechanisms, sizeof(mechanisms));
    m.a.connection_start.mechanisms = wrn_slice_str(mechanisms);
    m.a.connection_start.locales = wrn_slice_str("en_US");
    wrn_conn_send_method(c, 0, &m);
    c->state = WRN_CONN_WAIT_START_OK;
}

static void
read_client_capabilities(struct wrn_conn *c, struct wrn_slice props)
{
    struct wrn_field caps, v;

    if (!wrn_table_get(props, "capabilities", &caps) || caps.type != 'F')
        return;
    if (wrn_table_get(caps.v.s, "consumer_cancel_notify", &v) && v.type == 't')
        c->cap_consumer_cancel_notify = v.v.b;
    if (wrn_table_get(caps.v.s, "authentication_failure_close", &v) && v.type == 't')
        c->cap_auth_failure_close = v.v.b;
    if (wrn_table_get(caps.v.s, "connection.blocked", &v) && v.type == 't')
        c->cap_connection_blocked = v.v.b;
}

static int
handle_start_ok(struct wrn_conn *c, const struct wrn_connection_start_ok *m)
{
    struct wrn_method tune = {.id = WRN_CONNECTION_TUNE};
    struct wrn_slice who = {NULL, 0};
    enum wrn_auth_result r;

    read_client_capabilities(c, m->client_properties);
    r = wrn_auth_login(m->mechanism, m->response, conn_cert_name(c), c->loopback, &c->account,
                       &who);
    if (r != WRN_AUTH_OK)
        c->cur_method = 0; /* RabbitMQ names no method in a login refusal */
    switch (r) {
    case WRN_AUTH_OK:
        snprintf(c->user, sizeof(c->user), "%s", c->account->name);
        break;
    case WRN_AUTH_BAD_MECHANISM:
        return wrn_conn_raise(c, 0, WRN_ACCESS_REFUSED, "unsupported authentication mechanism '%.*s'",
                              WRN_SLICE_ARG(m->mechanism));
    case WRN_AUTH_MALFORMED:
        return wrn_conn_raise(c, 0, WRN_ACCESS_REFUSED, "malformed %.*s response",
                              WRN_SLICE_ARG(m->mechanism));
    case WRN_AUTH_LOOPBACK_ONLY:
        /* the reason goes to the log only: the client learns no more than
         * from a wrong password, as with RabbitMQ */
        wrn_log(WRN_LOG_WARNING, c->who, "user '%.*s' can only connect via localhost",
                WRN_SLICE_ARG(who));
        /* fall through */
    case WRN_AUTH_REFUSED:
        return wrn_conn_raise(c, 0, WRN_ACCESS_REFUSED,
                              "Login was refused using authentication mechanism %.*s. "
                              "For details see the broker logfile.",
                              WRN_SLICE_ARG(m->mechanism));
    }
    tune.a.connection_tune.channel_max = server.cfg.channel_max;
    tune.a.connection_tune.frame_max = server.cfg.frame_max;
    tune.a.connection_tune.heartbeat = server.cfg.heartbeat;
    wrn_conn_send_method(c, 0, &tune);
    c->state = WRN_CONN_WAIT_TUNE_OK;
    return WRN_OK;
}

/* The client may lower the server's limits; 0 means "no limit" (spec README). */
static int
handle_tune_ok(struct wrn_conn *c, const struct wrn_connection_tune_ok *m)
{
    uint16_t server_channel_max = server.cfg.channel_max;
    uint32_t server_frame_max = server.cfg.frame_max;

    if (server_channel_max != 0 && (m->channel_max == 0 || m->channel_max > server_channel_max))
        return wrn_conn_raise(c, 0, WRN_NOT_ALLOWED,
                              "negotiated channel_max = %u is higher than the maximum allowed "
                              "value (%u)",
                              m->channel_max, server_channel_max);
    if (server_frame_max != 0 && (m->frame_max == 0 || m->frame_max > server_frame_max))
        return wrn_conn_raise(c, 0, WRN_NOT_ALLOWED,
                              "negotiated frame_max = %u is higher than the maximum allowed "
                              "value (%u)",
                              m->frame_max, server_frame_max);
    if (m->frame_max != 0 && m->frame_max < 4096)
        return wrn_conn_raise(c, 0, WRN_NOT_ALLOWED,
                              "negotiated frame_max = %u is lower than the minimum allowed "
                              "value (4096)",
                              m->frame_max);
    c->channel_max = m->channel_max;
    c->frame_max = m->frame_max;
    c->heartbeat = m->heartbeat;
    c->state = WRN_CONN_WAIT_OPEN;
    return WRN_OK;
}

/* connection.open's checks, in RabbitMQ's order: limits, then the vhost's permissions. */
static int
handle_open(struct wrn_conn *c, const struct wrn_connection_open *m)
{
    struct wrn_method ok = {.id = WRN_CONNECTION_OPEN_OK};
    struct wrn_vhost *v = wrn_vhost_find(m->virtual_host);
    struct wrn_user *u = c->account;

    if (server.cfg.connection_max != 0 && server.nconns > server.cfg.connection_max)
        return wrn_conn_raise(c, 0, WRN_NOT_ALLOWED,
                              "connection refused: node connection limit (%u) is reached",
                              server.cfg.connection_max);
    if (v == NULL)
        return wrn_conn_raise(c, 0, WRN_NOT_ALLOWED, "vhost %.*s not found",
                              WRN_SLICE_ARG(m->virtual_host));
    if (v->nconnections >= v->max_connections)
        return wrn_conn_raise(c, 0, WRN_NOT_ALLOWED,
                              "access to vhost '%s' refused for user '%s': connection limit (%u) "
                              "is reached",
                              v->name, u->name, v->max_connections);
    if (u->nconnections >= u->max_connections)
        return wrn_conn_raise(c, 0, WRN_NOT_ALLOWED,
                              "connection refused for user '%s': user connection limit (%u) is "
                              "reached",
                              u->name, u->max_connections);
    c->permission = wrn_permission_find(v, u->name);
    if (c->permission == NULL)
        return wrn_conn_raise(c, 0, WRN_NOT_ALLOWED, "access to vhost '%s' refused for user '%s'",
                              v->name, u->name);
    c->vhost = v;
    v->nconnections++;
    u->nconnections++;
    c->counted = true;
    wrn_conn_send_method(c, 0, &ok);
    c->state = WRN_CONN_OPEN;
    if (c->heartbeat)
        timer_arm(c, c->heartbeat * 500u); /* tick twice per interval */
    else
        event_del(c->timer);
    wrn_log(WRN_LOG_INFO, c->who, "user '%s' authenticated and granted access to vhost '%s'",
            c->user, v->name);
    return WRN_OK;
}

/* Methods on channel 0. */
static int
connection_method(struct wrn_conn *c, const struct wrn_method *m)
{
    struct wrn_method reply;

    switch (m->id) {
    case WRN_CONNECTION_START_OK:
        if (c->state == WRN_CONN_WAIT_START_OK)
            return handle_start_ok(c, &m->a.connection_start_ok);
        break;
    case WRN_CONNECTION_TUNE_OK:
        if (c->state == WRN_CONN_WAIT_TUNE_OK)
            return handle_tune_ok(c, &m->a.connection_tune_ok);
        break;
    case WRN_CONNECTION_OPEN:
        if (c->state == WRN_CONN_WAIT_OPEN)
            return handle_open(c, &m->a.connection_open);
        break;
    case WRN_CONNECTION_CLOSE:
        reply.id = WRN_CONNECTION_CLOSE_OK;
        wrn_conn_send_method(c, 0, &reply);
        wrn_log(WRN_LOG_DEBUG, c->who, "client closed the connection: %u %.*s",
                m->a.connection_close.reply_code, WRN_SLICE_ARG(m->a.connection_close.reply_text));
        conn_linger(c);
        return WRN_OK;
    case WRN_CONNECTION_CLOSE_OK:
        /* close-ok we did not ask for: the client is confused, just go */
        conn_kill(c, true);
        return WRN_OK;
    case WRN_CONNECTION_UPDATE_SECRET:
        if (c->state == WRN_CONN_OPEN) {
            reply.id = WRN_CONNECTION_UPDATE_SECRET_OK;
            wrn_conn_send_method(c, 0, &reply);
            return WRN_OK;
        }
        break;
    default:
        if (WRN_METHOD_CLASS(m->id) != WRN_CLASS_CONNECTION)
            return wrn_conn_raise(c, 0, WRN_COMMAND_INVALID,
                                  "method %s is not allowed on channel 0", wrn_method_name(m->id));
        break;
    }
    return wrn_conn_raise(c, 0, WRN_COMMAND_INVALID, "unexpected method %s in state %d",
                          wrn_method_name(m->id), (int)c->state);
}

/* ---- frames --------------------------------------------------------------- */

static struct wrn_channel *
channel_get(struct wrn_conn *c, uint16_t id)
{
    return id < c->nchannel_slots ? c->channels[id] : NULL;
}

static void
channel_forget(struct wrn_conn *c, uint16_t id)
{
    struct wrn_channel *ch = channel_get(c, id);
    if (ch != NULL) {
        wrn_channel_free(ch);
        c->channels[id] = NULL;
        c->nchannels--;
    }
}

static int
channel_open(struct wrn_conn *c, uint16_t id)
{
    struct wrn_method ok = {.id = WRN_CHANNEL_OPEN_OK};

    /* RabbitMQ limits how many channels are open, not their numbers */
    if (c->channel_max != 0 && c->nchannels >= c->channel_max) {
        c->cur_method = 0;
        return wrn_conn_raise(c, 0, WRN_NOT_ALLOWED,
                              "number of channels opened (%u) has reached the negotiated "
                              "channel_max (%u)",
                              c->nchannels, c->channel_max);
    }
    if (id >= c->nchannel_slots) {
        uint32_t n = c->nchannel_slots ? c->nchannel_slots : 8;
        while (n <= id)
            n *= 2;
        c->channels = wrn_xrealloc(c->channels, n * sizeof(*c->channels));
        memset(c->channels + c->nchannel_slots, 0,
               (n - c->nchannel_slots) * sizeof(*c->channels));
        c->nchannel_slots = n;
    }
    c->channels[id] = wrn_channel_new(c, id);
    c->nchannels++;
    wrn_conn_send_method(c, id, &ok);
    return WRN_OK;
}

/* A method frame for a channel other than 0. */
static int
channel_method(struct wrn_conn *c, uint16_t id, const struct wrn_method *m)
{
    struct wrn_channel *ch = channel_get(c, id);
    struct wrn_method reply;

    if (ch == NULL) {
        if (m->id == WRN_CHANNEL_OPEN)
            return channel_open(c, id);
        if (m->id == WRN_CHANNEL_CLOSE_OK)
            return WRN_OK; /* late close-ok for a channel already gone */
        return wrn_conn_raise(c, id, WRN_CHANNEL_ERROR, "expected 'channel.open'");
    }
    if (ch->state == WRN_CHAN_STATE_CLOSING) {
        /* After we sent channel.close, everything but close/close-ok is dropped. */
        if (m->id == WRN_CHANNEL_CLOSE) {
            reply.id = WRN_CHANNEL_CLOSE_OK;
            wrn_conn_send_method(c, id, &reply);
            channel_forget(c, id);
        } else if (m->id == WRN_CHANNEL_CLOSE_OK) {
            channel_forget(c, id);
        }
        return WRN_OK;
    }
    switch (m->id) {
    case WRN_CHANNEL_OPEN:
        return wrn_conn_raise(c, id, WRN_CHANNEL_ERROR, "second 'channel.open' seen");
    case WRN_CHANNEL_CLOSE:
        channel_forget(c, id);
        reply.id = WRN_CHANNEL_CLOSE_OK;
        wrn_conn_send_method(c, id, &reply);
        return WRN_OK;
    case WRN_CHANNEL_CLOSE_OK: /* we sent no channel.close */
        return wrn_conn_raise(c, 0, WRN_COMMAND_INVALID, "unimplemented method");
    default:
        return wrn_channel_method(ch, m);
    }
}

static int
handle_frame(struct wrn_conn *c, const struct wrn_frame *f)
{
    struct wrn_method m;
    struct wrn_channel *ch;
    int rc;

    if (c->state == WRN_CONN_CLOSING) {
        /* After connection.close only close and close-ok matter. */
        if (f->type == WRN_FRAME_METHOD && f->channel == 0 &&
            wrn_method_decode(f->payload.p, f->payload.len, &m) == WRN_OK) {
            if (m.id == WRN_CONNECTION_CLOSE) {
                m.id = WRN_CONNECTION_CLOSE_OK;
                wrn_conn_send_method(c, 0, &m);
                conn_linger(c);
            } else if (m.id == WRN_CONNECTION_CLOSE_OK) {
                conn_kill(c, true);
            }
        }
        return WRN_OK;
    }

    switch (f->type) {
    case WRN_FRAME_HEARTBEAT:
        c->cur_method = 0;
        if (f->payload.len != 0)
            return wrn_conn_raise(c, 0, WRN_FRAME_ERROR, "heartbeat frame with a payload");
        if (f->channel != 0)
            return wrn_conn_raise(c, 0, WRN_UNEXPECTED_FRAME, "heartbeat frame on channel %u",
                                  f->channel);
        return WRN_OK;

    case WRN_FRAME_METHOD:
        /* class and method ids first, so every exception can name them */
        c->cur_method = 0;
        if (f->payload.len >= 4)
            c->cur_method = (uint32_t)f->payload.p[0] << 24 | (uint32_t)f->payload.p[1] << 16 |
                            (uint32_t)f->payload.p[2] << 8 | f->payload.p[3];
        rc = wrn_method_decode(f->payload.p, f->payload.len, &m);
        if (rc == WRN_EUNKNOWN)
            return wrn_conn_raise(c, 0, WRN_COMMAND_INVALID, "unknown method %u/%u",
                                  WRN_METHOD_CLASS(c->cur_method),
                                  WRN_METHOD_INDEX(c->cur_method));
        if (rc != WRN_OK)
            return wrn_conn_raise(c, 0, WRN_FRAME_ERROR, "cannot decode %s arguments on channel %u",
                                  wrn_method_name(c->cur_method), f->channel);
        if (wrn_log_enabled(WRN_LOG_DEBUG))
            wrn_log(WRN_LOG_DEBUG, c->who, "channel %u: %s", f->channel, wrn_method_name(m.id));
        if (c->state == WRN_CONN_OPEN) {
            /* RabbitMQ's answers for methods in the wrong place */
            bool connection_class = WRN_METHOD_CLASS(m.id) == WRN_CLASS_CONNECTION;
            if (f->channel == 0 && m.id != WRN_CONNECTION_CLOSE &&
                m.id != WRN_CONNECTION_CLOSE_OK && m.id != WRN_CONNECTION_UPDATE_SECRET)
                return wrn_conn_raise(c, 0, WRN_CHANNEL_ERROR,
                                      "unexpected method in connection state running");
            if (f->channel != 0 && (connection_class || !wrn_method_server_receives(m.id)))
                return wrn_conn_raise(c, 0, WRN_COMMAND_INVALID, "unimplemented method");
        }
        if (f->channel == 0)
            return connection_method(c, &m);
        if (c->state != WRN_CONN_OPEN)
            return wrn_conn_raise(c, 0, WRN_CHANNEL_ERROR, "channel %u used before connection.open",
                                  f->channel);
        return channel_method(c, f->channel, &m);

    case WRN_FRAME_HEADER:
    case WRN_FRAME_BODY:
        c->cur_method = 0;
        if (c->state != WRN_CONN_OPEN || f->channel == 0)
            return wrn_conn_raise(c, 0, WRN_UNEXPECTED_FRAME, "%s frame on channel %u",
                                  f->type == WRN_FRAME_HEADER ? "content header" : "content body",
                                  f->channel);
        ch = channel_get(c, f->channel);
        if (ch == NULL)
            return wrn_conn_raise(c, f->channel, WRN_CHANNEL_ERROR, "expected 'channel.open'");
        if (ch->state == WRN_CHAN_STATE_CLOSING)
            return WRN_OK;
        if (f->type == WRN_FRAME_HEADER)
            return wrn_channel_content_header(ch, f);
        return wrn_channel_content_body(ch, f);
    }
    return wrn_conn_raise(c, 0, WRN_FRAME_ERROR, "unknown frame type %u", f->type);
}

static void
flush_confirms(struct wrn_conn *c)
{
    for (uint32_t i = 1; i < c->nchannel_slots; i++) {
        struct wrn_channel *ch = c->channels[i];
        if (ch != NULL && ch->confirm_routed > ch->confirm_acked)
            wrn_channel_flush_confirms(ch);
    }
}

/*
 * A framing error: the stream cannot be parsed any further. Send
 * connection.close and from then on read and discard whatever arrives, so the
 * peer sees our close instead of a reset, until it hangs up or the close-ok
 * timeout ends the connection.
 */
static void
frame_error(struct wrn_conn *c, const char *detail)
{
    char text[256];

    snprintf(text, sizeof(text), "FRAME_ERROR - %s", detail);
    c->exc.code = 0;
    c->cur_method = 0;
    wrn_conn_close(c, WRN_FRAME_ERROR, text);
    c->discard_input = true;
}

/*
 * The largest whole frame accepted. frame_max counts the whole frame in the
 * spec, but RabbitMQ checks only the payload against it, and clients rely on
 * that slack; so do we.
 */
static uint32_t
frame_limit(const struct wrn_conn *c)
{
    return c->frame_max ? c->frame_max + WRN_FRAME_OVERHEAD : 0;
}

/* RabbitMQ also accepts the pre-0-9-1 "AMQP 1 1 0 9" header and speaks 0-9-1 after it. */
static const uint8_t legacy_0_9_header[8] = {'A', 'M', 'Q', 'P', 1, 1, 0, 9};

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct wrn_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    bool any_frames = false;

    c->received_since_tick = true;
    if (c->discard_input) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    if (c->state == WRN_CONN_OPEN && !wrn_memory_may_read(c))
        return; /* the memory alarm: read again once it clears */
    while (c->state != WRN_CONN_DEAD && !c->discard_input) {
        size_t avail = evbuffer_get_length(in), total;
        uint8_t head[8], type;
        uint16_t chan;
        uint32_t size;
        struct wrn_frame f;
        int rc;

        if (c->state == WRN_CONN_WAIT_HEADER) {
            size_t n = avail < 8 ? avail : 8;
            evbuffer_copyout(in, head, n);
            rc = wrn_protocol_header_check(head, n);
            if (rc == WRN_EPROTO && memcmp(head, legacy_0_9_header, n) == 0)
                rc = n == 8 ? WRN_OK : WRN_AGAIN;
            if (rc == WRN_AGAIN)
                break;
            if (rc != WRN_OK) {
                /* Say which protocol we speak, then hang up (spec 4.2.2). */
                evbuffer_add(bufferevent_get_output(bev), wrn_protocol_header, 8);
                wrn_log(WRN_LOG_INFO, c->who, "bad protocol header, closing");
                conn_kill(c, true);
                break;
            }
            evbuffer_drain(in, 8);
            send_start(c);
            continue;
        }
        if (avail < WRN_FRAME_HEADER_SIZE)
            break;
        evbuffer_copyout(in, head, WRN_FRAME_HEADER_SIZE);
        rc = wrn_frame_peek(head, WRN_FRAME_HEADER_SIZE, frame_limit(c), &type, &chan, &size,
                            &total);
        if (rc == WRN_ETOOBIG) {
            char detail[128];
            snprintf(detail, sizeof(detail), "type %u, %u octets = frame size of %zu, above the "
                     "maximum of %u", type, size, (size_t)size + 8, c->frame_max);
            frame_error(c, detail);
            break;
        }
        if (avail < total)
            break;
        rc = wrn_frame_parse(evbuffer_pullup(in, (ev_ssize_t)total), total, frame_limit(c), &f);
        if (rc < 0) {
            frame_error(c, rc == WRN_EPROTO ? "bad frame end or type" : "malformed frame");
            break;
        }
        any_frames = true;
        if (handle_frame(c, &f) == WRN_EAMQP)
            apply_exception(c);
        if (c->state != WRN_CONN_DEAD)
            evbuffer_drain(in, total);
    }
    if (c->state == WRN_CONN_DEAD || c->discard_input)
        evbuffer_drain(in, evbuffer_get_length(in));
    else if (any_frames)
        flush_confirms(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct wrn_conn *c = arg;
    struct evbuffer *out = bufferevent_get_output(bev);

    if (c->state == WRN_CONN_DEAD) {
        if (evbuffer_get_length(out) == 0) {
            if (c->discard_input) {
                /* lingering: see conn_linger; TLS ends with close_notify before the FIN */
                if (c->tls)
                    wrn_tls_shutdown(bev);
                shutdown(bufferevent_getfd(bev), SHUT_WR);
            } else {
                event_active(c->free_ev, 0, 0);
            }
        }
        return;
    }
    if (c->delivery_paused && evbuffer_get_length(out) <= OUTPUT_LOW_WATERMARK) {
        c->delivery_paused = false;
        bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        if (c->input_paused) {
            c->input_paused = false;
            if (!c->blocked) {
                bufferevent_enable(bev, EV_READ);
                bufferevent_trigger(bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
            }
        }
        /* Let every queue this connection consumes from deliver again. */
        for (uint32_t i = 1; i < c->nchannel_slots; i++) {
            struct wrn_channel *ch = c->channels[i];
            if (ch == NULL)
                continue;
            for (struct wrn_consumer *k = ch->consumers; k != NULL && !c->delivery_paused;
                 k = k->ch_next)
                wrn_queue_dispatch(k->q);
        }
    }
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct wrn_conn *c = arg;

    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (c->state == WRN_CONN_DEAD) {
            /* the client hung up after our close-ok, or the final flush failed */
            event_active(c->free_ev, 0, 0);
            return;
        }
        wrn_log(c->state == WRN_CONN_OPEN ? WRN_LOG_WARNING : WRN_LOG_DEBUG, c->who,
                "client closed the socket%s",
                c->state == WRN_CONN_OPEN ? " without connection.close" : "");
        conn_kill(c, false);
    }
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wrn_conn *c = arg;

    (void)fd;
    (void)what;
    switch (c->state) {
    case WRN_CONN_OPEN:
        break;
    case WRN_CONN_CLOSING:
        wrn_log(WRN_LOG_INFO, c->who, "no connection.close-ok, dropping the connection");
        conn_kill(c, false);
        return;
    case WRN_CONN_DEAD:
        return;
    default:
        wrn_log(WRN_LOG_WARNING, c->who, "handshake timeout, closing");
        conn_kill(c, false);
        return;
    }
    /* Heartbeats: send one if we have been quiet; drop a peer silent for two intervals. */
    if (!c->sent_since_tick) {
        evbuffer_add(bufferevent_get_output(c->bev), wrn_heartbeat_frame, 8);
    }
    c->sent_since_tick = false;
    /* a connection we stopped reading (memory alarm, or its own unread output)
     * cannot be heard: like RabbitMQ, do not count that silence against it */
    if (c->received_since_tick || c->blocked || c->input_paused) {
        c->ticks_silent = 0;
    } else if (++c->ticks_silent >= 4) {
        wrn_log(WRN_LOG_WARNING, c->who, "missed heartbeats from client, timeout: %us",
                c->heartbeat);
        conn_kill(c, false);
        return;
    }
    c->received_since_tick = false;
}

/* ---- teardown ------------------------------------------------------------- */

static void
delete_exclusive_queues(struct wrn_conn *c)
{
    struct wrn_dict_iter it;
    struct wrn_slice key;
    void *value;

    if (c->vhost == NULL)
        return;
    wrn_dict_iter_init(&it, c->vhost->queues);
    while (wrn_dict_iter_next(&it, &key, &value)) {
        struct wrn_queue *q = value;
        if (q->owner == c)
            wrn_queue_delete(q);
    }
}

/*
 * Let go of the connection's broker state now (channels, exclusive queues),
 * stop reading, and free the connection once its output is flushed (or at
 * once). Never frees c here: the caller may still be inside c's callbacks.
 */
static void
conn_kill(struct wrn_conn *c, bool flush)
{
    if (c->state == WRN_CONN_DEAD)
        return;
    c->state = WRN_CONN_DEAD;
    free_channels(c);
    delete_exclusive_queues(c);
    event_del(c->timer);
    bufferevent_disable(c->bev, EV_READ);
    if (flush && evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
        struct timeval tv = {CLOSE_OK_TIMEOUT_SEC, 0};
        /* write cb frees once drained; the timer frees if the peer never reads */
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
        event_add(c->free_ev, &tv);
    } else {
        event_active(c->free_ev, 0, 0);
    }
}

/*
 * We answered the client's connection.close with close-ok; by the spec the
 * client, not us, closes the socket. Clients may still have frames in flight
 * behind their close, and closing on those would reset the connection, which
 * can destroy our close-ok before the client reads it. So send FIN once
 * close-ok is written, discard input until the client hangs up, and free then
 * (or when conn_kill's flush timer runs out).
 */
static void
conn_linger(struct wrn_conn *c)
{
    conn_kill(c, true); /* close-ok is queued, so this arms the free timer */
    c->discard_input = true;
    bufferevent_enable(c->bev, EV_READ);
}

static void
conn_destroy(struct wrn_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        server.conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    server.nconns--;
    if (c->counted) {
        c->vhost->nconnections--;
        c->account->nconnections--;
    }
    wrn_log(WRN_LOG_DEBUG, c->who, "connection freed");
    if (c->tls)
        wrn_tls_shutdown(c->bev); /* a clean TLS end, if not sent while lingering */
    bufferevent_free(c->bev);
    event_free(c->timer);
    event_free(c->free_ev);
    wrn_free(c->channels);
    wrn_free(c);
}

static void
conn_free_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_destroy(arg);
}

void
wrn_conn_destroy_all(void)
{
    while (server.conns != NULL) {
        struct wrn_conn *c = server.conns;
        if (c->state != WRN_CONN_DEAD) {
            free_channels(c);
            delete_exclusive_queues(c);
            c->state = WRN_CONN_DEAD;
        }
        conn_destroy(c);
    }
}
