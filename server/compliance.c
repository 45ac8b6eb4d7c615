#include "compliance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "label.h"
#include "listener.h"
#include "log.h"
#include "phone.h"
#include "pii.h"
#include "vault.h"

#define REASON_MAX_LEN 256
/* A bytea parameter in hex text form: "\x" and two digits a byte. */
#define HEX_PARAM_MAX (2 + 2 * VAULT_BLOB_MAX + 1)

static const char *const statements[][2] = {
    {"compliance_purge", "SELECT leads, calls, surveys FROM cf_purge("
                         "now() - $1::integer * interval '1 day', $2::boolean)"},
    {"compliance_dnc_insert",
     "WITH ins AS (INSERT INTO dnc (phone_hmac, phone_sealed, phone_masked, reason, source,"
     " added_by) VALUES ($1, $2, $3, $4, 'admin', $5) ON CONFLICT (phone_hmac) DO NOTHING"
     " RETURNING phone_masked, reason, source, added_by, added_at)"
     " SELECT true, i.phone_masked, i.reason, i.source, coalesce(u.username, ''),"
     " extract(epoch FROM i.added_at)::bigint FROM ins i LEFT JOIN users u ON u.id = i.added_by"
     " UNION ALL"
     " SELECT false, d.phone_masked, d.reason, d.source, coalesce(u.username, ''),"
     " extract(epoch FROM d.added_at)::bigint FROM dnc d LEFT JOIN users u ON u.id = d.added_by"
     " WHERE d.phone_hmac = $1 AND NOT EXISTS (SELECT 1 FROM ins)"},
    {"compliance_dnc_select",
     "SELECT false, d.phone_masked, d.reason, d.source, coalesce(u.username, ''),"
     " extract(epoch FROM d.added_at)::bigint FROM dnc d LEFT JOIN users u ON u.id = d.added_by"
     " WHERE d.phone_hmac = $1"},
    {"compliance_dnc_delete", "DELETE FROM dnc WHERE phone_hmac = $1 RETURNING phone_masked"},
    {"compliance_dnc_import",
     "WITH ins AS (INSERT INTO dnc (phone_hmac, phone_sealed, phone_masked, reason, source,"
     " added_by) SELECT decode(h, 'hex'), decode(s, 'hex'), m, $4, 'import', $5"
     " FROM unnest($1::text[], $2::text[], $3::text[]) AS t (h, s, m)"
     " ON CONFLICT (phone_hmac) DO NOTHING RETURNING 1) SELECT count(*) FROM ins"},
};

int compliance_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

/* ---- a number, made ready for the database ---- */

int compliance_protect_number(const vault *v, const char *phone, compliance_number *out) {
    char canonical[PHONE_MAX];
    int rc = phone_normalize(phone, canonical);
    if (rc < 0)
        return rc;
    uint8_t hash[VAULT_HASH_LEN], blob[VAULT_BLOB_MAX];
    int n = vault_hash(v, canonical, hash) < 0 ? VAULT_E_CRYPTO : vault_seal(v, canonical, blob);
    if (n >= 0) {
        db_hex(hash, sizeof hash, out->hmac);
        db_hex(blob, (size_t)n, out->sealed);
        pii_mask_phone(canonical, out->masked, sizeof out->masked);
    }
    pii_wipe(canonical, sizeof canonical);
    return n < 0 ? COMPLIANCE_E_SEAL : 0;
}

const char *compliance_number_problem(int rc) {
    return rc == COMPLIANCE_E_SEAL ? "the server could not encrypt the number; its log may say why"
                                   : phone_strerror(rc);
}

/* A bytea parameter from hex: "\x0a1b...". */
static void hex_param(const char *hex, char out[HEX_PARAM_MAX]) {
    snprintf(out, HEX_PARAM_MAX, "\\x%s", hex);
}

static bool number_from_request(request *req, const char *phone, compliance_number *n) {
    int rc = compliance_protect_number(req->srv->vault, phone, n);
    if (rc == 0)
        return true;
    request_fail(req,
                 rc == COMPLIANCE_E_SEAL ? CALLFLOOR__ERROR_CODE__INTERNAL
                                         : CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT,
                 0, "%s", compliance_number_problem(rc));
    return false;
}

static void user_id_param(const request *req, char out[24]) {
    snprintf(out, 24, "%llu", (unsigned long long)req->user_id);
}

/* ---- one number ---- */

static void reply_entry(request *req, const PGresult *res) {
    Callfloor__DncCheckReply answer = CALLFLOOR__DNC_CHECK_REPLY__INIT;
    Callfloor__DncEntry entry = CALLFLOOR__DNC_ENTRY__INIT;
    answer.listed = PQntuples(res) > 0;
    if (answer.listed) {
        answer.added = db_bool(res, 0, 0);
        entry.phone_masked = (char *)db_value(res, 0, 1);
        entry.reason = (char *)db_value(res, 0, 2);
        entry.source = (char *)db_value(res, 0, 3);
        entry.added_by = (char *)db_value(res, 0, 4);
        entry.added_at = db_int64(res, 0, 5);
        answer.entry = &entry;
    }
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_DNC_CHECK_REPLY;
    out.dnc_check_reply = &answer;
    request_reply(req, &out);
}

