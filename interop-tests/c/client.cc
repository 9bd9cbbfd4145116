/*
 * Connection, reply-classification and event-reading helpers for the
 * rabbitmq-c interop suite. Content frames are read here rather than with
 * amqp_read_message() so that frames for other channels are kept in order.
 */
#include "client.h"

#include <sys/time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <stdexcept>

namespace interop {

namespace {

/* Every wait for something that should arrive gives up after this long. */
const double content_timeout = 10.0;

std::runtime_error
failure(const std::string &what)
{
    return std::runtime_error(what);
}

struct timeval
to_timeval(double seconds)
{
    struct timeval tv;
    if (seconds < 0)
        seconds = 0;
    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    return tv;
}

double
now_seconds()
{
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

const std::string &
run_id()
{
    static const std::string id = [] {
        std::random_device rd;
        char buf[16];
        std::snprintf(buf, sizeof buf, "%08x", (unsigned)rd());
        return std::string(buf);
    }();
    return id;
}

std::string
status_text(int status)
{
    return std::string(amqp_error_string2(status)) + " (" +
           std::to_string(status) + ")";
}

/*
 * Opens a socket and logs in. Returns the login reply; *out is the
 * connection state, to be destroyed by the caller, or null if no socket.
 */
reply
login(const options &o, amqp_connection_state_t *out)
{
    reply r;
    amqp_connection_state_t st = amqp_new_connection();
    *out = st;
    amqp_socket_t *sock = amqp_tcp_socket_new(st);
    if (sock == nullptr) {
        r.kind = reply::library_error;
        r.status = AMQP_STATUS_NO_MEMORY;
        return r;
    }
    struct timeval tv = to_timeval(5.0);
    int rc = amqp_socket_open_noblock(sock, broker_host().c_str(),
                                      broker_port(), &tv);
    if (rc != AMQP_STATUS_OK) {
        r.kind = reply::library_error;
        r.status = rc;
        return r;
    }
    amqp_set_handshake_timeout(st, &tv);
    struct timeval rpc = to_timeval(content_timeout);
    amqp_set_rpc_timeout(st, &rpc);

    /* Our capabilities are merged with rabbitmq-c's own and win over them. */
    amqp_table_entry_t caps[2];
    int ncaps = 0;
    caps[ncaps].key = amqp_cstring_bytes("authentication_failure_close");
    caps[ncaps].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    caps[ncaps++].value.value.boolean = o.auth_failure_close;
    if (o.cancel_notify) {
        caps[ncaps].key = amqp_cstring_bytes("consumer_cancel_notify");
        caps[ncaps].value.kind = AMQP_FIELD_KIND_BOOLEAN;
        caps[ncaps++].value.value.boolean = 1;
    }
    amqp_table_entry_t props[1];
    props[0].key = amqp_cstring_bytes("capabilities");
    props[0].value.kind = AMQP_FIELD_KIND_TABLE;
    props[0].value.value.table.num_entries = ncaps;
    props[0].value.value.table.entries = caps;
    amqp_table_t client_props;
    client_props.num_entries = 1;
    client_props.entries = props;

    amqp_rpc_reply_t lr = amqp_login_with_properties(
        st, o.vhost.c_str(), o.channel_max, o.frame_max, o.heartbeat,
        &client_props, AMQP_SASL_METHOD_PLAIN, o.user.c_str(),
        o.password.c_str());
    switch (lr.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (lr.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            auto *m = (amqp_connection_close_t *)lr.reply.decoded;
            r.kind = reply::connection_close;
            r.code = m->reply_code;
            r.text = str(m->reply_text);
            r.class_id = m->class_id;
            r.method_id = m->method_id;
            amqp_connection_close_ok_t ok;
            amqp_send_method(st, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        } else {
            r.kind = reply::library_error;
            r.status = AMQP_STATUS_UNEXPECTED_STATE;
        }
        break;
    default:
        r.kind = reply::library_error;
        r.status = lr.library_error;
        break;
    }
    return r;
}

} /* namespace */

std::string
broker_host()
{
    const char *h = std::getenv("INTEROP_HOST");
    return h != nullptr && *h != '\0' ? h : "127.0.0.1";
}

int
broker_port()
{
    const char *p = std::getenv("INTEROP_PORT");
    return p != nullptr && *p != '\0' ? std::atoi(p) : 5672;
}

std::string
unique_name(const std::string &what)
{
    static unsigned counter = 0;
    return "c-" + run_id() + "-" + what + "-" + std::to_string(++counter);
}

amqp_bytes_t
bytes(const std::string &s)
{
    amqp_bytes_t b;
    b.len = s.size();
    b.bytes = const_cast<char *>(s.data());
    return b;
}

std::string
str(amqp_bytes_t b)
{
    if (b.len == 0)
        return std::string();
    return std::string((const char *)b.bytes, b.len);
}

std::string
reply::describe() const
{
    std::ostringstream os;
    switch (kind) {
    case ok:
        return "ok";
    case channel_close:
        os << "channel.close " << code << " '" << text << "'";
        break;
    case connection_close:
        os << "connection.close " << code << " '" << text << "'";
        break;
    case library_error:
        os << "library error " << status_text(status);
        break;
    }
    if (kind != library_error)
        os << " (class " << class_id << " method " << method_id << ")";
    return os.str();
}

::testing::AssertionResult
is_ok(const reply &r)
{
    if (r.kind == reply::ok)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "expected ok, got " << r.describe();
}

static ::testing::AssertionResult
is_close(const reply &r, reply::kind_t kind, const char *what, int code,
         const std::string &prefix)
{
    if (r.kind == kind && r.code == code &&
        r.text.compare(0, prefix.size(), prefix) == 0)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "expected " << what << " " << code << " '" << prefix
           << "...', got " << r.describe();
}

::testing::AssertionResult
is_channel_error(const reply &r, int code, const std::string &text_prefix)
{
    return is_close(r, reply::channel_close, "channel.close", code, text_prefix);
}

::testing::AssertionResult
is_connection_error(const reply &r, int code, const std::string &text_prefix)
{
    return is_close(r, reply::connection_close, "connection.close", code,
                    text_prefix);
}

/* ---- tables ---- */

table &
table::add(const std::string &key, amqp_field_value_t v)
{
    amqp_table_entry_t e;
    e.key = keep(key);
    e.value = v;
    entries_.push_back(e);
    return *this;
}

amqp_bytes_t
table::keep(const std::string &s)
{
    strings_.push_back(s);
    return bytes(strings_.back());
}

table &
table::str(const std::string &key, const std::string &v)
{
    amqp_field_value_t f;
    f.kind = AMQP_FIELD_KIND_UTF8;
    f.value.bytes = keep(v);
    return add(key, f);
}

table &
table::boolean(const std::string &key, bool v)
{
    amqp_field_value_t f;
    f.kind = AMQP_FIELD_KIND_BOOLEAN;
    f.value.boolean = v;
    return add(key, f);
}

table &
table::i32(const std::string &key, int32_t v)
{
    amqp_field_value_t f;
    f.kind = AMQP_FIELD_KIND_I32;
    f.value.i32 = v;
    return add(key, f);
}

table &
table::i64(const std::string &key, int64_t v)
{
    amqp_field_value_t f;
    f.kind = AMQP_FIELD_KIND_I64;
    f.value.i64 = v;
    return add(key, f);
}

amqp_table_t
table::get() const
{
    amqp_table_t t;
    t.num_entries = (int)entries_.size();
    t.entries = const_cast<amqp_table_entry_t *>(entries_.data());
    return t;
}

const amqp_field_value_t *
find(const amqp_table_t &t, const std::string &key)
{
    for (int i = 0; i < t.num_entries; i++) {
        if (str(t.entries[i].key) == key)
            return &t.entries[i].value;
    }
    return nullptr;
}

/* ---- messages and events ---- */

/* The decoded properties point into raw and the pool, so both live here. */
struct message::decoded {
    std::string raw;
    amqp_pool_t pool;
    amqp_basic_properties_t *props = nullptr;

    decoded() { init_amqp_pool(&pool, 4096); }
    ~decoded() { empty_amqp_pool(&pool); }
};

void
message::set_properties(const std::string &raw)
{
    raw_properties = raw;
    decoded_ = std::make_shared<decoded>();
    decoded_->raw = raw;
    void *out = nullptr;
    int rc = amqp_decode_properties(AMQP_BASIC_CLASS, &decoded_->pool,
                                    bytes(decoded_->raw), &out);
    if (rc < 0)
        throw failure("cannot decode basic properties: " + status_text(rc));
    decoded_->props = (amqp_basic_properties_t *)out;
}

const amqp_basic_properties_t &
message::props() const
{
    static const amqp_basic_properties_t none = amqp_basic_properties_t();
    if (decoded_ == nullptr || decoded_->props == nullptr)
        return none;
    return *decoded_->props;
}

std::string
event::describe() const
{
    std::ostringstream os;
    switch (kind) {
    case timeout:
        return "timeout";
    case deliver:
        os << "basic.deliver ch " << channel << " tag " << delivery_tag
           << " body '" << msg.body.substr(0, 40) << "'";
        break;
    case returned:
        os << "basic.return ch " << channel << " " << code << " " << text;
        break;
    case ack:
    case nack:
        os << (kind == ack ? "basic.ack" : "basic.nack") << " ch " << channel
           << " tag " << delivery_tag << (multiple ? " multiple" : "");
        break;
    case cancel:
        os << "basic.cancel ch " << channel << " " << consumer_tag;
        break;
    case channel_close:
        os << "channel.close ch " << channel << " " << code << " " << text;
        break;
    case connection_close:
        os << "connection.close " << code << " " << text;
        break;
    case other:
        os << "method " << amqp_method_name(method) << " ch " << channel;
        break;
    case error:
        os << "library error " << status_text(status);
        break;
    }
    return os.str();
}

/* ---- connections ---- */

conn::conn(const options &o)
{
    reply r = login(o, &state_);
    if (r.kind != reply::ok) {
        amqp_destroy_connection(state_);
        state_ = nullptr;
        throw failure("login failed: " + r.describe());
    }
    alive_ = true;
}

conn::~conn()
{
    if (state_ == nullptr)
        return;
    if (alive_)
        amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(state_);
}

reply
conn::try_login(const options &o)
{
    amqp_connection_state_t st = nullptr;
    reply r = login(o, &st);
    if (r.kind == reply::ok)
        amqp_connection_close(st, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(st);
    return r;
}

reply
conn::classify(amqp_channel_t ch, amqp_rpc_reply_t r)
{
    reply out;
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return out;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            auto *m = (amqp_channel_close_t *)r.reply.decoded;
            out.kind = reply::channel_close;
            out.code = m->reply_code;
            out.text = str(m->reply_text);
            out.class_id = m->class_id;
            out.method_id = m->method_id;
            amqp_channel_close_ok_t ok;
            amqp_send_method(state_, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
            published_.erase(ch);
        } else if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            auto *m = (amqp_connection_close_t *)r.reply.decoded;
            out.kind = reply::connection_close;
            out.code = m->reply_code;
            out.text = str(m->reply_text);
            out.class_id = m->class_id;
            out.method_id = m->method_id;
            amqp_connection_close_ok_t ok;
            amqp_send_method(state_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
            alive_ = false;
        } else {
            out.kind = reply::library_error;
            out.status = AMQP_STATUS_UNEXPECTED_STATE;
        }
        return out;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        out.kind = reply::library_error;
        out.status = r.library_error;
        if (r.library_error == AMQP_STATUS_CONNECTION_CLOSED ||
            r.library_error == AMQP_STATUS_SOCKET_ERROR ||
            r.library_error == AMQP_STATUS_TIMEOUT ||
            r.library_error == AMQP_STATUS_HEARTBEAT_TIMEOUT)
            alive_ = false;
        return out;
    default:
        out.kind = reply::library_error;
        out.status = AMQP_STATUS_UNEXPECTED_STATE;
        return out;
    }
}

reply
conn::last(amqp_channel_t ch)
{
    return classify(ch, amqp_get_rpc_reply(state_));
}

void
conn::must(amqp_channel_t ch, const std::string &what)
{
    reply r = last(ch);
    if (r.kind != reply::ok)
        throw failure(what + " failed on channel " + std::to_string(ch) + ": " +
                      r.describe());
}

amqp_channel_t
conn::open_channel()
{
    amqp_channel_t ch = next_channel_++;
    reply r = open_channel(ch);
    if (r.kind != reply::ok)
        throw failure("channel.open " + std::to_string(ch) + ": " + r.describe());
    return ch;
}

reply
conn::open_channel(amqp_channel_t ch)
{
    amqp_channel_open(state_, ch);
    return last(ch);
}

reply
conn::close_channel(amqp_channel_t ch)
{
    published_.erase(ch);
    return classify(ch, amqp_channel_close(state_, ch, AMQP_REPLY_SUCCESS));
}

reply
conn::close()
{
    reply r = classify(0, amqp_connection_close(state_, AMQP_REPLY_SUCCESS));
    alive_ = false;
    return r;
}

reply
conn::sync(amqp_channel_t ch)
{
    /* A passive declare of amq.direct always succeeds on a healthy channel. */
    amqp_exchange_declare(state_, ch, amqp_cstring_bytes("amq.direct"),
                          amqp_cstring_bytes("direct"), 1, 0, 0, 0,
                          amqp_empty_table);
    return last(ch);
}

reply
conn::queue_declare(amqp_channel_t ch, const std::string &name, int flags,
                    amqp_table_t args, queue_info *out)
{
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(
        state_, ch, bytes(name), (flags & passive) != 0, (flags & durable) != 0,
        (flags & exclusive) != 0, (flags & auto_delete) != 0, args);
    reply r = last(ch);
    if (r.kind == reply::ok && ok != nullptr && out != nullptr) {
        out->name = str(ok->queue);
        out->message_count = ok->message_count;
        out->consumer_count = ok->consumer_count;
    }
    return r;
}

std::string
conn::declare_queue(amqp_channel_t ch, const std::string &name, int flags,
                    amqp_table_t args)
{
    queue_info info;
    reply r = queue_declare(ch, name, flags, args, &info);
    if (r.kind != reply::ok)
        throw failure("queue.declare '" + name + "': " + r.describe());
    return info.name;
}

reply
conn::exchange_declare(amqp_channel_t ch, const std::string &name,
                       const std::string &type, int flags, amqp_table_t args)
{
    amqp_exchange_declare(state_, ch, bytes(name), bytes(type),
                          (flags & passive) != 0, (flags & durable) != 0,
                          (flags & auto_delete) != 0, (flags & internal) != 0,
                          args);
    return last(ch);
}

void
conn::declare_exchange(amqp_channel_t ch, const std::string &name,
                       const std::string &type, int flags, amqp_table_t args)
{
    reply r = exchange_declare(ch, name, type, flags, args);
    if (r.kind != reply::ok)
        throw failure("exchange.declare '" + name + "': " + r.describe());
}

void
conn::bind(amqp_channel_t ch, const std::string &queue,
           const std::string &exchange, const std::string &key,
           amqp_table_t args)
{
    amqp_queue_bind(state_, ch, bytes(queue), bytes(exchange), bytes(key), args);
    must(ch, "queue.bind " + queue + " to " + exchange);
}

uint32_t
conn::message_count(amqp_channel_t ch, const std::string &queue)
{
    queue_info info;
    reply r = queue_declare(ch, queue, passive, amqp_empty_table, &info);
    if (r.kind != reply::ok)
        throw failure("passive queue.declare '" + queue + "': " + r.describe());
    return info.message_count;
}

bool
conn::queue_exists(amqp_channel_t ch, const std::string &queue)
{
    reply r = queue_declare(ch, queue, passive, amqp_empty_table, nullptr);
    if (r.kind == reply::ok)
        return true;
    if (r.kind == reply::channel_close && r.code == 404) {
        r = open_channel(ch);
        if (r.kind != reply::ok)
            throw failure("reopening channel: " + r.describe());
        return false;
    }
    throw failure("passive queue.declare '" + queue + "': " + r.describe());
}

bool
conn::exchange_exists(amqp_channel_t ch, const std::string &exchange)
{
    reply r = exchange_declare(ch, exchange, "direct", passive);
    if (r.kind == reply::ok)
        return true;
    if (r.kind == reply::channel_close && r.code == 404) {
        r = open_channel(ch);
        if (r.kind != reply::ok)
            throw failure("reopening channel: " + r.describe());
        return false;
    }
    throw failure("passive exchange.declare '" + exchange + "': " +
                  r.describe());
}

void
conn::publish(amqp_channel_t ch, const std::string &exchange,
              const std::string &key, const std::string &body,
              const amqp_basic_properties_t *props, bool mandatory,
              bool immediate)
{
    int rc = amqp_basic_publish(state_, ch, bytes(exchange), bytes(key),
                                mandatory, immediate, props, bytes(body));
    if (rc != AMQP_STATUS_OK)
        throw failure("basic.publish: " + status_text(rc));
    if (published_.count(ch) != 0)
        published_[ch]++;
}

void
conn::confirm_select(amqp_channel_t ch)
{
    amqp_confirm_select(state_, ch);
    must(ch, "confirm.select");
    published_[ch] = 0;
}

/*
 * Waits until the server has confirmed every publish on ch up to tag.
 * Unrelated events are set aside for next(); a nack or a close throws.
 */
void
conn::wait_confirms(amqp_channel_t ch, uint64_t tag)
{
    std::deque<event> aside;
    for (;;) {
        release_if_idle();
        amqp_frame_t f;
        int rc = pull(&f, content_timeout, -1);
        if (rc != AMQP_STATUS_OK)
            throw failure("waiting for confirm of " + std::to_string(tag) +
                          ": " + status_text(rc));
        event e = decode(f);
        if (e.channel == ch && e.kind == event::ack) {
            if (e.delivery_tag >= tag)
                break;
            continue;
        }
        if (e.channel == ch || e.kind == event::connection_close ||
            e.kind == event::error)
            throw failure("waiting for confirm of " + std::to_string(tag) +
                          ", got " + e.describe());
        aside.push_back(e);
    }
    pending_.insert(pending_.end(), aside.begin(), aside.end());
}

void
conn::fill_queue(const std::string &q, int n, const std::string &prefix)
{
    amqp_channel_t ch = open_channel();
    confirm_select(ch);
    for (int i = 0; i < n; i++)
        publish(ch, "", q, prefix + std::to_string(i));
    if (n > 0)
        wait_confirms(ch, published_[ch]);
    reply r = close_channel(ch);
    if (r.kind != reply::ok)
        throw failure("closing fill channel: " + r.describe());
}

std::string
conn::consume(amqp_channel_t ch, const std::string &queue,
              const std::string &tag, bool no_ack, bool exclusive_consumer,
              amqp_table_t args)
{
    amqp_basic_consume_ok_t *ok =
        amqp_basic_consume(state_, ch, bytes(queue), bytes(tag), 0, no_ack,
                           exclusive_consumer, args);
    must(ch, "basic.consume on " + queue);
    return str(ok->consumer_tag);
}

reply
conn::cancel(amqp_channel_t ch, const std::string &tag)
{
    amqp_basic_cancel(state_, ch, bytes(tag));
    return last(ch);
}

void
conn::qos(amqp_channel_t ch, uint16_t prefetch_count, bool global)
{
    amqp_basic_qos(state_, ch, 0, prefetch_count, global);
    must(ch, "basic.qos");
}

void
conn::ack(amqp_channel_t ch, uint64_t tag, bool multiple)
{
    int rc = amqp_basic_ack(state_, ch, tag, multiple);
    if (rc != AMQP_STATUS_OK)
        throw failure("basic.ack: " + status_text(rc));
}

got
conn::get(amqp_channel_t ch, const std::string &queue, bool no_ack)
{
    got g;
    release_if_idle();
    amqp_rpc_reply_t r = amqp_basic_get(state_, ch, bytes(queue), no_ack);
    g.reply = classify(ch, r);
    if (g.reply.kind != reply::ok)
        return g;
    if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) {
        g.empty = true;
        return g;
    }
    auto *m = (amqp_basic_get_ok_t *)r.reply.decoded;
    g.delivery_tag = m->delivery_tag;
    g.redelivered = m->redelivered != 0;
    g.message_count = m->message_count;
    g.exchange = str(m->exchange);
    g.routing_key = str(m->routing_key);
    read_content(ch, &g.msg);
    return g;
}

std::vector<std::string>
conn::drain(amqp_channel_t ch, const std::string &queue)
{
    std::vector<std::string> bodies;
    for (;;) {
        got g = get(ch, queue, true);
        if (g.reply.kind != reply::ok)
            throw failure("basic.get from " + queue + ": " + g.reply.describe());
        if (g.empty)
            return bodies;
        bodies.push_back(g.msg.body);
    }
}

/*
 * Recycles the library's per-channel pools once nothing read ahead points
 * into them, so big messages do not pile up in memory.
 */
void
conn::release_if_idle()
{
    if (stash_.empty() && !amqp_frames_enqueued(state_))
        amqp_maybe_release_buffers(state_);
}

/*
 * Reads the next frame for channel (any channel if negative), within
 * seconds. Frames for other channels are kept, in order, for later.
 * Returns an amqp_status_enum.
 */
int
conn::pull(amqp_frame_t *f, double seconds, int channel)
{
    for (auto it = stash_.begin(); it != stash_.end(); ++it) {
        if (channel < 0 || it->channel == channel) {
            *f = *it;
            stash_.erase(it);
            return AMQP_STATUS_OK;
        }
    }
    double deadline = now_seconds() + seconds;
    for (;;) {
        struct timeval tv = to_timeval(deadline - now_seconds());
        int rc = amqp_simple_wait_frame_noblock(state_, f, &tv);
        if (rc != AMQP_STATUS_OK)
            return rc;
        if (channel < 0 || f->channel == channel)
            return AMQP_STATUS_OK;
        stash_.push_back(*f);
    }
}

/* Reads a content header and its body frames on ch into m. */
void
conn::read_content(amqp_channel_t ch, message *m)
{
    amqp_frame_t f;
    int rc = pull(&f, content_timeout, ch);
    if (rc != AMQP_STATUS_OK)
        throw failure("reading content header: " + status_text(rc));
    if (f.frame_type != AMQP_FRAME_HEADER)
        throw failure("expected a content header on channel " +
                      std::to_string(ch) + ", got frame type " +
                      std::to_string(f.frame_type));
    m->set_properties(str(f.payload.properties.raw));
    uint64_t size = f.payload.properties.body_size;
    m->body.clear();
    m->body.reserve(size);
    while (m->body.size() < size) {
        rc = pull(&f, content_timeout, ch);
        if (rc != AMQP_STATUS_OK)
            throw failure("reading content body: " + status_text(rc));
        if (f.frame_type != AMQP_FRAME_BODY)
            throw failure("expected a body frame on channel " +
                          std::to_string(ch));
        m->body.append((const char *)f.payload.body_fragment.bytes,
                       f.payload.body_fragment.len);
    }
    if (m->body.size() != size)
        throw failure("body frames overran the declared body size");
}

event
conn::next(double seconds)
{
    if (!pending_.empty()) {
        event e = pending_.front();
        pending_.pop_front();
        return e;
    }
    event e;
    release_if_idle();
    amqp_frame_t f;
    int rc = pull(&f, seconds, -1);
    if (rc == AMQP_STATUS_TIMEOUT)
        return e;
    if (rc != AMQP_STATUS_OK) {
        e.kind = event::error;
        e.status = rc;
        alive_ = false;
        return e;
    }
    return decode(f);
}

/*
 * Turns a method frame from the server into an event, reading the content
 * that follows a delivery or return, and answering a close with close-ok.
 */
event
conn::decode(const amqp_frame_t &f)
{
    event e;
    e.channel = f.channel;
    if (f.frame_type != AMQP_FRAME_METHOD)
        throw failure("expected a method frame on channel " +
                      std::to_string(f.channel) + ", got frame type " +
                      std::to_string(f.frame_type));
    e.method = f.payload.method.id;
    void *d = f.payload.method.decoded;
    switch (e.method) {
    case AMQP_BASIC_DELIVER_METHOD: {
        auto *m = (amqp_basic_deliver_t *)d;
        e.kind = event::deliver;
        e.consumer_tag = str(m->consumer_tag);
        e.delivery_tag = m->delivery_tag;
        e.redelivered = m->redelivered != 0;
        e.exchange = str(m->exchange);
        e.routing_key = str(m->routing_key);
        read_content(e.channel, &e.msg);
        break;
    }
    case AMQP_BASIC_RETURN_METHOD: {
        auto *m = (amqp_basic_return_t *)d;
        e.kind = event::returned;
        e.code = m->reply_code;
        e.text = str(m->reply_text);
        e.exchange = str(m->exchange);
        e.routing_key = str(m->routing_key);
        read_content(e.channel, &e.msg);
        break;
    }
    case AMQP_BASIC_ACK_METHOD: {
        auto *m = (amqp_basic_ack_t *)d;
        e.kind = event::ack;
        e.delivery_tag = m->delivery_tag;
        e.multiple = m->multiple != 0;
        break;
    }
    case AMQP_BASIC_NACK_METHOD: {
        auto *m = (amqp_basic_nack_t *)d;
        e.kind = event::nack;
        e.delivery_tag = m->delivery_tag;
        e.multiple = m->multiple != 0;
        break;
    }
    case AMQP_BASIC_CANCEL_METHOD: {
        auto *m = (amqp_basic_cancel_t *)d;
        e.kind = event::cancel;
        e.consumer_tag = str(m->consumer_tag);
        break;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
        auto *m = (amqp_channel_close_t *)d;
        e.kind = event::channel_close;
        e.code = m->reply_code;
        e.text = str(m->reply_text);
        amqp_channel_close_ok_t ok;
        amqp_send_method(state_, e.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
        published_.erase(e.channel);
        break;
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
        auto *m = (amqp_connection_close_t *)d;
        e.kind = event::connection_close;
        e.code = m->reply_code;
        e.text = str(m->reply_text);
        amqp_connection_close_ok_t ok;
        amqp_send_method(state_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        alive_ = false;
        break;
    }
    default:
        e.kind = event::other;
        break;
    }
    return e;
}

event
conn::delivery(double seconds)
{
    event e = next(seconds);
    if (e.kind != event::deliver)
        throw failure("expected basic.deliver, got " + e.describe());
    return e;
}

void
expect_usable(conn &c)
{
    ASSERT_TRUE(c.alive());
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    c.publish(ch, "", q, "still-usable");
    got g = c.get(ch, q);
    ASSERT_TRUE(is_ok(g.reply));
    ASSERT_FALSE(g.empty);
    EXPECT_EQ(g.msg.body, "still-usable");
    EXPECT_TRUE(is_ok(c.close_channel(ch)));
}

/* ---- fixture ---- */

std::string
fixture::queue_name(const std::string &what)
{
    queues_.push_back(unique_name(what));
    return queues_.back();
}

std::string
fixture::exchange_name(const std::string &what)
{
    exchanges_.push_back(unique_name(what));
    return exchanges_.back();
}

void
fixture::TearDown()
{
    if (queues_.empty() && exchanges_.empty())
        return;
    conn c;
    amqp_channel_t ch = c.open_channel();
    for (const std::string &q : queues_) {
        amqp_queue_delete(c.get(), ch, bytes(q), 0, 0);
        c.must(ch, "cleanup queue.delete " + q);
    }
    for (const std::string &x : exchanges_) {
        amqp_exchange_delete(c.get(), ch, bytes(x), 0);
        c.must(ch, "cleanup exchange.delete " + x);
    }
}

} /* namespace interop */
