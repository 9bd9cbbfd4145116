/*
 * listener.c - the AMQP listeners on libevent's evconnlistener; a TLS
 * listener carries its TLS context as the accept callback's argument.
 */
#include "listener.h"

#include "connection.h"
#include "log.h"

#include <errno.h>
#include <event2/listener.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *peer, int peerlen,
          void *arg)
{
    (void)l;
    wrn_conn_accept(fd, peer, peerlen, arg);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    /* EMFILE and friends: log and keep listening; the backlog waits for a free fd */
    wrn_log_error("accept failed: %s", strerror(errno));
}

struct evconnlistener *
wrn_listener_new(struct event_base *base, const char *addr, int port, struct wrn_tls *tls)
{
    struct addrinfo hints, *res = NULL;
    struct evconnlistener *l;
    char portstr[16];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", port);
    if ((rc = getaddrinfo(addr, portstr, &hints, &res)) != 0) {
        wrn_log_error("cannot resolve listen address %s: %s", addr, gai_strerror(rc));
        return NULL;
    }
    l = evconnlistener_new_bind(base, accept_cb, tls,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                1024, res->ai_addr, (int)res->ai_addrlen);
    freeaddrinfo(res);
    if (l == NULL) {
        wrn_log_error("cannot listen on %s:%d: %s", addr, port, strerror(errno));
        return NULL;
    }
    evconnlistener_set_error_cb(l, accept_error_cb);
    wrn_log_info("listening for AMQP 0-9-1%s on %s:%d", tls ? " over TLS" : "", addr, port);
    return l;
}
