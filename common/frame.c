#include "frame.h"

#include <stdlib.h>
#include <string.h>

void frame_decoder_init(frame_decoder *d, size_t max_len) {
    memset(d, 0, sizeof *d);
    d->max_len = max_len;
}

void frame_decoder_set_max(frame_decoder *d, size_t max_len) {
    d->max_len = max_len;
}

static uint32_t read_be32(const uint8_t p[FRAME_HEADER_SIZE]) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void frame_write_header(uint8_t out[FRAME_HEADER_SIZE], uint32_t len) {
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
}

static size_t min_size(size_t a, size_t b) {
    return a < b ? a : b;
}

static int check_length(frame_decoder *d, uint32_t declared) {
    if (declared == 0) {
        d->bad_len = 0;
        return FRAME_E_EMPTY;
    }
    if (declared > d->max_len) {
        d->bad_len = declared;
        return FRAME_E_TOO_LARGE;
    }
    return 0;
}

/* Drops the finished frame so the next byte starts a new header. */
static void reset_frame(frame_decoder *d) {
    free(d->payload);
    d->payload = NULL;
    d->payload_len = 0;
    d->payload_got = 0;
    d->header_got = 0;
}

static int deliver(frame_decoder *d, const uint8_t *payload, frame_cb cb, void *arg) {
    int stop = cb(arg, payload, d->payload_len);
    reset_frame(d);
    return stop ? FRAME_E_STOPPED : 0;
}

/* Reads header bytes; once the header is complete, validates it and either
 * delivers the payload straight from `data` (the common case of a whole frame
 * in one read, no copy) or allocates room to gather it. */
static int feed_header(frame_decoder *d, const uint8_t *data, size_t len, size_t *pos, frame_cb cb,
                       void *arg) {
    size_t take = min_size(FRAME_HEADER_SIZE - d->header_got, len - *pos);
    memcpy(d->header + d->header_got, data + *pos, take);
    d->header_got += take;
    *pos += take;
    if (d->header_got < FRAME_HEADER_SIZE)
        return 0;
    uint32_t declared = read_be32(d->header);
    int rc = check_length(d, declared);
    if (rc < 0)
        return rc;
    d->payload_len = declared;
    if (len - *pos >= declared) {
        const uint8_t *payload = data + *pos;
        *pos += declared;
        return deliver(d, payload, cb, arg);
    }
    d->payload = malloc(declared);
    if (d->payload == NULL) {
        d->bad_len = declared;
        return FRAME_E_NOMEM;
    }
    return 0;
}

static int feed_payload(frame_decoder *d, const uint8_t *data, size_t len, size_t *pos, frame_cb cb,
                        void *arg) {
    size_t take = min_size(d->payload_len - d->payload_got, len - *pos);
    memcpy(d->payload + d->payload_got, data + *pos, take);
    d->payload_got += take;
    *pos += take;
    if (d->payload_got < d->payload_len)
        return 0;
    return deliver(d, d->payload, cb, arg);
}

int frame_decoder_feed(frame_decoder *d, const uint8_t *data, size_t len, frame_cb cb, void *arg) {
    size_t pos = 0;
    while (pos < len) {
        int rc = d->header_got < FRAME_HEADER_SIZE ? feed_header(d, data, len, &pos, cb, arg)
                                                   : feed_payload(d, data, len, &pos, cb, arg);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int frame_decoder_mid_frame(const frame_decoder *d) {
    return d->header_got > 0;
}

void frame_decoder_free(frame_decoder *d) {
    reset_frame(d);
}

const char *frame_strerror(int code) {
    switch (code) {
    case 0:
        return "no error";
    case FRAME_E_EMPTY:
        return "frame declared length 0";
    case FRAME_E_TOO_LARGE:
        return "frame larger than the limit";
    case FRAME_E_NOMEM:
        return "out of memory for a frame";
    case FRAME_E_STOPPED:
        return "frame decoding stopped by its receiver";
    default:
        return "unknown frame error";
    }
}
