/* callfloorctl audit list|verify|checkpoint|export: the tamper-evident
 * audit log (server/sql/010_audit.sql, server/audit.c). `verify` exits 1
 * when the chain or a checkpoint does not hold and names the first bad
 * row; `export` writes the signed checkpoints for an auditor to check with
 * nothing but openssl (docs/AUDIT.md). And `privacy purge`, which the
 * audit log records: erasing personal data past its retention. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "i18n.h"
#include "json.h"

#define CHECKPOINT_TAG "callfloor-audit-checkpoint-v1"

static void hex_into(buf *out, const ProtobufCBinaryData *b) {
    for (size_t i = 0; i < b->len; i++)
        buf_appendf(out, "%02x", b->data[i]);
}

/* ---- list ---- */

static void json_row(json_writer *w, const void *item) {
    const Callfloor__AuditRow *r = item;
    char at[40];
    cli_format_utc_time(r->at_us / 1000000, at, sizeof at);
    json_object_begin(w);
    json_kv_uint(w, "id", r->id);
    json_kv_string(w, "at", at);
    json_kv_string(w, "actor", r->actor);
    json_kv_string(w, "role", r->role);
    json_kv_string(w, "peer", r->peer);
    json_kv_string(w, "action", r->action);
    json_kv_string(w, "target", r->target);
    json_kv_string(w, "detail", r->detail);
    json_object_end(w);
}

static int add_row(cli_table *t, const void *item) {
    const Callfloor__AuditRow *r = item;
    char id[24], at[40];
    snprintf(id, sizeof id, "%llu", (unsigned long long)r->id);
    cli_format_local_time(r->at_us / 1000000, at, sizeof at);
    const char *cells[] = {id, at, r->actor, r->action, r->target, r->detail, r->peer};
    return cli_table_add_row(t, cells);
}

int ctl_run_audit_list(ctl *x, const ctl_args *a) {
    Callfloor__AuditList msg = CALLFLOOR__AUDIT_LIST__INIT;
    unsigned long long n = 50, before = 0;
    const char *limit = ctl_opt(a, OPT_LIMIT), *from = ctl_opt(a, OPT_BEFORE);
    if ((limit != NULL && !ctl_parse_number(limit, 1000, &n)) ||
        (from != NULL && !ctl_parse_number(from, UINT64_MAX, &before)))
        return ctl_usage_error(x, "audit list",
                               _("--limit is 1 to 1000 rows; --before is a row's number"));
    msg.limit = (uint32_t)n;
    msg.before_id = before;
    msg.actor = (char *)(ctl_opt(a, OPT_ACTOR) ? ctl_opt(a, OPT_ACTOR) : "");
    msg.action = (char *)(ctl_opt(a, OPT_ACTION) ? ctl_opt(a, OPT_ACTION) : "");
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_AUDIT_LIST;
    req.audit_list = &msg;
    int rc = ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_AUDIT_LIST_REPLY, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__AuditListReply *l = reply->audit_list_reply;
    if (x->json) {
        ctl_json_list(x, "rows", json_row, (void *const *)l->rows, l->n_rows);
    } else {
        const char *header[] = {_("ID"),     _("TIME"),   _("WHO"), _("ACTION"),
                                _("TARGET"), _("DETAIL"), _("FROM")};
        rc = ctl_emit_rows(x, header, 7, add_row, (void *const *)l->rows, l->n_rows,
                           _("The audit log has no such rows.\n"));
    }
    envelope_free(reply);
    return rc;
}

/* ---- verify ---- */

