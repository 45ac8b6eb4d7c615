/* cmdin: see cmdin.h. The input sits in one fixed buffer that is never
 * reallocated, so no copy of a password is left behind in freed memory. */
#include "cmdin.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "pii.h"

typedef enum source_kind {
    SOURCE_STREAM, /* terminal, pipe, socket: uv_read_start */
    SOURCE_FILE,   /* regular file, character device: uv_fs_read */
} source_kind;

struct cmdin {
    uv_loop_t *loop;
    source_kind kind;
    int fd;
    int saved_flags; /* the descriptor's flags, restored on close */
    /* For a file, an idle handle that is never started: closing it defers
     * the free to a close callback, as for a stream. */
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tty_t tty;
        uv_pipe_t pipe;
        uv_idle_t idle;
    } s;
    uv_fs_t fs_req;
    bool fs_busy;
    bool reading;
    bool paused;
    bool delivering;
    bool ended;    /* nothing more will be read */
    bool end_told; /* the NULL line was delivered */
    bool closing;
    bool handle_closed;
    int end_status;
    cmdin_cb cb;
    void *arg;
    size_t len;
    char data[CMDIN_MAX + 2]; /* the line, its '\n', and room for a '\0' */
};

static void read_more(cmdin *in);

static void free_reader(cmdin *in) {
    pii_wipe(in->data, sizeof in->data);
    free(in);
}

/* Takes the first line out of the buffer and hands it over. Returns false
 * when there is no complete line. */
static bool deliver_one(cmdin *in) {
    char *nl = memchr(in->data, '\n', in->len);
    if (nl == NULL)
        return false;
    size_t n = (size_t)(nl - in->data);
    *nl = '\0';
    if (n > 0 && in->data[n - 1] == '\r')
        in->data[n - 1] = '\0';
    bool more = in->cb(in->data, 0, in->arg);
    size_t rest = in->len - (n + 1);
    memmove(in->data, nl + 1, rest);
    pii_wipe(in->data + rest, n + 1);
    in->len = rest;
    if (!more)
        in->paused = true;
    return true;
}

/* At the end, a last line without a line end still counts as a line. */
static void deliver_end(cmdin *in) {
    if (in->len > 0) {
        in->data[in->len++] = '\n';
        deliver_one(in);
        if (in->paused || in->closing)
            return;
    }
    in->end_told = true;
    in->cb(NULL, in->end_status, in->arg);
}

static void deliver(cmdin *in) {
    in->delivering = true;
    while (!in->paused && !in->closing && deliver_one(in))
        continue;
    in->delivering = false;
    if (in->paused || in->closing || in->end_told)
        return;
    if (!in->ended && in->len >= CMDIN_MAX + 1) {
        in->ended = true;
        in->end_status = UV_E2BIG;
        pii_wipe(in->data, sizeof in->data);
        in->len = 0;
    }
    if (in->ended)
        deliver_end(in);
}

static void input_ended(cmdin *in, int status) {
    in->ended = true;
    in->end_status = status;
    if (in->reading) {
        uv_read_stop(&in->s.stream);
        in->reading = false;
    }
}

/* A paused reader stops reading, so a fast writer waits in the pipe
 * rather than overflowing the buffer. */
static void took_bytes(cmdin *in, ssize_t n) {
    if (n > 0)
        in->len += (size_t)n;
    else
        input_ended(in, n == UV_EOF ? 0 : (int)n);
    deliver(in);
    if (in->closing)
        return;
    if (in->paused && in->reading) {
        uv_read_stop(&in->s.stream);
        in->reading = false;
    }
    read_more(in);
}

/* ---- terminals, pipes, sockets ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    cmdin *in = h->data;
    (void)suggested;
    *b = uv_buf_init(in->data + in->len, (unsigned)(CMDIN_MAX + 1 - in->len));
}

static void on_stream_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
    cmdin *in = s->data;
    (void)b;
    if (nread != 0)
        took_bytes(in, nread);
}

/* libuv made a stream's descriptor non-blocking, and it may be shared
 * with the program that started this one. A file read still in the
 * thread pool frees the reader when it comes back. */
