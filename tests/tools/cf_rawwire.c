/* cf_rawwire: sends deliberately broken or unusual traffic to callfloord
 * and prints what the server answered, one line, for the integration tests
 * to check:
 *   closing CODE reason (N.N s)   the server pushed Closing
 *   error CODE message (N.N s)    the server answered with an Error
 *   reply BODY (N.N s)            any other answer
 *   eof N.N                       the server closed the connection
 *   timeout N.N                   nothing came for 60 s
 *   sent                          the client hung up at once (vanish-*)
 *   closed by close_notify (N.N s) login-goodbye: the server answered a
 *                                 Ping sent with the client's close_notify
 *                                 with its own, and nothing else
 *   alive pongs=N                 login-ping: every Ping was answered
 *   answered N of N once each     login-burst: so was every Ping of a burst
 *   cut off after N Pings (N.N s) login-noread: sending failed, the server
 *                                 hung up on a client that does not read
 *   stalled N.N                   login-board-stall: watched the board and
 *                                 read nothing for SECONDS
 *   established VERSION alpn=P    handshake-*: TLS is up, with this ALPN
 *   refused REASON (N.N s)        handshake-*: OpenSSL's reason
 * The times count from the TCP connection. Scenarios named login-* first
 * log in as CALLFLOOR_USER with CALLFLOOR_PASSWORD. It uses OpenSSL
 * directly on a blocking socket, not the project's own TLS and client
 * code, so that it checks the daemon from the outside. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "envelope.h"
#include "frame.h"

/* Longer than any timeout the tests configure, shorter than CTest's. */
#define RECEIVE_TIMEOUT_S 60
/* Above the default limit before login (16 KiB), far below the one after. */
#define BIG_PING_PADDING (32 * 1024)
#define PING_PERIOD_MS   300
/* Pings sent in one write by login-burst. */
#define BURST_PINGS 500
/* login-noread sends batches of this many Pings, at most FLOOD_BATCHES:
 * some 30 MB, far more than socket buffers and any output cap hold. */
#define FLOOD_BATCH   1000
#define FLOOD_BATCHES 2000

typedef struct wire {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    double started;
} wire;

typedef enum read_result {
    READ_FRAME,
    READ_EOF,
    READ_TIMEOUT,
    READ_UNDECODABLE,
} read_result;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double elapsed(const wire *w) {
    return now_s() - w->started;
}

static void sleep_ms(long ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int connect_tcp(const char *hostport) {
    char host[128];
    const char *colon = strrchr(hostport, ':');
    if (colon == NULL || (size_t)(colon - hostport) >= sizeof host)
        return -1;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = RECEIVE_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static const unsigned char callfloor_alpn[] = "\x0b"
                                              "callfloor/1";

static SSL_CTX *client_ctx(const char *ca) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx, ca, NULL);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_alpn_protos(ctx, callfloor_alpn, sizeof callfloor_alpn - 1);
    return ctx;
}

/* Changes the client context for the handshake-* scenarios. Returns false
 * for a name that is not one of them. */
static bool vary_handshake(SSL_CTX *ctx, const char *name) {
    static const unsigned char http_alpn[] = "\x08"
                                             "http/1.1";
    if (strcmp(name, "handshake") == 0)
        return true;
    if (strcmp(name, "handshake-tls12") == 0)
        return SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) == 1;
    if (strcmp(name, "handshake-tls11") == 0) {
        /* OpenSSL's default security level would refuse TLS 1.1 here
         * already; the point is to see the server refuse it. */
        SSL_CTX_set_security_level(ctx, 0);
        SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
        return SSL_CTX_set_min_proto_version(ctx, TLS1_1_VERSION) == 1 &&
               SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION) == 1;
    }
    if (strcmp(name, "handshake-no-alpn") == 0)
        return SSL_CTX_set_alpn_protos(ctx, NULL, 0) == 0;
    if (strcmp(name, "handshake-other-alpn") == 0)
        return SSL_CTX_set_alpn_protos(ctx, http_alpn, sizeof http_alpn - 1) == 0;
    return false;
}

