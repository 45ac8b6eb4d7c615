#include "monitor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"

static void changed(monitor *m) {
    if (!m->stopping)
        m->changed(m, m->arg);
}

static void set_problem(monitor *m, const char *code, bool refused, const char *sentence) {
    snprintf(m->problem, sizeof m->problem, "%s", sentence);
    m->problem_code = code;
    m->refused = refused;
}

/* A refresh's answer: the wanted body, or the failure recorded. */
static bool answer_ok(monitor *m, int status, const envelope *reply,
                      Callfloor__Envelope__BodyCase want) {
    cli_failure f;
    if (status < 0) {
        client *c = m->session ? redial_client(m->session) : NULL;
        cli_failure_from_status(&f, status, c ? client_last_error(c) : _("the connection was lost"),
                                CALLFLOOR__ERROR_CODE__ERROR_CODE_UNSPECIFIED);
        set_problem(m, f.code, false, f.message);
        return false;
    }
    if (reply->body_case == CALLFLOOR__ENVELOPE__BODY_ERROR) {
        cli_failure_from_error(&f, reply->error);
        set_problem(m, f.code, reply->error->code != CALLFLOOR__ERROR_CODE__UNAVAILABLE, f.message);
        return false;
    }
    if (reply->body_case != want) {
        set_problem(m, "PROTOCOL_ERROR", true,
                    _("the server answered with an unexpected message (are the monitor and "
                      "callfloord the same version?)"));
        return false;
    }
    return true;
}

/* The reply callbacks get a reply valid only during the call. */
static envelope *keep(const envelope *reply) {
    size_t len = callfloor__envelope__get_packed_size(reply);
    uint8_t *bytes = malloc(len ? len : 1);
    if (bytes == NULL)
        return NULL;
    callfloor__envelope__pack(reply, bytes);
    envelope *copy = envelope_unpack(bytes, len);
    free(bytes);
    return copy;
}

static void on_teams(client *c, int status, const envelope *reply, void *arg) {
    monitor *m = arg;
    envelope *status_reply = m->pending_status;
    (void)c;
    m->pending_status = NULL;
    m->fetching = false;
    if (m->stopping) {
        envelope_free(status_reply);
        return;
    }
    if (answer_ok(m, status, reply, CALLFLOOR__ENVELOPE__BODY_TEAM_LIST_REPLY)) {
        envelope_free(m->status);
        envelope_free(m->teams);
        m->status = status_reply;
        m->teams = keep(reply);
        m->snapshot_at = uv_now(m->loop);
        m->problem[0] = '\0';
        m->problem_code = NULL;
        status_reply = NULL;
    }
    envelope_free(status_reply);
    changed(m);
}

static void on_status(client *c, int status, const envelope *reply, void *arg) {
    monitor *m = arg;
    if (m->stopping || !answer_ok(m, status, reply, CALLFLOOR__ENVELOPE__BODY_STATUS_REPLY)) {
        m->fetching = false;
        changed(m);
        return;
    }
    m->pending_status = keep(reply);
    Callfloor__TeamList msg = CALLFLOOR__TEAM_LIST__INIT;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_TEAM_LIST;
    req.team_list = &msg;
    int rc = client_request(c, &req, on_teams, m);
    if (rc < 0)
        on_teams(c, rc, NULL, m);
}

void monitor_refresh(monitor *m) {
    client *c = redial_client(m->session);
    if (c == NULL || m->fetching || m->refused)
        return;
    Callfloor__Status msg = CALLFLOOR__STATUS__INIT;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_STATUS;
    req.status = &msg;
    m->fetching = true;
    int rc = client_request(c, &req, on_status, m);
    if (rc < 0)
        on_status(c, rc, NULL, m);
}

static void on_refresh_timer(uv_timer_t *t) {
    monitor_refresh(t->data);
}

/* ---- the leaderboard ---- */

static monitor_row *find_row(monitor *m, const char *agent) {
    for (size_t i = 0; i < m->nrows; i++)
        if (strcmp(m->rows[i].agent, agent) == 0)
            return &m->rows[i];
    return NULL;
}

static int by_rank(const void *pa, const void *pb) {
    const monitor_row *a = pa, *b = pb;
    return (a->rank > b->rank) - (a->rank < b->rank);
}