static void on_handle_closed(uv_handle_t *h) {
    cmdin *in = h->data;
    in->handle_closed = true;
    if (in->kind == SOURCE_STREAM && in->saved_flags >= 0)
        fcntl(in->fd, F_SETFL, in->saved_flags);
    if (!in->fs_busy)
        free_reader(in);
}

/* Returns 0, or a libuv code after which the reader has been (or will be)
 * freed. */
static int open_stream(cmdin *in, uv_handle_type type) {
    int rc;
    if (type == UV_TTY) {
        rc = uv_tty_init(in->loop, &in->s.tty, in->fd, 1);
        if (rc < 0)
            free_reader(in);
    } else if ((rc = uv_pipe_init(in->loop, &in->s.pipe, 0)) < 0) {
        free_reader(in);
    } else if ((rc = uv_pipe_open(&in->s.pipe, in->fd)) < 0) {
        in->closing = true;
        in->s.handle.data = in;
        uv_close(&in->s.handle, on_handle_closed);
    }
    if (rc == 0)
        in->s.handle.data = in;
    return rc;
}

/* ---- files ---- */

static void on_fs_read(uv_fs_t *req) {
    cmdin *in = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    in->fs_busy = false;
    if (in->closing) {
        if (in->handle_closed)
            free_reader(in);
        return;
    }
    took_bytes(in, n == 0 ? UV_EOF : n);
}

static void read_file(cmdin *in) {
    uv_buf_t b = uv_buf_init(in->data + in->len, (unsigned)(CMDIN_MAX + 1 - in->len));
    in->fs_req.data = in;
    int rc = uv_fs_read(in->loop, &in->fs_req, in->fd, &b, 1, -1, on_fs_read);
    if (rc < 0) {
        input_ended(in, rc);
        deliver(in);
        return;
    }
    in->fs_busy = true;
}

/* ---- common ---- */

static void read_more(cmdin *in) {
    if (in->ended || in->paused || in->closing || in->len > CMDIN_MAX)
        return;
    if (in->kind == SOURCE_FILE) {
        if (!in->fs_busy)
            read_file(in);
        return;
    }
    if (in->reading)
        return;
    int rc = uv_read_start(&in->s.stream, on_alloc, on_stream_read);
    if (rc < 0) {
        input_ended(in, rc);
        deliver(in);
        return;
    }
    in->reading = true;
}

int cmdin_open(uv_loop_t *loop, int fd, cmdin_cb cb, void *arg, cmdin **out) {
    uv_handle_type type = uv_guess_handle(fd);
    if (type != UV_TTY && type != UV_NAMED_PIPE && type != UV_TCP && type != UV_FILE)
        return UV_EINVAL;
    cmdin *in = calloc(1, sizeof *in);
    if (in == NULL)
        return UV_ENOMEM;
    in->loop = loop;
    in->fd = fd;
    in->cb = cb;
    in->arg = arg;
    in->saved_flags = fcntl(fd, F_GETFL);
    in->kind = type == UV_FILE ? SOURCE_FILE : SOURCE_STREAM;
    if (in->kind == SOURCE_STREAM) {
        int rc = open_stream(in, type);
        if (rc < 0)
            return rc;
    } else {
        uv_idle_init(loop, &in->s.idle);
        in->s.handle.data = in;
    }
    *out = in;
    read_more(in);
    return 0;
}

void cmdin_resume(cmdin *in) {
    in->paused = false;
    if (in->delivering)
        return;
    deliver(in);
    read_more(in);
}

void cmdin_close(cmdin *in) {
    if (in->closing)
        return;
    in->closing = true;
    uv_close(&in->s.handle, on_handle_closed);
}
