#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "sim.h"

/* The outcome mix of a plain list: most calls go unanswered, a quarter of
 * those who answer decline, one in ten applies. Percent, cumulative. */
#define MIX_NO_ANSWER      55
#define MIX_BUSY           65
#define MIX_NOT_INTERESTED 90

static uint64_t next_random(sim *s) {
    /* xorshift64: fast and good enough to spread outcomes and talk times. */
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

/* The report names the first thing that went wrong, whatever it was. */
static void note_first_problem(sim *s, int status, const char *why) {
    if (s->first_failure[0] == '\0') {
        snprintf(s->first_failure, sizeof s->first_failure, "%s", why);
        s->first_failure_status = status;
    }
}

void sim_note_failure(sim *s, int status, const char *why) {
    s->failed++;
    note_first_problem(s, status, why);
}

static client *session_client(const sim_session *se) {
    return se->r != NULL ? redial_client(se->r) : NULL;
}

/* ---- an agent's call cycle ---- */

static void on_agent_status(client *c, int status, const envelope *reply, void *arg);

/* The server could not do it now (the database away, too busy, draining):
 * the same request goes again after the server's hint. An outcome goes
 * under the same key, which also covers one that was recorded after all. */
static bool is_retryable(const envelope *reply) {
    if (reply->body_case != CALLFLOOR__ENVELOPE__BODY_ERROR)
        return false;
    Callfloor__ErrorCode code = reply->error->code;
    return code == CALLFLOOR__ERROR_CODE__UNAVAILABLE ||
           code == CALLFLOOR__ERROR_CODE__RATE_LIMITED ||
           code == CALLFLOOR__ERROR_CODE__SHUTTING_DOWN;
}

/* Runs `cb` once the server's retry hint has passed. */
static void retry_later(sim_session *se, const envelope *reply, uv_timer_cb cb) {
    se->s->retried++;
    uint32_t hint = reply->error->retry_after_ms;
    uv_timer_start(&se->talk, cb, hint ? hint : 500, 0);
}

/* The phase a request sent now belongs to (see sim_phase). */
static sim_phase phase_now(const sim *s) {
    return s->winding_down ? SIM_WIND_DOWN : s->measuring ? SIM_WINDOW : SIM_RAMP;
}

/* AgentReady: for the next lead, or, after a reconnect, for the call a
 * lost Dial answer may have left open (handed back even while the run
 * winds down). */

static void send_ready(sim_session *se) {
    client *c = session_client(se);
    if (c == NULL || se->s->idle)
        return;
    Callfloor__AgentReady ready = CALLFLOOR__AGENT_READY__INIT;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_AGENT_READY;
    req.agent_ready = &ready;
    se->ready_sent_at = uv_hrtime();
    se->ready_phase = phase_now(se->s);
    if (client_request(c, &req, on_agent_status, se) < 0)
        se->ready_sent_at = 0;
}

static void ask_for_lead(sim_session *se) {
    if (!se->s->winding_down)
        send_ready(se);
}

static void on_retry_ready(uv_timer_t *t) {
    sim_session *se = t->data;
    if (se->call_id == 0 && !se->outcome_pending && !se->s->winding_down)
        send_ready(se);
}

static void on_agent_status(client *c, int status, const envelope *reply, void *arg) {
    sim_session *se = arg;
    (void)c;
    if (status == 0 && is_retryable(reply)) {
        se->ready_sent_at = 0;
        retry_later(se, reply, on_retry_ready);
    } else if (status == 0 && reply->body_case == CALLFLOOR__ENVELOPE__BODY_ERROR) {
        se->ready_sent_at = 0;
        se->s->refused++;
        note_first_problem(se->s, CLIENT_E_SERVER, reply->error->message);
    }
}

static void on_outcome_reply(client *c, int status, const envelope *reply, void *arg);

static void send_outcome(sim_session *se) {
    client *c = session_client(se);
    if (c == NULL)
        return; /* sent again once the session is back */
    Callfloor__Outcome o = CALLFLOOR__OUTCOME__INIT;
    Callfloor__Disclosure disclosure = CALLFLOOR__DISCLOSURE__INIT;
    Callfloor__PreScreen prescreen = CALLFLOOR__PRE_SCREEN__INIT;
    o.idempotency_key = se->key;
    o.call_id = se->call_id;
    o.disposition = (char *)se->disposition;
    o.talk_seconds = se->talk_seconds;
    if (strcmp(se->disposition, "APPLICATION_SUBMITTED") == 0) {
        disclosure.identity_stated = disclosure.recording_consent = true;
        disclosure.annual_fee_stated = disclosure.apr_stated = disclosure.no_pressure = true;
        prescreen.income_band = 9;
        prescreen.employment = "employed";
        o.product_code = se->product;
        o.disclosure = &disclosure;
        o.prescreen = &prescreen;
    }
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_OUTCOME;
    req.outcome = &o;
    client_request(c, &req, on_outcome_reply, se);
}

static const char *pick_disposition(sim_session *se) {
    unsigned roll = (unsigned)(next_random(se->s) % 100);
    if (roll < MIX_NO_ANSWER)
        return "NO_ANSWER";
    if (roll < MIX_BUSY)
        return "BUSY";
    if (roll < MIX_NOT_INTERESTED || se->product[0] == '\0')
        return "NOT_INTERESTED";
    return "APPLICATION_SUBMITTED";
}

/* A new outcome for the open call, with a key of its own. */
static void end_call(sim_session *se, const char *disposition) {
    sim *s = se->s;
    se->disposition = disposition;
    bool answered = strcmp(disposition, "NO_ANSWER") != 0 && strcmp(disposition, "BUSY") != 0;
    se->talk_seconds = answered ? s->talk_ms / 1000 + 1 : 0;
    /* Unique across runs too: the random part tells two runs apart. */
    snprintf(se->key, sizeof se->key, "sim-%u-%u-%llx", (unsigned)(se - s->sessions), ++se->seq,
             (unsigned long long)(next_random(s) & 0xffffffffffffull));
    se->outcome_pending = true;
    se->outcomes++;
    se->outcome_sent_at = uv_hrtime();
    se->outcome_phase = phase_now(s);
    send_outcome(se);
}

static void on_talk_over(uv_timer_t *t) {
    sim_session *se = t->data;
    if (se->call_id != 0 && !se->outcome_pending)
        end_call(se, pick_disposition(se));
}

static void start_talking(sim_session *se) {
    sim *s = se->s;
    uint64_t wait = 0;
    if (!s->winding_down && s->talk_ms > 0) /* between half and one and a half times */
        wait = s->talk_ms / 2 + next_random(s) % (s->talk_ms + 1);
    uv_timer_start(&se->talk, on_talk_over, wait, 0);
}

static void answer_acknowledged(sim_session *se, const Callfloor__OutcomeReply *r) {
    sim *s = se->s;
    if (se->outcome_phase == SIM_WINDOW)
        samples_add_since(&s->ack, se->outcome_sent_at);
    else if (se->outcome_phase == SIM_WIND_DOWN)
        samples_add_since(&s->wind_down_ack, se->outcome_sent_at);
    se->acked_at = uv_hrtime();
    se->acked = se->outcomes;
    s->acked++;
    s->acked_in_window += s->measuring;
    s->replayed += r->replayed;
    s->applications += strcmp(se->disposition, "APPLICATION_SUBMITTED") == 0;
    if (s->acks != NULL)
        fprintf(s->acks, "%llu\n", (unsigned long long)r->call_id);
    se->outcome_pending = false;
    se->call_id = se->lead_id = 0;
    ask_for_lead(se);
}

static void on_resend(uv_timer_t *t) {
    sim_session *se = t->data;
    if (se->outcome_pending)
        send_outcome(se);
}

static void on_outcome_reply(client *c, int status, const envelope *reply, void *arg) {
    sim_session *se = arg;
    sim *s = se->s;
    (void)c;
    if (status < 0)
        return; /* the connection went: the reconnect sends it again */
    if (reply->body_case == CALLFLOOR__ENVELOPE__BODY_OUTCOME_REPLY) {
        answer_acknowledged(se, reply->outcome_reply);
        return;
    }
    const Callfloor__Error *e =
        reply->body_case == CALLFLOOR__ENVELOPE__BODY_ERROR ? reply->error : NULL;
    if (is_retryable(reply)) {
        retry_later(se, reply, on_resend);
        return;
    }
    s->refused++;
    se->outcomes--;
    se->outcome_pending = false;
    note_first_problem(s, CLIENT_E_SERVER, e ? e->message : _("an unexpected answer"));
    if (e != NULL && e->code == CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION &&
        strcmp(se->disposition, "APPLICATION_SUBMITTED") == 0) {
        end_call(se, "NOT_INTERESTED"); /* refused, so the call still has to end */
        return;
    }
    se->call_id = se->lead_id = 0;
    ask_for_lead(se);
}

static void dial(sim_session *se);

static void on_retry_dial(uv_timer_t *t) {
    sim_session *se = t->data;
    if (se->lead_id != 0 && se->call_id == 0 && !se->s->winding_down)
        dial(se);
}

static void on_dial_reply(client *c, int status, const envelope *reply, void *arg) {
    sim_session *se = arg;
    (void)c;
    se->dialling = false;
    if (status < 0)
        return;
    if (is_retryable(reply)) {
        retry_later(se, reply, on_retry_dial);
        return;
    }
    if (reply->body_case != CALLFLOOR__ENVELOPE__BODY_DIAL_REPLY) {
        /* The lead may no longer be called: the next offer follows. */
        se->s->dials_refused++;
        se->lead_id = 0;
        return;
    }
    se->s->dials++;
    se->call_id = reply->dial_reply->call_id;
    start_talking(se);
}

static void dial(sim_session *se) {
    client *c = session_client(se);
    Callfloor__Dial d = CALLFLOOR__DIAL__INIT;
    d.lead_id = se->lead_id;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_DIAL;
    req.dial = &d;
    if (c != NULL && client_request(c, &req, on_dial_reply, se) == 0)
        se->dialling = true;
}

static void take_offer(sim_session *se, const Callfloor__LeadOffer *o) {
    sim *s = se->s;
    if (se->outcome_pending || se->dialling)
        return;
    snprintf(se->product, sizeof se->product, "%s", o->n_products > 0 ? o->products[0]->code : "");
    if (o->call_id != 0) {
        /* A call in progress handed back after a reconnect: it is ended
         * even while the run winds down, so that none is left open. */
        se->lead_id = o->lead_id;
        se->call_id = o->call_id;
        if (!uv_is_active((uv_handle_t *)&se->talk))
            start_talking(se);
        return;
    }
    if (se->call_id != 0)
        return;
    /* Timed even when it comes after the time is up, so that the slowest
     * offers of the window are not the ones left out. */
    if (se->ready_sent_at != 0 && se->ready_phase == SIM_WINDOW)
        samples_add_since(&s->offer, se->ready_sent_at);
    se->ready_sent_at = 0;
    if (s->winding_down)
        return;
    se->lead_id = o->lead_id;
    s->offers++;
    dial(se);
}

static void agent_push(sim_session *se, const envelope *push) {
    if (push->body_case == CALLFLOOR__ENVELOPE__BODY_LEAD_OFFER) {
        take_offer(se, push->lead_offer);
    } else if (push->body_case == CALLFLOOR__ENVELOPE__BODY_AGENT_STATUS &&
               push->agent_status->state == CALLFLOOR__AGENT_STATE__AGENT_PAUSED &&
               se->call_id == 0 && !se->dialling && !se->outcome_pending) {
        /* An offer not dialled in time was taken back: ask again. */
        se->lead_id = 0;
        ask_for_lead(se);
    }
}

/* Back after a reconnect (or the first login): finish what was open. */
static void agent_up(sim_session *se) {
    if (se->outcome_pending) {
        send_outcome(se);
    } else if (se->call_id == 0 && se->dial_lost) {
        se->dial_lost = false;
        send_ready(se);
    } else if (se->call_id == 0) {
        ask_for_lead(se);
    }
}

/* ---- a supervisor watching the board ---- */

/* The agent session that logs in as `name`, started or not: the first
 * snapshot comes before the agents start. */
static sim_session *agent_named(sim *s, const char *name) {
    size_t n = strlen(s->prefix);
    if (strncmp(name, s->prefix, n) != 0)
        return NULL;
    char *end;
    unsigned long number = strtoul(name + n, &end, 10);
    if (*end != '\0' || number == 0 || number > s->agents)
        return NULL;
    char expected[sizeof s->sessions->username];
    snprintf(expected, sizeof expected, "%s%04lu", s->prefix, number);
    return strcmp(expected, name) == 0 ? &s->sessions[s->supervisors + number - 1] : NULL;
}

/* A board row that first shows an agent's latest outcome to supervisor
 * `sup` measures the push: from the outcome's sending to the screen; a
 * snapshot after a reconnect only brings `sup` up to date. The rows of
 * agents with nothing today yet are not in the first snapshot; they start
 * from 0. */
static void board_row(sim_session *sup, const Callfloor__BoardRow *row, bool snapshot) {
    sim *s = sup->s;
    sim_session *agent = agent_named(s, row->agent);
    if (agent == NULL)
        return;
    if (snapshot && !s->bases_known) {
        agent->base_dials = row->dials;
        return;
    }
    unsigned k = (unsigned)(agent - s->sessions) - s->supervisors;
    unsigned shown = row->dials >= agent->base_dials ? row->dials - agent->base_dials : 0;
    if (shown == 0 || shown != agent->outcomes || sup->seen == NULL || sup->seen[k] >= shown)
        return;
    sup->seen[k] = shown;
    if (snapshot || agent->outcome_phase != SIM_WINDOW)
        return;
    samples_add_since(&s->push, agent->outcome_sent_at);
    /* A push read before its agent's answer came out no later: 0 ms, and
     * counted, so that a report can say how many were. */
    s->fanout_before_ack += agent->acked != shown;
    samples_add_since(&s->fanout, agent->acked == shown ? agent->acked_at : uv_hrtime());
}

static void on_board(client *c, int status, const envelope *reply, void *arg);

static void supervisor_up(sim_session *se) {
    client *c = session_client(se);
    Callfloor__BoardSubscribe sub = CALLFLOOR__BOARD_SUBSCRIBE__INIT;
    sub.team = "";
    sub.period = CALLFLOOR__PERIOD__PERIOD_DAY;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_BOARD_SUBSCRIBE;
    req.board_subscribe = &sub;
    if (c != NULL)
        client_request(c, &req, on_board, se);
}

static void board_push(sim_session *sup, const Callfloor__Board *b) {
    for (size_t i = 0; i < b->n_rows; i++)
        board_row(sup, b->rows[i], b->snapshot);
    if (b->snapshot)
        sup->s->bases_known = true; /* the agents start after the supervisors */
}

static void on_board(client *c, int status, const envelope *reply, void *arg) {
    sim_session *se = arg;
    (void)c;
    if (status < 0)
        return;
    if (reply->body_case == CALLFLOOR__ENVELOPE__BODY_BOARD)
        board_push(se, reply->board);
    else if (reply->body_case == CALLFLOOR__ENVELOPE__BODY_ERROR)
        note_first_problem(se->s, CLIENT_E_SERVER, reply->error->message);
}

/* ---- sessions ---- */

static void session_up(sim_session *se) {
    sim *s = se->s;
    se->up = true;
    if (!se->ever_up) {
        se->ever_up = true;
        s->settled++;
        s->ok++;
        samples_add_since(&s->login, se->started_at);
    } else {
        s->reconnects++;
    }
    if (se->role == SIM_SUPERVISOR)
        supervisor_up(se);
    else
        agent_up(se);
}

static void session_down(sim_session *se) {
    sim *s = se->s;
    redial_state state = redial_current(se->r);
    /* A login the server refused for now (the database away, too busy) is
     * tried again; anything else before the first login is final. */
    if (!se->ever_up && state == REDIAL_WAITING && redial_status(se->r) == CLIENT_E_SERVER)
        return;
    if (!se->ever_up || state == REDIAL_GAVE_UP) {
        /* Never in, or refused for good: retrying is pointless. */
        if (!se->ever_up) {
            sim_note_failure(s, redial_status(se->r), redial_reason(se->r));
            s->settled++;
        }
        se->gone = true;
        se->up = false;
        redial_stop(se->r);
        se->r = NULL;
        return;
    }
    if (se->up && !s->stopping) {
        s->lost++;
        note_first_problem(s, CLIENT_E_CLOSED, redial_reason(se->r));
    }
    se->up = false;
    se->dial_lost = se->dial_lost || se->dialling;
    se->ping_in_flight = se->dialling = false;
    se->ready_sent_at = 0;
}

static void on_changed(redial *r, void *arg) {
    sim_session *se = arg;
    (void)r;
    switch (redial_current(se->r)) {
    case REDIAL_READY:
        if (!se->up)
            session_up(se);
        break;
    case REDIAL_WAITING:
    case REDIAL_GAVE_UP:
        if (se->up || !se->gone)
            session_down(se);
        break;
    case REDIAL_CONNECTING:
        break;
    }
}

static void on_push(redial *r, const envelope *push, void *arg) {
    sim_session *se = arg;
    (void)r;
    if (se->role == SIM_AGENT) {
        agent_push(se, push);
        return;
    }
    if (se->s->measuring) {
        se->s->supervisor_pushes++;
        se->s->supervisor_push_bytes += callfloor__envelope__get_packed_size(push);
    }
    if (push->body_case == CALLFLOOR__ENVELOPE__BODY_BOARD)
        board_push(se, push->board);
}

void sim_session_start(sim *s, unsigned k) {
    sim_session *se = &s->sessions[k];
    se->s = s;
    se->role = k < s->supervisors ? SIM_SUPERVISOR : SIM_AGENT;
    if (se->role == SIM_SUPERVISOR)
        snprintf(se->username, sizeof se->username, "%s%04u", s->supervisor_prefix, k + 1);
    else
        snprintf(se->username, sizeof se->username, "%s%04u", s->prefix, k - s->supervisors + 1);
    uv_timer_init(s->loop, &se->talk);
    se->talk.data = se;
    if (se->role == SIM_SUPERVISOR)
        se->seen = calloc(s->agents, sizeof *se->seen); /* NULL: this one measures nothing */
    client_options co;
    cli_conn_to_client(&s->conn, "callfloor-sim", &co);
    co.username = se->username;
    se->started_at = uv_hrtime();
    se->r = redial_start(s->loop, &co, on_changed, on_push, se);
    if (se->r == NULL) {
        sim_note_failure(s, CLIENT_E_NOMEM, _("out of memory"));
        se->gone = true;
        s->settled++;
    }
}

static void on_pong(client *c, int status, const envelope *reply, void *arg) {
    sim_session *se = arg;
    (void)c;
    se->ping_in_flight = false;
    if (status == 0 && reply->body_case == CALLFLOOR__ENVELOPE__BODY_PONG &&
        se->ping_phase == SIM_WINDOW)
        samples_add_since(&se->s->rtt, se->ping_sent_at);
}

void sim_ping_slice(sim *s, unsigned slice, unsigned slices) {
    for (unsigned k = slice; k < s->started; k += slices) {
        sim_session *se = &s->sessions[k];
        client *c = session_client(se);
        if (!se->up || se->ping_in_flight || c == NULL)
            continue;
        Callfloor__Ping ping = CALLFLOOR__PING__INIT;
        ping.nonce = k;
        envelope req = CALLFLOOR__ENVELOPE__INIT;
        req.body_case = CALLFLOOR__ENVELOPE__BODY_PING;
        req.ping = &ping;
        se->ping_sent_at = uv_hrtime();
        se->ping_phase = phase_now(s);
        if (client_request(c, &req, on_pong, se) == 0)
            se->ping_in_flight = true;
    }
}

void sim_wind_down(sim *s) {
    s->winding_down = true;
    for (unsigned k = s->supervisors; k < s->started; k++) {
        sim_session *se = &s->sessions[k];
        if (se->call_id != 0 && !se->outcome_pending)
            start_talking(se); /* at once, now that the run winds down */
    }
}

static bool has_open_work(const sim_session *se) {
    return se->call_id != 0 || se->dialling || se->outcome_pending || se->dial_lost;
}

bool sim_settled(const sim *s) {
    for (unsigned k = s->supervisors; k < s->started; k++) {
        const sim_session *se = &s->sessions[k];
        if (se->up && has_open_work(se))
            return false;
    }
    return true;
}

/* Whether supervisor `sup`'s board shows every agent's latest outcome. */
static bool board_current(const sim *s, const sim_session *sup) {
    for (unsigned k = s->supervisors; k < s->started; k++) {
        unsigned outcomes = s->sessions[k].outcomes;
        if (outcomes > 0 && sup->seen[k - s->supervisors] != outcomes)
            return false;
    }
    return true;
}

unsigned sim_boards_behind(const sim *s) {
    unsigned behind = 0;
    for (unsigned k = 0; k < s->supervisors && k < s->started; k++) {
        const sim_session *sup = &s->sessions[k];
        behind += sup->up && sup->seen != NULL && !board_current(s, sup);
    }
    return behind;
}

unsigned sim_left_open(const sim *s) {
    unsigned open = 0;
    for (unsigned k = s->supervisors; k < s->started; k++)
        open += has_open_work(&s->sessions[k]);
    return open;
}

void sim_stop_all(sim *s) {
    s->stopping = true;
    for (unsigned k = 0; k < s->started; k++) {
        sim_session *se = &s->sessions[k];
        if (se->r != NULL)
            redial_stop(se->r);
        se->r = NULL;
        se->up = false;
        free(se->seen);
        se->seen = NULL;
        uv_close((uv_handle_t *)&se->talk, NULL);
    }
}
