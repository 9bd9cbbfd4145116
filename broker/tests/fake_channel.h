/*
 * fake_channel.h - a stand-in for channel.c and the server state, so the
 * queue, exchange and vhost code can be unit-tested without connections.
 * Deliveries are recorded for the tests to inspect and settle; a test says
 * how many more messages a consumer may take. Plus small shared helpers.
 */
#ifndef WRN_FAKE_CHANNEL_H
#define WRN_FAKE_CHANNEL_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include "channel.h"
#include "message.h"
#include "queue.h"
#include "server.h"
#include "vhost.h"
#include "wire.h"
}

namespace fake
{

/*
 * A delivery to a consumer that acks (no_ack false). Like a channel's
 * unacked record it owns one ref on msg and one on q until settled.
 */
struct Delivery {
    struct wrn_consumer *c; /* NULL once the consumer is gone */
    struct wrn_queue *q;
    struct wrn_qentry e; /* msg, seq, redelivered, ... as the queue handed them over */
};

/* Deliveries not settled yet, oldest first. */
extern std::vector<Delivery> deliveries;
/* Deliveries to no_ack consumers: counted, the message released at once. */
extern uint64_t no_ack_deliveries;
/* Consumers wrn_channel_consumer_gone() was called for, in call order (the
 * real channel frees them; here the test owns them). */
extern std::vector<struct wrn_consumer *> gone;
/* A channel object to point consumers at; the fake never looks inside. */
extern struct wrn_channel channel;
/* The last AMQP exception wrn_conn_raise() recorded. */
extern uint16_t raised_code;
extern std::string raised_text;

/*
 * How many more deliveries c may take; negative means no limit (the
 * default). Independent of c->prefetch, which the fake also honours.
 */
void set_credit(const struct wrn_consumer *c, long n);

/* Settle deliveries[i]: ack drops it, requeue puts it back in its queue. */
void ack(size_t i);
void requeue(size_t i);

/* Settle everything outstanding (ack) and forget all state. */
void reset();

} // namespace fake

/* ---- helpers shared by the test files ---- */

inline struct wrn_slice
Sl(const std::string &s)
{
    struct wrn_slice sl = {reinterpret_cast<const uint8_t *>(s.data()),
                           static_cast<uint32_t>(s.size())};
    return sl;
}

/* A C string, without a temporary std::string the slice would outlive. */
inline struct wrn_slice
Sl(const char *s)
{
    return wrn_slice_str(s);
}

inline std::string
Str(struct wrn_slice s)
{
    return s.len ? std::string(reinterpret_cast<const char *>(s.p), s.len) : std::string();
}

/* A message whose routing key is label, with an empty body; one ref. */
inline struct wrn_msg *
NewMsg(const std::string &label, const std::string &props = std::string())
{
    return wrn_msg_new(Sl(""), Sl(label), Sl(props), 0);
}

/* The label NewMsg gave a message. */
inline std::string
Label(const struct wrn_msg *m)
{
    return Str(wrn_msg_routing_key(m));
}

/* A queue in v without arguments, or with x-max-priority if max_priority > 0. */
struct wrn_queue *NewQueue(struct wrn_vhost *v, const std::string &name, bool auto_delete = false,
                           uint8_t max_priority = 0);

/* Field-table contents (no length prefix) with longstr values, in order. */
std::string Table(const std::vector<std::pair<std::string, std::string>> &entries);

/* A basic properties block carrying only a headers table. */
std::string PropsWithHeaders(const std::string &table);

#endif /* WRN_FAKE_CHANNEL_H */
