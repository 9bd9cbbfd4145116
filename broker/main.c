/*
 * main.c - warren's entry point: configuration, the event loop, the
 * listener, and a clean stop on SIGTERM or SIGINT.
 */
#include "config.h"
#include "ctl.h"
#include "listener.h"
#include "log.h"
#include "memory.h"
#include "persist.h"
#include "server.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    wrn_log_info("received %s, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *sigterm, *sigint;
    int rc, command;

    wrn_config_defaults(&server.cfg);
    if ((rc = wrn_config_from_args(&server.cfg, argc, argv, &command)) != 0)
        return rc > 0 ? 0 : 2;
    if (command < argc)
        return wrn_ctl_main(argc - command, argv + command);
    wrn_log_set_level((enum wrn_log_level)server.cfg.log_level);
    signal(SIGPIPE, SIG_IGN);

    base = event_base_new();
    if (base == NULL) {
        wrn_log_error("cannot create the event loop");
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
        return 1;
    }
    listener = wrn_listener_new(base, server.cfg.bind, server.cfg.port);
    if (listener == NULL) {
        wrn_persist_close();
        wrn_server_fini();
        event_base_free(base);
        return 1;
    }
    sigterm = evsignal_new(base, SIGTERM, stop_cb, base);
    sigint = evsignal_new(base, SIGINT, stop_cb, base);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    wrn_log_info("Warren started (frame_max %u, channel_max %u, heartbeat %us)",
                 server.cfg.frame_max, server.cfg.channel_max, server.cfg.heartbeat);

    event_base_dispatch(base);

    evconnlistener_free(listener);
    /* the store closes first: tearing down memory must not delete stored data */
    wrn_persist_close();
    wrn_server_fini();
    event_free(sigterm);
    event_free(sigint);
    event_base_free(base);
    wrn_log_info("stopped");
    return 0;
}
