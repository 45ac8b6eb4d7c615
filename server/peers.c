#include "peers.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "buf.h"
#include "hopper.h"
#include "log.h"
#include "score.h"

/* A notification's payload stays under PostgreSQL's 8000 bytes. */
#define PAYLOAD_MAX 7800
/* An agent another daemon stopped reporting is dropped after this. */
#define PEERS_FORGET_MS (3 * PEERS_HEARTBEAT_MS)
#define FIELDS          9

typedef struct remote_agent {
    uint64_t user_id;
    char instance[128];
    char username[65];
    char display_name[129];
    char team[129];
    char reason[128];
    int64_t team_id, since, campaign_id;
    Callfloor__AgentState state;
    uint64_t heard_ms; /* uv_now */
} remote_agent;

struct peers {
    server *srv;
    uv_timer_t timer;
    remote_agent *agents;
    size_t n, cap;
    uint64_t announced_all_ms; /* uv_now of the last heartbeat */
};

static const char *const statements[][2] = {
    {"peers_listen", "LISTEN callfloor"},
    {"peers_announce", "SELECT pg_notify('callfloor', $1)"},
};

int peers_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

/* ---- announcing this daemon's agents ---- */

typedef struct announcement {
    server *srv;
    db_txn *txn;
    buf chunk;
    size_t header_len;
    unsigned payloads;
} announcement;

static void on_announced(const db_reply *reply, void *arg) {
    (void)arg;
    if (reply->status != DB_OK)
        log_debug("announcing the floor to other daemons failed: %s", reply->message);
}

/* Out of memory, the lines are dropped: the next heartbeat has them. */
static void flush_chunk(announcement *an) {
    if (an->chunk.len > an->header_len && buf_append(&an->chunk, "", 1) == 0) {
        const char *params[] = {(const char *)an->chunk.data};
        db_txn_query(an->txn, "peers_announce", 1, params);
        an->payloads++;
    }
    an->chunk.len = an->header_len;
}

/* One line per agent: the fields of remote_agent, tab-separated. Names,
 * teams and reasons hold no control characters (label_valid). */
static void add_agent(const floor_view *v, void *arg) {
    announcement *an = arg;
    char line[700];
    int len = snprintf(line, sizeof line,
                       "%" PRIu64 "\t%s\t%s\t%" PRId64 "\t%s\t%d\t%" PRId64 "\t%" PRId64 "\t%s\n",
                       v->user_id, v->username, v->display_name, v->team_id, v->team, (int)v->state,
                       v->since, v->campaign_id, v->reason);
    if (len < 0 || (size_t)len >= sizeof line)
        return;
    if (an->chunk.len + (size_t)len > PAYLOAD_MAX)
        flush_chunk(an);
    buf_append(&an->chunk, line, (size_t)len);
}

static void announce(server *srv, bool all) {
    announcement an = {.srv = srv, .chunk = BUF_INIT};
    an.txn = srv->db ? db_txn_begin(srv->db) : NULL;
    if (an.txn == NULL)
        return;
    buf_append_str(&an.chunk, "f\t");
    buf_append_str(&an.chunk, srv->instance_id);
    buf_append_str(&an.chunk, "\n");
    an.header_len = an.chunk.len;
    floor_each_to_announce(srv, all, add_agent, &an);
    flush_chunk(&an);
    buf_free(&an.chunk);
    if (an.payloads == 0)
        db_txn_abort(an.txn);
    else
        db_txn_commit(an.txn, on_announced, NULL);
}

/* ---- what other daemons report ---- */

static remote_agent *find_remote(struct peers *p, uint64_t user_id) {
    for (size_t i = 0; i < p->n; i++)
        if (p->agents[i].user_id == user_id)
            return &p->agents[i];
    return NULL;
}

static remote_agent *add_remote(struct peers *p, uint64_t user_id) {
    remote_agent *r = find_remote(p, user_id);
    if (r != NULL)
        return r;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        remote_agent *grown = realloc(p->agents, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        p->agents = grown;
        p->cap = cap;
    }
    r = &p->agents[p->n++];
    memset(r, 0, sizeof *r);
    r->user_id = user_id;
    return r;
}

/* Splits `line` at tabs in place; false unless it has FIELDS fields. */
static bool split_fields(char *line, char *fields[FIELDS]) {
    int n = 0;
    for (char *f = line; n < FIELDS; n++) {
        fields[n] = f;
        char *tab = strchr(f, '\t');
        if (tab == NULL) {
            n++;
            break;
        }
        *tab = '\0';
        f = tab + 1;
    }
    return n == FIELDS;
}

