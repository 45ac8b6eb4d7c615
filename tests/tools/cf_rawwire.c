/* cf_rawwire: sends deliberately broken traffic to callfloord and prints
 * what the server answered, one line, for the integration tests to check:
 *   closing CODE reason      the server pushed Closing
 *   error CODE message       the server answered with an Error
 *   reply BODY               any other answer
 *   eof SECONDS              the server closed the connection
 * It uses OpenSSL directly on a blocking socket, not the project's own TLS
 * code, so that it checks the daemon from the outside. */
#include <arpa/inet.h>
#include <netinet/in.h>
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

typedef struct wire {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
} wire;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_tcp(const char *hostport, int timeout_s) {
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
    struct timeval tv = {.tv_sec = timeout_s};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int start_tls(wire *w, const char *ca) {
    w->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(w->ctx, ca, NULL);
    SSL_CTX_set_verify(w->ctx, SSL_VERIFY_PEER, NULL);
    static const unsigned char alpn[] = "\x0b"
                                        "callfloor/1";
    SSL_CTX_set_alpn_protos(w->ctx, alpn, sizeof alpn - 1);
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
    envelope_append_frame(&out, env);
    int rc = send_bytes(w, buf_head(&out), buf_pending(&out));
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

static int read_exact(wire *w, uint8_t *p, size_t len) {
    size_t got = 0;
    while (got < len) {
        int n = w->ssl != NULL ? SSL_read(w->ssl, p + got, (int)(len - got))
                               : (int)read(w->fd, p + got, len - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Reads frames until one that is not a HelloReply/Pong, or the end. */
static void print_outcome(wire *w, double started) {
    for (;;) {
        uint8_t hdr[4];
        if (read_exact(w, hdr, 4) < 0)
            break;
        uint32_t len =
            (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
        uint8_t *payload = malloc(len ? len : 1);
        if (payload == NULL || read_exact(w, payload, len) < 0) {
            free(payload);
            break;
        }
        envelope *env = envelope_unpack(payload, len);
        free(payload);
        if (env == NULL) {
            printf("undecodable\n");
            return;
        }
        if (env->body_case == CALLFLOOR__ENVELOPE__BODY_HELLO_REPLY) {
            envelope_free(env);
            continue;
        }
        if (env->body_case == CALLFLOOR__ENVELOPE__BODY_CLOSING)
            printf("closing %s %s\n", envelope_error_name(env->closing->code),
                   env->closing->reason);
        else if (env->body_case == CALLFLOOR__ENVELOPE__BODY_ERROR)
            printf("error %s %s\n", envelope_error_name(env->error->code), env->error->message);
        else
            printf("reply %s\n", envelope_body_name(env));
        envelope_free(env);
        return;
    }
    printf("eof %.1f\n", now_s() - started);
}

static int run_scenario(wire *w, const char *name) {
    static const uint8_t zero_header[4] = {0, 0, 0, 0};
    static const uint8_t big_header[4] = {0, 0x20, 0, 0}; /* 2 MiB */
    static const uint8_t junk_frame[] = {0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (strcmp(name, "zero-length") == 0)
        return send_bytes(w, zero_header, 4);
    if (strcmp(name, "oversize") == 0)
        return send_bytes(w, big_header, 4);
    if (strcmp(name, "not-envelope") == 0)
        return send_bytes(w, junk_frame, sizeof junk_frame);
    if (strcmp(name, "truncated") == 0 || strcmp(name, "stall") == 0)
        return send_bytes(w, junk_frame, 6);
    if (strcmp(name, "no-hello") == 0) {
        Callfloor__Status st = CALLFLOOR__STATUS__INIT;
        envelope env = CALLFLOOR__ENVELOPE__INIT;
        env.id = 1;
        env.body_case = CALLFLOOR__ENVELOPE__BODY_STATUS;
        env.status = &st;
        return send_envelope(w, &env);
    }
    if (strcmp(name, "zero-id") == 0)
        return send_hello(w, 0, 1);
    if (strcmp(name, "bad-version") == 0)
        return send_hello(w, 1, 99);
    if (strcmp(name, "unauthenticated") == 0) {
        Callfloor__Status st = CALLFLOOR__STATUS__INIT;
        envelope env = CALLFLOOR__ENVELOPE__INIT;
        env.id = 2;
        env.body_case = CALLFLOOR__ENVELOPE__BODY_STATUS;
        env.status = &st;
        return send_hello(w, 1, 1) < 0 ? -1 : send_envelope(w, &env);
    }
    return -2;
}

static void usage(void) {
    fprintf(stderr, "usage: cf_rawwire HOST:PORT CA_FILE SCENARIO\n"
                    "  plain-TCP scenarios: garbage, silent\n"
                    "  TLS scenarios: zero-length, oversize, not-envelope, truncated, stall,\n"
                    "                 no-hello, zero-id, bad-version, unauthenticated\n");
}

int main(int argc, char **argv) {
    if (argc != 4) {
        usage();
        return 2;
    }
    const char *scenario = argv[3];
    wire w = {.fd = connect_tcp(argv[1], 30)};
    if (w.fd < 0) {
        fprintf(stderr, "cf_rawwire: cannot connect to %s\n", argv[1]);
        return 3;
    }
    double started = now_s();
    if (strcmp(scenario, "garbage") == 0) {
        static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        send_bytes(&w, http, sizeof http - 1);
    } else if (strcmp(scenario, "silent") != 0) {
        if (start_tls(&w, argv[2]) < 0) {
            fprintf(stderr, "cf_rawwire: TLS handshake failed\n");
            return 3;
        }
        int rc = run_scenario(&w, scenario);
        if (rc == -2) {
            usage();
            return 2;
        }
        if (strcmp(scenario, "truncated") == 0) {
            printf("sent\n");
            SSL_free(w.ssl);
            SSL_CTX_free(w.ctx);
            close(w.fd);
            return 0;
        }
    }
    if (w.ssl != NULL) {
        print_outcome(&w, started);
    } else {
        /* Without TLS nothing the server sends is a frame (at most an alert):
         * wait for it to hang up. */
        char sink[512];
        while (read(w.fd, sink, sizeof sink) > 0)
            ;
        printf("eof %.1f\n", now_s() - started);
    }
    if (w.ssl != NULL)
        SSL_free(w.ssl);
    SSL_CTX_free(w.ctx);
    close(w.fd);
    return 0;
}
