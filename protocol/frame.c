/*
 * frame.c - AMQP 0-9-1 framing: the protocol header a client opens with,
 * the 7-byte frame header, the frame-end octet and heartbeats. Sizes are
 * checked against frame-max from the header alone, before the caller waits
 * for (or allocates) the payload.
 */
#include "frame.h"

#include <limits.h>

const uint8_t wrn_protocol_header[8] = {'A', 'M', 'Q', 'P', 0, 0, 9, 1};

/* errata 12: a heartbeat is type 8 on channel 0 with an empty payload. */
const uint8_t wrn_heartbeat_frame[8] = {WRN_FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, WRN_FRAME_END};

/*
 * Compare what has arrived so far with the header. A mismatch is known as
 * soon as one byte differs, so a client speaking HTTP or AMQP 1.0 is refused
 * without waiting for 8 bytes.
 */
int
wrn_protocol_header_check(const uint8_t *buf, size_t len)
{
    size_t n = len < sizeof(wrn_protocol_header) ? len : sizeof(wrn_protocol_header);

    if (n > 0 && memcmp(buf, wrn_protocol_header, n) != 0)
        return WRN_EPROTO;
    return len < sizeof(wrn_protocol_header) ? WRN_AGAIN : WRN_OK;
}

/*
 * Read type, channel and payload size. frame_max counts the whole frame
 * (header, payload and frame-end octet), as in connection.tune.
 */
int
wrn_frame_peek(const uint8_t *buf, size_t len, uint32_t frame_max, uint8_t *type, uint16_t *channel,
               uint32_t *size, size_t *total)
{
    struct wrn_cursor c;
    uint64_t whole;

    if (len < WRN_FRAME_HEADER_SIZE)
        return WRN_AGAIN;
    wrn_cursor_init(&c, buf, len);
    wrn_get_u8(&c, type);
    wrn_get_u16(&c, channel);
    wrn_get_u32(&c, size);
    whole = (uint64_t)*size + WRN_FRAME_OVERHEAD;
    if (frame_max != 0 && whole > frame_max)
        return WRN_ETOOBIG;
    *total = (size_t)whole;
    return WRN_OK;
}

/*
 * Parse one frame. The type is checked as soon as the header is in, so
 * garbage is refused before its claimed length arrives. A frame that could
 * not be reported in the int return (over 2 GiB, only possible with no
 * frame_max) is WRN_ETOOBIG.
 */
int
wrn_frame_parse(const uint8_t *buf, size_t len, uint32_t frame_max, struct wrn_frame *f)
{
    uint8_t type;
    uint16_t channel;
    uint32_t size;
    size_t total;
    int rc;

    rc = wrn_frame_peek(buf, len, frame_max, &type, &channel, &size, &total);
    if (rc != WRN_OK)
        return rc;
    switch (type) {
    case WRN_FRAME_METHOD:
    case WRN_FRAME_HEADER:
    case WRN_FRAME_BODY:
    case WRN_FRAME_HEARTBEAT:
        break;
    default:
        return WRN_EPROTO;
    }
    if (total > INT_MAX)
        return WRN_ETOOBIG;
    if (len < total)
        return WRN_AGAIN;
    if (buf[total - 1] != WRN_FRAME_END)
        return WRN_EPROTO;
    f->type = type;
    f->channel = channel;
    f->payload.p = buf + WRN_FRAME_HEADER_SIZE;
    f->payload.len = size;
    return (int)total;
}

void
wrn_frame_put_header(uint8_t *out, uint8_t type, uint16_t channel, uint32_t size)
{
    struct wrn_wbuf w;

    wrn_wbuf_init(&w, out, WRN_FRAME_HEADER_SIZE);
    wrn_put_u8(&w, type);
    wrn_put_u16(&w, channel);
    wrn_put_u32(&w, size);
}

/*
 * The method is encoded straight into its place after the header, then the
 * header is filled in with the length that came out.
 */
int
wrn_frame_encode_method(uint16_t channel, const struct wrn_method *m, uint8_t *out, size_t cap)
{
    int n;

    if (cap < WRN_FRAME_OVERHEAD)
        return WRN_ENOSPC;
    n = wrn_method_encode(m, out + WRN_FRAME_HEADER_SIZE, cap - WRN_FRAME_OVERHEAD);
    if (n < 0)
        return n;
    if ((size_t)n > (size_t)INT_MAX - WRN_FRAME_OVERHEAD)
        return WRN_ENOSPC;
    wrn_frame_put_header(out, WRN_FRAME_METHOD, channel, (uint32_t)n);
    out[WRN_FRAME_HEADER_SIZE + n] = WRN_FRAME_END;
    return n + WRN_FRAME_OVERHEAD;
}
