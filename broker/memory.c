/*
 * memory.c - the memory budget. Messages are what grows with load, so the
 * bytes held by live messages are compared with the budget: above it the
 * alarm goes on and publishing connections stop being read (RabbitMQ's
 * memory alarm); below 90% of it the alarm clears and they are read again.
 * Blocking happens lazily, when a publishing connection has bytes to be read,
 * so an alarm costs nothing for connections that only consume.
 */
#include "memory.h"

#include "connection.h"
#include "log.h"
#include "message.h"
#include "server.h"

#include <event2/bufferevent.h>
#include <event2/event.h>

static uint64_t budget;
static bool alarm_on;

void
wrn_memory_set_budget(uint64_t bytes)
{
    budget = bytes;
}

uint64_t
wrn_memory_budget(void)
{
    return budget;
}

bool
wrn_memory_alarm(void)
{
    return alarm_on;
}

static void
send_blocked(struct wrn_conn *c, bool blocked)
{
    struct wrn_method m = {.id = blocked ? WRN_CONNECTION_BLOCKED : WRN_CONNECTION_UNBLOCKED};

    if (blocked)
        m.a.connection_blocked.reason = wrn_slice_str("low on memory");
    if (c->cap_connection_blocked)
        wrn_conn_send_method(c, 0, &m);
}

void
wrn_memory_check(void)
{
    uint64_t used = wrn_msg_bytes();

    if (budget == 0)
        return;
    if (!alarm_on && used > budget) {
        alarm_on = true;
        wrn_log_warning("memory alarm: messages use %llu bytes, over the budget of %llu; "
                        "publishers are blocked",
                        (unsigned long long)used, (unsigned long long)budget);
    } else if (alarm_on && used < budget / 10 * 9) {
        alarm_on = false;
        wrn_log_info("memory alarm cleared: messages use %llu bytes", (unsigned long long)used);
        for (struct wrn_conn *c = server.conns; c != NULL; c = c->next) {
            if (!c->blocked)
                continue;
            c->blocked = false;
            send_blocked(c, false);
            if (c->state != WRN_CONN_DEAD && !c->input_paused) {
                bufferevent_enable(c->bev, EV_READ);
                /* input that arrived while blocked is waiting in the buffer */
                bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
            }
        }
    }
}

bool
wrn_memory_may_read(struct wrn_conn *c)
{
    if (!alarm_on || !c->publisher)
        return true;
    if (!c->blocked) {
        c->blocked = true;
        send_blocked(c, true);
        bufferevent_disable(c->bev, EV_READ);
    }
    return false;
}
