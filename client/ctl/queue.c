/* callfloorctl's questions about the queue and its consequences: why a
 * lead is or is not dialable now, and the complaints agents recorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "i18n.h"

/* ---- leads why ---- */

static void json_why(json_writer *w, const void *item) {
    const Callfloor__LeadWhyReply *r = item;
    json_object_begin(w);
    json_kv_uint(w, "lead_id", r->lead_id);
    json_kv_string(w, "campaign", r->campaign);
    json_kv_string(w, "phone", r->phone_masked);
    json_kv_uint(w, "attempts", r->attempts);
    json_kv_bool(w, "dialable", r->dialable);
    json_kv_string(w, "held_by", r->held_by);
    json_key(w, "reasons");
    json_array_begin(w);
    for (size_t i = 0; i < r->n_reasons; i++)
        json_string(w, r->reasons[i]);
    json_array_end(w);
    json_object_end(w);
}

int ctl_run_leads_why(ctl *x, const ctl_args *a) {
    unsigned long long id;
    if (!ctl_parse_number(a->name, UINT64_MAX, &id))
        return ctl_usage_error(x, "leads why", _("LEAD_ID is a lead's number, e.g. 42"));
    Callfloor__LeadWhy msg = CALLFLOOR__LEAD_WHY__INIT;
    msg.lead_id = id;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_LEAD_WHY;
    req.lead_why = &msg;
    envelope *reply;
    int rc = ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_LEAD_WHY_REPLY, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__LeadWhyReply *r = reply->lead_why_reply;
    if (x->json) {
        json_writer w;
        json_init(&w, &x->out);
        json_why(&w, r);
    } else if (r->dialable) {
        buf_appendf(&x->out, _("Lead %llu (%s, campaign %s, %u attempts) may be dialled now.\n"),
                    id, r->phone_masked, r->campaign, r->attempts);
    } else {
        buf_appendf(&x->out,
                    _("Lead %llu (%s, campaign %s, %u attempts) may not be dialled now:\n"), id,
                    r->phone_masked, r->campaign, r->attempts);
        for (size_t i = 0; i < r->n_reasons; i++)
            buf_appendf(&x->out, "  - %s\n", r->reasons[i]);
    }
    if (!x->json && r->held_by[0] != '\0')
        buf_appendf(&x->out,
                    _("Daemon %s holds it now: queued for an agent, offered, or on a call.\n"),
                    r->held_by);
    envelope_free(reply);
    return CLI_EXIT_OK;
}

/* ---- complaints ---- */

static void json_time_or_null(json_writer *w, const char *key, int64_t t) {
    char text[32];
    json_key(w, key);
    if (t == 0) {
        json_null(w);
        return;
    }
    cli_format_utc_time(t, text, sizeof text);
    json_string(w, text);
}

static void json_complaint(json_writer *w, const void *item) {
    const Callfloor__Complaint *c = item;
    json_object_begin(w);
    json_kv_uint(w, "id", c->id);
    json_kv_uint(w, "call_id", c->call_id);
    json_kv_string(w, "agent", c->agent);
    json_kv_string(w, "campaign", c->campaign);
    json_kv_string(w, "customer", c->customer);
    json_kv_string(w, "phone", c->phone_masked);
    json_kv_string(w, "details", c->details);
    json_time_or_null(w, "opened_at", c->opened_at);
    json_time_or_null(w, "due_at", c->due_at);
    json_time_or_null(w, "resolved_at", c->resolved_at);
    json_kv_string(w, "resolved_by", c->resolved_by);
    json_kv_string(w, "resolution", c->resolution);
    json_kv_bool(w, "upheld", c->upheld);
    json_object_end(w);
}

static int add_complaint_row(cli_table *t, const void *item) {
    const Callfloor__Complaint *c = item;
    char id[24], call[24], opened[32], due[32];
    snprintf(id, sizeof id, "%llu", (unsigned long long)c->id);
    snprintf(call, sizeof call, "%llu", (unsigned long long)c->call_id);
    cli_format_local_time(c->opened_at, opened, sizeof opened);
    if (c->resolved_at != 0)
        snprintf(due, sizeof due, "%s", _("resolved"));
    else
        cli_format_local_time(c->due_at, due, sizeof due);
    const char *row[] = {id, call, c->agent, c->customer, c->phone_masked, opened, due, c->details};
    return cli_table_add_row(t, row);
}

int ctl_run_complaint_list(ctl *x, const ctl_args *a) {
    const char *which = ctl_opt(a, OPT_STATUS);
    if (which != NULL && strcmp(which, "open") != 0 && strcmp(which, "all") != 0)
        return ctl_usage_error(x, "complaint list", _("--status is open or all"));
    Callfloor__ComplaintList msg = CALLFLOOR__COMPLAINT_LIST__INIT;
    msg.include_resolved = which != NULL && strcmp(which, "all") == 0;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_COMPLAINT_LIST;
    req.complaint_list = &msg;
    envelope *reply;
    int rc = ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_COMPLAINT_LIST_REPLY, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__ComplaintListReply *list = reply->complaint_list_reply;
    if (x->json) {
        ctl_json_list(x, "complaints", json_complaint, (void *const *)list->complaints,
                      list->n_complaints);
    } else {
        const char *header[] = {_("ID"),    _("CALL"),   _("AGENT"),  _("CUSTOMER"),
                                _("PHONE"), _("OPENED"), _("DUE BY"), _("DETAILS")};
        rc = ctl_emit_rows(x, header, 8, add_complaint_row, (void *const *)list->complaints,
                           list->n_complaints, _("No open complaints.\n"));
    }
    envelope_free(reply);
    return rc;
}

int ctl_run_complaint_resolve(ctl *x, const ctl_args *a) {
    unsigned long long id;
    if (!ctl_parse_number(a->name, UINT64_MAX, &id))
        return ctl_usage_error(x, "complaint resolve", _("ID is a complaint's number, e.g. 7"));
    Callfloor__ComplaintResolve msg = CALLFLOOR__COMPLAINT_RESOLVE__INIT;
    msg.id = id;
    msg.resolution = (char *)ctl_opt(a, OPT_RESOLUTION);
    const char *upheld = ctl_opt(a, OPT_UPHELD);
    if (upheld != NULL && strcmp(upheld, "yes") != 0 && strcmp(upheld, "no") != 0)
        return ctl_usage_error(x, "complaint resolve", _("--upheld is yes or no"));
    msg.upheld = upheld != NULL && strcmp(upheld, "yes") == 0;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_COMPLAINT_RESOLVE;
    req.complaint_resolve = &msg;
    int rc = ctl_call_ok(x, &req);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json) {
        json_writer w;
        ctl_json_ok_begin(x, &w);
        json_kv_uint(&w, "id", id);
        json_object_end(&w);
    } else {
        buf_appendf(&x->out, _("Complaint %llu is resolved.\n"), id);
    }
    return CLI_EXIT_OK;
}
