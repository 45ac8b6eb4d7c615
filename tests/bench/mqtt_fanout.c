/* mqtt_fanout: the peer of the board's fan-out in tests/bench/fanout.sh.
 * Connects N MQTT subscribers over TLS to a mosquitto broker, all on one
 * topic, then publishes M messages of S bytes, one every I ms, each
 * carrying the moment it was published, and measures each delivery's
 * latency and the broker's CPU time while it delivered them. One thread
 * polls every connection, as callfloor-sim does with its sessions, so
 * that both sides' clients cost the same. Prints one JSON object. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <uv.h>

#include "buf.h"
#include "json.h"
#include "stats.h"

#define TOPIC            "callfloor/board"
#define CONNECTS_AT_ONCE 50
#define SETTLE_MS        5000 /* after the last message, how long stragglers may take */
/* Each client pings as often as callfloor's clients do (heartbeat_interval). */
#define KEEPALIVE_S 10

typedef struct options {
    const char *host, *cafile;
    int port;
    unsigned subscribers, messages, interval_ms, size, broker_pid;
} options;

typedef struct bench {
    options o;
    struct mosquitto **clients; /* the subscribers, then the publisher */
    unsigned nclients, connected, subscribed, lost;
    uint64_t misc_at; /* when the clients last sent their keepalives */
    uint64_t deliveries;
    samples latency;
} bench;

static void print_help(void) {
    printf("Usage: mqtt_fanout --port PORT --cafile FILE [OPTIONS]\n"
           "\n"
           "Connects MQTT subscribers over TLS to a broker on 127.0.0.1, publishes\n"
           "timestamped messages to all of them and prints, as JSON, the deliveries,\n"
           "their latency percentiles (ms) and the broker's CPU time meanwhile.\n"
           "\n"
           "Options:\n"
           "  --port PORT          the broker's TLS listener (required)\n"
           "  --cafile FILE        the CA that signed the broker's certificate (required)\n"
           "  --host NAME          the name the certificate holds (default 127.0.0.1)\n"
           "  --subscribers N      subscribers (default 1000)\n"
           "  --messages M         messages published (default 100)\n"
           "  --interval-ms I      between messages (default 200)\n"
           "  --size BYTES         each message's size, at least 8 (default 200)\n"
           "  --broker-pid PID     the broker's process, for its CPU time and memory\n"
           "  -h, --help           show this help\n"
           "\n"
           "Exit status: 0 every message reached every subscriber; 1 some did not or a\n"
           "connection was lost; 2 wrong usage; 3 the broker could not be reached.\n");
}

static uint64_t now_ns(void) {
    return uv_hrtime();
}

static void on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *granted) {
    (void)m, (void)mid, (void)n, (void)granted;
    ((bench *)arg)->subscribed++;
}

static void on_connect(struct mosquitto *m, void *arg, int rc) {
    bench *b = arg;
    if (rc != 0) {
        fprintf(stderr, "mqtt_fanout: the broker refused a connection: %s\n",
                mosquitto_connack_string(rc));
        b->lost++;
        return;
    }
    b->connected++;
    if (m != b->clients[b->o.subscribers])
        mosquitto_subscribe(m, NULL, TOPIC, 0);
}

static void on_disconnect(struct mosquitto *m, void *arg, int rc) {
    (void)m;
    if (rc != 0)
        ((bench *)arg)->lost++;
}

static void on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg) {
    (void)m;
    bench *b = arg;
    uint64_t sent;
    if (msg->payloadlen < (int)sizeof sent)
        return;
    memcpy(&sent, msg->payload, sizeof sent);
    samples_add_since(&b->latency, sent);
    b->deliveries++;
}

/* Reads every packet that came: libmosquitto reads one (and what TLS holds
 * already) a call, so it is called while the socket has more. */
static void read_all(struct mosquitto *m, struct pollfd *fd) {
    for (int k = 0; k < 1000; k++) {
        if (mosquitto_loop_read(m, 1) != MOSQ_ERR_SUCCESS)
            return;
        struct pollfd again = {.fd = fd->fd, .events = POLLIN};
        if (poll(&again, 1, 0) <= 0 || !(again.revents & POLLIN))
            return;
    }
}

