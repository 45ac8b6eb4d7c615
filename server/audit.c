#include "audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "listener.h"
#include "log.h"

#define CHECKPOINT_TAG "callfloor-audit-checkpoint-v1"
#define KEY_BYTES      32
#define SIG_BYTES      64
#define HASH_BYTES     32
#define MESSAGE_BYTES  (sizeof CHECKPOINT_TAG + 8 + HASH_BYTES)

typedef struct audit {
    server *srv;
    bool verifying; /* an AuditVerify is under way */
    EVP_PKEY *key;  /* NULL: no checkpoints */
    uint8_t public_key[KEY_BYTES];
    uv_timer_t timer;
    bool signing; /* a checkpoint is under way */
} audit;

static const char *const statements[][2] = {
    {"audit_list",
     "SELECT id, (extract(epoch FROM at) * 1000000)::bigint, actor, role, peer, action, target,"
     " detail, hash FROM audit_log WHERE ($1::bigint = 0 OR id < $1::bigint)"
     " AND ($2 = '' OR actor = $2) AND ($3 = '' OR starts_with(action, $3))"
     " ORDER BY id DESC LIMIT $4::integer"},
    /* Verifying reads the whole log: bounded, and one at a time. */
    {"audit_limit", "SELECT set_config('statement_timeout', '300s', true)"},
    {"audit_verify",
     "SELECT rows_checked, coalesce(bad_id, 0), coalesce(problem, '') FROM cf_audit_verify()"},
    {"audit_checkpoint_list",
     "SELECT id, extract(epoch FROM at)::bigint, last_id, last_hash, public_key, signature"
     " FROM audit_checkpoints ORDER BY id"},
    /* The chain's head, unless the last checkpoint covers it already ($1:
     * sign it anyway). */
    {"audit_head",
     "SELECT a.id, a.hash FROM audit_log a WHERE a.id = (SELECT max(id) FROM audit_log)"
     " AND ($1::boolean OR a.id > coalesce((SELECT max(last_id) FROM audit_checkpoints), 0))"},
    {"audit_checkpoint_add",
     "INSERT INTO audit_checkpoints (last_id, last_hash, public_key, signature)"
     " VALUES ($1, decode($2, 'hex'), decode($3, 'hex'), decode($4, 'hex'))"
     " RETURNING id, extract(epoch FROM at)::bigint, last_id, last_hash, public_key, signature"},
};

int audit_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

/* ---- bytes ---- */

/* A bytea cell as bytes into `out` (at most `cap`); returns the length, or
 * -1 when it does not fit or is not bytea. */
static int bytea_cell(const PGresult *res, int row, int col, uint8_t *out, size_t cap) {
    size_t len = 0;
    unsigned char *bytes = PQunescapeBytea((const unsigned char *)db_value(res, row, col), &len);
    if (bytes == NULL || len > cap) {
        PQfreemem(bytes);
        return -1;
    }
    memcpy(out, bytes, len);
    PQfreemem(bytes);
    return (int)len;
}

static void message_of(int64_t last_id, const uint8_t hash[HASH_BYTES],
                       uint8_t out[MESSAGE_BYTES]) {
    memcpy(out, CHECKPOINT_TAG, sizeof CHECKPOINT_TAG); /* with its NUL: the domain separator */
    for (int i = 0; i < 8; i++)
        out[sizeof CHECKPOINT_TAG + (size_t)i] = (uint8_t)((uint64_t)last_id >> (56 - 8 * i));
    memcpy(out + sizeof CHECKPOINT_TAG + 8, hash, HASH_BYTES);
}

static bool ed25519_verify(const uint8_t public_key[KEY_BYTES], const uint8_t *msg, size_t len,
                           const uint8_t sig[SIG_BYTES]) {
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, public_key, KEY_BYTES);
    EVP_MD_CTX *ctx = pk ? EVP_MD_CTX_new() : NULL;
    bool ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
              EVP_DigestVerify(ctx, sig, SIG_BYTES, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return ok;
}

/* ---- checkpoints ---- */

