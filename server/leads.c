#include "leads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "campaign.h"
#include "compliance.h"
#include "label.h"
#include "listener.h"
#include "log.h"
#include "phone.h"
#include "pii.h"
#include "vault.h"

#define NAME_MAX_BYTES  64
#define FIELD_MAX_BYTES 32
#define ID_MAX_BYTES    64
#define MAX_SCORE       9999.0
#define NCOLUMNS        13 /* the arrays of the insert, in its parameter order */

enum {
    COL_HMAC,
    COL_SEALED,
    COL_MASKED,
    COL_NAME,
    COL_TZ,
    COL_TIER,
    COL_AGE,
    COL_INCOME,
    COL_SPEND,
    COL_TRAVEL,
    COL_SCORE,
    COL_EXTERNAL,
    COL_LINE
};

static const char *const statements[][2] = {
    {"leads_import",
     "WITH c AS (SELECT id FROM campaigns WHERE name = $1),"
     " input AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[],"
     " $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],"
     " $13::text[], $14::int[]) AS t (h, s, m, lead_name, tz, tier, age, income, spend, travel,"
     " score, ext, line)),"
     " checked AS (SELECT input.*, decode(h, 'hex') AS hmac,"
     " (tz = '' OR tz IN (SELECT name FROM pg_timezone_names)) AS tz_ok,"
     " EXISTS (SELECT 1 FROM dnc d WHERE d.phone_hmac = decode(input.h, 'hex')) AS listed"
     " FROM input),"
     " ins AS (INSERT INTO leads (campaign_id, external_id, name, phone_hmac, phone_sealed,"
     " phone_masked, time_zone, tier, age_band, income_band, spend_profile, travel_interest,"
     " score) SELECT c.id, ext, lead_name, hmac, decode(s, 'hex'), m, nullif(tz, ''), tier, age,"
     " income::smallint, spend, travel::boolean, score::numeric FROM checked, c"
     " WHERE tz_ok AND NOT listed"
     " ON CONFLICT (campaign_id, phone_hmac) DO NOTHING RETURNING 1)"
     " SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM ins),"
     " (SELECT count(*) FROM checked WHERE tz_ok AND listed),"
     " coalesce((SELECT string_agg(line::text, ',' ORDER BY line) FROM checked WHERE NOT tz_ok),"
     " '')"},
    {"leads_why",
     "SELECT array_to_string(cf_lead_blockers(l.id, NULL, 0, $2::interval), E'\\n'), c.name,"
     " l.attempts, l.phone_masked,"
     " CASE WHEN l.lease_expires_at > now() THEN l.lease_owner ELSE '' END"
     " FROM leads l JOIN campaigns c ON c.id = l.campaign_id"
     " WHERE l.id = $1"},
};

int leads_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

/* ---- one row's fields ---- */

const char *leads_parse_tier(const char *s) {
    if (*s == '\0' || strcasecmp(s, "normal") == 0)
        return "normal";
    return strcasecmp(s, "vip") == 0 ? "vip" : NULL;
}

const char *leads_parse_flag(const char *s) {
    static const char *const yes[] = {"yes", "y", "true", "1", "是"};
    static const char *const no[] = {"", "no", "n", "false", "0", "否"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return "true";
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(s, no[i]) == 0)
            return "false";
    return NULL;
}

bool leads_valid_income_band(const char *s) {
    return *s == '\0' || (s[0] >= '0' && s[0] <= '9' && s[1] == '\0');
}

bool leads_valid_score(const char *s) {
    return *s == '\0' || (campaign_valid_decimal(s, 3) && strtod(s, NULL) <= MAX_SCORE);
}

static bool optional_label(const char *s, size_t max) {
    return *s == '\0' || label_valid(s, max);
}

static bool valid_zone_name(const char *s) {
    size_t len = strlen(s);
    return len <= FIELD_MAX_BYTES * 2 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") == len;
}

