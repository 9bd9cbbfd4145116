/*
 * Test-side helpers for the rabbitmq-c interop suite: connect to the broker
 * named by INTEROP_HOST/INTEROP_PORT, sort replies into channel and
 * connection errors, and read deliveries, returns and confirms as events.
 */
#ifndef INTEROP_C_CLIENT_H
#define INTEROP_C_CLIENT_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace interop {

std::string broker_host();
int broker_port();

/* "c-<run id>-<what>-<n>": unique per run and per call. */
std::string unique_name(const std::string &what);

/* A borrowed view of s; valid while s lives and is not modified. */
amqp_bytes_t bytes(const std::string &s);
std::string str(amqp_bytes_t b);

/*
 * The outcome of a synchronous method: it succeeded, the server closed the
 * channel, the server closed the connection, or the library failed (socket
 * closed, timeout...).
 */
struct reply {
    enum kind_t { ok, channel_close, connection_close, library_error };
    kind_t kind = ok;
    int code = 0;           /* reply-code of a close */
    std::string text;       /* reply-text of a close */
    uint16_t class_id = 0;  /* the method the server blamed */
    uint16_t method_id = 0;
    int status = 0;         /* amqp_status_enum for library_error */
    std::string describe() const;
};

::testing::AssertionResult is_ok(const reply &r);
::testing::AssertionResult is_channel_error(const reply &r, int code,
                                            const std::string &text_prefix);
::testing::AssertionResult is_connection_error(const reply &r, int code,
                                               const std::string &text_prefix);

/* A field table built in C++: owns its keys, strings and nested values. */
class table {
public:
    table() = default;
    table(const table &) = delete; /* entries point into our own strings */
    table &operator=(const table &) = delete;
    table &add(const std::string &key, amqp_field_value_t v);
    table &str(const std::string &key, const std::string &v);
    table &boolean(const std::string &key, bool v);
    table &i32(const std::string &key, int32_t v);
    table &i64(const std::string &key, int64_t v);
    /* Keeps a copy of the string's bytes; the value points at it. */
    amqp_bytes_t keep(const std::string &s);
    /* Valid while this table lives and is not changed. */
    amqp_table_t get() const;

private:
    std::deque<std::string> strings_;
    std::vector<amqp_table_entry_t> entries_;
};

const amqp_field_value_t *find(const amqp_table_t &t, const std::string &key);

/* A message as received: body and basic properties, decoded and raw. */
struct message {
    std::string body;
    std::string raw_properties; /* the property flags and list, as on the wire */
    const amqp_basic_properties_t &props() const;
    void set_properties(const std::string &raw);

private:
    struct decoded;
    std::shared_ptr<decoded> decoded_;
};

/* Something the server sent without being asked (or a timeout). */
struct event {
    enum kind_t {
        timeout, deliver, returned, ack, nack, cancel, channel_close,
        connection_close, other, error
    };
    kind_t kind = timeout;
    amqp_channel_t channel = 0;
    amqp_method_number_t method = 0;
    std::string consumer_tag, exchange, routing_key;
    uint64_t delivery_tag = 0;
    bool redelivered = false;
    bool multiple = false;
    int code = 0;        /* reply-code of a return or close */
    std::string text;    /* reply-text of a return or close */
    int status = 0;      /* amqp_status_enum for error */
    message msg;         /* deliver and returned */
    std::string describe() const;
};

/* A basic.get answer. */
struct got {
    interop::reply reply;
    bool empty = false;
    uint64_t delivery_tag = 0;
    bool redelivered = false;
    uint32_t message_count = 0;
    std::string exchange, routing_key;
    message msg;
};

struct options {
    int channel_max = 0;
    int frame_max = 131072;
    int heartbeat = 0;
    std::string vhost = "/";
    std::string user = "guest";
    std::string password = "guest";
    /* Advertise consumer_cancel_notify (rabbitmq-c does not by default). */
    bool cancel_notify = true;
    /* Advertise authentication_failure_close (rabbitmq-c does by default). */
    bool auth_failure_close = true;
};

/* queue.declare and exchange.declare flags. */
enum decl_flags : int {
    passive = 1, durable = 2, exclusive = 4, auto_delete = 8, internal = 16
};

struct queue_info {
    std::string name;
    uint32_t message_count = 0;
    uint32_t consumer_count = 0;
};

/*
 * One logged-in connection. Setup failures throw std::runtime_error (gtest
 * reports them as a failed test); outcomes under test come back as reply
 * and event values. The destructor closes the connection if it is open.
 */
class conn {
public:
    explicit conn(const options &o = options());
    ~conn();
    conn(const conn &) = delete;
    conn &operator=(const conn &) = delete;