static void fill_checkpoint(Callfloor__AuditCheckpointRow *c, const PGresult *res, int r,
                            uint8_t bufs[3][SIG_BYTES]) {
    callfloor__audit_checkpoint_row__init(c);
    c->id = (uint64_t)db_int64(res, r, 0);
    c->at = db_int64(res, r, 1);
    c->last_id = (uint64_t)db_int64(res, r, 2);
    int n;
    n = bytea_cell(res, r, 3, bufs[0], SIG_BYTES);
    c->last_hash = (ProtobufCBinaryData){n > 0 ? (size_t)n : 0, bufs[0]};
    n = bytea_cell(res, r, 4, bufs[1], SIG_BYTES);
    c->public_key = (ProtobufCBinaryData){n > 0 ? (size_t)n : 0, bufs[1]};
    n = bytea_cell(res, r, 5, bufs[2], SIG_BYTES);
    c->signature = (ProtobufCBinaryData){n > 0 ? (size_t)n : 0, bufs[2]};
}

/* Answers with the checkpoints of `res` (every row). */
static void reply_checkpoints(request *req, const PGresult *res) {
    int n = PQntuples(res);
    Callfloor__AuditCheckpointRow *rows = calloc((size_t)n + 1, sizeof *rows);
    Callfloor__AuditCheckpointRow **ptrs = calloc((size_t)n + 1, sizeof *ptrs);
    uint8_t(*bufs)[3][SIG_BYTES] = calloc((size_t)n + 1, sizeof *bufs);
    if (rows == NULL || ptrs == NULL || bufs == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
    } else {
        for (int r = 0; r < n; r++) {
            fill_checkpoint(&rows[r], res, r, bufs[r]);
            ptrs[r] = &rows[r];
        }
        Callfloor__AuditCheckpointsReply out = CALLFLOOR__AUDIT_CHECKPOINTS_REPLY__INIT;
        out.n_checkpoints = (size_t)n;
        out.checkpoints = ptrs;
        envelope env = CALLFLOOR__ENVELOPE__INIT;
        env.body_case = CALLFLOOR__ENVELOPE__BODY_AUDIT_CHECKPOINTS_REPLY;
        env.audit_checkpoints_reply = &out;
        request_reply(req, &env);
    }
    free(rows);
    free(ptrs);
    free(bufs);
}

static void hex(const uint8_t *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

typedef struct checkpoint_job {
    server *srv;
    request *req; /* NULL for the timer's checkpoints */
} checkpoint_job;

static void checkpoint_done(checkpoint_job *job, const char *why) {
    audit *a = job->srv->audit;
    if (a != NULL)
        a->signing = false;
    if (why != NULL && job->req != NULL)
        request_fail(job->req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "%s", why);
    else if (why != NULL)
        log_warn("audit checkpoint: %s", why);
    free(job);
}

static void on_checkpoint_added(const db_reply *reply, void *arg) {
    checkpoint_job *job = arg;
    if (reply->status != DB_OK) {
        checkpoint_done(job, "storing the checkpoint failed");
        return;
    }
    const PGresult *res = reply->results[0];
    log_info("audit checkpoint %lld signs the log up to row %lld", (long long)db_int64(res, 0, 0),
             (long long)db_int64(res, 0, 2));
    if (job->req != NULL)
        reply_checkpoints(job->req, res);
    job->req = NULL;
    checkpoint_done(job, NULL);
}

/* Signs the head the query found (Ed25519 signing takes microseconds: on
 * the loop) and stores the checkpoint. */
static void on_head(const db_reply *reply, void *arg) {
    checkpoint_job *job = arg;
    audit *a = job->srv->audit;
    uint8_t hash[HASH_BYTES], msg[MESSAGE_BYTES], sig[SIG_BYTES];
    size_t siglen = SIG_BYTES;
    if (a == NULL || a->key == NULL || reply->status != DB_OK) {
        checkpoint_done(job, "reading the audit log's head failed");
        return;
    }
    const PGresult *res = reply->results[0];
    if (PQntuples(res) == 0) { /* nothing new, or nothing at all */
        if (job->req != NULL)
            request_fail(job->req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                         "the audit log is empty: there is nothing to sign");
        job->req = NULL;
        checkpoint_done(job, NULL);
        return;
    }
    int64_t last_id = db_int64(res, 0, 0);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = bytea_cell(res, 0, 1, hash, sizeof hash) == HASH_BYTES && ctx != NULL;
    if (ok) {
        message_of(last_id, hash, msg);
        ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, a->key) == 1 &&
             EVP_DigestSign(ctx, sig, &siglen, msg, sizeof msg) == 1 && siglen == SIG_BYTES;
    }
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    db_txn *txn = ok ? db_txn_begin(job->srv->db) : NULL;
    if (txn == NULL) {
        checkpoint_done(job, "signing the checkpoint failed");
        return;
    }
    char id[24], hash_hex[2 * HASH_BYTES + 1], key_hex[2 * KEY_BYTES + 1],
        sig_hex[2 * SIG_BYTES + 1];
    snprintf(id, sizeof id, "%lld", (long long)last_id);
    hex(hash, HASH_BYTES, hash_hex);
    hex(a->public_key, KEY_BYTES, key_hex);
    hex(sig, SIG_BYTES, sig_hex);
    const char *params[] = {id, hash_hex, key_hex, sig_hex};
    db_txn_query(txn, "audit_checkpoint_add", 4, params);
    db_txn_commit(txn, on_checkpoint_added, job);
}

