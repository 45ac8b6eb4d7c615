#include "floor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "board.h"
#include "card.h"
#include "hopper.h"
#include "label.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "peers.h"
#include "pii.h"
#include "vault.h"

#define REASON_MAX_BYTES 64
#define NOTICE_MAX_BYTES 500

struct agent {
    server *srv;
    uint64_t user_id;
    char username[65];
    char display_name[129];
    char team[129];
    int64_t team_id;  /* 0: not loaded yet; -1: in no team */
    session *session; /* NULL while disconnected */
    Callfloor__AgentState state;
    uint64_t since_ms;   /* uv_now when the state was entered */
    uint64_t ready_ns;   /* uv_hrtime when the agent last became ready */
    bool offer_counted;  /* the metrics have this lead's offer (not again after a reconnect) */
    char reason[128];    /* why paused */
    hopper_lead lead;    /* lead.id != 0 while offered or on a call */
    uint64_t call_id;    /* non-zero while on a call */
    uint64_t offer_gen;  /* tells a stale offer build from the current one */
    bool dialing;        /* a Dial is in flight */
    bool pause_alerted;  /* supervisors were told of this long pause */
    bool to_announce;    /* the state changed since the other daemons heard */
    floor_standing told; /* the last AgentScore sent to the desk */
    uv_timer_t timer;    /* the offer timeout, or the reconnect grace */
    agent *next;
};

struct floor {
    agent *agents;
};

static const char *const statements[][2] = {
    /* Whom a supervisor's notice may reach (013_oversight.sql). */
    {"floor_oversee_agent", "SELECT cf_oversee($1, team_id, 'agent ' || username)"
                            " FROM users WHERE username = $2"},
    {"floor_oversee_team", "SELECT cf_oversee($1, id, 'team ' || name) FROM teams WHERE name = $2"},
    {"floor_team", "SELECT coalesce(u.team_id, -1), u.display_name, coalesce(t.name, '')"
                   " FROM users u LEFT JOIN teams t ON t.id = u.team_id WHERE u.id = $1"},
    /* The agent's call left open by a session that ended without its
     * outcome (a daemon that died): its lead is leased here again, so that
     * the call can be handed back. */
    {"floor_open_call",
     "WITH k AS (SELECT id, lead_id FROM calls WHERE agent_id = $1 AND disposition IS NULL"
     " ORDER BY id DESC LIMIT 1)"
     " UPDATE leads l SET lease_owner = $2, lease_expires_at = now() + $3::interval"
     " FROM k WHERE l.id = k.lead_id RETURNING k.id, l.id, l.campaign_id"},
    {"floor_offer_blockers",
     "SELECT array_to_string(cf_lead_blockers($1, $2, $3, $4::interval), '; ')"},
    {"floor_dial", "SELECT call_id, phone_sealed, array_to_string(blockers, '; ')"
                   " FROM cf_dial($1, $2, $3, $4::interval, $5::interval)"},
};

int floor_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

static agent *find_agent(const server *srv, uint64_t user_id) {
    for (agent *a = srv->floor ? srv->floor->agents : NULL; a != NULL; a = a->next)
        if (a->user_id == user_id)
            return a;
    return NULL;
}