    /* Only the login outcome; the connection is closed again. */
    static reply try_login(const options &o);

    amqp_connection_state_t get() const { return state_; }
    bool alive() const { return alive_; }

    amqp_channel_t open_channel();             /* next free number; throws */
    reply open_channel(amqp_channel_t ch);     /* this number */
    reply close_channel(amqp_channel_t ch);
    reply close();                             /* client-initiated close */

    /*
     * Classify a reply for channel ch. A channel.close is answered with
     * close-ok so the connection stays usable; a connection.close with
     * connection.close-ok.
     */
    reply classify(amqp_channel_t ch, amqp_rpc_reply_t r);
    reply last(amqp_channel_t ch); /* classify(amqp_get_rpc_reply()) */
    void must(amqp_channel_t ch, const std::string &what); /* last() or throw */
    /* A round trip on ch that surfaces an asynchronous channel error. */
    reply sync(amqp_channel_t ch);

    std::string declare_queue(amqp_channel_t ch, const std::string &name,
                              int flags = 0,
                              amqp_table_t args = amqp_empty_table);
    reply queue_declare(amqp_channel_t ch, const std::string &name, int flags,
                        amqp_table_t args, queue_info *out);
    void declare_exchange(amqp_channel_t ch, const std::string &name,
                          const std::string &type, int flags = 0,
                          amqp_table_t args = amqp_empty_table);
    reply exchange_declare(amqp_channel_t ch, const std::string &name,
                           const std::string &type, int flags = 0,
                           amqp_table_t args = amqp_empty_table);
    void bind(amqp_channel_t ch, const std::string &queue,
              const std::string &exchange, const std::string &key,
              amqp_table_t args = amqp_empty_table);
    /* Number of ready messages (passive declare); throws if missing. */
    uint32_t message_count(amqp_channel_t ch, const std::string &queue);
    /* True if a passive declare finds the queue (uses and reopens ch). */
    bool queue_exists(amqp_channel_t ch, const std::string &queue);
    bool exchange_exists(amqp_channel_t ch, const std::string &exchange);

    void publish(amqp_channel_t ch, const std::string &exchange,
                 const std::string &key, const std::string &body,
                 const amqp_basic_properties_t *props = nullptr,
                 bool mandatory = false, bool immediate = false);
    /* confirm.select; publish() then counts the channel's sequence numbers. */
    void confirm_select(amqp_channel_t ch);
    /*
     * Publishes "<prefix>0".."<prefix><n-1>" to queue q through the default
     * exchange on a temporary confirm-mode channel and returns once all are
     * confirmed, i.e. enqueued. Queue counts seen afterwards include them.
     */
    void fill_queue(const std::string &q, int n, const std::string &prefix = "m");

    std::string consume(amqp_channel_t ch, const std::string &queue,
                        const std::string &tag = "", bool no_ack = false,
                        bool exclusive_consumer = false,
                        amqp_table_t args = amqp_empty_table);
    reply cancel(amqp_channel_t ch, const std::string &tag);
    void qos(amqp_channel_t ch, uint16_t prefetch_count, bool global);
    void ack(amqp_channel_t ch, uint64_t tag, bool multiple = false);

    got get(amqp_channel_t ch, const std::string &queue, bool no_ack = true);
    /* basic.get with no-ack until get-empty; the bodies in order. */
    std::vector<std::string> drain(amqp_channel_t ch, const std::string &queue);

    /* The next thing the server sends on any channel, or a timeout. */
    event next(double seconds = 5.0);
    /* Like next(), but skips nothing: throws unless it is a delivery. */
    event delivery(double seconds = 5.0);

private:
    void wait_confirms(amqp_channel_t ch, uint64_t tag);
    event decode(const amqp_frame_t &f);
    int pull(amqp_frame_t *f, double seconds, int channel);
    void read_content(amqp_channel_t ch, message *m);
    void release_if_idle();

    amqp_connection_state_t state_ = nullptr;
    bool alive_ = false;
    amqp_channel_t next_channel_ = 1;
    std::deque<amqp_frame_t> stash_; /* frames read ahead for other channels */
    std::map<amqp_channel_t, uint64_t> published_; /* confirm-mode counts */
    std::deque<event> pending_; /* events set aside while waiting for acks */
};

/* Opens a new channel on c and does a full declare/publish/get round trip. */
void expect_usable(conn &c);

/*
 * Base fixture: names made here are unique to the run and deleted in
 * TearDown over a fresh connection.
 */
class fixture : public ::testing::Test {
protected:
    std::string queue_name(const std::string &what);
    std::string exchange_name(const std::string &what);
    void TearDown() override;

private:
    std::vector<std::string> queues_, exchanges_;
};

} /* namespace interop */

#endif