/* Starts a checkpoint for `req` (NULL: the timer's, only if the head
 * moved). Returns false if none could start. */
static bool checkpoint(server *srv, request *req) {
    audit *a = srv->audit;
    checkpoint_job *job = a && a->key && !a->signing && srv->db ? malloc(sizeof *job) : NULL;
    db_txn *txn = job ? db_txn_begin(srv->db) : NULL;
    if (txn == NULL) {
        free(job);
        return false;
    }
    *job = (checkpoint_job){srv, req};
    const char *params[] = {req != NULL ? "true" : "false"};
    db_txn_query(txn, "audit_head", 1, params);
    a->signing = true;
    db_txn_commit(txn, on_head, job);
    return true;
}

static void on_checkpoint_timer(uv_timer_t *t) {
    checkpoint(t->data, NULL);
}

void audit_on_checkpoint(request *req) {
    audit *a = req->srv->audit;
    if (a == NULL || a->key == NULL)
        request_fail(req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                     "no audit signing key (audit.signing_key): checkpoints are off");
    else if (!checkpoint(req->srv, req))
        request_fail(req, CALLFLOOR__ERROR_CODE__UNAVAILABLE, 1000,
                     "a checkpoint is being signed already; ask again in a moment");
}

static void on_checkpoint_list(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK)
        request_fail_db(req, reply, "listing the audit checkpoints");
    else
        reply_checkpoints(req, reply->results[0]);
}

void audit_on_checkpoints(request *req) {
    request_query(req, "audit_checkpoint_list", 0, NULL, on_checkpoint_list, req);
}

/* ---- listing ---- */

static void on_list(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "listing the audit log");
        return;
    }
    const PGresult *res = reply->results[0];
    int n = PQntuples(res);
    Callfloor__AuditRow *rows = calloc((size_t)n + 1, sizeof *rows);
    Callfloor__AuditRow **ptrs = calloc((size_t)n + 1, sizeof *ptrs);
    uint8_t(*hashes)[HASH_BYTES] = calloc((size_t)n + 1, sizeof *hashes);
    if (rows == NULL || ptrs == NULL || hashes == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
    } else {
        for (int r = 0; r < n; r++) {
            Callfloor__AuditRow *x = &rows[r];
            callfloor__audit_row__init(x);
            x->id = (uint64_t)db_int64(res, r, 0);
            x->at_us = db_int64(res, r, 1);
            x->actor = (char *)db_value(res, r, 2);
            x->role = (char *)db_value(res, r, 3);
            x->peer = (char *)db_value(res, r, 4);
            x->action = (char *)db_value(res, r, 5);
            x->target = (char *)db_value(res, r, 6);
            x->detail = (char *)db_value(res, r, 7);
            int len = bytea_cell(res, r, 8, hashes[r], HASH_BYTES);
            x->hash = (ProtobufCBinaryData){len > 0 ? (size_t)len : 0, hashes[r]};
            ptrs[r] = x;
        }
        Callfloor__AuditListReply out = CALLFLOOR__AUDIT_LIST_REPLY__INIT;
        out.n_rows = (size_t)n;
        out.rows = ptrs;
        envelope env = CALLFLOOR__ENVELOPE__INIT;
        env.body_case = CALLFLOOR__ENVELOPE__BODY_AUDIT_LIST_REPLY;
        env.audit_list_reply = &out;
        request_reply(req, &env);
    }
    free(rows);
    free(ptrs);
    free(hashes);
}