static void on_dnc_added(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "adding a number to the do-not-call list");
        return;
    }
    const PGresult *res = reply->results[0];
    if (PQntuples(res) > 0 && db_bool(res, 0, 0))
        log_info("conn %s: %s added %s to the do-not-call list", conn_name(req->conn),
                 req->username, db_value(res, 0, 1));
    reply_entry(req, res);
}

void compliance_on_dnc_add(request *req) {
    const Callfloor__DncAdd *add = req->msg->dnc_add;
    if (add->reason[0] != '\0' && !label_valid(add->reason, REASON_MAX_LEN)) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "a reason has at most 256 bytes and no control characters");
        return;
    }
    compliance_number n;
    if (!number_from_request(req, add->phone, &n))
        return;
    char hmac[HEX_PARAM_MAX], sealed[HEX_PARAM_MAX], user[24];
    hex_param(n.hmac, hmac);
    hex_param(n.sealed, sealed);
    user_id_param(req, user);
    const char *params[] = {hmac, sealed, n.masked, add->reason, user};
    request_query(req, "compliance_dnc_insert", 5, params, on_dnc_added, req);
}

static void on_dnc_checked(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK)
        request_fail_db(req, reply, "checking the do-not-call list");
    else
        reply_entry(req, reply->results[0]);
}

void compliance_on_dnc_check(request *req) {
    compliance_number n;
    if (!number_from_request(req, req->msg->dnc_check->phone, &n))
        return;
    char hmac[HEX_PARAM_MAX];
    hex_param(n.hmac, hmac);
    const char *params[] = {hmac};
    request_query(req, "compliance_dnc_select", 1, params, on_dnc_checked, req);
}

static void on_dnc_removed(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "removing a number from the do-not-call list");
        return;
    }
    if (PQntuples(reply->results[0]) == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0,
                     "the number is not on the do-not-call list");
        return;
    }
    log_info("conn %s: %s removed %s from the do-not-call list", conn_name(req->conn),
             req->username, db_value(reply->results[0], 0, 0));
    request_ok(req);
}

void compliance_on_dnc_remove(request *req) {
    compliance_number n;
    if (!number_from_request(req, req->msg->dnc_remove->phone, &n))
        return;
    char hmac[HEX_PARAM_MAX];
    hex_param(n.hmac, hmac);
    const char *params[] = {hmac};
    request_query(req, "compliance_dnc_delete", 1, params, on_dnc_removed, req);
}

/* ---- a batch ---- */

/* The numbers of one DncImport that passed, as three parallel arrays, and
 * the ones that did not, as rejections naming the user's file lines. */
typedef struct dnc_batch {
    request *req;
    char **hmacs, **sealed, **masked;
    size_t valid;
    Callfloor__DncRejected *rejected;
    Callfloor__DncRejected **rejected_ptrs;
    size_t nrejected;
    compliance_number *numbers;
    size_t count; /* the request's numbers (the request is gone by batch_free) */
} dnc_batch;

static void batch_free(dnc_batch *b) {
    if (b->numbers)
        pii_wipe(b->numbers, sizeof *b->numbers * b->count);
    free(b->numbers);
    free(b->hmacs);
    free(b->sealed);
    free(b->masked);
    free(b->rejected);
    free(b->rejected_ptrs);
    free(b);
}

static dnc_batch *batch_new(request *req, size_t n) {
    dnc_batch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->req = req;
    b->count = n;
    b->numbers = calloc(n + 1, sizeof *b->numbers);
    b->hmacs = calloc(n + 1, sizeof *b->hmacs);
    b->sealed = calloc(n + 1, sizeof *b->sealed);
    b->masked = calloc(n + 1, sizeof *b->masked);
    b->rejected = calloc(n + 1, sizeof *b->rejected);
    b->rejected_ptrs = calloc(n + 1, sizeof *b->rejected_ptrs);
    if (!b->numbers || !b->hmacs || !b->sealed || !b->masked || !b->rejected || !b->rejected_ptrs) {
        batch_free(b);
        return NULL;
    }
    return b;
}

static void batch_sort(dnc_batch *b, const Callfloor__DncImport *imp) {
    for (size_t i = 0; i < imp->n_phones; i++) {
        compliance_number *n = &b->numbers[i];
        int rc = compliance_protect_number(b->req->srv->vault, imp->phones[i], n);
        pii_wipe(imp->phones[i], strlen(imp->phones[i]));
        if (rc < 0) {
            Callfloor__DncRejected *r = &b->rejected[b->nrejected];
            callfloor__dnc_rejected__init(r);
            r->line = imp->first_line + (uint32_t)i;
            r->reason = (char *)compliance_number_problem(rc);
            b->rejected_ptrs[b->nrejected++] = r;
            continue;
        }
        b->hmacs[b->valid] = n->hmac;
        b->sealed[b->valid] = n->sealed;
        b->masked[b->valid] = n->masked;
        b->valid++;
    }
}