/* Why the row cannot be imported, or NULL. */
static const char *row_problem(const Callfloor__LeadRow *row) {
    if (!label_valid(row->name, NAME_MAX_BYTES))
        return "the name is empty, longer than 64 bytes or has control characters";
    if (!valid_zone_name(row->time_zone))
        return "the time zone is not an IANA name such as Asia/Shanghai";
    if (leads_parse_tier(row->tier) == NULL)
        return "the tier is normal or vip";
    if (!optional_label(row->age_band, FIELD_MAX_BYTES) ||
        !optional_label(row->spend_profile, FIELD_MAX_BYTES))
        return "a segment field is longer than 32 bytes or has control characters";
    if (!leads_valid_income_band(row->income_band))
        return "the income band is a digit from 0 to 9";
    if (leads_parse_flag(row->travel_interest) == NULL)
        return "travel interest is yes or no";
    if (!leads_valid_score(row->score))
        return "the score is a number from 0 to 9999 with at most three decimals";
    if (!optional_label(row->external_id, ID_MAX_BYTES))
        return "the external id is longer than 64 bytes or has control characters";
    return NULL;
}

/* ---- a batch ---- */

typedef struct lead_number {
    compliance_number number;
    char line[12];
} lead_number;

typedef struct lead_batch {
    uv_work_t work; /* checking and sealing the rows, in the thread pool */
    request *req;
    size_t count, valid;
    lead_number *numbers;
    char **columns[NCOLUMNS];
    Callfloor__LeadRejected *rejected;
    Callfloor__LeadRejected **rejected_ptrs;
    size_t nrejected;
    char *bad_zone_lines; /* from the database: "4,17" */
} lead_batch;

static void batch_free(lead_batch *b) {
    if (b->numbers)
        pii_wipe(b->numbers, sizeof *b->numbers * b->count);
    free(b->numbers);
    for (int c = 0; c < NCOLUMNS; c++)
        free(b->columns[c]);
    free(b->rejected);
    free(b->rejected_ptrs);
    free(b->bad_zone_lines);
    free(b);
}

static lead_batch *batch_new(request *req, size_t n) {
    lead_batch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->req = req;
    b->count = n;
    bool ok = (b->numbers = calloc(n + 1, sizeof *b->numbers)) != NULL &&
              (b->rejected = calloc(n + 1, sizeof *b->rejected)) != NULL &&
              (b->rejected_ptrs = calloc(n + 1, sizeof *b->rejected_ptrs)) != NULL;
    for (int c = 0; ok && c < NCOLUMNS; c++)
        ok = (b->columns[c] = calloc(n + 1, sizeof *b->columns[c])) != NULL;
    if (!ok) {
        batch_free(b);
        return NULL;
    }
    return b;
}

static void reject(lead_batch *b, uint32_t line, const char *reason) {
    Callfloor__LeadRejected *r = &b->rejected[b->nrejected];
    callfloor__lead_rejected__init(r);
    r->line = line;
    r->reason = (char *)reason;
    b->rejected_ptrs[b->nrejected++] = r;
}

static void add_row(lead_batch *b, const Callfloor__LeadRow *row, lead_number *n) {
    size_t i = b->valid++;
    const char *income = *row->income_band ? row->income_band : "0";
    const char *score = *row->score ? row->score : "0";
    snprintf(n->line, sizeof n->line, "%u", row->line);
    char *values[NCOLUMNS] = {
        [COL_HMAC] = n->number.hmac,
        [COL_SEALED] = n->number.sealed,
        [COL_MASKED] = n->number.masked,
        [COL_NAME] = row->name,
        [COL_TZ] = row->time_zone,
        [COL_TIER] = (char *)leads_parse_tier(row->tier),
        [COL_AGE] = row->age_band,
        [COL_INCOME] = (char *)income,
        [COL_SPEND] = row->spend_profile,
        [COL_TRAVEL] = (char *)leads_parse_flag(row->travel_interest),
        [COL_SCORE] = (char *)score,
        [COL_EXTERNAL] = row->external_id,
        [COL_LINE] = n->line,
    };
    for (int c = 0; c < NCOLUMNS; c++)
        b->columns[c][i] = values[c];
}

