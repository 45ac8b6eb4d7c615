/* fuzz_dispatch: any Envelope, sent by a logged-in agent, supervisor and
 * admin in turn, through the real dispatch table and handlers. This file
 * stands in for the listener (server/listener.h): a connection that keeps
 * what is sent to it, packing each message as the real one would. The
 * database pool points at a socket that does not exist, so every
 * transaction is answered UNAVAILABLE, the way it is during an outage.
 * Whatever the message, the server must answer it exactly once, with a
 * message that packs, and must not crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "board.h"
#include "config.h"
#include "db.h"
#include "dispatch.h"
#include "envelope.h"
#include "floor.h"
#include "frame.h"
#include "listener.h"
#include "log.h"
#include "peers.h"
#include "server.h"
#include "session.h"
#include "settings.h"
#include "vault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A turn that has not been answered after this many loop iterations (each
 * at most a timer's period, 200 ms to 1 s) never will be. */
#define TURN_ITERATIONS 100

struct conn {
    struct session *session;
    int refs;
    uint64_t awaited; /* the id of the request of this turn */
    unsigned answers; /* answers to it so far */
};

/* ---- the listener's part, faked ---- */

int conn_send(conn *c, const envelope *env) {
    size_t len = callfloor__envelope__get_packed_size(env);
    uint8_t *out = malloc(len + 1);
    if (out == NULL)
        abort();
    callfloor__envelope__pack(env, out);
    free(out);
    if (env->id != 0 && env->id == c->awaited)
        c->answers++;
    return 0;
}

/* A push packed once for many conns: one whole frame of a valid envelope,
 * never an answer. */
int conn_send_frame(conn *c, const uint8_t *frame, size_t len) {
    (void)c;
    envelope *env = len > FRAME_HEADER_SIZE
                        ? envelope_unpack(frame + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE)
                        : NULL;
    if (env == NULL || env->id != 0)
        abort();
    envelope_free(env);
    return 0;
}

void conn_close(conn *c, Callfloor__ErrorCode code, const char *reason) {
    (void)c;
    (void)code;
    (void)reason;
}

bool conn_is_open(const conn *c) {
    return c != NULL;
}

void conn_ref(conn *c) {
    c->refs++;
}

void conn_unref(conn *c) {
    c->refs--;
}

const char *conn_name(const conn *c) {
    (void)c;
    return "#fuzz";
}

struct session *conn_session(const conn *c) {
    return c->session;
}

void conn_set_max_frame(conn *c, size_t max_len) {
    (void)c;
    (void)max_len;
}

int conn_peer_common_name(const conn *c, char *out, size_t cap) {
    (void)c;
    (void)out;
    (void)cap;
    return -1;
}

unsigned listener_connection_count(const listener *l) {
    (void)l;
    return 0;
}

int listener_resolve(const char *key, const char *addr, struct sockaddr_storage *ss, char *err,
                     size_t errlen) {
    (void)addr;
    (void)ss;
    snprintf(err, errlen, "%s: no listening in the fuzzer", key);
    return -1;
}

/* ---- a server without a database ---- */

static uv_loop_t loop;
static server srv;
static conn conns[3];
static const Callfloor__Role roles[3] = {
    CALLFLOOR__ROLE__ROLE_AGENT, CALLFLOOR__ROLE__ROLE_SUPERVISOR, CALLFLOOR__ROLE__ROLE_ADMIN};
static const char *const names[3] = {"fuzzagent", "fuzzsup", "fuzzadmin"};

static vault *open_test_vault(void) {
    char path[] = "/tmp/fuzz-vault-XXXXXX", err[256];
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    static const char keys[] =
        "hmac 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
        "key 1 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n";
    ssize_t written = write(fd, keys, sizeof keys - 1);
    close(fd);
    vault *v = written == (ssize_t)(sizeof keys - 1) ? vault_open(path, err, sizeof err) : NULL;
    unlink(path);
    return v;
}

static void set_up(void) {
    char err[512];
    log_set_level(LOG_LEVEL_ERROR);
    uv_loop_init(&loop);
    srv.loop = &loop;
    if (config_set_defaults(settings_table, &srv.cfg, err, sizeof err) < 0)
        abort();
    snprintf(srv.instance_id, sizeof srv.instance_id, "fuzz");
    srv.vault = open_test_vault();
    srv.sessions = session_registry_create();
    srv.db = db_pool_create(&loop, "host=/nonexistent/callfloor-fuzz dbname=none", 1);
    if (srv.vault == NULL || srv.sessions == NULL || srv.db == NULL ||
        dispatch_prepare_statements(srv.db) < 0)
        abort();
    db_pool_start(srv.db);
    if (floor_start(&srv) < 0 || board_start(&srv) < 0 || peers_start(&srv) < 0)
        abort();
    for (int i = 0; i < 3; i++) {
        conns[i].refs = 1;
        conns[i].session = session_create(&srv, &conns[i]);
        if (conns[i].session == NULL)
            abort();
    }
}

/* One turn: the message as role `r`, then the loop until it is answered. */
static void turn(int r, envelope *msg) {
    static uint64_t next_id;
    conn *c = &conns[r];
    request *req = calloc(1, sizeof *req);
    if (req == NULL)
        abort();
    *req = (request){.srv = &srv,
                     .conn = c,
                     .id = ++next_id,
                     .msg = msg,
                     .user_id = (uint64_t)r + 1,
                     .role = roles[r]};
    snprintf(req->username, sizeof req->username, "%s", names[r]);
    const char *what = envelope_body_name(msg); /* msg is freed with the answer */
    conn_ref(c);
    c->awaited = req->id;
    c->answers = 0;
    dispatch_request(req, true);
    for (int i = 0; i < TURN_ITERATIONS && c->answers == 0; i++)
        uv_run(&loop, UV_RUN_ONCE);
    if (c->answers != 1 || c->refs != 1) {
        fprintf(stderr, "fuzz_dispatch: %s from %s answered %u times, %d references left\n", what,
                names[r], c->answers, c->refs - 1);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool ready;
    if (!ready) {
        set_up();
        ready = true;
    }
    for (int r = 0; r < 3; r++) {
        envelope *msg = envelope_unpack(data, size);
        if (msg == NULL)
            return 0;
        turn(r, msg);
    }
    return 0;
}