static void take_line(struct peers *p, const char *instance, char *line) {
    char *f[FIELDS];
    if (!split_fields(line, f))
        return;
    uint64_t id = strtoull(f[0], NULL, 10);
    remote_agent *r = id != 0 ? add_remote(p, id) : NULL;
    if (r == NULL)
        return;
    snprintf(r->instance, sizeof r->instance, "%s", instance);
    snprintf(r->username, sizeof r->username, "%s", f[1]);
    snprintf(r->display_name, sizeof r->display_name, "%s", f[2]);
    r->team_id = strtoll(f[3], NULL, 10);
    snprintf(r->team, sizeof r->team, "%s", f[4]);
    r->state = (Callfloor__AgentState)strtol(f[5], NULL, 10);
    r->since = strtoll(f[6], NULL, 10);
    r->campaign_id = strtoll(f[7], NULL, 10);
    snprintf(r->reason, sizeof r->reason, "%s", f[8]);
    r->heard_ms = uv_now(p->srv->loop);
}

/* "f\tINSTANCE\n" and then one line per agent. */
static void take_floor(struct peers *p, const char *payload) {
    char *copy = strdup(payload);
    if (copy == NULL)
        return; /* the next heartbeat brings them again */
    char *header_end = strchr(copy, '\n');
    if (header_end != NULL && strncmp(copy, "f\t", 2) == 0) {
        *header_end = '\0';
        const char *instance = copy + 2;
        for (char *line = header_end + 1; *line != '\0';) {
            char *end = strchr(line, '\n');
            if (end == NULL)
                break;
            *end = '\0';
            take_line(p, instance, line);
            line = end + 1;
        }
        board_floor_changed(p->srv);
    }
    free(copy);
}

static void on_notify(const char *channel, const char *payload, bool from_this_pool, void *arg) {
    server *srv = arg;
    (void)channel;
    if (srv->peers == NULL)
        return;
    /* The hopper's cards go stale whoever made the change; the rest of
     * this daemon's own news it knew already. */
    if (payload[0] == 'd' && payload[1] == ' ')
        hopper_forget_cards(srv, payload + 2);
    else if (strcmp(payload, "k") == 0)
        hopper_forget_cards(srv, NULL);
    else if (from_this_pool)
        return;
    else if (payload[0] == 's' && payload[1] == ' ')
        score_on_remote_events(srv, payload + 2);
    else if (payload[0] == 'f')
        take_floor(srv->peers, payload);
    else if (strcmp(payload, "c") == 0)
        hopper_campaigns_changed(srv);
}

/* What was announced while no connection listened (before the first
 * LISTEN too: the first rebuild may have begun before it) was missed: the
 * scores are rebuilt and the campaigns read again, and the floors come
 * again with the next heartbeats. */
static void on_listening(void *arg) {
    server *srv = arg;
    if (srv->peers == NULL)
        return;
    score_catch_up(srv);
    hopper_campaigns_changed(srv);
}

static void forget_silent(struct peers *p) {
    uint64_t now = uv_now(p->srv->loop);
    size_t kept = 0;
    for (size_t i = 0; i < p->n; i++)
        if (now - p->agents[i].heard_ms < PEERS_FORGET_MS)
            p->agents[kept++] = p->agents[i];
    if (kept != p->n)
        board_floor_changed(p->srv);
    p->n = kept;
}

static void on_tick(uv_timer_t *t) {
    server *srv = t->data;
    struct peers *p = srv->peers;
    uint64_t now = uv_now(srv->loop);
    bool all = now - p->announced_all_ms >= PEERS_HEARTBEAT_MS;
    if (all)
        p->announced_all_ms = now;
    announce(srv, all);
    forget_silent(p);
}

/* ---- life ---- */

void peers_each(const server *srv, floor_each_cb fn, void *arg) {
    const struct peers *p = srv->peers;
    for (size_t i = 0; p != NULL && i < p->n; i++) {
        const remote_agent *r = &p->agents[i];
        if (floor_knows(srv, r->user_id))
            continue; /* this daemon's own word comes first */
        floor_view v = {r->user_id, r->username, r->display_name, r->team,       r->team_id,
                        r->state,   r->reason,   r->since,        r->campaign_id};
        fn(&v, arg);
    }
}

int peers_start(server *srv) {
    struct peers *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    p->srv = srv;
    srv->peers = p;
    uv_timer_init(srv->loop, &p->timer);
    p->timer.data = srv;
    uint64_t every = srv->cfg.board_interval_ms ? srv->cfg.board_interval_ms : 200;
    uv_timer_start(&p->timer, on_tick, every, every);
    if (srv->db != NULL)
        db_pool_listen(srv->db, "peers_listen", on_notify, on_listening, srv);
    return 0;
}

static void on_timer_closed(uv_handle_t *h) {
    struct peers *p = h->data;
    free(p->agents);
    free(p);
}

void peers_close(server *srv) {
    struct peers *p = srv->peers;
    if (p == NULL)
        return;
    srv->peers = NULL;
    p->timer.data = p;
    uv_close((uv_handle_t *)&p->timer, on_timer_closed);
}