static void on_batch_imported(const db_reply *reply, void *arg) {
    dnc_batch *b = arg;
    request *req = b->req;
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "importing do-not-call numbers");
        batch_free(b);
        return;
    }
    Callfloor__DncImportReply answer = CALLFLOOR__DNC_IMPORT_REPLY__INIT;
    answer.added = (uint32_t)db_int64(reply->results[0], 0, 0);
    answer.already = (uint32_t)b->valid - answer.added;
    answer.n_rejected = b->nrejected;
    answer.rejected = b->rejected_ptrs;
    log_info("conn %s: %s imported %u do-not-call numbers (%u already listed, %zu invalid)",
             conn_name(req->conn), req->username, answer.added, answer.already, b->nrejected);
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_DNC_IMPORT_REPLY;
    out.dnc_import_reply = &answer;
    request_reply(req, &out);
    batch_free(b);
}

/* Builds the three array parameters and sends the insert. */
static void batch_insert(dnc_batch *b, const char *reason) {
    size_t cap = b->valid * (2 * VAULT_BLOB_MAX + 4) + 3;
    char *h = malloc(cap), *s = malloc(cap), *m = malloc(cap), user[24];
    db_txn *txn = h && s && m ? db_txn_begin(b->req->srv->db) : NULL;
    if (txn != NULL)
        request_actor(txn, b->req);
    if (txn == NULL || !db_text_array(h, cap, b->hmacs, b->valid) ||
        !db_text_array(s, cap, b->sealed, b->valid) ||
        !db_text_array(m, cap, b->masked, b->valid)) {
        if (txn)
            db_txn_abort(txn);
        request_fail(b->req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        batch_free(b);
    } else {
        user_id_param(b->req, user);
        const char *params[] = {h, s, m, reason, user};
        db_txn_query(txn, "compliance_dnc_import", 5, params);
        db_txn_commit(txn, on_batch_imported, b);
    }
    free(h);
    free(s);
    free(m);
}

void compliance_on_dnc_import(request *req) {
    Callfloor__DncImport *imp = req->msg->dnc_import;
    if (imp->n_phones == 0 || imp->n_phones > COMPLIANCE_IMPORT_BATCH_MAX ||
        (imp->reason[0] != '\0' && !label_valid(imp->reason, REASON_MAX_LEN))) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "an import batch has 1 to %d numbers and a reason of at most 256 bytes "
                     "without control characters",
                     COMPLIANCE_IMPORT_BATCH_MAX);
        return;
    }
    if (req->srv->db == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__SHUTTING_DOWN, 0, "the server is shutting down");
        return;
    }
    dnc_batch *b = batch_new(req, imp->n_phones);
    if (b == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    batch_sort(b, imp);
    batch_insert(b, imp->reason);
}

/* ---- retention ---- */

static void on_purged(const db_reply *reply, void *arg) {
    request *req = arg;
    const Callfloor__PrivacyPurge *p = req->msg->privacy_purge;
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "purging personal data");
        return;
    }
    const PGresult *res = reply->results[0];
    Callfloor__PrivacyPurgeReply r = CALLFLOOR__PRIVACY_PURGE_REPLY__INIT;
    r.leads = (uint64_t)db_int64(res, 0, 0);
    r.calls = (uint64_t)db_int64(res, 0, 1);
    r.surveys = (uint64_t)db_int64(res, 0, 2);
    r.older_than_days =
        p->older_than_days ? p->older_than_days : (uint32_t)req->srv->cfg.privacy_retention_days;
    r.dry_run = p->dry_run;
    log_notice("conn %s: %s %s the personal data of %llu customers untouched for %u days",
               conn_name(req->conn), req->username, p->dry_run ? "counted" : "purged",
               (unsigned long long)r.leads, r.older_than_days);
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_PRIVACY_PURGE_REPLY;
    out.privacy_purge_reply = &r;
    request_reply(req, &out);
}

void compliance_on_purge(request *req) {
    const Callfloor__PrivacyPurge *p = req->msg->privacy_purge;
    unsigned days =
        p->older_than_days ? p->older_than_days : (unsigned)req->srv->cfg.privacy_retention_days;
    if (days == 0 || days > 36500) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     p->older_than_days ? "the retention is 1 to 36500 days"
                                        : "no retention is set: give the days, or set "
                                          "privacy.retention_days in the server's configuration");
        return;
    }
    char d[16];
    snprintf(d, sizeof d, "%u", days);
    const char *params[] = {d, p->dry_run ? "true" : "false"};
    request_query(req, "compliance_purge", 2, params, on_purged, req);
}