static const char *state_name(Callfloor__AgentState s) {
    static const char *const names[] = {"offline",   "ready",   "offered",
                                        "on a call", "wrap-up", "paused"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

/* The one place an agent's state changes. */
static void floor_set_state(agent *a, Callfloor__AgentState state, const char *reason) {
    if (a->state != state)
        log_debug("agent %s: %s -> %s", a->username, state_name(a->state), state_name(state));
    bool changed = a->state != state;
    a->state = state;
    a->since_ms = uv_now(a->srv->loop);
    if (changed && state == CALLFLOOR__AGENT_STATE__AGENT_READY)
        a->ready_ns = uv_hrtime();
    a->pause_alerted = false;
    snprintf(a->reason, sizeof a->reason, "%s", reason ? reason : "");
    if (state != CALLFLOOR__AGENT_STATE__AGENT_OFFERED &&
        state != CALLFLOOR__AGENT_STATE__AGENT_ON_CALL)
        uv_timer_stop(&a->timer);
    if (changed || state == CALLFLOOR__AGENT_STATE__AGENT_OFFERED) {
        a->to_announce = true;
        board_floor_changed(a->srv);
    }
}

static void push_status(agent *a) {
    if (a->session == NULL)
        return;
    Callfloor__AgentStatus st = CALLFLOOR__AGENT_STATUS__INIT;
    st.state = a->state;
    st.reason = a->reason;
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_AGENT_STATUS;
    out.agent_status = &st;
    session_send(a->session, &out);
}

static void reply_status(request *req, const agent *a) {
    Callfloor__AgentStatus st = CALLFLOOR__AGENT_STATUS__INIT;
    st.state = a->state;
    st.reason = (char *)a->reason;
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_AGENT_STATUS;
    out.agent_status = &st;
    request_reply(req, &out);
}

/* Gives the held lead back to the queue (not a call in progress: its lead
 * is released by the outcome). */
static void drop_lead(agent *a) {
    if (a->lead.id != 0 && a->call_id == 0)
        hopper_release(a->srv, a->lead.id);
    memset(&a->lead, 0, sizeof a->lead);
    a->call_id = 0;
    a->offer_gen++;
}

/* ---- building and sending an offer ---- */

typedef struct offer_build {
    server *srv;
    uint64_t user_id;
    uint64_t gen;
} offer_build;

static void try_offer(agent *a);
static void on_offer_timeout(uv_timer_t *t);

/* Puts the card on the agent's desk as the offer of the lead they hold: a
 * new offer is counted once and times out, a call handed back does not. */
static void send_card(agent *a, const lead_card *card) {
    uint32_t timeout_ms = hopper_offer_timeout_ms(a->srv, a->lead.campaign_id);
    /* Gone meanwhile: the reconnect grace runs, and a reconnect builds the
     * offer again. */
    if (a->session == NULL)
        return;
    Callfloor__LeadOffer offer = *card_offer(card);
    offer.call_id = a->call_id;
    offer.expires_in_ms = a->call_id ? 0 : timeout_ms;
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_LEAD_OFFER;
    out.lead_offer = &offer;
    session_send(a->session, &out);
    if (a->call_id != 0)
        return;
    if (!a->offer_counted) {
        a->offer_counted = true;
        metrics_count(a->srv, METRIC_LEADS_OFFERED);
        metrics_observe(a->srv, METRIC_OFFER_LATENCY, uv_hrtime() - a->ready_ns);
    }
    uv_timer_start(&a->timer, on_offer_timeout, timeout_ms, 0);
}

static void on_offer_built(const db_reply *reply, void *arg) {
    offer_build *b = arg;
    agent *a = find_agent(b->srv, b->user_id);
    bool current = a != NULL && a->offer_gen == b->gen && a->lead.id != 0;
    free(b);
    if (!current)
        return; /* paused, disconnected or taken back meanwhile */
    size_t n;
    lead_card **cards = card_build_all(reply, 1, &n);
    lead_card *card = n == 1 ? cards[0] : NULL;
    free(cards);
    if (card == NULL) {
        log_warn("agent %s: building the offer of lead %lld failed: %s", a->username,
                 (long long)a->lead.id,
                 reply->status != DB_OK              ? reply->message
                 : PQntuples(reply->results[1]) == 0 ? "the lead was not found"
                                                     : "out of memory");
        drop_lead(a);
        floor_set_state(a, CALLFLOOR__AGENT_STATE__AGENT_READY, NULL);
        return; /* the next tick tries again */
    }
    const char *blockers = db_value(reply->results[0], 0, 0);
    if (*blockers != '\0' && a->call_id == 0) {
        /* It became ineligible since the claim (a window closed, a number
         * was added to the do-not-call list): skip it. */
        log_debug("agent %s: lead %lld no longer dialable: %s", a->username, (long long)a->lead.id,
                  blockers);
        card_free(card);
        drop_lead(a);
        floor_set_state(a, CALLFLOOR__AGENT_STATE__AGENT_READY, NULL);
        try_offer(a);
        return;
    }
    send_card(a, card);
    card_free(card);
}

/* Builds the offer of the held lead from the database, after checking
 * that it may still be called: after a reconnect, or when its card from
 * the hopper is missing or stale. */
static void build_offer(agent *a) {
    server *srv = a->srv;
    offer_build *b = malloc(sizeof *b);
    db_txn *txn = b && srv->db ? db_txn_begin(srv->db) : NULL;
    if (txn == NULL) {
        free(b);
        drop_lead(a);
        floor_set_state(a, CALLFLOOR__AGENT_STATE__AGENT_READY, NULL);
        return;
    }
    *b = (offer_build){srv, a->user_id, a->offer_gen};
    char lead[24], ids[26], agent_id[24], grace[40];
    snprintf(lead, sizeof lead, "%lld", (long long)a->lead.id);
    snprintf(ids, sizeof ids, "{%lld}", (long long)a->lead.id);
    snprintf(agent_id, sizeof agent_id, "%llu", (unsigned long long)a->user_id);
    snprintf(grace, sizeof grace, "%u milliseconds", srv->cfg.callback_grace_ms);
    const char *params[] = {lead, srv->instance_id, agent_id, grace};
    db_txn_query(txn, "floor_offer_blockers", 4, params);
    card_read(txn, ids);
    db_txn_commit(txn, on_offer_built, b);
}

static bool waits_for_lead(const agent *a) {
    return a->state == CALLFLOOR__AGENT_STATE__AGENT_READY && a->session != NULL &&
           a->lead.id == 0 && a->team_id != 0;
}

static void try_offer(agent *a) {
    if (!waits_for_lead(a))
        return;
    if (a->team_id < 0 || !hopper_take(a->srv, a->user_id, a->team_id, &a->lead))
        return; /* waits; the hopper calls serve_waiting when leads come */
    a->offer_gen++;
    a->offer_counted = false;
    floor_set_state(a, CALLFLOOR__AGENT_STATE__AGENT_OFFERED, NULL);
    /* The hopper read the card with the claim: the offer needs no round
     * trip to the database, and the dial checks the lead again. */
    lead_card *card = a->lead.card;
    a->lead.card = NULL;
    if (card != NULL && card_fresh(card))
        send_card(a, card);
    else
        build_offer(a);
    card_free(card);
}

static int longest_waiting_first(const void *pa, const void *pb) {
    const agent *a = *(agent *const *)pa, *b = *(agent *const *)pb;
    return a->ready_ns < b->ready_ns ? -1 : a->ready_ns > b->ready_ns;
}

/* Leads came: the agents who have waited longest are offered first. In
 * the list's order, when fewer leads came than agents waited, the agents
 * at its end waited while those before them were served again and again. */
static void serve_waiting(server *srv) {
    agent *first = srv->floor ? srv->floor->agents : NULL;
    size_t n = 0;
    for (agent *a = first; a != NULL; a = a->next)
        n += waits_for_lead(a);
    agent **order = n > 1 ? malloc(n * sizeof *order) : NULL;
    if (order == NULL) { /* one agent, or out of memory: in the list's order */
        for (agent *a = first; a != NULL; a = a->next)
            try_offer(a);
        return;
    }
    size_t k = 0;
    for (agent *a = first; a != NULL; a = a->next)
        if (waits_for_lead(a))
            order[k++] = a;
    qsort(order, k, sizeof *order, longest_waiting_first);
    for (size_t i = 0; i < k; i++)
        try_offer(order[i]);
    free(order);
}

static void on_offer_timeout(uv_timer_t *t) {
    agent *a = t->data;
    if (a->state != CALLFLOOR__AGENT_STATE__AGENT_OFFERED || a->dialing)
        return;
    log_info("agent %s: lead %lld not dialled in time; offer taken back", a->username,
             (long long)a->lead.id);
    drop_lead(a);
    floor_set_state(a, CALLFLOOR__AGENT_STATE__AGENT_PAUSED,
                    "the offer was not dialled in time; send Ready to take leads again");
    push_status(a);
}

/* ---- agents coming and going ---- */

static agent *agent_create(server *srv, const request *req) {
    agent *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->srv = srv;
    a->user_id = req->user_id;
    snprintf(a->username, sizeof a->username, "%s", req->username);
    uv_timer_init(srv->loop, &a->timer);
    a->timer.data = a;
    a->next = srv->floor->agents;
    srv->floor->agents = a;
    return a;
}

static void on_grace_over(uv_timer_t *t) {
    agent *a = t->data;
    if (a->session != NULL)
        return;
    log_info("agent %s did not come back within the grace period; lead %lld returns to the queue",
             a->username, (long long)a->lead.id);
    if (a->call_id != 0)
        hopper_release(a->srv, a->lead.id); /* the outbox may still bring the outcome */
    drop_lead(a);
    floor_set_state(a, CALLFLOOR__AGENT_STATE__AGENT_OFFLINE, NULL);
}

void floor_session_closed(server *srv, session *s, uint64_t user_id) {
    agent *a = find_agent(srv, user_id);
    if (a == NULL || a->session != s)
        return;
    a->session = NULL;
    if (a->lead.id == 0 || srv->draining) {
        drop_lead(a);
        floor_set_state(a, CALLFLOOR__AGENT_STATE__AGENT_OFFLINE, NULL);
        return;
    }
    uv_timer_stop(&a->timer);
    uv_timer_start(&a->timer, on_grace_over, srv->cfg.reconnect_grace_ms, 0);
}

static void ready(request *req, agent *a);

/* The call this agent left open in an earlier session comes back as an
 * offer with its call id, as after a reconnect within the grace period. */
static void hand_back_open_call(request *req, agent *a, const PGresult *res) {
    a->call_id = (uint64_t)db_int64(res, 0, 0);
    a->lead = (hopper_lead){.id = db_int64(res, 0, 1), .campaign_id = db_int64(res, 0, 2)};
    log_info("agent %s: call %llu was left open; handing it back", a->username,
             (unsigned long long)a->call_id);
    floor_set_state(a, CALLFLOOR__AGENT_STATE__AGENT_ON_CALL, NULL);
    reply_status(req, a);
    a->offer_gen++;
    build_offer(a);
}

static void on_team_loaded(const db_reply *reply, void *arg) {
    request *req = arg;
    agent *a = find_agent(req->srv, req->user_id);
    if (a == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__SHUTTING_DOWN, 0, "the server is shutting down");
    } else if (reply->status != DB_OK || PQntuples(reply->results[0]) != 1) {
        request_fail_db(req, reply, "loading an agent's team");
    } else {
        a->team_id = db_int64(reply->results[0], 0, 0);
        snprintf(a->display_name, sizeof a->display_name, "%s", db_value(reply->results[0], 0, 1));
        snprintf(a->team, sizeof a->team, "%s", db_value(reply->results[0], 0, 2));
        if (PQntuples(reply->results[1]) == 1 && a->lead.id == 0)
            hand_back_open_call(req, a, reply->results[1]);
        else
            ready(req, a);
    }
}

static void ready(request *req, agent *a) {
    if (a->told.rank_today == UINT32_MAX)
        board_desk_opened(a->srv); /* a new desk hears its standing once */
    if (a->team_id < 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                     "you are in no team, so no campaign has leads for you; ask an admin to "
                     "add you to a team");
        return;
    }
    floor_set_state(a, CALLFLOOR__AGENT_STATE__AGENT_READY, NULL);
    reply_status(req, a);
    try_offer(a);
}