int ctl_run_audit_verify(ctl *x, const ctl_args *a) {
    (void)a;
    envelope *reply;
    int rc = ctl_call_empty(x, CALLFLOOR__ENVELOPE__BODY_AUDIT_VERIFY,
                            CALLFLOOR__ENVELOPE__BODY_AUDIT_VERIFY_REPLY, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__AuditVerifyReply *v = reply->audit_verify_reply;
    bool intact = v->problem[0] == '\0';
    if (x->json) {
        json_writer w;
        json_init(&w, &x->out);
        json_object_begin(&w);
        json_kv_bool(&w, "intact", intact);
        json_kv_uint(&w, "rows", v->rows);
        json_kv_uint(&w, "checkpoints", v->checkpoints);
        json_kv_uint(&w, "bad_signatures", v->bad_signatures);
        json_kv_uint(&w, "bad_id", v->bad_id);
        json_kv_string(&w, "problem", v->problem);
        json_object_end(&w);
    } else if (intact) {
        buf_appendf(&x->out,
                    _("The audit log is intact: %llu rows, %u signed checkpoints, all holding.\n"),
                    (unsigned long long)v->rows, v->checkpoints);
    } else {
        fprintf(stderr, _("%s: THE AUDIT LOG WAS TAMPERED WITH: %s\n"), PROGRAM, v->problem);
    }
    envelope_free(reply);
    if (intact)
        return CLI_EXIT_OK;
    /* The answer goes out although the command fails (exit 1). */
    if (cli_write_stdout(&x->out) < 0)
        fprintf(stderr, _("%s: cannot write the output: %s\n"), PROGRAM, strerror(errno));
    buf_reset(&x->out);
    return CLI_EXIT_SERVER;
}

/* ---- checkpoints ---- */

/* One checkpoint as a JSON object, with the exact message signed, so that
 * `openssl pkeyutl -verify -rawin` can check it alone. */
static void json_checkpoint(json_writer *w, const void *item) {
    const Callfloor__AuditCheckpointRow *c = item;
    buf hex = BUF_INIT;
    char at[40];
    cli_format_utc_time(c->at, at, sizeof at);
    json_object_begin(w);
    json_kv_uint(w, "id", c->id);
    json_kv_string(w, "at", at);
    json_kv_uint(w, "last_id", c->last_id);
    const ProtobufCBinaryData *fields[] = {&c->last_hash, &c->public_key, &c->signature};
    const char *names[] = {"last_hash", "public_key", "signature"};
    for (int k = 0; k < 3; k++) {
        buf_reset(&hex);
        hex_into(&hex, fields[k]);
        buf_append(&hex, "", 1);
        json_kv_string(w, names[k], (const char *)buf_head(&hex));
    }
    buf_reset(&hex);
    for (size_t i = 0; i < sizeof CHECKPOINT_TAG; i++)
        buf_appendf(&hex, "%02x", (unsigned char)CHECKPOINT_TAG[i]);
    for (int i = 0; i < 8; i++)
        buf_appendf(&hex, "%02x", (unsigned)((c->last_id >> (56 - 8 * i)) & 0xff));
    hex_into(&hex, &c->last_hash);
    buf_append(&hex, "", 1);
    json_kv_string(w, "message", (const char *)buf_head(&hex));
    json_object_end(w);
    buf_free(&hex);
}

int ctl_run_audit_checkpoint(ctl *x, const ctl_args *a) {
    (void)a;
    envelope *reply;
    int rc = ctl_call_empty(x, CALLFLOOR__ENVELOPE__BODY_AUDIT_CHECKPOINT,
                            CALLFLOOR__ENVELOPE__BODY_AUDIT_CHECKPOINTS_REPLY, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__AuditCheckpointsReply *r = reply->audit_checkpoints_reply;
    if (r->n_checkpoints != 1) {
        envelope_free(reply);
        return ctl_report_status(x, CLIENT_E_PROTOCOL);
    }
    if (x->json)
        ctl_json_one(x, "checkpoint", json_checkpoint, r->checkpoints[0]);
    else
        buf_appendf(&x->out, _("Checkpoint %llu signs the audit log up to row %llu.\n"),
                    (unsigned long long)r->checkpoints[0]->id,
                    (unsigned long long)r->checkpoints[0]->last_id);
    envelope_free(reply);
    return CLI_EXIT_OK;
}

/* JSON lines, one checkpoint each, to --out or standard output. */
int ctl_run_audit_export(ctl *x, const ctl_args *a) {
    envelope *reply;
    int rc = ctl_call_empty(x, CALLFLOOR__ENVELOPE__BODY_AUDIT_CHECKPOINTS,
                            CALLFLOOR__ENVELOPE__BODY_AUDIT_CHECKPOINTS_REPLY, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__AuditCheckpointsReply *r = reply->audit_checkpoints_reply;
    buf lines = BUF_INIT;
    size_t n = r->n_checkpoints;
    for (size_t i = 0; i < n; i++) {
        json_writer w;
        json_init(&w, &lines);
        json_checkpoint(&w, r->checkpoints[i]);
        buf_append(&lines, "\n", 1);
    }
    envelope_free(reply);
    const char *path = ctl_opt(a, OPT_OUT);
    if (path == NULL) {
        buf_append(&x->out, buf_head(&lines), buf_pending(&lines));
    } else {
        FILE *f = fopen(path, "w");
        bool ok =
            f != NULL && fwrite(buf_head(&lines), 1, buf_pending(&lines), f) == buf_pending(&lines);
        if (f != NULL && fclose(f) != 0)
            ok = false;
        if (!ok)
            rc = ctl_usage_error(x, NULL, _("cannot write %s: %s"), path, strerror(errno));
        else if (!x->json)
            buf_appendf(&x->out, _("Wrote %zu checkpoints to %s.\n"), n, path);
    }
    buf_free(&lines);
    return rc;
}

/* ---- retention ---- */

int ctl_run_privacy_purge(ctl *x, const ctl_args *a) {
    Callfloor__PrivacyPurge msg = CALLFLOOR__PRIVACY_PURGE__INIT;
    unsigned long long days = 0;
    const char *older = ctl_opt(a, OPT_OLDER_THAN);
    if (older != NULL && !ctl_parse_number(older, 36500, &days))
        return ctl_usage_error(x, "privacy purge", _("--older-than is 1 to 36500 days"));
    msg.older_than_days = (uint32_t)days;
    msg.dry_run = ctl_opt(a, OPT_DRY_RUN) != NULL;
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_PRIVACY_PURGE;
    req.privacy_purge = &msg;
    int rc = ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_PRIVACY_PURGE_REPLY, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__PrivacyPurgeReply *r = reply->privacy_purge_reply;
    if (x->json) {
        json_writer w;
        json_init(&w, &x->out);
        json_object_begin(&w);
        json_kv_bool(&w, "dry_run", r->dry_run);
        json_kv_uint(&w, "older_than_days", r->older_than_days);
        json_kv_uint(&w, "customers", r->leads);
        json_kv_uint(&w, "calls", r->calls);
        json_kv_uint(&w, "surveys", r->surveys);
        json_object_end(&w);
    } else {
        buf_appendf(&x->out,
                    r->dry_run ? _("Would erase the personal data of %llu customers untouched for "
                                   "%u days (%llu calls, %llu surveys).\n")
                               : _("Erased the personal data of %llu customers untouched for %u "
                                   "days (%llu calls, %llu surveys).\n"),
                    (unsigned long long)r->leads, r->older_than_days, (unsigned long long)r->calls,
                    (unsigned long long)r->surveys);
    }
    envelope_free(reply);
    return CLI_EXIT_OK;
}
