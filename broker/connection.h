/*
 * connection.h - one AMQP connection: the handshake (start, tune, open),
 * frame demultiplexing to channels, heartbeats, output, and the two kinds of
 * AMQP exception (channel.close for soft errors, connection.close for hard
 * ones). Protocol logic is kept apart from the libevent glue so that the I/O
 * side can later move to its own threads (DESIGN.md §2).
 */
#ifndef WRN_CONNECTION_H
#define WRN_CONNECTION_H

#include "methods.h"
#include "wire.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bufferevent;
struct event;
struct wrn_channel;
struct wrn_vhost;
struct wrn_msg;
struct wrn_tls;
struct wrn_user;
struct wrn_permission;

enum wrn_conn_state {
    WRN_CONN_WAIT_HEADER,   /* waiting for "AMQP 0 0 9 1" */
    WRN_CONN_WAIT_START_OK, /* sent connection.start */
    WRN_CONN_WAIT_TUNE_OK,  /* sent connection.tune */
    WRN_CONN_WAIT_OPEN,     /* got tune-ok */
    WRN_CONN_OPEN,
    WRN_CONN_CLOSING, /* sent connection.close, waiting for close-ok */
    WRN_CONN_DEAD,    /* flushing output, then freed */
};

/* The pending AMQP exception raised by a handler. */
struct wrn_exception {
    uint16_t code; /* 0: none */
    uint16_t channel;
    uint32_t method_id;
    char text[256];
};

struct wrn_conn {
    struct bufferevent *bev; /* owned */
    enum wrn_conn_state state;
    char who[200]; /* "peer -> local", for logs */
    bool loopback; /* peer address is a loopback address */
    bool tls;      /* accepted on the TLS listener: bev is an OpenSSL bufferevent */

    /* negotiated */
    uint16_t channel_max;
    uint32_t frame_max;
    uint16_t heartbeat;

    struct wrn_channel **channels; /* owned, indexed by channel id */
    uint32_t nchannel_slots;
    uint32_t nchannels;

    struct wrn_vhost *vhost; /* borrowed */
    char user[256];
    struct wrn_user *account;          /* borrowed: who logged in */
    struct wrn_permission *permission; /* borrowed: the account's rights in vhost */
    bool counted; /* counted in its vhost's and user's connection counts */
    bool cert_checked;  /* cert_name has been read from the TLS session */
    char cert_name[512]; /* the verified client certificate's identity, or "" */
    /* client capabilities */
    bool cap_consumer_cancel_notify;
    bool cap_auth_failure_close;
    bool cap_connection_blocked;

    uint32_t cur_method; /* method being handled, for exceptions */
    struct wrn_exception exc;

    struct event *timer;     /* owned: heartbeats and the handshake timeout */
    struct event *free_ev;   /* owned: deferred free */
    uint32_t ticks_silent;   /* heartbeat ticks with no bytes from the peer */
    bool received_since_tick;
    bool sent_since_tick;
    bool delivery_paused; /* output above the high watermark */
    bool discard_input;   /* after a framing error, or lingering after close-ok: read and drop */
    bool publisher;       /* has published: blocked while the memory alarm is on */
    bool blocked;         /* not read because of the memory alarm */
    bool input_paused;    /* not read until its unsent output drains */

    struct wrn_conn *next, *prev; /* in server.conns */
};

/*
 * Take over an accepted socket and start the handshake: the TLS handshake
 * first when tls (borrowed) is not NULL, then AMQP's.
 */
void wrn_conn_accept(int fd, const struct sockaddr *peer, int peerlen, struct wrn_tls *tls);

/*
 * Record an AMQP exception for the method being handled on channel and
 * return WRN_EAMQP. The text is "NAME - detail" as RabbitMQ writes it. Soft
 * codes close the channel, hard codes the connection; the caller just
 * returns WRN_EAMQP up the stack.
 */
int wrn_conn_raise(struct wrn_conn *c, uint16_t channel, uint16_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Encode and queue one method frame. */
void wrn_conn_send_method(struct wrn_conn *c, uint16_t channel, const struct wrn_method *m);
/* Queue a content-carrying method, its content header and body frames. */
void wrn_conn_send_content(struct wrn_conn *c, uint16_t channel, const struct wrn_method *m,
                           struct wrn_msg *msg);

/* False while the connection's output is above its high watermark or closing. */
bool wrn_conn_writable(const struct wrn_conn *c);

/* Close the connection with connection.close (hard error from outside a handler). */
void wrn_conn_close(struct wrn_conn *c, uint16_t code, const char *text);

/* At shutdown: drop every connection at once, without goodbyes. */
void wrn_conn_destroy_all(void);

#ifdef __cplusplus
}
#endif

#endif /* WRN_CONNECTION_H */