void floor_on_ready(request *req) {
    server *srv = req->srv;
    session *s = request_session(req);
    agent *a = find_agent(srv, req->user_id);
    if (a == NULL && (a = agent_create(srv, req)) == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    bool new_session = a->session != s;
    if (new_session && a->session != NULL)
        conn_close(session_conn(a->session), CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION,
                   "your desk was opened in another session");
    a->session = s;
    if (new_session)
        memset(&a->told, 0xff, sizeof a->told); /* nothing told to this desk yet */
    if (a->lead.id != 0) {
        /* Back within the grace period: the same lead, or the same call. */
        uv_timer_stop(&a->timer);
        reply_status(req, a);
        a->offer_gen++;
        build_offer(a);
        if (new_session)
            board_desk_opened(srv); /* ready() does it for the others */
        return;
    }
    /* The team is looked up again with each new session: an admin may have
     * moved the agent. */
    if (new_session)
        a->team_id = 0;
    if (a->team_id != 0) {
        ready(req, a);
        return;
    }
    char id[24], ttl[32];
    snprintf(id, sizeof id, "%llu", (unsigned long long)req->user_id);
    snprintf(ttl, sizeof ttl, "%u milliseconds", srv->cfg.lease_ttl_ms);
    const char *team_params[] = {id};
    const char *call_params[] = {id, srv->instance_id, ttl};
    db_txn *txn = request_begin(req);
    if (txn == NULL)
        return;
    db_txn_query(txn, "floor_team", 1, team_params);
    db_txn_query(txn, "floor_open_call", 3, call_params);
    db_txn_commit(txn, on_team_loaded, req);
}

void floor_on_pause(request *req) {
    agent *a = find_agent(req->srv, req->user_id);
    const char *reason = req->msg->agent_pause->reason;
    if (!label_valid(reason, REASON_MAX_BYTES)) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "a pause needs a reason of 1 to 64 bytes without control characters");
        return;
    }
    if (a == NULL || a->session != request_session(req)) {
        request_fail(req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                     "send Ready first: this session has no desk");
        return;
    }
    if (a->call_id != 0 || a->dialing) {
        request_fail(req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                     "you are on call %llu; end it with an outcome before pausing",
                     (unsigned long long)a->call_id);
        return;
    }
    drop_lead(a);
    floor_set_state(a, CALLFLOOR__AGENT_STATE__AGENT_PAUSED, reason);
    reply_status(req, a);
}