/* Prints the TLS version and ALPN protocol agreed, or why the handshake
 * failed. */
static int handshake_only(wire *w, const char *ca, const char *name) {
    w->ctx = client_ctx(ca);
    if (!vary_handshake(w->ctx, name))
        return 2;
    w->ssl = SSL_new(w->ctx);
    SSL_set_fd(w->ssl, w->fd);
    if (SSL_connect(w->ssl) != 1) {
        unsigned long e = ERR_peek_last_error();
        const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;
        printf("refused %s (%.1f s)\n", reason != NULL ? reason : "without a reason", elapsed(w));
        ERR_clear_error();
        return 0;
    }
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(w->ssl, &alpn, &alpn_len);
    printf("established %s alpn=%.*s\n", SSL_get_version(w->ssl), alpn_len ? (int)alpn_len : 4,
           alpn_len ? (const char *)alpn : "none");
    SSL_shutdown(w->ssl);
    return 0;
}

static int start_tls(wire *w, const char *ca) {
    w->ctx = client_ctx(ca);
    w->ssl = SSL_new(w->ctx);
    SSL_set_fd(w->ssl, w->fd);
    if (SSL_connect(w->ssl) != 1) {
        ERR_print_errors_fp(stderr);
        return -1;
    }
    return 0;
}

static int send_bytes(wire *w, const void *data, size_t len) {
    if (w->ssl != NULL)
        return SSL_write(w->ssl, data, (int)len) == (int)len ? 0 : -1;
    return write(w->fd, data, len) == (ssize_t)len ? 0 : -1;
}

static int send_envelope(wire *w, envelope *env) {
    buf out = BUF_INIT;
    int rc = envelope_append_frame(&out, env) < 0
                 ? -1
                 : send_bytes(w, buf_head(&out), buf_pending(&out));
    buf_free(&out);
    return rc;
}

static int send_hello(wire *w, uint64_t id, uint32_t version) {
    Callfloor__Hello hello = CALLFLOOR__HELLO__INIT;
    hello.protocol_version = version;
    hello.client_name = "cf_rawwire";
    hello.client_version = "1";
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.id = id;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    return send_envelope(w, &env);
}

static int send_login(wire *w, uint64_t id) {
    Callfloor__Login login = CALLFLOOR__LOGIN__INIT;
    login.username = getenv("CALLFLOOR_USER");
    login.password = getenv("CALLFLOOR_PASSWORD");
    if (login.username == NULL || login.password == NULL) {
        fprintf(stderr, "cf_rawwire: set CALLFLOOR_USER and CALLFLOOR_PASSWORD\n");
        return -1;
    }
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.id = id;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_LOGIN;
    env.login = &login;
    return send_envelope(w, &env);
}

static int send_status(wire *w, uint64_t id) {
    Callfloor__Status st = CALLFLOOR__STATUS__INIT;
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.id = id;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_STATUS;
    env.status = &st;
    return send_envelope(w, &env);
}

static int send_user_list(wire *w, uint64_t id) {
    Callfloor__UserList ul = CALLFLOOR__USER_LIST__INIT;
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.id = id;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_USER_LIST;
    env.user_list = &ul;
    return send_envelope(w, &env);
}

static int append_ping(buf *out, uint64_t id) {
    Callfloor__Ping ping = CALLFLOOR__PING__INIT;
    ping.nonce = id;
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.id = id;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_PING;
    env.ping = &ping;
    return envelope_append_frame(out, &env);
}

/* One Ping frame, one byte per TLS record. */
static int send_board_subscribe(wire *w, uint64_t id) {
    Callfloor__BoardSubscribe msg = CALLFLOOR__BOARD_SUBSCRIBE__INIT;
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.id = id;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_BOARD_SUBSCRIBE;
    env.board_subscribe = &msg;
    return send_envelope(w, &env);
}

static int send_ping_split(wire *w, uint64_t id) {
    buf out = BUF_INIT;
    int rc = append_ping(&out, id) < 0 ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < buf_pending(&out); i++)
        rc = send_bytes(w, buf_head(&out) + i, 1);
    buf_free(&out);
    return rc;
}