static void batch_sort(lead_batch *b, const Callfloor__LeadsImport *imp) {
    for (size_t i = 0; i < imp->n_rows; i++) {
        const Callfloor__LeadRow *row = imp->rows[i];
        lead_number *n = &b->numbers[i];
        const char *problem = row_problem(row);
        int rc =
            problem ? 0 : compliance_protect_number(b->req->srv->vault, row->phone, &n->number);
        if (rc < 0)
            problem = compliance_number_problem(rc);
        pii_wipe(row->phone, strlen(row->phone));
        if (problem != NULL)
            reject(b, row->line, problem);
        else
            add_row(b, row, n);
    }
}

/* The lines the database found with an unknown time zone. */
static void reject_bad_zones(lead_batch *b, const char *lines) {
    b->bad_zone_lines = strdup(lines);
    if (b->bad_zone_lines == NULL)
        return;
    char *save = NULL;
    for (char *tok = strtok_r(b->bad_zone_lines, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        reject(b, (uint32_t)strtoul(tok, NULL, 10),
               "unknown time zone; use an IANA name such as Asia/Shanghai");
}

static void on_imported(const db_reply *reply, void *arg) {
    lead_batch *b = arg;
    request *req = b->req;
    const PGresult *res = reply->status == DB_OK ? reply->results[0] : NULL;
    if (res == NULL) {
        request_fail_db(req, reply, "importing leads");
    } else if (db_int64(res, 0, 0) == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0,
                     "no campaign named %s (callfloorctl campaign list shows them)",
                     req->msg->leads_import->campaign);
    } else {
        size_t before = b->nrejected;
        reject_bad_zones(b, db_value(res, 0, 3));
        Callfloor__LeadsImportReply answer = CALLFLOOR__LEADS_IMPORT_REPLY__INIT;
        answer.imported = (uint32_t)db_int64(res, 0, 1);
        answer.suppressed = (uint32_t)db_int64(res, 0, 2);
        answer.duplicates =
            (uint32_t)(b->valid - (b->nrejected - before)) - answer.imported - answer.suppressed;
        answer.n_rejected = b->nrejected;
        answer.rejected = b->rejected_ptrs;
        log_info("conn %s: %s imported %u leads into %s (%u duplicates, %u suppressed, %zu "
                 "invalid)",
                 conn_name(req->conn), req->username, answer.imported,
                 req->msg->leads_import->campaign, answer.duplicates, answer.suppressed,
                 b->nrejected);
        envelope out = CALLFLOOR__ENVELOPE__INIT;
        out.body_case = CALLFLOOR__ENVELOPE__BODY_LEADS_IMPORT_REPLY;
        out.leads_import_reply = &answer;
        request_reply(req, &out);
    }
    batch_free(b);
}

/* The array literals of the insert; NULL on out-of-memory. */
static char **build_arrays(lead_batch *b) {
    char **arrays = calloc(NCOLUMNS, sizeof *arrays);
    for (int c = 0; arrays && c < NCOLUMNS; c++) {
        size_t cap = 3;
        for (size_t i = 0; i < b->valid; i++)
            cap += 2 * strlen(b->columns[c][i]) + 3;
        arrays[c] = malloc(cap);
        if (arrays[c] == NULL || !db_text_array(arrays[c], cap, b->columns[c], b->valid)) {
            for (int k = 0; k <= c; k++)
                free(arrays[k]);
            free(arrays);
            return NULL;
        }
    }
    return arrays;
}

static void batch_insert(lead_batch *b, const char *campaign) {
    char **arrays = build_arrays(b);
    db_txn *txn = arrays ? db_txn_begin(b->req->srv->db) : NULL;
    if (txn != NULL)
        request_actor(txn, b->req);
    if (txn == NULL) {
        request_fail(b->req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        batch_free(b);
    } else {
        const char *params[1 + NCOLUMNS] = {campaign};
        for (int c = 0; c < NCOLUMNS; c++)
            params[1 + c] = arrays[c];
        db_txn_query(txn, "leads_import", 1 + NCOLUMNS, params);
        db_txn_commit(txn, on_imported, b);
    }
    for (int c = 0; arrays && c < NCOLUMNS; c++) {
        pii_wipe(arrays[c], strlen(arrays[c]));
        free(arrays[c]);
    }
    free(arrays);
}

/* In the thread pool: the rows are checked, and the numbers normalised,
 * hashed and sealed (a few microseconds each, too much for the loop with
 * a thousand rows a batch). Nothing else touches the request meanwhile. */
static void sort_in_pool(uv_work_t *work) {
    lead_batch *b = work->data;
    batch_sort(b, b->req->msg->leads_import);
    vault_thread_done();
}

static void after_sort(uv_work_t *work, int status) {
    lead_batch *b = work->data;
    if (status < 0 || b->req->srv->db == NULL) {
        request_fail(b->req, CALLFLOOR__ERROR_CODE__SHUTTING_DOWN, 0,
                     "the server is shutting down; import the rest from line %u",
                     b->req->msg->leads_import->rows[0]->line);
        batch_free(b);
        return;
    }
    batch_insert(b, b->req->msg->leads_import->campaign);
}

void leads_on_import(request *req) {
    const Callfloor__LeadsImport *imp = req->msg->leads_import;
    if (imp->n_rows == 0 || imp->n_rows > LEADS_IMPORT_BATCH_MAX ||
        !label_valid(imp->campaign, NAME_MAX_BYTES)) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "an import batch names its campaign and has 1 to %d rows",
                     LEADS_IMPORT_BATCH_MAX);
        return;
    }
    if (req->srv->db == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__SHUTTING_DOWN, 0, "the server is shutting down");
        return;
    }
    lead_batch *b = batch_new(req, imp->n_rows);
    if (b == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    b->work.data = b;
    int rc = uv_queue_work(req->srv->loop, &b->work, sort_in_pool, after_sort);
    if (rc < 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0,
                     "the server cannot start the import: %s", uv_strerror(rc));
        batch_free(b);
    }
}

