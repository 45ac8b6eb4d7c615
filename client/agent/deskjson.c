/* deskjson: see deskjson.h. */
#include "deskjson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "i18n.h"

const char *deskjson_state_name(Callfloor__AgentState s) {
    static const char *const names[] = {"offline", "ready",   "offered",
                                        "on_call", "wrap_up", "paused"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

void deskjson_status(buf *out, const Callfloor__AgentStatus *st) {
    json_writer w;
    json_init(&w, out);
    json_object_begin(&w);
    json_kv_string(&w, "event", "status");
    json_kv_string(&w, "state", deskjson_state_name(st->state));
    if (st->reason[0] != '\0')
        json_kv_string(&w, "reason", st->reason);
    json_object_end(&w);
}

static void write_history(json_writer *w, const Callfloor__LeadOffer *o) {
    json_key(w, "history");
    json_array_begin(w);
    for (size_t i = 0; i < o->n_history; i++) {
        const Callfloor__CallHistoryEntry *h = o->history[i];
        json_object_begin(w);
        json_kv_int(w, "at", h->at);
        json_kv_string(w, "agent", h->agent);
        json_kv_string(w, "campaign", h->campaign);
        json_kv_string(w, "disposition", h->disposition);
        json_kv_string(w, "notes", h->notes);
        json_object_end(w);
    }
    json_array_end(w);
}

static void write_products(json_writer *w, const Callfloor__LeadOffer *o) {
    json_key(w, "products");
    json_array_begin(w);
    for (size_t i = 0; i < o->n_products; i++) {
        const Callfloor__OfferedProduct *p = o->products[i];
        json_object_begin(w);
        json_kv_string(w, "code", p->code);
        json_kv_string(w, "name", p->name);
        json_kv_string(w, "kind", p->kind);
        json_kv_string(w, "annual_fee", p->annual_fee);
        json_kv_string(w, "apr", p->apr);
        json_kv_string(w, "disclosure", p->disclosure);
        json_kv_bool(w, "recommended", p->recommended);
        json_object_end(w);
    }
    json_array_end(w);
}

static void write_offer(buf *out, const Callfloor__LeadOffer *o) {
    json_writer w;
    json_init(&w, out);
    json_object_begin(&w);
    json_kv_string(&w, "event", "lead_offer");
    json_kv_uint(&w, "lead_id", o->lead_id);
    json_kv_string(&w, "campaign", o->campaign);
    json_kv_string(&w, "name", o->name);
    json_kv_string(&w, "phone", o->phone_masked);
    json_kv_string(&w, "tier", o->tier);
    json_kv_string(&w, "age_band", o->age_band);
    json_kv_uint(&w, "income_band", o->income_band);
    json_kv_string(&w, "spend_profile", o->spend_profile);
    json_kv_bool(&w, "travel_interest", o->travel_interest);
    json_kv_string(&w, "score", o->score);
    json_kv_uint(&w, "expires_in_ms", o->expires_in_ms);
    json_kv_int(&w, "callback_at", o->callback_at);
    json_kv_uint(&w, "call_id", o->call_id);
    write_history(&w, o);
    write_products(&w, o);
    json_object_end(&w);
}

bool deskjson_push(buf *out, const envelope *push) {
    if (push->body_case == CALLFLOOR__ENVELOPE__BODY_LEAD_OFFER) {
        write_offer(out, push->lead_offer);
        return true;
    }
    if (push->body_case == CALLFLOOR__ENVELOPE__BODY_AGENT_STATUS) {
        deskjson_status(out, push->agent_status);
        return true;
    }
    if (push->body_case == CALLFLOOR__ENVELOPE__BODY_NOTICE) {
        json_writer w;
        json_init(&w, out);
        json_object_begin(&w);
        json_kv_string(&w, "event", "notice");
        json_kv_string(&w, "sender", push->notice->sender);
        json_kv_string(&w, "text", push->notice->text);
        json_kv_int(&w, "at", push->notice->at);
        json_object_end(&w);
        return true;
    }
    return false;
}

void deskjson_call_started(buf *out, uint64_t lead_id, const Callfloor__DialReply *r) {
    json_writer w;
    json_init(&w, out);
    json_object_begin(&w);
    json_kv_string(&w, "event", "call_started");
    json_kv_uint(&w, "lead_id", lead_id);
    json_kv_uint(&w, "call_id", r->call_id);
    json_kv_string(&w, "phone", r->phone);
    json_object_end(&w);
}

void deskjson_outcome_ack(buf *out, const char *key, const Callfloor__OutcomeReply *r) {
    json_writer w;
    json_init(&w, out);
    json_object_begin(&w);
    json_kv_string(&w, "event", "outcome_ack");
    json_kv_string(&w, "key", key);
    json_kv_uint(&w, "call_id", r->call_id);
    json_kv_bool(&w, "replayed", r->replayed);
    if (r->application_id)
        json_kv_uint(&w, "application_id", r->application_id);
    if (r->complaint_id)
        json_kv_uint(&w, "complaint_id", r->complaint_id);
    json_object_end(&w);
}

void deskjson_error(buf *out, const char *code, const char *message) {
    json_writer w;
    json_init(&w, out);
    json_object_begin(&w);
    json_kv_string(&w, "event", "error");
    json_kv_string(&w, "code", code);
    json_kv_string(&w, "message", message);
    json_object_end(&w);
}

/* ---- reading an outcome command ---- */

int deskjson_new_key(char key[65]) {
    unsigned char raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -errno;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(key + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

static const char *text(const json_member *m, int n, const char *key) {
    const json_member *v = json_find(m, n, key);
    return v && v->type == JSON_STRING ? v->value : "";
}

/* Reads a whole number member into `out` (unchanged when absent). */
static bool number(const json_member *m, int n, const char *key, uint64_t max, uint64_t *out) {
    const json_member *v = json_find(m, n, key);
    if (v == NULL || v->type == JSON_NULL)
        return true;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v->value, &end, 10);
    if (v->type != JSON_NUMBER || *end != '\0' || errno != 0 || x > max || v->value[0] == '-')
        return false;
    *out = x;
    return true;
}

static bool flag(const json_member *m, int n, const char *key) {
    const json_member *v = json_find(m, n, key);
    return v && v->type == JSON_BOOL && strcmp(v->value, "true") == 0;
}

static void read_checklist(const json_member *m, int n, deskjson_outcome *out) {
    Callfloor__Disclosure *d = &out->disclosure;
    callfloor__disclosure__init(d);
    d->identity_stated = flag(m, n, "identity_stated");
    d->recording_consent = flag(m, n, "recording_consent");
    d->annual_fee_stated = flag(m, n, "annual_fee_stated");
    d->apr_stated = flag(m, n, "apr_stated");
    d->no_pressure = flag(m, n, "no_pressure");
    out->outcome.disclosure = d;
}

static const char *read_prescreen(const json_member *m, int n, deskjson_outcome *out) {
    Callfloor__PreScreen *p = &out->prescreen;
    callfloor__pre_screen__init(p);
    uint64_t income = 0, cards = 0;
    if (!number(m, n, "income_band", 9, &income))
        return _("income_band is a whole number from 0 to 9");
    if (!number(m, n, "existing_cards", 99, &cards))
        return _("existing_cards is a whole number from 0 to 99");
    p->income_band = (uint32_t)income;
    p->existing_cards = (uint32_t)cards;
    p->employment = (char *)text(m, n, "employment");
    out->outcome.prescreen = p;
    return NULL;
}

const char *deskjson_parse_outcome(const json_member *m, int n, uint64_t current_call,
                                   deskjson_outcome *out) {
    Callfloor__Outcome *o = &out->outcome;
    callfloor__outcome__init(o);
    uint64_t call = current_call, talk = 0, callback = 0;
    if (!number(m, n, "call_id", UINT64_MAX, &call) || call == 0)
        return _("there is no call to end: dial first, or give call_id");
    if (!number(m, n, "talk_seconds", 86400, &talk))
        return _("talk_seconds is a whole number from 0 to 86400");
    if (!number(m, n, "callback_at", INT64_MAX, &callback))
        return _("callback_at is a time in unix seconds");
    const char *key = text(m, n, "key");
    if (*key != '\0')
        snprintf(out->key, sizeof out->key, "%s", key);
    else if (deskjson_new_key(out->key) < 0)
        return _("cannot make an idempotency key: no randomness available");
    o->idempotency_key = out->key;
    o->call_id = call;
    o->disposition = (char *)text(m, n, "disposition");
    o->notes = (char *)text(m, n, "notes");
    o->recording_ref = (char *)text(m, n, "recording_ref");
    o->product_code = (char *)text(m, n, "product");
    o->talk_seconds = (uint32_t)talk;
    o->callback_at = (int64_t)callback;
    if (*o->disposition == '\0')
        return _("an outcome needs a disposition, e.g. \"disposition\":\"NO_ANSWER\"");
    if (strcmp(o->disposition, "APPLICATION_SUBMITTED") != 0)
        return NULL;
    read_checklist(m, n, out);
    return read_prescreen(m, n, out);
}