static void copy_row(monitor_row *to, const Callfloor__BoardRow *from) {
    to->rank = from->rank;
    snprintf(to->agent, sizeof to->agent, "%s", from->agent);
    snprintf(to->display_name, sizeof to->display_name, "%s", from->display_name);
    snprintf(to->team, sizeof to->team, "%s", from->team);
    to->points = from->points;
    to->dials = from->dials;
    to->connects = from->connects;
    to->applications = from->applications;
    to->approvals = from->approvals;
    to->activations = from->activations;
    to->talk_seconds = from->talk_seconds;
    to->target = from->target;
    to->tier = from->tier;
    to->projected_tier = from->projected_tier;
    to->qa_passed = from->qa_passed;
}

/* Folds a Board (a snapshot or the rows that changed) into the table. */
static void apply_board(monitor *m, const envelope *env) {
    const Callfloor__Board *b = env->board;
    if (b->snapshot)
        m->nrows = 0;
    for (size_t i = 0; i < b->n_rows; i++) {
        monitor_row *row = find_row(m, b->rows[i]->agent);
        if (row == NULL) {
            monitor_row *grown = realloc(m->rows, (m->nrows + 1) * sizeof *grown);
            if (grown == NULL)
                return;
            m->rows = grown;
            row = &m->rows[m->nrows++];
        }
        copy_row(row, b->rows[i]);
    }
    if (m->nrows > 1)
        qsort(m->rows, m->nrows, sizeof *m->rows, by_rank);
    envelope_free(m->board_last);
    m->board_last = keep(env);
    m->board_seq++;
    changed(m);
}

static void on_board(client *c, int status, const envelope *reply, void *arg) {
    monitor *m = arg;
    (void)c;
    if (m->stopping)
        return;
    if (answer_ok(m, status, reply, CALLFLOOR__ENVELOPE__BODY_BOARD))
        apply_board(m, reply);
    else
        changed(m);
}

static void subscribe_board(monitor *m) {
    client *c = redial_client(m->session);
    Callfloor__BoardSubscribe msg = CALLFLOOR__BOARD_SUBSCRIBE__INIT;
    msg.team = (char *)(m->team ? m->team : "");
    msg.period = m->period;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_BOARD_SUBSCRIBE;
    req.board_subscribe = &msg;
    int rc = c ? client_request(c, &req, on_board, m) : CLIENT_E_CLOSED;
    if (rc < 0)
        on_board(c, rc, NULL, m);
}

/* A floor, an alert or a notice: kept as the newest event. */
static void keep_event(monitor *m, const envelope *push) {
    envelope *copy = keep(push);
    if (copy == NULL)
        return;
    if (push->body_case == CALLFLOOR__ENVELOPE__BODY_FLOOR) {
        envelope_free(m->floor_last);
        m->floor_last = keep(push);
    } else if (push->body_case == CALLFLOOR__ENVELOPE__BODY_ALERT) {
        snprintf(m->alert_line, sizeof m->alert_line, "%s", push->alert->message);
    } else {
        snprintf(m->alert_line, sizeof m->alert_line, _("Notice from %s: %s"), push->notice->sender,
                 push->notice->text);
    }
    envelope_free(m->event_last);
    m->event_last = copy;
    m->event_seq++;
    changed(m);
}

static void on_push(redial *r, const envelope *push, void *arg) {
    monitor *m = arg;
    (void)r;
    if (m->stopping)
        return;
    if (push->body_case == CALLFLOOR__ENVELOPE__BODY_BOARD)
        apply_board(m, push);
    else if (push->body_case == CALLFLOOR__ENVELOPE__BODY_FLOOR ||
             push->body_case == CALLFLOOR__ENVELOPE__BODY_ALERT ||
             push->body_case == CALLFLOOR__ENVELOPE__BODY_NOTICE)
        keep_event(m, push);
}

void monitor_watch_board(monitor *m, const char *team, Callfloor__Period period) {
    m->team = team;
    m->period = period;
    if (m->session != NULL && redial_current(m->session) == REDIAL_READY)
        subscribe_board(m);
}

/* ---- a supervisor's actions ---- */

