/* work: see work.h. The offer is copied (packed and unpacked) because a
 * push lives only during its callback. */
#include "work.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deskjson.h"
#include "i18n.h"
#include "pii.h"

#define MAX_TALK_SECONDS 86400 /* what the server accepts */

const char *const work_dispositions[WORK_NDISPOSITIONS] = {
    "NO_ANSWER",
    "BUSY",
    "VOICEMAIL",
    "WRONG_NUMBER",
    "NOT_INTERESTED",
    "CALLBACK",
    "APPLICATION_SUBMITTED",
    "INELIGIBLE",
    "DNC_REQUEST",
    "COMPLAINT",
};

struct work {
    desk *d;
    work_change_cb cb;
    void *arg;
    Callfloor__AgentState state;
    char reason[128];
    Callfloor__LeadOffer *offer;
    char phone[64];
    uint64_t call_id;
    int64_t since;
    char sending[65]; /* the key of the outcome awaiting its answer */
    bool have_standing;
    Callfloor__AgentScore standing;
};

static void changed(work *w, bool is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void changed(work *w, bool is_error, const char *fmt, ...) {
    char note[CLI_MESSAGE_MAX];
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(note, sizeof note, fmt, ap);
        va_end(ap);
    }
    w->cb(w, fmt ? note : NULL, is_error, w->arg);
}

static void forget_lead(work *w) {
    if (w->offer != NULL)
        callfloor__lead_offer__free_unpacked(w->offer, NULL);
    w->offer = NULL;
    pii_wipe(w->phone, sizeof w->phone);
    w->call_id = 0;
    w->since = 0;
}

static void keep_offer(work *w, const Callfloor__LeadOffer *o) {
    size_t len = callfloor__lead_offer__get_packed_size(o);
    uint8_t *packed = malloc(len + 1);
    forget_lead(w);
    if (packed == NULL)
        return;
    callfloor__lead_offer__pack(o, packed);
    w->offer = callfloor__lead_offer__unpack(NULL, len, packed);
    free(packed);
    w->call_id = o->call_id;
    w->since = time(NULL);
    w->state =
        o->call_id ? CALLFLOOR__AGENT_STATE__AGENT_ON_CALL : CALLFLOOR__AGENT_STATE__AGENT_OFFERED;
}

static void set_status(work *w, const Callfloor__AgentStatus *st) {
    w->state = st->state;
    snprintf(w->reason, sizeof w->reason, "%s", st->reason);
    if (st->state != CALLFLOOR__AGENT_STATE__AGENT_OFFERED &&
        st->state != CALLFLOOR__AGENT_STATE__AGENT_ON_CALL)
        forget_lead(w);
}

static void on_push(desk *d, const envelope *push, void *arg) {
    work *w = arg;
    (void)d;
    if (push->body_case == CALLFLOOR__ENVELOPE__BODY_LEAD_OFFER) {
        keep_offer(w, push->lead_offer);
        changed(w, false, "%s",
                push->lead_offer->call_id ? _("Your call was handed back after the reconnection.")
                                          : _("A new lead: press d to dial."));
    } else if (push->body_case == CALLFLOOR__ENVELOPE__BODY_AGENT_STATUS) {
        set_status(w, push->agent_status);
        changed(w, true, "%s", push->agent_status->reason);
    } else if (push->body_case == CALLFLOOR__ENVELOPE__BODY_AGENT_SCORE) {
        w->standing = *push->agent_score;
        w->standing.base.unknown_fields = NULL;
        w->standing.base.n_unknown_fields = 0;
        w->have_standing = true;
        changed(w, false, NULL);
    } else if (push->body_case == CALLFLOOR__ENVELOPE__BODY_NOTICE) {
        changed(w, false, _("Notice from %s: %s"), push->notice->sender, push->notice->text);
    }
}

static void report_failure(work *w, int status, const envelope *reply, const char *what) {
    cli_failure f;
    if (status < 0)
        cli_failure_from_status(&f, status, NULL, CALLFLOOR__ERROR_CODE__ERROR_CODE_UNSPECIFIED);
    else
        cli_failure_from_error(&f, reply->error);
    changed(w, true, "%s: %s", what, f.message);
}

static void wrap_up(work *w) {
    forget_lead(w);
    w->state = CALLFLOOR__AGENT_STATE__AGENT_WRAP_UP;
}

static void on_outcome(desk *d, const char *key, int status, const envelope *reply, bool settled,
                       void *arg) {
    work *w = arg;
    (void)d;
    bool mine = strcmp(key, w->sending) == 0;
    if (mine)
        w->sending[0] = '\0';
    if (status == 0 && reply->body_case == CALLFLOOR__ENVELOPE__BODY_OUTCOME_REPLY) {
        if (reply->outcome_reply->call_id == w->call_id)
            wrap_up(w);
        changed(w, false, _("Outcome of call %llu recorded. Press g for the next lead."),
                (unsigned long long)reply->outcome_reply->call_id);
    } else if (settled) {
        /* Nothing was recorded: the call stays open to be ended properly. */
        report_failure(w, status, reply, _("The outcome was refused"));
    } else {
        if (mine)
            wrap_up(w);
        changed(w, true, "%s",
                _("The outcome is kept in the outbox and sent again after the next login."));
    }
}

work *work_create(desk *d, work_change_cb cb, void *arg) {
    work *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->d = d;
    w->cb = cb;
    w->arg = arg;
    desk_on_push(d, on_push, w);
    desk_on_outcome(d, on_outcome, w);
    return w;
}

