/*
 * listener.h - the AMQP listeners, plain TCP and TLS (amqps): accept sockets
 * and hand them to connection.c.
 */
#ifndef WRN_LISTENER_H
#define WRN_LISTENER_H

#ifdef __cplusplus
extern "C" {
#endif

struct evconnlistener;
struct event_base;
struct wrn_tls;

/*
 * Listen on addr:port. With tls (borrowed; it must outlive the listener)
 * every accepted connection runs a TLS handshake first; NULL listens for
 * plain AMQP. Returns NULL with a message logged on failure.
 */
struct evconnlistener *wrn_listener_new(struct event_base *base, const char *addr, int port,
                                        struct wrn_tls *tls);

#ifdef __cplusplus
}
#endif

#endif /* WRN_LISTENER_H */
