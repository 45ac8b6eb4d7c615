#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Small buffers grow straight to this so short messages cost one malloc. */
#define BUF_MIN_CAP 256

int buf_reserve(buf *b, size_t extra) {
    if (extra <= b->cap - b->len)
        return 0;
    if (extra > SIZE_MAX - b->len)
        return -ENOMEM;
    size_t need = b->len + extra;
    size_t cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
    /* Doubling keeps appends amortised O(1); stop doubling before overflow. */
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *data = realloc(b->data, cap);
    if (data == NULL)
        return -ENOMEM;
    b->data = data;
    b->cap = cap;
    return 0;
}

int buf_append(buf *b, const void *data, size_t len) {
    if (len == 0)
        return 0;
    int rc = buf_reserve(b, len);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

int buf_append_str(buf *b, const char *s) {
    return buf_append(b, s, strlen(s));
}

int buf_appendf(buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    /* vsnprintf writes a NUL after the text; reserve it but do not count it. */
    int rc = buf_reserve(b, (size_t)n + 1);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void buf_consume(buf *b, size_t n) {
    size_t pending = buf_pending(b);
    b->off += n < pending ? n : pending;
    if (b->off == b->len)
        buf_reset(b);
}

void buf_reset(buf *b) {
    b->len = 0;
    b->off = 0;
}

void buf_free(buf *b) {
    free(b->data);
    *b = (buf)BUF_INIT;
}
