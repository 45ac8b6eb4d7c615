/* callfloorctl's scoring commands: how a campaign's events score, and the
 * monthly targets the boards measure agents against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "i18n.h"

#define MAX_APPLICATIONS 100000 /* in a month, as the server accepts */

/* The options of 'campaign scoring', in ScoringRules' order. */
static const enum ctl_option point_options[] = {OPT_CONNECT,   OPT_APPLICATION, OPT_APPROVED,
                                                OPT_ACTIVATED, OPT_QA_FAIL,     OPT_COMPLAINT};
#define NPOINTS (sizeof point_options / sizeof point_options[0])

static int32_t *point_field(Callfloor__ScoringRules *r, size_t k) {
    int32_t *fields[NPOINTS] = {&r->connect_points,   &r->application_points, &r->approved_points,
                                &r->activated_points, &r->qa_fail_points,     &r->complaint_points};
    return fields[k];
}

/* Reads a whole number of points, -10000 to 10000. */
static bool parse_points(const char *s, int32_t *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < -10000 || v > 10000)
        return false;
    *out = (int32_t)v;
    return true;
}

static void rules_json(ctl *x, const Callfloor__ScoringRules *r) {
    json_writer w;
    json_init(&w, &x->out);
    json_object_begin(&w);
    json_kv_string(&w, "campaign", r->campaign);
    json_kv_int(&w, "connect", r->connect_points);
    json_kv_int(&w, "application", r->application_points);
    json_kv_int(&w, "approved", r->approved_points);
    json_kv_int(&w, "activated", r->activated_points);
    json_kv_int(&w, "qa_fail", r->qa_fail_points);
    json_kv_int(&w, "complaint", r->complaint_points);
    json_object_end(&w);
}

static void rules_text(ctl *x, const Callfloor__ScoringRules *r) {
    buf_appendf(&x->out, _("Scoring of campaign %s:\n"), r->campaign);
    buf_appendf(&x->out, _("  connected call        %+d\n"), r->connect_points);
    buf_appendf(&x->out, _("  application           %+d\n"), r->application_points);
    buf_appendf(&x->out, _("  approved application  %+d\n"), r->approved_points);
    buf_appendf(&x->out, _("  activated card        %+d\n"), r->activated_points);
    buf_appendf(&x->out, _("  failed QA review      %+d\n"), r->qa_fail_points);
    buf_appendf(&x->out, _("  upheld complaint      %+d\n"), r->complaint_points);
}

static int ask_rules(ctl *x, const char *campaign, envelope **reply) {
    Callfloor__ScoringGet msg = CALLFLOOR__SCORING_GET__INIT;
    msg.campaign = (char *)campaign;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_SCORING_GET;
    req.scoring_get = &msg;
    return ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_SCORING_RULES, reply);
}

/* Without options it shows the rules; with some, it changes those and
 * keeps the others. */
int ctl_run_campaign_scoring(ctl *x, const ctl_args *a) {
    Callfloor__ScoringRules wanted = CALLFLOOR__SCORING_RULES__INIT;
    bool change = false;
    for (size_t k = 0; k < NPOINTS; k++) {
        const char *v = ctl_opt(a, point_options[k]);
        if (v != NULL && !parse_points(v, point_field(&wanted, k)))
            return ctl_usage_error(x, "campaign scoring",
                                   _("points are whole numbers from -10000 to 10000, not '%s'"), v);
        change |= v != NULL;
    }
    envelope *reply;
    int rc = ask_rules(x, a->name, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (change) {
        Callfloor__ScoringRules *now = reply->scoring_rules;
        for (size_t k = 0; k < NPOINTS; k++)
            if (ctl_opt(a, point_options[k]) != NULL)
                *point_field(now, k) = *point_field(&wanted, k);
        Callfloor__ScoringSet msg = CALLFLOOR__SCORING_SET__INIT;
        msg.rules = now;
        envelope req = CALLFLOOR__ENVELOPE__INIT, *changed;
        req.body_case = CALLFLOOR__ENVELOPE__BODY_SCORING_SET;
        req.scoring_set = &msg;
        rc = ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_SCORING_RULES, &changed);
        envelope_free(reply);
        if (rc != CLI_EXIT_OK)
            return rc;
        reply = changed;
    }
    if (x->json)
        rules_json(x, reply->scoring_rules);
    else
        rules_text(x, reply->scoring_rules);
    envelope_free(reply);
    return CLI_EXIT_OK;
}

int ctl_run_target_set(ctl *x, const ctl_args *a) {
    const char *agent = ctl_opt(a, OPT_AGENT), *team = ctl_opt(a, OPT_TEAM);
    const char *month = ctl_opt(a, OPT_MONTH), *count = ctl_opt(a, OPT_APPLICATIONS);
    unsigned long long n;
    if ((agent == NULL) == (team == NULL))
        return ctl_usage_error(x, "target set", _("give either --agent NAME or --team NAME"));
    if (!ctl_parse_number(count, MAX_APPLICATIONS, &n))
        return ctl_usage_error(x, "target set",
                               _("--applications is a number from 1 to 100000, not '%s'"), count);
    Callfloor__TargetSet msg = CALLFLOOR__TARGET_SET__INIT;
    msg.agent = (char *)(agent ? agent : "");
    msg.team = (char *)(team ? team : "");
    msg.month = (char *)month;
    msg.applications = (uint32_t)n;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_TARGET_SET;
    req.target_set = &msg;
    int rc = ctl_call_ok(x, &req);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json) {
        json_writer w;
        ctl_json_ok_begin(x, &w);
        json_kv_string(&w, agent ? "agent" : "team", agent ? agent : team);
        json_kv_string(&w, "month", month);
        json_kv_uint(&w, "applications", n);
        json_object_end(&w);
    } else {
        buf_appendf(&x->out, _("The target of %s for %s is %lu applications.\n"),
                    agent ? agent : team, month, (unsigned long)n);
    }
    return CLI_EXIT_OK;
}