/* Many Ping frames in one write (and so in a few TLS records). */
static int send_ping_burst(wire *w, uint64_t first_id) {
    buf out = BUF_INIT;
    int rc = 0;
    for (uint64_t id = first_id; rc == 0 && id < first_id + BURST_PINGS; id++)
        rc = append_ping(&out, id) < 0 ? -1 : 0;
    if (rc == 0)
        rc = send_bytes(w, buf_head(&out), buf_pending(&out));
    buf_free(&out);
    return rc;
}

/* Pings without ever reading the Pongs, until the server hangs up. */
static void flood_without_reading(wire *w) {
    buf batch = BUF_INIT;
    for (uint64_t id = 1; id <= FLOOD_BATCH; id++)
        append_ping(&batch, id);
    unsigned sent = 0;
    while (sent < FLOOD_BATCH * FLOOD_BATCHES &&
           send_bytes(w, buf_head(&batch), buf_pending(&batch)) == 0)
        sent += FLOOD_BATCH;
    buf_free(&batch);
    if (sent == FLOOD_BATCH * FLOOD_BATCHES)
        printf("never cut off after %u Pings (%.1f s)\n", sent, elapsed(w));
    else
        printf("cut off after %u Pings (%.1f s)\n", sent, elapsed(w));
}

/* A Ping followed by a field this protocol version does not define: a
 * valid Envelope (unknown fields are skipped) of more than 32 KiB. */
static int send_big_ping(wire *w, uint64_t id) {
    Callfloor__Ping ping = CALLFLOOR__PING__INIT;
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.id = id;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_PING;
    env.ping = &ping;
    size_t packed_len = callfloor__envelope__get_packed_size(&env);
    /* Field 1000, wire type 2 (length-delimited), then the length 32768,
     * both as varints. */
    static const uint8_t unknown_field[] = {0xc2, 0x3e, 0x80, 0x80, 0x02};
    size_t len = packed_len + sizeof unknown_field + BIG_PING_PADDING;
    uint8_t *frame = calloc(1, FRAME_HEADER_SIZE + len);
    if (frame == NULL)
        return -1;
    frame_write_header(frame, (uint32_t)len);
    callfloor__envelope__pack(&env, frame + FRAME_HEADER_SIZE);
    memcpy(frame + FRAME_HEADER_SIZE + packed_len, unknown_field, sizeof unknown_field);
    int rc = send_bytes(w, frame, FRAME_HEADER_SIZE + len);
    free(frame);
    return rc;
}

