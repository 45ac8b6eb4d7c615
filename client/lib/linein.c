#include "linein.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LINEIN_CHUNK 4096

struct linein {
    uv_loop_t *loop;
    linein_cb cb;
    void *arg;
    bool is_file;
    bool stopped;
    bool skipping; /* inside a line that was too long, up to its end */
    union {
        uv_pipe_t pipe;
        uv_tty_t tty;
        uv_stream_t stream;
    } h;
    uv_fs_t read_req;
    bool read_pending;
    bool busy; /* inside a callback from on_file_read */
    char chunk[LINEIN_CHUNK];
    size_t len;
    char line[LINEIN_MAX + 1];
};

static void deliver_line(linein *l) {
    if (l->len > 0 && l->line[l->len - 1] == '\r')
        l->len--;
    l->line[l->len] = '\0';
    l->len = 0;
    l->cb(0, l->line, l->arg);
}

/* Splits `data` into lines; stops early when the owner stopped reading. */
static void consume(linein *l, const char *data, size_t n) {
    for (size_t i = 0; i < n && !l->stopped; i++) {
        char ch = data[i];
        if (ch == '\n') {
            if (l->skipping)
                l->skipping = false;
            else
                deliver_line(l);
        } else if (!l->skipping) {
            if (l->len == LINEIN_MAX) {
                l->skipping = true;
                l->len = 0;
                l->cb(-E2BIG, NULL, l->arg);
            } else {
                l->line[l->len++] = ch;
            }
        }
    }
}

static void finish(linein *l, int status) {
    if (l->stopped)
        return;
    if (status == 0 && l->len > 0 && !l->skipping)
        deliver_line(l);
    if (!l->stopped)
        l->cb(status, NULL, l->arg);
}

/* ---- pipes and terminals ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    linein *l = h->data;
    (void)suggested;
    *b = uv_buf_init(l->chunk, sizeof l->chunk);
}

static void on_stream_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    linein *l = s->data;
    if (n > 0) {
        consume(l, b->base, (size_t)n);
    } else if (n < 0) {
        uv_read_stop(s);
        finish(l, n == UV_EOF ? 0 : (int)n);
    }
}

/* ---- regular files ---- */

static int read_next_chunk(linein *l);

static void on_file_read(uv_fs_t *req) {
    linein *l = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    l->read_pending = false;
    if (!l->stopped) {
        /* The callbacks may stop the reader: it is freed below, not there. */
        l->busy = true;
        if (n > 0)
            consume(l, l->chunk, (size_t)n);
        else
            finish(l, (int)n);
        if (n > 0 && !l->stopped && read_next_chunk(l) < 0)
            finish(l, -EIO);
        l->busy = false;
    }
    if (l->stopped)
        free(l);
}

static int read_next_chunk(linein *l) {
    uv_buf_t b = uv_buf_init(l->chunk, sizeof l->chunk);
    l->read_req.data = l;
    int rc = uv_fs_read(l->loop, &l->read_req, 0, &b, 1, -1, on_file_read);
    l->read_pending = rc == 0;
    return rc;
}

linein *linein_start(uv_loop_t *loop, linein_cb cb, void *arg) {
    linein *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->loop = loop;
    l->cb = cb;
    l->arg = arg;
    uv_handle_type type = uv_guess_handle(0);
    int rc;
    if (type == UV_TTY) {
        rc = uv_tty_init(loop, &l->h.tty, 0, 1);
    } else if (type == UV_NAMED_PIPE) {
        rc = uv_pipe_init(loop, &l->h.pipe, 0);
        if (rc == 0)
            rc = uv_pipe_open(&l->h.pipe, 0);
    } else {
        l->is_file = true;
        rc = read_next_chunk(l);
        if (rc == 0)
            return l;
    }
    if (rc == 0 && !l->is_file) {
        l->h.stream.data = l;
        rc = uv_read_start(&l->h.stream, on_alloc, on_stream_read);
    }
    if (rc < 0) {
        free(l);
        errno = -rc;
        return NULL;
    }
    return l;
}

static void on_handle_closed(uv_handle_t *h) {
    free(h->data);
}

void linein_stop(linein *l) {
    l->stopped = true;
    if (l->is_file) {
        if (!l->busy && !l->read_pending)
            free(l);
    } else {
        uv_close((uv_handle_t *)&l->h.stream, on_handle_closed);
    }
}