void audit_on_list(request *req) {
    const Callfloor__AuditList *l = req->msg->audit_list;
    if (l->limit > AUDIT_LIST_MAX || strlen(l->actor) > 64 || strlen(l->action) > 64) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "an audit listing has at most %d rows, and names of at most 64 bytes",
                     AUDIT_LIST_MAX);
        return;
    }
    char before[24], limit[16];
    snprintf(before, sizeof before, "%llu", (unsigned long long)l->before_id);
    snprintf(limit, sizeof limit, "%u", l->limit ? l->limit : 50);
    const char *params[] = {before, l->actor, l->action, limit};
    request_query(req, "audit_list", 4, params, on_list, req);
}

/* ---- verifying ---- */

/* The chain's verdict and the checkpoints, whose signatures are checked in
 * the thread pool: a year of hourly checkpoints takes half a second. */
typedef struct verify_job {
    uv_work_t work;
    request *req;
    PGresult *checkpoints;
    uint8_t expected_key[KEY_BYTES];
    bool have_key;
    uint64_t rows, bad_id;
    char problem[512];
    uint32_t bad_signatures;
    uint64_t first_bad_checkpoint;
} verify_job;

static void verify_in_pool(uv_work_t *w) {
    verify_job *j = w->data;
    const PGresult *res = j->checkpoints;
    for (int r = 0; r < PQntuples(res); r++) {
        uint8_t hash[HASH_BYTES], key[KEY_BYTES], sig[SIG_BYTES], msg[MESSAGE_BYTES];
        bool ok = bytea_cell(res, r, 3, hash, sizeof hash) == HASH_BYTES &&
                  bytea_cell(res, r, 4, key, sizeof key) == KEY_BYTES &&
                  bytea_cell(res, r, 5, sig, sizeof sig) == SIG_BYTES &&
                  (!j->have_key || memcmp(key, j->expected_key, KEY_BYTES) == 0);
        if (ok) {
            message_of(db_int64(res, r, 2), hash, msg);
            ok = ed25519_verify(key, msg, sizeof msg, sig);
        }
        if (!ok && j->bad_signatures++ == 0)
            j->first_bad_checkpoint = (uint64_t)db_int64(res, r, 0);
    }
}

static void verify_done(server *srv) {
    if (srv->audit != NULL)
        srv->audit->verifying = false;
}

static void after_verify(uv_work_t *w, int status) {
    verify_job *j = w->data;
    request *req = j->req;
    verify_done(req->srv);
    if (status < 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__SHUTTING_DOWN, 0, "the server is shutting down");
    } else {
        Callfloor__AuditVerifyReply out = CALLFLOOR__AUDIT_VERIFY_REPLY__INIT;
        char problem[640];
        out.rows = j->rows;
        out.bad_id = j->bad_id;
        out.checkpoints = (uint32_t)PQntuples(j->checkpoints);
        out.bad_signatures = j->bad_signatures;
        if (j->problem[0] == '\0' && j->bad_signatures > 0)
            snprintf(problem, sizeof problem,
                     "checkpoint %llu is not signed by this server's audit key",
                     (unsigned long long)j->first_bad_checkpoint);
        else
            snprintf(problem, sizeof problem, "%s", j->problem);
        out.problem = problem;
        log_info("conn %s: %s verified the audit log: %llu rows, %s", conn_name(req->conn),
                 req->username, (unsigned long long)j->rows, problem[0] ? problem : "intact");
        envelope env = CALLFLOOR__ENVELOPE__INIT;
        env.body_case = CALLFLOOR__ENVELOPE__BODY_AUDIT_VERIFY_REPLY;
        env.audit_verify_reply = &out;
        request_reply(req, &env);
    }
    PQclear(j->checkpoints);
    free(j);
}

