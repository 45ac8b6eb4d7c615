/* buf: a growable byte buffer with a read cursor, used for frames and
 * socket output. The buffer owns its storage; buf_free releases it. */
#ifndef CALLFLOOR_BUF_H
#define CALLFLOOR_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    uint8_t *data;
    size_t len; /* bytes written, including those already consumed */
    size_t off; /* bytes consumed from the front */
    size_t cap;
} buf;

#define BUF_INIT \
    { NULL, 0, 0, 0 }

/* Makes room for at least `extra` more bytes. Returns 0 or -ENOMEM. */
int buf_reserve(buf *b, size_t extra);
/* Appends `len` bytes. Returns 0 or -ENOMEM; on error `b` is unchanged. */
int buf_append(buf *b, const void *data, size_t len);
/* Appends a NUL-terminated string without its NUL. */
int buf_append_str(buf *b, const char *s);
/* Appends printf-style text without a NUL. Returns 0, -ENOMEM, or -EINVAL
 * when the format cannot be rendered; on error `b` is unchanged. */
int buf_appendf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The unconsumed bytes and their count. */
static inline const uint8_t *buf_head(const buf *b) {
    return b->data + b->off;
}
static inline size_t buf_pending(const buf *b) {
    return b->len - b->off;
}
/* Marks `n` bytes at the head as consumed; compacts when all are gone. */
void buf_consume(buf *b, size_t n);
/* Drops all content but keeps the storage. */
void buf_reset(buf *b);
/* Releases the storage and leaves an empty buffer. */
void buf_free(buf *b);

#endif
