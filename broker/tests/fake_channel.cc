/*
 * fake_channel.cc - the three channel.c functions queue.c calls, the
 * server state that server.c would define, and connection.c's raise,
 * replaced by recorders. It follows
 * the real channel's ownership: a delivery's message ref passes to the
 * channel, and an acked delivery also holds a ref on its queue.
 */
#include "fake_channel.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>

extern "C" {
#include "table.h"
}

struct wrn_server server;

namespace fake
{

std::vector<Delivery> deliveries;
uint64_t no_ack_deliveries;
std::vector<struct wrn_consumer *> gone;
struct wrn_channel channel;
uint16_t raised_code;
std::string raised_text;

namespace
{
std::map<const struct wrn_consumer *, long> credits;
}

void
set_credit(const struct wrn_consumer *c, long n)
{
    credits[c] = n;
}

static void
settle(size_t i, bool requeue_it)
{
    Delivery d = deliveries.at(i);

    deliveries.erase(deliveries.begin() + static_cast<std::ptrdiff_t>(i));
    if (d.c != NULL)
        d.c->unacked--;
    if (requeue_it)
        wrn_queue_requeue(d.q, &d.e); /* the ref passes back to the queue */
    else
        wrn_msg_unref(d.e.msg);
    wrn_queue_unref(d.q);
}

void
ack(size_t i)
{
    settle(i, false);
}

void
requeue(size_t i)
{
    settle(i, true);
}

void
reset()
{
    while (!deliveries.empty())
        settle(deliveries.size() - 1, false);
    /* room for the allocation tests: recording must not reach malloc there */
    deliveries.reserve(64);
    no_ack_deliveries = 0;
    gone.clear();
    credits.clear();
}

} // namespace fake

extern "C" {

bool
wrn_channel_can_deliver(const struct wrn_channel *ch, const struct wrn_consumer *c)
{
    (void)ch;
    auto it = fake::credits.find(c);
    if (it != fake::credits.end() && it->second == 0)
        return false;
    return c->no_ack || c->prefetch == 0 || c->unacked < c->prefetch;
}

void
wrn_channel_deliver(struct wrn_channel *ch, struct wrn_consumer *c, struct wrn_queue *q,
                    struct wrn_qentry *e)
{
    (void)ch;
    auto it = fake::credits.find(c);
    if (it != fake::credits.end() && it->second > 0)
        it->second--;
    if (c->no_ack) {
        fake::no_ack_deliveries++;
        wrn_msg_unref(e->msg);
        return;
    }
    c->unacked++;
    wrn_queue_ref(q);
    fake::deliveries.push_back(fake::Delivery{c, q, *e});
}

int
wrn_conn_raise(struct wrn_conn *c, uint16_t channel, uint16_t code, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    (void)c;
    (void)channel;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    fake::raised_code = code;
    fake::raised_text = text;
    return WRN_EAMQP;
}

void
wrn_channel_consumer_gone(struct wrn_channel *ch, struct wrn_consumer *c)
{
    (void)ch;
    fake::gone.push_back(c);
    for (auto &d : fake::deliveries)
        if (d.c == c)
            d.c = NULL;
}

} // extern "C"

struct wrn_queue *
NewQueue(struct wrn_vhost *v, const std::string &name, bool auto_delete, uint8_t max_priority)
{
    /* what queue_args.c makes of no arguments, plus x-max-priority */
    struct wrn_queue_args qa;

    memset(&qa, 0, sizeof(qa));
    qa.message_ttl = qa.expires = qa.max_length = qa.max_length_bytes = -1;
    qa.delivery_limit = -1;
    qa.overflow = WRN_OVERFLOW_DROP_HEAD;
    qa.max_priority = max_priority;
    return wrn_queue_new(v, Sl(name), false, false, auto_delete, NULL, Sl(""), &qa);
}

std::string
Table(const std::vector<std::pair<std::string, std::string>> &entries)
{
    uint8_t buf[4096];
    struct wrn_wbuf w;

    wrn_wbuf_init(&w, buf, sizeof(buf));
    size_t begin = wrn_table_begin(&w);
    for (const auto &e : entries)
        wrn_table_put_longstr(&w, e.first.c_str(), Sl(e.second));
    wrn_table_end(&w, begin);
    if (w.overflow)
        return std::string();
    return std::string(reinterpret_cast<const char *>(buf) + 4, w.len - 4);
}

std::string
PropsWithHeaders(const std::string &table)
{
    struct wrn_basic_properties bp = {};
    uint8_t buf[4096];

    bp.flags = WRN_BASIC_HEADERS_FLAG;
    bp.headers = Sl(table);
    int n = wrn_basic_properties_encode(&bp, buf, sizeof(buf));
    if (n < 0)
        return std::string();
    return std::string(reinterpret_cast<const char *>(buf), static_cast<size_t>(n));
}