int ctl_run_notice_send(ctl *x, const ctl_args *a) {
    const char *agent = ctl_opt(a, OPT_AGENT), *team = ctl_opt(a, OPT_TEAM);
    if ((agent == NULL) == (team == NULL))
        return ctl_usage_error(x, "notice send", _("give either --agent NAME or --team NAME"));
    Callfloor__NoticeSend msg = CALLFLOOR__NOTICE_SEND__INIT;
    msg.agent = (char *)(agent ? agent : "");
    msg.team = (char *)(team ? team : "");
    msg.text = (char *)a->name;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_NOTICE_SEND;
    req.notice_send = &msg;
    int rc = ctl_call_ok(x, &req);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json) {
        json_writer w;
        ctl_json_ok_begin(x, &w);
        json_kv_string(&w, agent ? "agent" : "team", agent ? agent : team);
        json_object_end(&w);
    } else {
        buf_appendf(&x->out, _("Sent to %s.\n"), agent ? agent : team);
    }
    return CLI_EXIT_OK;
}

int ctl_run_tier_set(ctl *x, const ctl_args *a) {
    const char *team = ctl_opt(a, OPT_TEAM), *count = ctl_opt(a, OPT_APPLICATIONS);
    unsigned long long tier, n;
    if (!ctl_parse_number(a->name, 9, &tier))
        return ctl_usage_error(x, "tier set", _("TIER is a number from 1 to 9, not '%s'"), a->name);
    if (!ctl_parse_number(count, MAX_APPLICATIONS, &n))
        return ctl_usage_error(x, "tier set",
                               _("--applications is a number from 1 to 100000, not '%s'"), count);
    Callfloor__TierSet msg = CALLFLOOR__TIER_SET__INIT;
    msg.team = (char *)(team ? team : "");
    msg.tier = (uint32_t)tier;
    msg.applications = (uint32_t)n;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_TIER_SET;
    req.tier_set = &msg;
    int rc = ctl_call_ok(x, &req);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json) {
        json_writer w;
        ctl_json_ok_begin(x, &w);
        json_kv_string(&w, "team", team ? team : "");
        json_kv_uint(&w, "tier", tier);
        json_kv_uint(&w, "applications", n);
        json_object_end(&w);
    } else if (team) {
        buf_appendf(&x->out, _("Team %s reaches bonus tier %lu at %lu applications a month.\n"),
                    team, (unsigned long)tier, (unsigned long)n);
    } else {
        buf_appendf(&x->out,
                    _("Teams without tiers of their own reach bonus tier %lu at %lu "
                      "applications a month.\n"),
                    (unsigned long)tier, (unsigned long)n);
    }
    return CLI_EXIT_OK;
}

/* ---- quality reviews ---- */

static int add_item_row(cli_table *t, const void *item) {
    const Callfloor__QaItem *q = item;
    char weight[16];
    snprintf(weight, sizeof weight, "%u", q->weight);
    const char *row[] = {q->code, weight, q->instant_fail ? _("yes") : "", q->label};
    return cli_table_add_row(t, row);
}

static void json_item(json_writer *w, const void *item) {
    const Callfloor__QaItem *q = item;
    json_object_begin(w);
    json_kv_string(w, "code", q->code);
    json_kv_string(w, "label", q->label);
    json_kv_uint(w, "weight", q->weight);
    json_kv_bool(w, "instant_fail", q->instant_fail);
    json_object_end(w);
}

int ctl_run_qa_items(ctl *x, const ctl_args *a) {
    (void)a;
    const char *header[] = {_("ITEM"), _("WEIGHT"), _("INSTANT FAIL"), _("WHAT IS CHECKED")};
    const ctl_list list = {CALLFLOOR__ENVELOPE__BODY_QA_ITEMS,
                           CALLFLOOR__ENVELOPE__BODY_QA_ITEMS_REPLY,
                           &callfloor__qa_item__descriptor,
                           json_item,
                           header,
                           4,
                           add_item_row,
                           _("The scorecard is empty.\n")};
    return ctl_run_list(x, &list);
}

int ctl_run_qa_review(ctl *x, const ctl_args *a) {
    unsigned long long call;
    if (!ctl_parse_number(a->name, UINT64_MAX, &call))
        return ctl_usage_error(x, "qa review", _("CALL_ID is a call's number, e.g. 42"));
    const char *notes = ctl_opt(a, OPT_NOTES);
    Callfloor__QaReview msg = CALLFLOOR__QA_REVIEW__INIT;
    msg.call_id = call;
    msg.n_failed = a->count[OPT_FAIL];
    msg.failed = (char **)a->values[OPT_FAIL];
    msg.notes = (char *)(notes ? notes : "");
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_QA_REVIEW;
    req.qa_review = &msg;
    int rc = ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_QA_REVIEW_REPLY, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__QaReviewReply *r = reply->qa_review_reply;
    if (x->json) {
        json_writer w;
        json_init(&w, &x->out);
        json_object_begin(&w);
        json_kv_uint(&w, "review_id", r->review_id);
        json_kv_uint(&w, "score", r->score);
        json_kv_bool(&w, "passed", r->passed);
        json_kv_int(&w, "points", r->points);
        json_object_end(&w);
    } else if (r->passed) {
        buf_appendf(&x->out, _("Call %llu passed its review with %u points.\n"), call, r->score);
    } else {
        buf_appendf(&x->out,
                    _("Call %llu failed its review with %u points; the agent scores %lld.\n"), call,
                    r->score, (long long)r->points);
    }
    envelope_free(reply);
    return CLI_EXIT_OK;
}