/* ---- dialling ---- */

static void on_dialled(const db_reply *reply, void *arg) {
    request *req = arg;
    agent *a = find_agent(req->srv, req->user_id);
    if (a != NULL)
        a->dialing = false;
    bool holds = a != NULL && a->lead.id == (int64_t)req->msg->dial->lead_id;
    if (reply->status != DB_OK || PQntuples(reply->results[0]) != 1) {
        /* The offer stands; its timeout, skipped while dialling, restarts. */
        if (holds && a->state == CALLFLOOR__AGENT_STATE__AGENT_OFFERED)
            uv_timer_start(&a->timer, on_offer_timeout,
                           hopper_offer_timeout_ms(a->srv, a->lead.campaign_id), 0);
        request_fail_db(req, reply, "opening a call");
        return;
    }
    const PGresult *res = reply->results[0];
    if (*db_value(res, 0, 2) != '\0') {
        request_fail(req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                     "lead %llu may not be called now: %s; it went back to the queue and the "
                     "next lead is on its way",
                     (unsigned long long)req->msg->dial->lead_id, db_value(res, 0, 2));
        if (holds) {
            drop_lead(a);
            floor_set_state(a, CALLFLOOR__AGENT_STATE__AGENT_READY, NULL);
            try_offer(a);
        }
        return;
    }
    size_t len = 0;
    unsigned char *blob = PQunescapeBytea((const unsigned char *)db_value(res, 0, 1), &len);
    char phone[VAULT_PLAIN_MAX + 1] = "";
    int rc = blob ? vault_unseal(req->srv->vault, blob, len, phone) : VAULT_E_CRYPTO;
    PQfreemem(blob);
    uint64_t call_id = (uint64_t)db_int64(res, 0, 0);
    if (holds) {
        a->call_id = call_id;
        floor_set_state(a, CALLFLOOR__AGENT_STATE__AGENT_ON_CALL, NULL);
    } else {
        /* The agent let the lead go while the dial was on its way (the
         * grace period ran out): the call stays open for an outcome from
         * the outbox, the lead goes back. */
        hopper_release(req->srv, (int64_t)req->msg->dial->lead_id);
    }
    if (rc < 0) {
        log_error("call %llu: the lead's number cannot be decrypted: %s",
                  (unsigned long long)call_id, vault_strerror(rc));
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0,
                     "the number of this lead cannot be decrypted; end call %llu with "
                     "WRONG_NUMBER and tell an admin",
                     (unsigned long long)call_id);
        return;
    }
    char masked[VAULT_PLAIN_MAX + 1];
    pii_mask_phone(phone, masked, sizeof masked);
    log_info("conn %s: agent %s dialled lead %llu (call %llu, %s)", conn_name(req->conn),
             req->username, (unsigned long long)req->msg->dial->lead_id,
             (unsigned long long)call_id, masked);
    Callfloor__DialReply dr = CALLFLOOR__DIAL_REPLY__INIT;
    dr.call_id = call_id;
    dr.phone = phone;
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_DIAL_REPLY;
    out.dial_reply = &dr;
    request_reply(req, &out);
    pii_wipe(phone, sizeof phone);
}

