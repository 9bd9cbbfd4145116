/*
 * main.c - warren's entry point: configuration, the event loop, the
 * listeners (plain and TLS), certificate reload on SIGHUP, and a clean stop
 * on SIGTERM or SIGINT.
 */
#include "config.h"
#include "ctl.h"
#include "listener.h"
#include "log.h"
#include "memory.h"
#include "persist.h"
#include "server.h"
#include "tls.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    wrn_log_info("received %s, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopexit(arg, NULL);
}

/*
 * SIGHUP: read the TLS certificate, key and CA files again. Connections
 * accepted from now on use them; open ones keep theirs. If the new files do
 * not load, say why and keep serving with the old ones.
 */
static void
reload_cb(evutil_socket_t sig, short what, void *arg)
{
    struct wrn_tls *tls = arg;
    char err[1024];

    (void)sig;
    (void)what;
    if (tls == NULL) {
        wrn_log_info("received SIGHUP; no TLS listener, nothing to reload");
        return;
    }
    if (wrn_tls_reload(tls, err, sizeof(err)) != 0)
        wrn_log_error("received SIGHUP; TLS certificates not reloaded, keeping the current "
                      "ones: %s",
                      err);
    else
        wrn_log_info("received SIGHUP; TLS certificates reloaded from %s", server.cfg.ssl_certfile);
}

/* The TLS context from ssl_options.*, or NULL (message logged) if a file is bad. */
static struct wrn_tls *
tls_from_config(const struct wrn_config *cfg)
{
    struct wrn_tls_options o = {
        .certfile = cfg->ssl_certfile,
        .keyfile = cfg->ssl_keyfile,
        .cacertfile = cfg->ssl_cacertfile,
        .verify_peer = cfg->ssl_verify_peer,
        .fail_if_no_peer_cert = cfg->ssl_fail_if_no_peer_cert,
        .ciphers = cfg->ssl_ciphers,
    };
    struct wrn_tls *tls;
    char err[1024];

    if (cfg->ssl_versions & WRN_TLS_V1)
        o.versions |= WRN_TLS_VERSION_1_0;
    if (cfg->ssl_versions & WRN_TLS_V1_1)
        o.versions |= WRN_TLS_VERSION_1_1;
    if (cfg->ssl_versions & WRN_TLS_V1_2)
        o.versions |= WRN_TLS_VERSION_1_2;
    if (cfg->ssl_versions & WRN_TLS_V1_3)
        o.versions |= WRN_TLS_VERSION_1_3;
    if ((tls = wrn_tls_new(&o, err, sizeof(err))) == NULL)
        wrn_log_error("TLS: %s", err);
    return tls;
}

/*
 * Every connection is a file descriptor, and the usual soft limit of 1024
 * would cap the broker near a thousand clients: take the hard limit.
 */
static void
raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        wrn_log_warning("cannot raise the open-file limit: %s", strerror(errno));
}

/*
 * The event loop. The changelist folds the epoll_ctl calls of one loop turn
 * (a bufferevent enabling and disabling writes around each flush) into the
 * last state, saving about a third of them under load.
 */
static struct event_base *
new_event_base(void)
{
    struct event_config *ec = event_config_new();
    struct event_base *base;

    if (ec == NULL)
        return NULL;
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(ec);
    event_config_free(ec);
    return base;
}

int
main(int argc, char **argv)
{
    struct event_base *base;
    struct evconnlistener *listener = NULL, *tls_listener = NULL;
    struct event *sigterm, *sigint, *sighup;
    struct wrn_tls *tls = NULL;
    int rc, command;

    wrn_config_defaults(&server.cfg);
    if ((rc = wrn_config_from_args(&server.cfg, argc, argv, &command)) != 0)
        return rc > 0 ? 0 : 2;
    if (command < argc)
        return wrn_ctl_main(argc - command, argv + command);
    wrn_log_set_level((enum wrn_log_level)server.cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    if (!server.cfg.tcp_listener && server.cfg.ssl_port == 0) {
        wrn_log_error("listeners.tcp = none and no listeners.ssl.default: nothing to listen on");
        return 1;
    }
    /* Bad certificates stop start-up before anything else is touched. */
    if (server.cfg.ssl_port != 0 && (tls = tls_from_config(&server.cfg)) == NULL)
        return 1;

    base = new_event_base();
    if (base == NULL) {
        wrn_log_error("cannot create the event loop");
        wrn_tls_free(tls);
        return 1;
    }
    wrn_server_init(base);
    wrn_memory_set_budget(server.cfg.memory_absolute
                              ? server.cfg.memory_absolute
                              : (uint64_t)((double)sysconf(_SC_PHYS_PAGES) *
                                           (double)sysconf(_SC_PAGE_SIZE) *
                                           server.cfg.memory_relative));
    wrn_log_info("memory budget for messages: %llu bytes",
                 (unsigned long long)wrn_memory_budget());
    if (wrn_persist_open(server.cfg.data_dir) != 0) {
        wrn_server_fini();
        event_base_free(base);
        wrn_tls_free(tls);
        return 1;
    }
    if ((server.cfg.tcp_listener &&
         (listener = wrn_listener_new(base, server.cfg.bind, server.cfg.port, NULL)) == NULL) ||
        (tls != NULL &&
         (tls_listener = wrn_listener_new(base, server.cfg.ssl_bind, server.cfg.ssl_port, tls)) ==
             NULL)) {
        if (listener != NULL)
            evconnlistener_free(listener);
        wrn_persist_close();
        wrn_server_fini();
        event_base_free(base);
        wrn_tls_free(tls);
        return 1;
    }
    sigterm = evsignal_new(base, SIGTERM, stop_cb, base);
    sigint = evsignal_new(base, SIGINT, stop_cb, base);
    sighup = evsignal_new(base, SIGHUP, reload_cb, tls);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    evsignal_add(sighup, NULL);
    wrn_log_info("Warren started (frame_max %u, channel_max %u, heartbeat %us)",
                 server.cfg.frame_max, server.cfg.channel_max, server.cfg.heartbeat);

    event_base_dispatch(base);

    if (listener != NULL)
        evconnlistener_free(listener);
    if (tls_listener != NULL)
        evconnlistener_free(tls_listener);
    /* the store closes first: tearing down memory must not delete stored data */
    wrn_persist_close();
    wrn_server_fini();
    wrn_tls_free(tls);
    event_free(sigterm);
    event_free(sigint);
    event_free(sighup);
    event_base_free(base);
    wrn_log_info("stopped");
    return 0;
}