/* One pass over every connection: reads what came, writes what waits. */
static int service(bench *b, struct pollfd *fds, int timeout_ms) {
    for (unsigned i = 0; i < b->nclients; i++) {
        fds[i].fd = mosquitto_socket(b->clients[i]);
        fds[i].events = (short)(POLLIN | (mosquitto_want_write(b->clients[i]) ? POLLOUT : 0));
        fds[i].revents = 0;
    }
    if (poll(fds, b->nclients, timeout_ms) < 0 && errno != EINTR)
        return -errno;
    for (unsigned i = 0; i < b->nclients; i++) {
        struct mosquitto *m = b->clients[i];
        if (fds[i].fd < 0)
            continue;
        if (fds[i].revents & (POLLIN | POLLERR | POLLHUP))
            read_all(m, &fds[i]);
        if (mosquitto_want_write(m))
            mosquitto_loop_write(m, 1000);
    }
    if (now_ns() - b->misc_at > 1000000000u) {
        for (unsigned i = 0; i < b->nclients; i++)
            mosquitto_loop_misc(b->clients[i]);
        b->misc_at = now_ns();
    }
    return 0;
}

static int connect_all(bench *b, struct pollfd *fds) {
    unsigned started = 0;
    uint64_t deadline = now_ns() + 120ull * 1000000000u;
    while (b->subscribed < b->o.subscribers || b->connected < b->nclients) {
        while (started < b->nclients && started - b->connected - b->lost < CONNECTS_AT_ONCE) {
            struct mosquitto *m = b->clients[started++];
            int rc = mosquitto_connect(m, b->o.host, b->o.port, KEEPALIVE_S);
            if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "mqtt_fanout: cannot connect to %s:%d: %s\n", b->o.host, b->o.port,
                        mosquitto_strerror(rc));
                return 3;
            }
        }
        if (b->lost > 0 || now_ns() > deadline) {
            fprintf(stderr, "mqtt_fanout: %u of %u subscribers in, %u connections lost\n",
                    b->subscribed, b->o.subscribers, b->lost);
            return 1;
        }
        service(b, fds, 100);
    }
    return 0;
}

/* Publishes the messages on time and reads the deliveries until all came
 * or SETTLE_MS passed after the last. */
static void publish_all(bench *b, struct pollfd *fds) {
    struct mosquitto *pub = b->clients[b->o.subscribers];
    uint8_t *payload = calloc(1, b->o.size);
    uint64_t interval = (uint64_t)b->o.interval_ms * 1000000u, next = now_ns();
    uint64_t expected = (uint64_t)b->o.messages * b->o.subscribers, last = 0;
    for (unsigned sent = 0;
         payload != NULL && (sent < b->o.messages || b->deliveries < expected);) {
        uint64_t now = now_ns();
        if (sent == b->o.messages && now - last > SETTLE_MS * 1000000ull)
            break;
        if (sent < b->o.messages && now >= next) {
            memcpy(payload, &now, sizeof now);
            mosquitto_publish(pub, NULL, TOPIC, (int)b->o.size, payload, 0, false);
            mosquitto_loop_write(pub, 1);
            last = now;
            next += interval;
            sent++;
            continue;
        }
        int wait_ms = sent < b->o.messages ? (int)((next - now) / 1000000u) : 100;
        service(b, fds, wait_ms);
    }
    free(payload);
}

static void print_report(bench *b, const process_usage *before, const process_usage *after) {
    buf out = BUF_INIT;
    json_writer w;
    json_init(&w, &out);
    json_object_begin(&w);
    json_kv_uint(&w, "subscribers", b->o.subscribers);
    json_kv_uint(&w, "messages", b->o.messages);
    json_kv_uint(&w, "size", b->o.size);
    json_kv_uint(&w, "deliveries", b->deliveries);
    json_kv_uint(&w, "lost", b->lost);
    static const double points[] = {50, 90, 99, 100};
    static const char *const keys[] = {"p50", "p90", "p99", "max"};
    samples_sort(&b->latency);
    json_key(&w, "latency_ms");
    json_object_begin(&w);
    for (size_t k = 0; k < 4; k++) {
        json_key(&w, keys[k]);
        json_double(&w, samples_percentile(&b->latency, points[k]));
    }
    json_object_end(&w);
    json_key(&w, "broker_cpu_s");
    json_double(&w, before->known && after->known ? after->cpu_s - before->cpu_s : NAN);
    json_kv_uint(&w, "broker_rss_kb", after->known ? after->rss_kb : 0);
    json_object_end(&w);
    buf_append_str(&out, "\n");
    fwrite(buf_head(&out), 1, buf_pending(&out), stdout);
    buf_free(&out);
}