void floor_on_dial(request *req) {
    server *srv = req->srv;
    agent *a = find_agent(srv, req->user_id);
    uint64_t lead = req->msg->dial->lead_id;
    /* Only the lead offered to this agent: any other is reported as not
     * theirs, whether or not it exists. */
    if (a == NULL || a->session != request_session(req) ||
        a->state != CALLFLOOR__AGENT_STATE__AGENT_OFFERED || a->lead.id != (int64_t)lead ||
        a->dialing) {
        request_fail(req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                     "lead %llu is not offered to you; dial the lead of your current offer",
                     (unsigned long long)lead);
        return;
    }
    char lead_id[24], agent_id[24], grace[40], ttl[40];
    snprintf(lead_id, sizeof lead_id, "%llu", (unsigned long long)lead);
    snprintf(agent_id, sizeof agent_id, "%llu", (unsigned long long)req->user_id);
    snprintf(grace, sizeof grace, "%u milliseconds", srv->cfg.callback_grace_ms);
    snprintf(ttl, sizeof ttl, "%u milliseconds", srv->cfg.lease_ttl_ms);
    const char *params[] = {lead_id, agent_id, srv->instance_id, grace, ttl};
    if (request_query(req, "floor_dial", 5, params, on_dialled, req))
        a->dialing = true;
}

