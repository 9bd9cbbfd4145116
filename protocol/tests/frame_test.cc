/*
 * frame_test.cc - framing: the protocol header, whole and partial frames at
 * every split, the frame-end octet, frame-max and heartbeats.
 */
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "frame.h"

namespace
{

std::vector<uint8_t>
Frame(uint8_t type, uint16_t channel, const std::vector<uint8_t> &payload, uint8_t end = 0xCE)
{
    std::vector<uint8_t> f(WRN_FRAME_HEADER_SIZE);
    wrn_frame_put_header(f.data(), type, channel, static_cast<uint32_t>(payload.size()));
    f.insert(f.end(), payload.begin(), payload.end());
    f.push_back(end);
    return f;
}

std::vector<uint8_t>
Str(const char *s)
{
    return std::vector<uint8_t>(s, s + strlen(s));
}

} // namespace

TEST(Frame, ProtocolHeaderConstants)
{
    const uint8_t header[] = {'A', 'M', 'Q', 'P', 0x00, 0x00, 0x09, 0x01};
    const uint8_t heartbeat[] = {0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xCE};

    EXPECT_EQ(memcmp(wrn_protocol_header, header, 8), 0);
    EXPECT_EQ(memcmp(wrn_heartbeat_frame, heartbeat, 8), 0);
}

TEST(Frame, ProtocolHeaderCheck)
{
    const uint8_t good[] = {'A', 'M', 'Q', 'P', 0x00, 0x00, 0x09, 0x01, 0x01};

    EXPECT_EQ(wrn_protocol_header_check(good, 8), WRN_OK);
    EXPECT_EQ(wrn_protocol_header_check(good, 9), WRN_OK); /* a frame may follow at once */
    for (size_t n = 0; n < 8; n++)
        EXPECT_EQ(wrn_protocol_header_check(good, n), WRN_AGAIN) << n;

    /* 0-9, AMQP 1.0, 0-8 with its class/instance layout, and not AMQP at all. */
    const char *const wrong[] = {"AMQP\x00\x00\x09\x00", "AMQP\x00\x01\x00\x00",
                                 "AMQP\x01\x01\x08\x00", "HTTP/1.1", "GET / HTTP/1.1\r\n"};
    const size_t wrong_len[] = {8, 8, 8, 8, 16};
    for (size_t i = 0; i < 5; i++) {
        const uint8_t *p = reinterpret_cast<const uint8_t *>(wrong[i]);
        EXPECT_EQ(wrn_protocol_header_check(p, wrong_len[i]), WRN_EPROTO) << i;
    }
    /* A wrong byte is refused as soon as it arrives. */
    EXPECT_EQ(wrn_protocol_header_check(reinterpret_cast<const uint8_t *>("HT"), 2), WRN_EPROTO);
    EXPECT_EQ(wrn_protocol_header_check(reinterpret_cast<const uint8_t *>("AMQP\x00\x00\x09"), 7),
              WRN_AGAIN);
    EXPECT_EQ(wrn_protocol_header_check(reinterpret_cast<const uint8_t *>("AMQP\x00\x00\x08"), 7),
              WRN_EPROTO);
}

TEST(Frame, PutHeaderIsBigEndian)
{
    uint8_t h[WRN_FRAME_HEADER_SIZE];
    const uint8_t expect[] = {0x03, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF};

    wrn_frame_put_header(h, WRN_FRAME_BODY, 0x1234, 0xDEADBEEF);
    EXPECT_EQ(memcmp(h, expect, sizeof(expect)), 0);
}

TEST(Frame, ParseCompleteFrame)
{
    std::vector<uint8_t> f = Frame(WRN_FRAME_BODY, 7, Str("hello"));
    struct wrn_frame fr;

    ASSERT_EQ(wrn_frame_parse(f.data(), f.size(), 0, &fr), 13);
    EXPECT_EQ(fr.type, WRN_FRAME_BODY);
    EXPECT_EQ(fr.channel, 7);
    ASSERT_EQ(fr.payload.len, 5u);
    EXPECT_EQ(fr.payload.p, f.data() + 7); /* no copy */
    EXPECT_EQ(memcmp(fr.payload.p, "hello", 5), 0);
}