static void on_verified(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK) {
        verify_done(req->srv);
        request_fail_db(req, reply, "verifying the audit log");
        return;
    }
    verify_job *j = calloc(1, sizeof *j);
    PGresult *copy =
        j ? PQcopyResult(reply->results[1], PG_COPYRES_ATTRS | PG_COPYRES_TUPLES) : NULL;
    if (copy == NULL) {
        free(j);
        verify_done(req->srv);
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    const PGresult *verdict = reply->results[0];
    j->req = req;
    j->checkpoints = copy;
    j->rows = (uint64_t)db_int64(verdict, 0, 0);
    j->bad_id = (uint64_t)db_int64(verdict, 0, 1);
    snprintf(j->problem, sizeof j->problem, "%s", db_value(verdict, 0, 2));
    audit *a = req->srv->audit;
    if (a != NULL && a->key != NULL) {
        memcpy(j->expected_key, a->public_key, KEY_BYTES);
        j->have_key = true;
    }
    j->work.data = j;
    if (uv_queue_work(req->srv->loop, &j->work, verify_in_pool, after_verify) < 0)
        after_verify(&j->work, UV_ECANCELED);
}

void audit_on_verify(request *req) {
    audit *a = req->srv->audit;
    if (a != NULL && a->verifying) {
        request_fail(req, CALLFLOOR__ERROR_CODE__UNAVAILABLE, 5000,
                     "the audit log is being verified already; ask again in a moment");
        return;
    }
    db_txn *txn = request_begin(req);
    if (txn == NULL)
        return;
    if (a != NULL)
        a->verifying = true;
    db_txn_context(txn, "audit_limit", 0, NULL);
    db_txn_query(txn, "audit_verify", 0, NULL);
    db_txn_query(txn, "audit_checkpoint_list", 0, NULL);
    db_txn_commit(txn, on_verified, req);
}

/* ---- life ---- */

static int load_key(audit *a, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (f == NULL && errno == ENOENT) {
        log_warn("no audit signing key at %s: audit checkpoints are off; make one with "
                 "gen-audit-key.sh %s",
                 path, path);
        return 0;
    }
    if (f == NULL) {
        snprintf(err, errlen, "cannot read audit.signing_key %s: %s", path, strerror(errno));
        return -EINVAL;
    }
    a->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    size_t len = KEY_BYTES;
    if (a->key == NULL || EVP_PKEY_get_id(a->key) != EVP_PKEY_ED25519 ||
        EVP_PKEY_get_raw_public_key(a->key, a->public_key, &len) != 1 || len != KEY_BYTES) {
        snprintf(err, errlen, "audit.signing_key %s is not an Ed25519 private key in PEM", path);
        EVP_PKEY_free(a->key);
        a->key = NULL;
        ERR_clear_error();
        return -EINVAL;
    }
    return 0;
}

int audit_start(server *srv, char *err, size_t errlen) {
    audit *a = calloc(1, sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    a->srv = srv;
    int rc =
        srv->cfg.audit_signing_key[0] ? load_key(a, srv->cfg.audit_signing_key, err, errlen) : 0;
    if (rc < 0) {
        free(a);
        return rc;
    }
    srv->audit = a;
    uv_timer_init(srv->loop, &a->timer);
    a->timer.data = srv;
    if (a->key != NULL)
        uv_timer_start(&a->timer, on_checkpoint_timer, srv->cfg.audit_checkpoint_ms,
                       srv->cfg.audit_checkpoint_ms);
    return 0;
}

static void on_timer_closed(uv_handle_t *h) {
    audit *a = h->data;
    EVP_PKEY_free(a->key);
    free(a);
}

void audit_close(server *srv) {
    audit *a = srv->audit;
    if (a == NULL)
        return;
    srv->audit = NULL;
    a->timer.data = a;
    uv_close((uv_handle_t *)&a->timer, on_timer_closed);
}
