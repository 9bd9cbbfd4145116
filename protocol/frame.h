/*
 * frame.h - AMQP 0-9-1 framing: the 8-byte protocol header, the 7-byte frame
 * header (type, channel, size), the frame-end octet and heartbeats. Parsing
 * never reads past the bytes it was given and checks the size against
 * frame-max before the caller allocates or pulls up anything.
 */
#ifndef WRN_FRAME_H
#define WRN_FRAME_H

#include "methods.h" /* WRN_FRAME_METHOD, WRN_FRAME_END, ... */
#include "wire.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WRN_FRAME_HEADER_SIZE 7
#define WRN_FRAME_OVERHEAD 8 /* header + frame-end octet */

struct wrn_frame {
    uint8_t type;
    uint16_t channel;
    struct wrn_slice payload; /* points into the parsed buffer */
};

/* "AMQP" 0 0 9 1 */
extern const uint8_t wrn_protocol_header[8];
/* type 8, channel 0, size 0, frame-end (errata 12) */
extern const uint8_t wrn_heartbeat_frame[8];

/*
 * Check the first bytes a client sends. Returns WRN_OK when buf starts with
 * the 0-9-1 header, WRN_AGAIN when fewer than 8 bytes have arrived and they
 * are still a prefix of it, WRN_EPROTO otherwise.
 */
int wrn_protocol_header_check(const uint8_t *buf, size_t len);

/*
 * Read the 7-byte frame header from buf. Returns WRN_AGAIN if len < 7,
 * WRN_ETOOBIG if the payload would make the whole frame larger than
 * frame_max (frame_max 0 means no limit), else WRN_OK with the fields set.
 * *total is the whole frame length including header and frame-end octet.
 */
int wrn_frame_peek(const uint8_t *buf, size_t len, uint32_t frame_max, uint8_t *type,
                   uint16_t *channel, uint32_t *size, size_t *total);

/*
 * Parse one whole frame from buf. Returns the number of bytes it occupies
 * (> 0) with *f filled (payload points into buf), WRN_AGAIN if the frame is
 * not complete yet, WRN_ETOOBIG as for wrn_frame_peek, and WRN_EPROTO if the
 * frame-end octet is wrong or the type is not 1, 2, 3 or 8.
 */
int wrn_frame_parse(const uint8_t *buf, size_t len, uint32_t frame_max, struct wrn_frame *f);

/* Write a 7-byte frame header into out (which must have 7 bytes). */
void wrn_frame_put_header(uint8_t *out, uint8_t type, uint16_t channel, uint32_t size);

/*
 * Encode a whole method frame (header, class/method ids and arguments,
 * frame-end) into out. Returns the frame length or WRN_ENOSPC.
 */
int wrn_frame_encode_method(uint16_t channel, const struct wrn_method *m, uint8_t *out,
                            size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* WRN_FRAME_H */