/* ---- outcomes, counts, start and stop ---- */

void floor_outcome_recorded(server *srv, uint64_t user_id, uint64_t call_id) {
    agent *a = find_agent(srv, user_id);
    if (a == NULL || a->call_id != call_id)
        return;                          /* a resend from an outbox after the desk moved on */
    memset(&a->lead, 0, sizeof a->lead); /* the outcome released it */
    a->call_id = 0;
    a->offer_gen++;
    floor_set_state(a, CALLFLOOR__AGENT_STATE__AGENT_WRAP_UP, NULL);
}

size_t floor_held_leads(const server *srv, int64_t *out, size_t cap) {
    size_t n = 0;
    for (agent *a = srv->floor ? srv->floor->agents : NULL; a != NULL; a = a->next) {
        if (a->lead.id == 0)
            continue;
        if (n < cap)
            out[n] = a->lead.id;
        n++;
    }
    return n;
}

bool floor_holds_lead(const server *srv, int64_t lead_id) {
    for (agent *a = srv->floor ? srv->floor->agents : NULL; a != NULL; a = a->next)
        if (a->lead.id == lead_id)
            return true;
    return false;
}

/* The agent as supervisors see them; `since` in wall-clock seconds. */
static floor_view view_of(const server *srv, const agent *a) {
    uint64_t age_s = (uv_now(srv->loop) - a->since_ms) / 1000;
    floor_view v = {
        a->user_id,         a->username, a->display_name, a->team,
        a->team_id,         a->state,    a->reason,       (int64_t)time(NULL) - (int64_t)age_s,
        a->lead.campaign_id};
    return v;
}

void floor_each(const server *srv, floor_each_cb fn, void *arg) {
    for (agent *a = srv->floor ? srv->floor->agents : NULL; a != NULL; a = a->next) {
        floor_view v = view_of(srv, a);
        fn(&v, arg);
    }
    peers_each(srv, fn, arg);
}

void floor_each_to_announce(server *srv, bool all, floor_each_cb fn, void *arg) {
    for (agent *a = srv->floor ? srv->floor->agents : NULL; a != NULL; a = a->next) {
        /* An agent gone offline is announced once, then left to be
         * forgotten: they may be at work on another daemon by now. */
        bool offline = a->state == CALLFLOOR__AGENT_STATE__AGENT_OFFLINE;
        if (!a->to_announce && (!all || offline))
            continue;
        a->to_announce = false;
        floor_view v = view_of(srv, a);
        fn(&v, arg);
    }
}

bool floor_knows(const server *srv, uint64_t user_id) {
    const agent *a = find_agent(srv, user_id);
    return a != NULL && a->state != CALLFLOOR__AGENT_STATE__AGENT_OFFLINE;
}

void floor_each_long_pause(server *srv, uint64_t threshold_ms, floor_each_cb fn, void *arg) {
    uint64_t now_ms = uv_now(srv->loop);
    for (agent *a = srv->floor ? srv->floor->agents : NULL; a != NULL; a = a->next) {
        if (a->state != CALLFLOOR__AGENT_STATE__AGENT_PAUSED || a->pause_alerted ||
            now_ms - a->since_ms < threshold_ms)
            continue;
        a->pause_alerted = true;
        floor_view v = view_of(srv, a);
        fn(&v, arg);
    }
}

void floor_each_desk(server *srv,
                     void (*fn)(uint64_t user_id, int64_t team_id, session *s, floor_standing *told,
                                void *arg),
                     void *arg) {
    for (agent *a = srv->floor ? srv->floor->agents : NULL; a != NULL; a = a->next)
        if (a->session != NULL)
            fn(a->user_id, a->team_id, a->session, &a->told, arg);
}

const char *floor_team_of(const server *srv, uint64_t user_id) {
    agent *a = find_agent(srv, user_id);
    return a ? a->team : "";
}