static read_result read_exact(wire *w, uint8_t *p, size_t len) {
    size_t got = 0;
    while (got < len) {
        errno = 0;
        int n = w->ssl != NULL ? SSL_read(w->ssl, p + got, (int)(len - got))
                               : (int)read(w->fd, p + got, len - got);
        if (n <= 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? READ_TIMEOUT : READ_EOF;
        got += (size_t)n;
    }
    return READ_FRAME;
}

static read_result read_envelope(wire *w, envelope **out) {
    uint8_t hdr[FRAME_HEADER_SIZE];
    read_result r = read_exact(w, hdr, sizeof hdr);
    if (r != READ_FRAME)
        return r;
    uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    uint8_t *payload = malloc(len ? len : 1);
    if (payload == NULL)
        return READ_UNDECODABLE;
    r = read_exact(w, payload, len);
    if (r == READ_FRAME) {
        *out = envelope_unpack(payload, len);
        if (*out == NULL)
            r = READ_UNDECODABLE;
    }
    free(payload);
    return r;
}

static void print_envelope(const wire *w, const envelope *env) {
    if (env->body_case == CALLFLOOR__ENVELOPE__BODY_CLOSING)
        printf("closing %s %s", envelope_error_name(env->closing->code), env->closing->reason);
    else if (env->body_case == CALLFLOOR__ENVELOPE__BODY_ERROR)
        printf("error %s %s", envelope_error_name(env->error->code), env->error->message);
    else
        printf("reply %s", envelope_body_name(env));
    printf(" (%.1f s)\n", elapsed(w));
}

static void print_end(const wire *w, read_result r) {
    if (r == READ_UNDECODABLE)
        printf("undecodable\n");
    else
        printf("%s %.1f\n", r == READ_TIMEOUT ? "timeout" : "eof", elapsed(w));
}

/* Reads the raw socket, whatever comes, until the server hangs up. */
static void read_until_eof(wire *w) {
    char sink[4096];
    errno = 0;
    while (read(w->fd, sink, sizeof sink) > 0)
        continue;
    print_end(w, errno == EAGAIN || errno == EWOULDBLOCK ? READ_TIMEOUT : READ_EOF);
}

/* After the client's close_notify the server owes nothing but its own:
 * prints how the session ended. */
static void read_goodbye(wire *w) {
    char sink[4096];
    int n = SSL_read(w->ssl, sink, sizeof sink);
    if (n > 0)
        printf("answered after the goodbye (%.1f s)\n", elapsed(w));
    else if (SSL_get_error(w->ssl, n) == SSL_ERROR_ZERO_RETURN)
        printf("closed by close_notify (%.1f s)\n", elapsed(w));
    else
        printf("eof without close_notify (%.1f s)\n", elapsed(w));
}

/* Reads frames until one that is not a HelloReply, or the end. */
static void print_outcome(wire *w) {
    for (;;) {
        envelope *env = NULL;
        read_result r = read_envelope(w, &env);
        if (r != READ_FRAME) {
            print_end(w, r);
            return;
        }
        if (env->body_case != CALLFLOOR__ENVELOPE__BODY_HELLO_REPLY) {
            print_envelope(w, env);
            envelope_free(env);
            return;
        }
        envelope_free(env);
    }
}

/* Reads one answer and checks its body; anything else is printed as the
 * verdict. */
static int expect_answer(wire *w, Callfloor__Envelope__BodyCase want) {
    envelope *env = NULL;
    read_result r = read_envelope(w, &env);
    if (r != READ_FRAME) {
        print_end(w, r);
        return -1;
    }
    int rc = env->body_case == want ? 0 : -1;
    if (rc < 0)
        print_envelope(w, env);
    envelope_free(env);
    return rc;
}

static int log_in(wire *w) {
    if (send_hello(w, 1, 1) < 0 || expect_answer(w, CALLFLOOR__ENVELOPE__BODY_HELLO_REPLY) < 0)
        return -1;
    if (send_login(w, 2) < 0 || expect_answer(w, CALLFLOOR__ENVELOPE__BODY_LOGIN_REPLY) < 0)
        return -1;
    return 0;
}

/* Each Ping of a burst must be answered by its Pong exactly once. */
static void read_burst_answers(wire *w, uint64_t first_id) {
    unsigned char seen[BURST_PINGS] = {0};
    for (unsigned answered = 0; answered < BURST_PINGS; answered++) {
        envelope *env = NULL;
        read_result r = read_envelope(w, &env);
        if (r != READ_FRAME) {
            printf("after %u answers: ", answered);
            print_end(w, r);
            return;
        }
        uint64_t i = env->id - first_id;
        bool fits = env->body_case == CALLFLOOR__ENVELOPE__BODY_PONG && env->id >= first_id &&
                    i < BURST_PINGS && env->pong->nonce == env->id && !seen[i];
        if (!fits) {
            printf("answer %u is wrong (id %llu): ", answered, (unsigned long long)env->id);
            print_envelope(w, env);
            envelope_free(env);
            return;
        }
        seen[i] = 1;
        envelope_free(env);
    }
    printf("answered %d of %d once each\n", BURST_PINGS, BURST_PINGS);
}

/* Pings every PING_PERIOD_MS for `seconds`; each must be answered with
 * its Pong, and nothing else may come. */
static int send_ping(wire *w, uint64_t id) {
    buf out = BUF_INIT;
    int rc = append_ping(&out, id) < 0 ? -1 : send_bytes(w, buf_head(&out), buf_pending(&out));
    buf_free(&out);
    return rc;
}

/* A Ping and the TLS close_notify in one TCP segment (TCP_CORK holds the
 * first until the second is written), as a client that asks one last
 * thing and says goodbye: the server reads the goodbye before it answers. */
static int send_ping_goodbye(wire *w, uint64_t id) {
    int on = 1, off = 0;
    if (setsockopt(w->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on) < 0)
        return -1;
    int rc = send_ping(w, id);
    if (rc == 0)
        SSL_shutdown(w->ssl);
    return setsockopt(w->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off) < 0 ? -1 : rc;
}

static void ping_for(wire *w, int seconds) {
    unsigned pongs = 0;
    double until = now_s() + seconds;
    for (uint64_t id = 10; now_s() < until; id++) {
        if (send_ping(w, id) < 0 || expect_answer(w, CALLFLOOR__ENVELOPE__BODY_PONG) < 0)
            return;
        pongs++;
        sleep_ms(PING_PERIOD_MS);
    }
    printf("alive pongs=%u\n", pongs);
}

/* The scenarios that end by hanging up: nothing is read. */
static bool hangs_up(const char *name) {
    return strcmp(name, "vanish-login") == 0 || strcmp(name, "login-vanish") == 0;
}

/* Sends what the scenario sends after TLS (and the login for login-*).
 * Returns 0, -1 when sending failed, -2 for an unknown name. */
static int run_scenario(wire *w, const char *name) {
    static const uint8_t zero_header[4] = {0, 0, 0, 0};
    static const uint8_t big_header[4] = {0, 0x20, 0, 0}; /* 2 MiB */
    static const uint8_t junk_frame[] = {0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (strcmp(name, "zero-length") == 0)
        return send_bytes(w, zero_header, 4);
    if (strcmp(name, "oversize") == 0 || strcmp(name, "login-oversize") == 0)
        return send_bytes(w, big_header, 4);
    if (strcmp(name, "not-envelope") == 0)
        return send_bytes(w, junk_frame, sizeof junk_frame);
    if (strcmp(name, "truncated") == 0 || strcmp(name, "stall") == 0 ||
        strcmp(name, "login-stall") == 0)
        return send_bytes(w, junk_frame, 6);
    if (strcmp(name, "no-hello") == 0)
        return send_status(w, 1);
    if (strcmp(name, "zero-id") == 0)
        return send_hello(w, 0, 1);
    if (strcmp(name, "bad-version") == 0)
        return send_hello(w, 1, 99);
    if (strcmp(name, "unauthenticated") == 0)
        return send_hello(w, 1, 1) < 0 ? -1 : send_status(w, 2);
    if (strcmp(name, "big-ping") == 0)
        return send_hello(w, 1, 1) < 0 ? -1 : send_big_ping(w, 2);
    if (strcmp(name, "login-big-ping") == 0)
        return send_big_ping(w, 3);
    if (strcmp(name, "vanish-login") == 0)
        return send_hello(w, 1, 1) < 0 ? -1 : send_login(w, 2);
    if (strcmp(name, "login-vanish") == 0)
        return send_user_list(w, 3) < 0 ? -1 : send_status(w, 4);
    if (strcmp(name, "login-split") == 0)
        return send_ping_split(w, 3);
    if (strcmp(name, "login-burst") == 0)
        return send_ping_burst(w, 100);
    if (strcmp(name, "login-goodbye") == 0)
        return send_ping_goodbye(w, 3);
    if (strcmp(name, "login-board-stall") == 0)
        return send_board_subscribe(w, 3);
    if (strcmp(name, "login-idle") == 0 || strcmp(name, "login-ping") == 0 ||
        strcmp(name, "login-noread") == 0)
        return 0;
    return -2;
}

/* Sends a ClientHello and never answers the server's reply. */
static void half_handshake(wire *w, const char *ca) {
    w->ctx = client_ctx(ca);
    SSL *ssl = SSL_new(w->ctx);
    BIO *in = BIO_new(BIO_s_mem());
    BIO *out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
    SSL_do_handshake(ssl);
    char hello[4096];
    int n = BIO_read(out, hello, sizeof hello);
    if (n > 0 && write(w->fd, hello, (size_t)n) == n)
        read_until_eof(w);
    else
        printf("cannot send the ClientHello\n");
    SSL_free(ssl);
}

/* Without TLS nothing the server sends is a frame (at most an alert):
 * waits for it to hang up. */
static void plain_tcp(wire *w, const char *scenario) {
    if (strcmp(scenario, "garbage") == 0) {
        static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        send_bytes(w, http, sizeof http - 1);
    }
    read_until_eof(w);
}

static int tls_scenario(wire *w, const char *ca, const char *scenario, int seconds) {
    if (start_tls(w, ca) < 0) {
        fprintf(stderr, "cf_rawwire: TLS handshake failed\n");
        return 3;
    }
    if (strncmp(scenario, "login-", 6) == 0 && log_in(w) < 0)
        return 1;
    int rc = run_scenario(w, scenario);
    if (rc == -2)
        return 2;
    /* The server may close while a large frame is still being sent; what
     * it said before closing is the verdict all the same. */
    if (rc < 0)
        fprintf(stderr, "cf_rawwire: sending failed after %.1f s\n", elapsed(w));
    if (strcmp(scenario, "truncated") == 0) {
        /* Half-closes and reads to the end rather than hanging up: a reset
         * could make the server discard the partial frame unread. */
        shutdown(w->fd, SHUT_WR);
        read_until_eof(w);
    } else if (hangs_up(scenario)) {
        printf("sent\n");
    } else if (strcmp(scenario, "login-ping") == 0) {
        ping_for(w, seconds);
    } else if (strcmp(scenario, "login-noread") == 0) {
        flood_without_reading(w);
    } else if (strcmp(scenario, "login-board-stall") == 0) {
        sleep_ms(seconds * 1000L);
        printf("stalled %.1f\n", elapsed(w));
    } else if (strcmp(scenario, "login-goodbye") == 0) {
        read_goodbye(w);
    } else if (strcmp(scenario, "login-burst") == 0) {
        read_burst_answers(w, 100);
    } else {
        print_outcome(w);
    }
    return 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: cf_rawwire HOST:PORT CA_FILE SCENARIO [SECONDS]\n"
            "  plain TCP: garbage (an HTTP request), silent\n"
            "  TLS handshake only: handshake, handshake-tls12, handshake-tls11,\n"
            "    handshake-no-alpn, handshake-other-alpn\n"
            "  TLS, before login: half-handshake, zero-length, oversize, not-envelope,\n"
            "    truncated, stall, no-hello, zero-id, bad-version, unauthenticated,\n"
            "    big-ping, vanish-login\n"
            "  TLS, logged in as CALLFLOOR_USER: login-oversize, login-big-ping, login-stall,\n"
            "    login-idle, login-ping (for SECONDS, default 5), login-board-stall\n"
            "    (SECONDS too), login-vanish,\n"
            "    login-split, login-burst, login-noread, login-goodbye\n");
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        usage();
        return 2;
    }
    /* A write to a connection the server closed must fail, not kill. */
    signal(SIGPIPE, SIG_IGN);
    const char *scenario = argv[3];
    int seconds = argc == 5 ? atoi(argv[4]) : 5;
    wire w = {.fd = connect_tcp(argv[1])};
    if (w.fd < 0) {
        fprintf(stderr, "cf_rawwire: cannot connect to %s\n", argv[1]);
        return 3;
    }
    w.started = now_s();
    int rc = 0;
    if (strcmp(scenario, "garbage") == 0 || strcmp(scenario, "silent") == 0)
        plain_tcp(&w, scenario);
    else if (strcmp(scenario, "half-handshake") == 0)
        half_handshake(&w, argv[2]);
    else if (strncmp(scenario, "handshake", 9) == 0)
        rc = handshake_only(&w, argv[2], scenario);
    else
        rc = tls_scenario(&w, argv[2], scenario, seconds);
    fflush(stdout);
    if (rc == 2)
        usage();
    SSL_free(w.ssl);
    SSL_CTX_free(w.ctx);
    close(w.fd);
    return rc;
}