TEST(Frame, IncompleteAtEverySplitIsAgain)
{
    std::vector<uint8_t> f = Frame(WRN_FRAME_METHOD, 1, {0x00, 0x14, 0x00, 0x0A, 0x00});
    struct wrn_frame fr;

    for (size_t n = 0; n < f.size(); n++) {
        std::vector<uint8_t> part(f.begin(), f.begin() + static_cast<long>(n));
        EXPECT_EQ(wrn_frame_parse(part.data(), part.size(), 0, &fr), WRN_AGAIN) << n;
    }
}

TEST(Frame, StreamOfFramesSplitAnywhere)
{
    std::vector<uint8_t> stream;
    for (uint16_t ch = 0; ch < 4; ch++) {
        std::vector<uint8_t> f = Frame(WRN_FRAME_BODY, ch, std::vector<uint8_t>(ch * 3u, 'x'));
        stream.insert(stream.end(), f.begin(), f.end());
    }
    stream.insert(stream.end(), wrn_heartbeat_frame, wrn_heartbeat_frame + 8);

    /* Feed the stream in two pieces split at every offset, as reads may arrive. */
    for (size_t split = 0; split <= stream.size(); split++) {
        std::vector<uint8_t> buf(stream.begin(), stream.begin() + static_cast<long>(split));
        size_t off = 0, frames = 0;
        bool fed = false;
        for (;;) {
            struct wrn_frame fr;
            int n = wrn_frame_parse(buf.data() + off, buf.size() - off, 4096, &fr);
            if (n == WRN_AGAIN && !fed) {
                buf.insert(buf.end(), stream.begin() + static_cast<long>(split), stream.end());
                fed = true;
                continue;
            }
            if (n == WRN_AGAIN)
                break;
            ASSERT_GT(n, 0) << "split " << split;
            if (frames < 4)
                EXPECT_EQ(fr.channel, frames);
            else
                EXPECT_EQ(fr.type, WRN_FRAME_HEARTBEAT);
            off += static_cast<size_t>(n);
            frames++;
        }
        EXPECT_EQ(frames, 5u) << "split " << split;
        EXPECT_EQ(off, stream.size());
    }
}

TEST(Frame, BadFrameEndIsEproto)
{
    std::vector<uint8_t> f = Frame(WRN_FRAME_BODY, 1, Str("abc"), 0x00);
    struct wrn_frame fr;

    EXPECT_EQ(wrn_frame_parse(f.data(), f.size(), 0, &fr), WRN_EPROTO);
    f.back() = 0xCF;
    EXPECT_EQ(wrn_frame_parse(f.data(), f.size(), 0, &fr), WRN_EPROTO);
    f.back() = 0xCE;
    EXPECT_EQ(wrn_frame_parse(f.data(), f.size(), 0, &fr), 11);
}

TEST(Frame, UnknownTypeIsEprotoFromParseOnly)
{
    struct wrn_frame fr;
    uint8_t type;
    uint16_t channel;
    uint32_t size;
    size_t total;

    for (uint8_t t : {0, 4, 5, 9, 65, 206, 255}) {
        std::vector<uint8_t> f = Frame(t, 0, Str("x"));
        EXPECT_EQ(wrn_frame_parse(f.data(), f.size(), 0, &fr), WRN_EPROTO) << int(t);
        /* Known from the header alone: no need to wait for the payload. */
        EXPECT_EQ(wrn_frame_parse(f.data(), 7, 0, &fr), WRN_EPROTO) << int(t);
        EXPECT_EQ(wrn_frame_peek(f.data(), f.size(), 0, &type, &channel, &size, &total), WRN_OK);
        EXPECT_EQ(type, t);
    }
    for (uint8_t t : {1, 2, 3, 8}) {
        std::vector<uint8_t> f = Frame(t, 0, Str("x"));
        EXPECT_EQ(wrn_frame_parse(f.data(), f.size(), 0, &fr), 9) << int(t);
    }
}

