/*
 * listener.h - the plain TCP listener: accepts sockets and hands them to
 * connection.c.
 */
#ifndef WRN_LISTENER_H
#define WRN_LISTENER_H

#ifdef __cplusplus
extern "C" {
#endif

struct evconnlistener;
struct event_base;

/* Listen on addr:port. Returns NULL with a message logged on failure. */
struct evconnlistener *wrn_listener_new(struct event_base *base, const char *addr, int port);

#ifdef __cplusplus
}
#endif

#endif /* WRN_LISTENER_H */