/* ---- notices ---- */

typedef struct notice_run {
    const Callfloor__NoticeSend *m;
    envelope *out;
    unsigned delivered;
} notice_run;

static void deliver_notice(server *srv, notice_run *run) {
    for (agent *a = srv->floor ? srv->floor->agents : NULL; a != NULL; a = a->next) {
        bool addressed = *run->m->agent ? strcmp(a->username, run->m->agent) == 0
                                        : strcmp(a->team, run->m->team) == 0;
        if (addressed && a->session != NULL && session_send(a->session, run->out) == 0)
            run->delivered++;
    }
}

static void send_notice(request *req) {
    const Callfloor__NoticeSend *m = req->msg->notice_send;
    Callfloor__Notice n = CALLFLOOR__NOTICE__INIT;
    n.sender = req->username;
    n.text = m->text;
    n.team = m->team;
    n.agent = m->agent;
    n.at = time(NULL);
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_NOTICE;
    out.notice = &n;
    notice_run run = {m, &out, 0};
    deliver_notice(req->srv, &run);
    if (run.delivered == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                     "%s %s has no desk open on this server now; nobody got the notice",
                     *m->agent ? "agent" : "team", *m->agent ? m->agent : m->team);
        return;
    }
    board_notice(req->srv, &out, *m->team ? m->team : floor_team_by_name(req->srv, m->agent));
    log_info("conn %s: %s sent a notice to %s (%u desks)", conn_name(req->conn), req->username,
             *m->agent ? m->agent : m->team, run.delivered);
    request_ok(req);
}

static void on_notice_overseen(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK)
        request_fail_db(req, reply, "checking whom a notice may reach");
    else
        send_notice(req);
}

void floor_on_notice_send(request *req) {
    const Callfloor__NoticeSend *m = req->msg->notice_send;
    if ((*m->agent == '\0') == (*m->team == '\0') || m->text[0] == '\0' ||
        strlen(m->text) > NOTICE_MAX_BYTES || !label_valid(m->text, NOTICE_MAX_BYTES)) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "a notice goes to one agent or one team and has a text of at most %d bytes "
                     "on one line",
                     NOTICE_MAX_BYTES);
        return;
    }
    if (req->role != CALLFLOOR__ROLE__ROLE_SUPERVISOR) {
        send_notice(req);
        return;
    }
    char staff[24];
    snprintf(staff, sizeof staff, "%llu", (unsigned long long)req->user_id);
    const char *params[] = {staff, *m->agent ? m->agent : m->team};
    request_query(req, *m->agent ? "floor_oversee_agent" : "floor_oversee_team", 2, params,
                  on_notice_overseen, req);
}

const char *floor_team_by_name(const server *srv, const char *username) {
    for (agent *a = srv->floor ? srv->floor->agents : NULL; a != NULL; a = a->next)
        if (strcmp(a->username, username) == 0)
            return a->team;
    return "";
}

void floor_get_counts(const server *srv, floor_counts *out) {
    memset(out, 0, sizeof *out);
    for (agent *a = srv->floor ? srv->floor->agents : NULL; a != NULL; a = a->next) {
        switch (a->state) {
        case CALLFLOOR__AGENT_STATE__AGENT_READY:
            out->ready++;
            break;
        case CALLFLOOR__AGENT_STATE__AGENT_OFFERED:
            out->offered++;
            break;
        case CALLFLOOR__AGENT_STATE__AGENT_ON_CALL:
            out->on_call++;
            break;
        case CALLFLOOR__AGENT_STATE__AGENT_WRAP_UP:
            out->wrap_up++;
            break;
        case CALLFLOOR__AGENT_STATE__AGENT_PAUSED:
            out->paused++;
            break;
        default:
            break;
        }
    }
}

int floor_start(server *srv) {
    srv->floor = calloc(1, sizeof *srv->floor);
    if (srv->floor == NULL)
        return -ENOMEM;
    return hopper_start(srv, serve_waiting);
}

static void on_agent_closed(uv_handle_t *h) {
    free(h->data);
}

void floor_close(server *srv) {
    struct floor *f = srv->floor;
    if (f == NULL)
        return;
    agent *next;
    for (agent *a = f->agents; a != NULL; a = next) {
        next = a->next;
        drop_lead(a);
        uv_close((uv_handle_t *)&a->timer, on_agent_closed);
    }
    free(f);
    srv->floor = NULL;
    hopper_close(srv);
}
