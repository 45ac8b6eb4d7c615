#include "outcome.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "board.h"
#include "db.h"
#include "floor.h"
#include "label.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "score.h"

/* Characters (not bytes), as the database's CHECKs count them. */
#define NOTES_MAX_CHARS      2000
#define RECORDING_MAX_CHARS  256
#define RESOLUTION_MAX_CHARS 1000
#define MAX_TALK_SECONDS     86400
#define MAX_EXISTING_CARDS   99

static const char *const dispositions[] = {
    "NO_ANSWER",      "BUSY",      "WRONG_NUMBER",          "VOICEMAIL",
    "NOT_INTERESTED", "CALLBACK",  "APPLICATION_SUBMITTED", "INELIGIBLE",
    "DNC_REQUEST",    "COMPLAINT",
};

static const char *const employments[] = {"employed", "self-employed", "student", "retired",
                                          "unemployed"};

static const char *const statements[][2] = {
    {"outcome_record",
     "SELECT call_id, lead_id, coalesce(application_id, 0), coalesce(complaint_id, 0), replayed,"
     " user_id, username, display_name, team_id, team, kind, points, talk_seconds, at_us, event_id"
     " FROM cf_record_outcome_scored($1, decode($2, 'hex'), $3, $4, $5, $6, $7, $8,"
     " CASE WHEN $9::bigint = 0 THEN NULL ELSE to_timestamp($9::bigint) END,"
     " $10, $11, $12, $13)"},
    {"outcome_complaints",
     "SELECT x.id, x.call_id, u.username, c.name, l.name, l.phone_masked, x.details,"
     " extract(epoch FROM x.opened_at)::bigint, extract(epoch FROM x.due_at)::bigint,"
     " coalesce(extract(epoch FROM x.resolved_at)::bigint, 0), coalesce(r.username, ''),"
     " coalesce(x.resolution, ''), coalesce(x.upheld, false)"
     " FROM complaints x JOIN users u ON u.id = x.agent_id JOIN leads l ON l.id = x.lead_id"
     " JOIN campaigns c ON c.id = l.campaign_id LEFT JOIN users r ON r.id = x.resolved_by"
     " WHERE ($1 OR x.resolved_at IS NULL)"
     /* A supervisor ($2) sees their own team's; an admin ($2 = 0) all. */
     " AND ($2::bigint = 0 OR u.team_id = (SELECT team_id FROM users WHERE id = $2::bigint))"
     " ORDER BY x.due_at, x.id"},
    {"outcome_oversee_complaint",
     "SELECT cf_oversee($1, u.team_id, format('complaint %s about %s', x.id, u.username))"
     " FROM complaints x JOIN users u ON u.id = x.agent_id WHERE x.id = $2"},
    {"outcome_complaint_resolve",
     "SELECT found, resolved, user_id, username, display_name, team_id, team, kind, points,"
     " talk_seconds, at_us, event_id FROM cf_resolve_complaint($1, $2, $3, $4)"},
};

int outcome_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

/* ---- checks ---- */

static bool in_list(const char *s, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

bool outcome_valid_disposition(const char *s) {
    return in_list(s, dispositions, sizeof dispositions / sizeof dispositions[0]);
}

bool outcome_valid_key(const char *s) {
    size_t len = strlen(s);
    return len >= 8 && len <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == len;
}

void outcome_missing_disclosures(const Callfloor__Disclosure *d, char *out, size_t cap) {
    if (d == NULL) {
        snprintf(out, cap, "the whole checklist");
        return;
    }
    const struct {
        bool done;
        const char *item;
    } items[] = {
        {d->identity_stated, "identity stated"}, {d->recording_consent, "consent to record"},
        {d->annual_fee_stated, "annual fee"},    {d->apr_stated, "APR, interest and penalties"},
        {d->no_pressure, "no pressure"},
    };
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        if (!items[i].done && len < cap)
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? ", " : "", items[i].item);
}

/* Free text an agent typed: at most `max` characters, and no control
 * characters other than line breaks and tabs. */
static bool valid_text(const char *s, size_t max) {
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
            return false;
        chars += (*p & 0xC0) != 0x80; /* continuation bytes are not characters */
    }
    return chars <= max;
}

