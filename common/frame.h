/* frame: the wire framing. A frame is a 4-byte big-endian length N followed
 * by N bytes of one protobuf Envelope. N = 0 and N > the current limit are
 * protocol errors. The decoder checks the declared length against the limit
 * before allocating anything, and accepts input split or merged in any way. */
#ifndef CALLFLOOR_FRAME_H
#define CALLFLOOR_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_SIZE 4
#define FRAME_DEFAULT_MAX (1024 * 1024)

enum {
    FRAME_E_EMPTY = -1001,     /* a frame declared length 0 */
    FRAME_E_TOO_LARGE = -1002, /* a frame declared more than the limit */
    FRAME_E_NOMEM = -1003,
    FRAME_E_STOPPED = -1004, /* the callback asked to stop */
};

/* Called once per complete frame. `payload` is valid only during the call.
 * Returning non-zero stops decoding; feed then returns FRAME_E_STOPPED. */
typedef int (*frame_cb)(void *arg, const uint8_t *payload, size_t len);

typedef struct frame_decoder {
    uint8_t header[FRAME_HEADER_SIZE];
    size_t header_got;
    uint8_t *payload; /* owned; allocated to the declared length */
    size_t payload_len;
    size_t payload_got;
    size_t max_len;
    uint32_t bad_len; /* the declared length that caused the last error */
} frame_decoder;

void frame_decoder_init(frame_decoder *d, size_t max_len);
/* Changes the limit for frames whose header has not been read yet. */
void frame_decoder_set_max(frame_decoder *d, size_t max_len);
/* Consumes `len` bytes, calling `cb` for each complete frame. Returns 0 when
 * all bytes were taken, or a FRAME_E_* code; after an error the decoder must
 * not be fed again (the connection is to be closed). */
int frame_decoder_feed(frame_decoder *d, const uint8_t *data, size_t len, frame_cb cb, void *arg);
/* True while a frame is partly received (header or payload). */
int frame_decoder_mid_frame(const frame_decoder *d);
void frame_decoder_free(frame_decoder *d);

/* Writes the 4-byte header for a payload of `len` bytes. */
void frame_write_header(uint8_t out[FRAME_HEADER_SIZE], uint32_t len);
/* Human-readable text for a FRAME_E_* code. */
const char *frame_strerror(int code);

#endif