TEST(Frame, PeekReadsTheHeader)
{
    std::vector<uint8_t> f = Frame(WRN_FRAME_HEADER, 0xBEEF, std::vector<uint8_t>(300, 0));
    uint8_t type;
    uint16_t channel;
    uint32_t size;
    size_t total;

    for (size_t n = 0; n < WRN_FRAME_HEADER_SIZE; n++)
        EXPECT_EQ(wrn_frame_peek(f.data(), n, 0, &type, &channel, &size, &total), WRN_AGAIN);
    ASSERT_EQ(wrn_frame_peek(f.data(), 7, 0, &type, &channel, &size, &total), WRN_OK);
    EXPECT_EQ(type, WRN_FRAME_HEADER);
    EXPECT_EQ(channel, 0xBEEF);
    EXPECT_EQ(size, 300u);
    EXPECT_EQ(total, 308u);
}

TEST(Frame, FrameMaxCountsTheWholeFrame)
{
    struct wrn_frame fr;
    uint8_t type;
    uint16_t channel;
    uint32_t size;
    size_t total;

    /* payload 4088 + 8 = 4096: exactly frame_max is fine, one byte more is not. */
    std::vector<uint8_t> fits = Frame(WRN_FRAME_BODY, 1, std::vector<uint8_t>(4088, 'a'));
    std::vector<uint8_t> over = Frame(WRN_FRAME_BODY, 1, std::vector<uint8_t>(4089, 'a'));

    EXPECT_EQ(wrn_frame_parse(fits.data(), fits.size(), 4096, &fr), 4096);
    EXPECT_EQ(wrn_frame_parse(over.data(), over.size(), 4096, &fr), WRN_ETOOBIG);
    EXPECT_EQ(wrn_frame_parse(over.data(), over.size(), 4097, &fr), 4097);
    EXPECT_EQ(wrn_frame_parse(over.data(), over.size(), 0, &fr), 4097); /* 0: no limit */
    /* Refused from the header alone, before the payload is there. */
    EXPECT_EQ(wrn_frame_parse(over.data(), 7, 4096, &fr), WRN_ETOOBIG);
    EXPECT_EQ(wrn_frame_peek(over.data(), 7, 4096, &type, &channel, &size, &total), WRN_ETOOBIG);

    /* A size near 4 GiB must not wrap around the limit check. */
    uint8_t huge[7];
    wrn_frame_put_header(huge, WRN_FRAME_BODY, 1, 0xFFFFFFFF);
    EXPECT_EQ(wrn_frame_peek(huge, 7, WRN_FRAME_MIN_SIZE, &type, &channel, &size, &total),
              WRN_ETOOBIG);
    EXPECT_EQ(wrn_frame_peek(huge, 7, 0xFFFFFFFF, &type, &channel, &size, &total), WRN_ETOOBIG);
    EXPECT_EQ(wrn_frame_peek(huge, 7, 0, &type, &channel, &size, &total), WRN_OK);
    EXPECT_EQ(total, 0xFFFFFFFFull + 8);
}

TEST(Frame, Heartbeat)
{
    struct wrn_frame fr;

    ASSERT_EQ(wrn_frame_parse(wrn_heartbeat_frame, 8, WRN_FRAME_MIN_SIZE, &fr), 8);
    EXPECT_EQ(fr.type, WRN_FRAME_HEARTBEAT);
    EXPECT_EQ(fr.channel, 0);
    EXPECT_EQ(fr.payload.len, 0u);
    for (size_t n = 0; n < 8; n++)
        EXPECT_EQ(wrn_frame_parse(wrn_heartbeat_frame, n, 0, &fr), WRN_AGAIN);
}

TEST(Frame, RealFrameFromRabbitMQ)
{
    /* connection.tune as RabbitMQ 3.10 sent it. */
    const uint8_t tune[] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00,
                            0x1e, 0x07, 0xff, 0x00, 0x02, 0x00, 0x00, 0x00, 0x3c, 0xce};
    struct wrn_frame fr;
    struct wrn_method m;

    ASSERT_EQ(wrn_frame_parse(tune, sizeof(tune), WRN_FRAME_MIN_SIZE, &fr), 20);
    EXPECT_EQ(fr.type, WRN_FRAME_METHOD);
    ASSERT_EQ(wrn_method_decode(fr.payload.p, fr.payload.len, &m), WRN_OK);
    EXPECT_EQ(m.id, WRN_CONNECTION_TUNE);
    EXPECT_EQ(m.a.connection_tune.frame_max, 131072u);
}