/* Why the outcome is refused before it reaches the database, or NULL. */
static const char *outcome_problem(const Callfloor__Outcome *o, char *missing, size_t cap) {
    if (!outcome_valid_key(o->idempotency_key))
        return "the idempotency key is 8 to 64 of A-Z a-z 0-9 - _";
    if (o->call_id == 0)
        return "an outcome names the call it ends";
    if (!outcome_valid_disposition(o->disposition))
        return "unknown disposition; use NO_ANSWER, BUSY, WRONG_NUMBER, VOICEMAIL, "
               "NOT_INTERESTED, CALLBACK, APPLICATION_SUBMITTED, INELIGIBLE, DNC_REQUEST or "
               "COMPLAINT";
    if (!valid_text(o->notes, NOTES_MAX_CHARS))
        return "notes are at most 2000 characters without control characters";
    if (o->talk_seconds > MAX_TALK_SECONDS)
        return "talk time is at most 86400 seconds";
    if (!valid_text(o->recording_ref, RECORDING_MAX_CHARS) || strchr(o->recording_ref, '\n'))
        return "the recording reference is one line of at most 256 characters";
    if (strcmp(o->disposition, "CALLBACK") == 0 && o->callback_at <= 0)
        return "a CALLBACK needs the time to call back";
    if (strcmp(o->disposition, "COMPLAINT") == 0 && o->notes[0] == '\0')
        return "a COMPLAINT needs notes saying what the customer complained about";
    if (strcmp(o->disposition, "APPLICATION_SUBMITTED") != 0)
        return NULL;
    outcome_missing_disclosures(o->disclosure, missing, cap);
    if (missing[0] != '\0') {
        /* The caller adds what is missing to this sentence. */
        return "";
    }
    if (o->prescreen == NULL || o->prescreen->income_band > 9 ||
        !in_list(o->prescreen->employment, employments, sizeof employments / sizeof *employments) ||
        o->prescreen->existing_cards > MAX_EXISTING_CARDS)
        return "an application needs the pre-screen: income band 0-9, employment (employed, "
               "self-employed, student, retired, unemployed) and the number of cards held";
    if (o->product_code[0] == '\0')
        return "an application names the product applied for";
    return NULL;
}

/* The SHA-256 of the outcome as sent, in hex: a resend under the same key
 * must carry the same bytes. */
static bool outcome_hash(const Callfloor__Outcome *o, char hex[65]) {
    size_t len = callfloor__outcome__get_packed_size(o);
    uint8_t *packed = malloc(len + 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    bool ok = packed != NULL;
    if (ok) {
        callfloor__outcome__pack(o, packed);
        ok = EVP_Digest(packed, len, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32;
    }
    free(packed);
    if (ok)
        db_hex(md, 32, hex);
    return ok;
}

/* ---- recording ---- */

static Callfloor__ErrorCode code_for_sqlstate(const char *sqlstate) {
    if (strcmp(sqlstate, "CF404") == 0)
        return CALLFLOOR__ERROR_CODE__NOT_FOUND;
    if (strcmp(sqlstate, "CF409") == 0)
        return CALLFLOOR__ERROR_CODE__ALREADY_EXISTS;
    if (strcmp(sqlstate, "CF400") == 0)
        return CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT;
    return CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION;
}

/* Supervisors hear of every application refused at the last step. */
static void alert_refused(request *req, const char *why) {
    board_alert(req->srv, "application_refused", floor_team_of(req->srv, req->user_id),
                req->username, "an application by %s on call %llu was refused: %s", req->username,
                (unsigned long long)req->msg->outcome->call_id, why);
}

static void on_recorded(const db_reply *reply, void *arg) {
    request *req = arg;
    const Callfloor__Outcome *o = req->msg->outcome;
    if (reply->status == DB_E_QUERY && strncmp(reply->sqlstate, "CF", 2) == 0) {
        if (strcmp(reply->sqlstate, "CF422") == 0 &&
            strcmp(o->disposition, "APPLICATION_SUBMITTED") == 0)
            alert_refused(req, reply->message);
        request_fail(req, code_for_sqlstate(reply->sqlstate), 0, "%s", reply->message);
        return;
    }
    if (reply->status != DB_OK || PQntuples(reply->results[0]) < 1) {
        request_fail_db(req, reply, "recording an outcome");
        return;
    }
    const PGresult *res = reply->results[0];
    if (!db_bool(res, 0, 4))
        score_apply_events(req->srv, res, 5);
    Callfloor__OutcomeReply r = CALLFLOOR__OUTCOME_REPLY__INIT;
    r.call_id = (uint64_t)db_int64(res, 0, 0);
    r.application_id = (uint64_t)db_int64(res, 0, 2);
    r.complaint_id = (uint64_t)db_int64(res, 0, 3);
    r.replayed = db_bool(res, 0, 4);
    log_info("conn %s: agent %s: call %llu ended %s%s", conn_name(req->conn), req->username,
             (unsigned long long)r.call_id, o->disposition, r.replayed ? " (a resend)" : "");
    floor_outcome_recorded(req->srv, req->user_id, r.call_id);
    if (!r.replayed)
        metrics_outcome(req->srv, o->disposition);
    if (r.complaint_id != 0 && !r.replayed)
        board_alert(req->srv, "complaint", floor_team_of(req->srv, req->user_id), req->username,
                    "complaint %llu on call %llu by %s: answer the customer within 24 hours",
                    (unsigned long long)r.complaint_id, (unsigned long long)r.call_id,
                    req->username);
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_OUTCOME_REPLY;
    out.outcome_reply = &r;
    metrics_observe(req->srv, METRIC_OUTCOME_LATENCY, uv_hrtime() - req->received_ns);
    request_reply(req, &out);
}

void outcome_on_outcome(request *req) {
    const Callfloor__Outcome *o = req->msg->outcome;
    char missing[256] = "", hash[65];
    const char *problem = outcome_problem(o, missing, sizeof missing);
    if (problem != NULL) {
        if (*problem == '\0')
            alert_refused(req, "the disclosure checklist was incomplete");
        if (*problem == '\0')
            request_fail(req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                         "the application was not recorded: the disclosure checklist is "
                         "incomplete (%s); confirm every item with the customer first",
                         missing);
        else
            request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0, "%s", problem);
        return;
    }
    if (!outcome_hash(o, hash)) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    const Callfloor__PreScreen *ps = o->prescreen;
    char agent_id[24], call[24], talk[16], callback[24], income[8], cards[8];
    snprintf(agent_id, sizeof agent_id, "%llu", (unsigned long long)req->user_id);
    snprintf(call, sizeof call, "%llu", (unsigned long long)o->call_id);
    snprintf(talk, sizeof talk, "%u", o->talk_seconds);
    snprintf(callback, sizeof callback, "%lld", (long long)o->callback_at);
    snprintf(income, sizeof income, "%u", ps ? ps->income_band : 0);
    snprintf(cards, sizeof cards, "%u", ps ? ps->existing_cards : 0);
    const char *params[] = {o->idempotency_key,
                            hash,
                            agent_id,
                            call,
                            o->disposition,
                            o->notes,
                            talk,
                            o->recording_ref,
                            callback,
                            o->product_code,
                            income,
                            ps ? ps->employment : "",
                            cards};
    request_query(req, "outcome_record", 13, params, on_recorded, req);
}

/* ---- complaints ---- */

static void on_complaints(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "listing complaints");
        return;
    }
    const PGresult *res = reply->results[0];
    int n = PQntuples(res);
    Callfloor__Complaint *c = calloc((size_t)n + 1, sizeof *c);
    Callfloor__Complaint **cp = calloc((size_t)n + 1, sizeof *cp);
    if (c == NULL || cp == NULL) {
        free(c);
        free(cp);
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        callfloor__complaint__init(&c[i]);
        c[i].id = (uint64_t)db_int64(res, i, 0);
        c[i].call_id = (uint64_t)db_int64(res, i, 1);
        c[i].agent = (char *)db_value(res, i, 2);
        c[i].campaign = (char *)db_value(res, i, 3);
        c[i].customer = (char *)db_value(res, i, 4);
        c[i].phone_masked = (char *)db_value(res, i, 5);
        c[i].details = (char *)db_value(res, i, 6);
        c[i].opened_at = db_int64(res, i, 7);
        c[i].due_at = db_int64(res, i, 8);
        c[i].resolved_at = db_int64(res, i, 9);
        c[i].resolved_by = (char *)db_value(res, i, 10);
        c[i].resolution = (char *)db_value(res, i, 11);
        c[i].upheld = db_bool(res, i, 12);
        cp[i] = &c[i];
    }
    Callfloor__ComplaintListReply r = CALLFLOOR__COMPLAINT_LIST_REPLY__INIT;
    r.n_complaints = (size_t)n;
    r.complaints = cp;
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_COMPLAINT_LIST_REPLY;
    out.complaint_list_reply = &r;
    request_reply(req, &out);
    free(c);
    free(cp);
}