/* ---- why a lead is or is not dialable ---- */

static void on_why(const db_reply *reply, void *arg) {
    request *req = arg;
    uint64_t id = req->msg->lead_why->lead_id;
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "explaining a lead");
        return;
    }
    const PGresult *res = reply->results[0];
    if (PQntuples(res) != 1) {
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0, "there is no lead %llu",
                     (unsigned long long)id);
        return;
    }
    char *reasons = strdup(db_value(res, 0, 0));
    char *lines[32];
    size_t n = 0;
    char *save = NULL;
    for (char *tok = reasons ? strtok_r(reasons, "\n", &save) : NULL; tok && n < 32;
         tok = strtok_r(NULL, "\n", &save))
        lines[n++] = tok;
    Callfloor__LeadWhyReply r = CALLFLOOR__LEAD_WHY_REPLY__INIT;
    r.lead_id = id;
    r.campaign = (char *)db_value(res, 0, 1);
    r.dialable = n == 0 && reasons != NULL;
    r.n_reasons = n;
    r.reasons = lines;
    r.attempts = (uint32_t)db_int64(res, 0, 2);
    r.phone_masked = (char *)db_value(res, 0, 3);
    r.held_by = (char *)db_value(res, 0, 4);
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_LEAD_WHY_REPLY;
    out.lead_why_reply = &r;
    request_reply(req, &out);
    free(reasons);
}

void leads_on_why(request *req) {
    char id[24], grace[40];
    snprintf(id, sizeof id, "%llu", (unsigned long long)req->msg->lead_why->lead_id);
    snprintf(grace, sizeof grace, "%u milliseconds", req->srv->cfg.callback_grace_ms);
    const char *params[] = {id, grace};
    request_query(req, "leads_why", 2, params, on_why, req);
}