void work_destroy(work *w) {
    if (w == NULL)
        return;
    desk_on_push(w->d, NULL, NULL);
    desk_on_outcome(w->d, NULL, NULL);
    forget_lead(w);
    free(w);
}

Callfloor__AgentState work_state(const work *w) {
    return w->state;
}

const Callfloor__LeadOffer *work_offer(const work *w) {
    return w->offer;
}

const char *work_phone(const work *w) {
    return w->phone;
}

uint64_t work_call_id(const work *w) {
    return w->call_id;
}

int64_t work_since(const work *w) {
    return w->since;
}

const Callfloor__AgentScore *work_standing(const work *w) {
    return w->have_standing ? &w->standing : NULL;
}

const char *work_pause_reason(const work *w) {
    return w->state == CALLFLOOR__AGENT_STATE__AGENT_PAUSED ? w->reason : "";
}

size_t work_outbox_count(const work *w) {
    const outbox *ob = desk_outbox(w->d);
    return ob ? outbox_count(ob) : 0;
}

/* ---- requests ---- */

static void on_status_reply(desk *d, int status, const envelope *reply, void *arg) {
    work *w = arg;
    (void)d;
    if (status == 0 && reply->body_case == CALLFLOOR__ENVELOPE__BODY_AGENT_STATUS) {
        set_status(w, reply->agent_status);
        changed(w, false, NULL);
    } else {
        report_failure(w, status, reply, _("Not done"));
    }
}

static int send_request(work *w, envelope *req, desk_reply_cb cb) {
    int rc = desk_request(w->d, req, cb, w);
    if (rc < 0)
        report_failure(w, rc, NULL, _("Not sent"));
    return rc;
}

int work_ready(work *w) {
    Callfloor__AgentReady msg = CALLFLOOR__AGENT_READY__INIT;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_AGENT_READY;
    req.agent_ready = &msg;
    return send_request(w, &req, on_status_reply);
}

int work_pause(work *w, const char *reason) {
    Callfloor__AgentPause msg = CALLFLOOR__AGENT_PAUSE__INIT;
    msg.reason = (char *)reason;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_AGENT_PAUSE;
    req.agent_pause = &msg;
    return send_request(w, &req, on_status_reply);
}

static void on_dial_reply(desk *d, int status, const envelope *reply, void *arg) {
    work *w = arg;
    (void)d;
    if (status == 0 && reply->body_case == CALLFLOOR__ENVELOPE__BODY_DIAL_REPLY) {
        snprintf(w->phone, sizeof w->phone, "%s", reply->dial_reply->phone);
        w->call_id = reply->dial_reply->call_id;
        w->since = time(NULL);
        w->state = CALLFLOOR__AGENT_STATE__AGENT_ON_CALL;
        changed(w, false, "%s", _("Dial the number shown; end the call with an outcome key."));
    } else {
        report_failure(w, status, reply, _("Not dialled"));
    }
}

int work_dial(work *w) {
    if (w->offer == NULL || w->state != CALLFLOOR__AGENT_STATE__AGENT_OFFERED) {
        changed(w, true, "%s", _("There is no lead to dial: press g to take leads."));
        return -1;
    }
    Callfloor__Dial msg = CALLFLOOR__DIAL__INIT;
    msg.lead_id = w->offer->lead_id;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_DIAL;
    req.dial = &msg;
    return send_request(w, &req, on_dial_reply);
}

int work_outcome(work *w, const char *disposition, int64_t callback_at, const char *notes,
                 const work_application *app) {
    if (w->call_id == 0) {
        changed(w, true, "%s", _("There is no call to end: dial first."));
        return -1;
    }
    if (w->sending[0] != '\0') {
        changed(w, false, "%s", _("The outcome is on its way; wait for the answer."));
        return -1;
    }
    char key[65];
    if (deskjson_new_key(key) < 0) {
        changed(w, true, "%s", _("cannot make an idempotency key: no randomness available"));
        return -1;
    }
    Callfloor__Outcome o = CALLFLOOR__OUTCOME__INIT;
    Callfloor__Disclosure disclosure;
    Callfloor__PreScreen prescreen;
    o.idempotency_key = key;
    o.call_id = w->call_id;
    o.disposition = (char *)disposition;
    o.notes = (char *)notes;
    o.callback_at = callback_at;
    /* The server takes at most a day; a call left open longer (a desk left
     * overnight) must still be endable. */
    int64_t talk = w->since ? (int64_t)time(NULL) - w->since : 0;
    o.talk_seconds = (uint32_t)(talk < 0 ? 0 : talk > MAX_TALK_SECONDS ? MAX_TALK_SECONDS : talk);
    if (app != NULL) {
        disclosure = app->disclosure;
        prescreen = app->prescreen;
        o.disclosure = &disclosure;
        o.prescreen = &prescreen;
        o.product_code = (char *)app->product_code;
    }
    int rc = desk_submit_outcome(w->d, &o);
    if (rc < 0) {
        changed(w, true, _("The outcome could not be kept in the outbox (%s); note it down."),
                rc == OUTBOX_E_FULL ? _("it is full") : strerror(-rc));
        return rc;
    }
    if (desk_get_state(w->d) != DESK_CONNECTED) {
        wrap_up(w);
        changed(w, true, "%s",
                _("The outcome is kept in the outbox and sent again after the next login."));
        return 0;
    }
    snprintf(w->sending, sizeof w->sending, "%s", key);
    changed(w, false, "%s", _("Sending the outcome…"));
    return 0;
}