void outcome_on_complaint_list(request *req) {
    char staff[24];
    snprintf(staff, sizeof staff, "%llu",
             req->role == CALLFLOOR__ROLE__ROLE_SUPERVISOR ? (unsigned long long)req->user_id : 0);
    const char *params[] = {req->msg->complaint_list->include_resolved ? "true" : "false", staff};
    request_query(req, "outcome_complaints", 2, params, on_complaints, req);
}

static void on_resolved(const db_reply *reply, void *arg) {
    request *req = arg;
    uint64_t id = req->msg->complaint_resolve->id;
    const PGresult *res = reply->status == DB_OK ? reply->results[0] : NULL;
    if (res == NULL || PQntuples(res) != 1) {
        request_fail_db(req, reply, "resolving a complaint");
    } else if (db_bool(res, 0, 1)) {
        score_apply_events(req->srv, res, 2);
        log_info("conn %s: %s resolved complaint %llu%s", conn_name(req->conn), req->username,
                 (unsigned long long)id, req->msg->complaint_resolve->upheld ? " (upheld)" : "");
        request_ok(req);
    } else if (!db_bool(res, 0, 0)) {
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0,
                     "no complaint %llu (callfloorctl complaint list shows the open ones)",
                     (unsigned long long)id);
    } else {
        request_fail(req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                     "complaint %llu is already resolved", (unsigned long long)id);
    }
}

void outcome_on_complaint_resolve(request *req) {
    const Callfloor__ComplaintResolve *r = req->msg->complaint_resolve;
    if (r->id == 0 || r->resolution[0] == '\0' ||
        !valid_text(r->resolution, RESOLUTION_MAX_CHARS)) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "name the complaint and say how it was resolved (at most 1000 characters)");
        return;
    }
    char id[24], by[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)r->id);
    snprintf(by, sizeof by, "%llu", (unsigned long long)req->user_id);
    const char *params[] = {id, by, r->resolution, r->upheld ? "true" : "false"};
    request_query_overseen(req, "outcome_oversee_complaint", id, "outcome_complaint_resolve", 4,
                           params, on_resolved, req);
}