static int parse_options(int argc, char **argv, options *o) {
    static const struct option longs[] = {
        {"port", required_argument, NULL, 'p'},     {"cafile", required_argument, NULL, 'c'},
        {"host", required_argument, NULL, 'H'},     {"subscribers", required_argument, NULL, 'n'},
        {"messages", required_argument, NULL, 'm'}, {"interval-ms", required_argument, NULL, 'i'},
        {"size", required_argument, NULL, 's'},     {"broker-pid", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    *o = (options){"127.0.0.1", NULL, 0, 1000, 100, 200, 200, 0};
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        unsigned long v = optarg ? strtoul(optarg, NULL, 10) : 0;
        switch (c) {
        case 'p':
            o->port = (int)v;
            break;
        case 'c':
            o->cafile = optarg;
            break;
        case 'H':
            o->host = optarg;
            break;
        case 'n':
            o->subscribers = (unsigned)v;
            break;
        case 'm':
            o->messages = (unsigned)v;
            break;
        case 'i':
            o->interval_ms = (unsigned)v;
            break;
        case 's':
            o->size = (unsigned)v;
            break;
        case 'b':
            o->broker_pid = (unsigned)v;
            break;
        case 'h':
            print_help();
            return 0;
        default:
            return 2;
        }
    }
    if (o->port <= 0 || o->port > 65535 || o->cafile == NULL || o->subscribers == 0 ||
        o->messages == 0 || o->size < sizeof(uint64_t) || optind != argc) {
        fprintf(stderr, "mqtt_fanout: --port and --cafile are required, the counts positive and "
                        "--size at least 8; try 'mqtt_fanout --help'\n");
        return 2;
    }
    return -1;
}

int main(int argc, char **argv) {
    bench b = {0};
    int rc = parse_options(argc, argv, &b.o);
    if (rc >= 0)
        return rc;
    mosquitto_lib_init();
    b.nclients = b.o.subscribers + 1;
    b.clients = calloc(b.nclients, sizeof *b.clients);
    struct pollfd *fds = calloc(b.nclients, sizeof *fds);
    for (unsigned i = 0; b.clients != NULL && fds != NULL && i < b.nclients; i++) {
        char id[32];
        snprintf(id, sizeof id, "fanout-%u", i);
        struct mosquitto *m = b.clients[i] = mosquitto_new(id, true, &b);
        if (m == NULL || mosquitto_tls_set(m, b.o.cafile, NULL, NULL, NULL, NULL) != 0) {
            fprintf(stderr, "mqtt_fanout: cannot set up client %u (is %s readable?)\n", i,
                    b.o.cafile);
            return 1;
        }
        mosquitto_connect_callback_set(m, on_connect);
        mosquitto_disconnect_callback_set(m, on_disconnect);
        mosquitto_subscribe_callback_set(m, on_subscribe);
        mosquitto_message_callback_set(m, on_message);
    }
    if (b.clients == NULL || fds == NULL)
        return 1;
    rc = connect_all(&b, fds);
    process_usage before = {0}, after = {0};
    if (rc == 0) {
        if (b.o.broker_pid)
            process_usage_read(b.o.broker_pid, &before);
        publish_all(&b, fds);
        if (b.o.broker_pid)
            process_usage_read(b.o.broker_pid, &after);
        print_report(&b, &before, &after);
        rc = b.lost == 0 && b.deliveries == (uint64_t)b.o.messages * b.o.subscribers ? 0 : 1;
    }
    for (unsigned i = 0; i < b.nclients; i++)
        mosquitto_destroy(b.clients[i]);
    free(b.clients);
    free(fds);
    samples_free(&b.latency);
    mosquitto_lib_cleanup();
    return rc;
}