static void say(monitor *m, bool is_error, const char *sentence) {
    snprintf(m->answer, sizeof m->answer, "%s", sentence);
    m->answer_is_error = is_error;
}

static void on_action(client *c, int status, const envelope *reply, void *arg) {
    monitor *m = arg;
    char line[CLI_MESSAGE_MAX];
    cli_failure f;
    (void)c;
    if (m->stopping)
        return;
    if (status < 0 || reply->body_case == CALLFLOOR__ENVELOPE__BODY_ERROR) {
        if (status < 0)
            cli_failure_from_status(&f, status, _("the connection was lost"),
                                    CALLFLOOR__ERROR_CODE__ERROR_CODE_UNSPECIFIED);
        else
            cli_failure_from_error(&f, reply->error);
        snprintf(line, sizeof line, _("Not done: %s"), f.message);
        say(m, true, line);
    } else if (reply->body_case == CALLFLOOR__ENVELOPE__BODY_QA_REVIEW_REPLY) {
        const Callfloor__QaReviewReply *r = reply->qa_review_reply;
        if (r->passed)
            snprintf(line, sizeof line, _("Review %llu recorded: %u points, passed."),
                     (unsigned long long)r->review_id, r->score);
        else
            snprintf(line, sizeof line,
                     _("Review %llu recorded: %u points, failed; %lld points to the agent."),
                     (unsigned long long)r->review_id, r->score, (long long)r->points);
        say(m, false, line);
    } else {
        say(m, false, _("Notice sent."));
    }
    changed(m);
}

static int send_action(monitor *m, envelope *req) {
    client *c = m->session ? redial_client(m->session) : NULL;
    int rc = c ? client_request(c, req, on_action, m) : CLIENT_E_CLOSED;
    if (rc < 0)
        say(m, true, _("Not connected: try again once the monitor is connected."));
    return rc;
}

int monitor_send_notice(monitor *m, const char *team, const char *agent, const char *text) {
    Callfloor__NoticeSend msg = CALLFLOOR__NOTICE_SEND__INIT;
    msg.team = (char *)team;
    msg.agent = (char *)agent;
    msg.text = (char *)text;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_NOTICE_SEND;
    req.notice_send = &msg;
    return send_action(m, &req);
}

int monitor_review(monitor *m, uint64_t call_id, char **failed, size_t nfailed, const char *notes) {
    Callfloor__QaReview msg = CALLFLOOR__QA_REVIEW__INIT;
    msg.call_id = call_id;
    msg.failed = failed;
    msg.n_failed = nfailed;
    msg.notes = (char *)notes;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_QA_REVIEW;
    req.qa_review = &msg;
    return send_action(m, &req);
}

static void on_session_changed(redial *r, void *arg) {
    monitor *m = arg;
    if (redial_current(r) == REDIAL_READY) {
        monitor_refresh(m);
        subscribe_board(m);
    } else
        m->fetching = false; /* its requests were failed with the connection */
    changed(m);
}

int monitor_start(monitor *m, uv_loop_t *loop, const client_options *opts, unsigned interval_ms,
                  monitor_changed_cb cb, void *arg) {
    memset(m, 0, sizeof *m);
    m->loop = loop;
    m->interval_ms = interval_ms;
    m->changed = cb;
    m->arg = arg;
    uv_timer_init(loop, &m->refresh);
    m->refresh.data = m;
    m->session = redial_start(loop, opts, on_session_changed, on_push, m);
    if (m->session == NULL) {
        uv_close((uv_handle_t *)&m->refresh, NULL);
        return -ENOMEM;
    }
    uv_timer_start(&m->refresh, on_refresh_timer, interval_ms, interval_ms);
    return 0;
}

void monitor_stop(monitor *m) {
    m->stopping = true;
    redial_stop(m->session);
    m->session = NULL;
    uv_close((uv_handle_t *)&m->refresh, NULL);
    envelope_free(m->pending_status);
    envelope_free(m->status);
    envelope_free(m->teams);
    envelope_free(m->board_last);
    envelope_free(m->floor_last);
    envelope_free(m->event_last);
    m->floor_last = m->event_last = NULL;
    free(m->rows);
    m->rows = NULL;
    m->nrows = 0;
    m->pending_status = m->status = m->teams = m->board_last = NULL;
}
