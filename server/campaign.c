#include "campaign.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hopper.h"
#include "label.h"
#include "listener.h"
#include "log.h"

#define CODE_MAX_LEN        32
#define NAME_MAX_LEN        128
#define CAMPAIGN_NAME_MAX   64
#define DISCLOSURE_MAX_LEN  8192
#define ARRAY_LITERAL_MAX   8192
#define MAX_LIST_ITEMS      64
#define DEFAULT_DAYS        127
#define DEFAULT_ATTEMPTS    6
#define DEFAULT_PER_DAY     2
#define DEFAULT_NO_ANSWER_S 7200
#define DEFAULT_BUSY_S      1800
#define DEFAULT_OFFER_S     60
#define MAX_INCOME_BAND     9
#define MAX_INTERVAL_S      (30 * 86400)

/* Separates list items in one text column; labels never contain it. */
#define LIST_SEPARATOR "\x1f"

static const char *const statements[][2] = {
    {"campaign_product_insert",
     "INSERT INTO products (code, name, kind, annual_fee, apr, disclosure, segments)"
     " VALUES ($1, $2, $3, $4::numeric, $5::numeric, $6, $7::text[]) RETURNING id"},
    {"campaign_product_list",
     "SELECT id, code, name, kind, annual_fee::text, apr::text, disclosure,"
     " array_to_string(segments, E'\\x1f') FROM products ORDER BY code"},
    {"campaign_require_products",
     "SELECT cf_refuse('CF404', 'no product with code ' || string_agg(x, ', ')"
     " || '; add it first with ''callfloorctl product add''')"
     " FROM unnest($1::text[]) AS x WHERE NOT EXISTS (SELECT 1 FROM products WHERE code = x)"
     " HAVING count(*) > 0"},
    {"campaign_require_teams",
     "SELECT cf_refuse('CF404', 'no team named ' || string_agg(x, ', ')"
     " || '; add it first with ''callfloorctl team add''')"
     " FROM unnest($1::text[]) AS x WHERE NOT EXISTS (SELECT 1 FROM teams WHERE name = x)"
     " HAVING count(*) > 0"},
    {"campaign_require_time_zone",
     "SELECT cf_refuse('CF400', 'unknown time zone ' || $1"
     " || '; use an IANA name such as Asia/Shanghai or Asia/Urumqi')"
     " WHERE NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)"},
    {"campaign_insert",
     "WITH c AS (INSERT INTO campaigns (name, window_start, window_end, days, time_zone,"
     " max_attempts, max_attempts_per_day, retry_no_answer, retry_busy, offer_timeout,"
     " min_income_band, priority) VALUES ($1, $2::time, $3::time, $4, $5, $6, $7,"
     " make_interval(secs => $8), make_interval(secs => $9), make_interval(secs => $10),"
     " $11, $12) RETURNING id, created_at),"
     " p AS (INSERT INTO campaign_products (campaign_id, product_id)"
     " SELECT c.id, pr.id FROM c, products pr WHERE pr.code = ANY ($13::text[])),"
     " t AS (INSERT INTO campaign_teams (campaign_id, team_id)"
     " SELECT c.id, tm.id FROM c, teams tm WHERE tm.name = ANY ($14::text[]))"
     " SELECT id, extract(epoch FROM created_at)::bigint FROM c"},
    {"campaign_select",
     "SELECT c.id, c.name, c.paused, to_char(c.window_start, 'HH24:MI'),"
     " to_char(c.window_end, 'HH24:MI'), c.days, c.time_zone, c.max_attempts,"
     " c.max_attempts_per_day, extract(epoch FROM c.retry_no_answer)::bigint,"
     " extract(epoch FROM c.retry_busy)::bigint, extract(epoch FROM c.offer_timeout)::bigint,"
     " c.min_income_band, c.priority, extract(epoch FROM c.created_at)::bigint,"
     " coalesce((SELECT string_agg(p.code, E'\\x1f' ORDER BY p.code) FROM campaign_products cp"
     " JOIN products p ON p.id = cp.product_id WHERE cp.campaign_id = c.id), ''),"
     " coalesce((SELECT string_agg(t.name, E'\\x1f' ORDER BY t.name) FROM campaign_teams ct"
     " JOIN teams t ON t.id = ct.team_id WHERE ct.campaign_id = c.id), '')"
     " FROM campaigns c WHERE $1 = '' OR c.name = $1 ORDER BY c.priority DESC, c.name"},
    {"campaign_set_paused", "UPDATE campaigns SET paused = $2 WHERE name = $1 RETURNING id"},
};

static const char *const product_kinds[] = {"standard", "cashback", "travel",
                                            "points",   "premium",  "student"};

int campaign_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

/* ---- validation ---- */

int campaign_parse_clock(const char *s) {
    if (strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int hours = (s[0] - '0') * 10 + (s[1] - '0');
    int minutes = (s[3] - '0') * 10 + (s[4] - '0');
    if (hours > 23 || minutes > 59)
        return -1;
    return hours * 60 + minutes;
}

bool campaign_valid_decimal(const char *s, int max_decimals) {
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits > 9)
        return false;
    if (s[digits] == '\0')
        return true;
    if (s[digits] != '.')
        return false;
    size_t decimals = strspn(s + digits + 1, "0123456789");
    return decimals >= 1 && decimals <= (size_t)max_decimals && s[digits + 1 + decimals] == '\0';
}

/* Labels never hold LIST_SEPARATOR, a control character. */
static bool valid_labels(char *const *items, size_t n, size_t max_len) {
    if (n > MAX_LIST_ITEMS)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!label_valid(items[i], max_len))
            return false;
    return true;
}

static bool valid_code(const char *s) {
    size_t len = strlen(s);
    return len > 0 && len <= CODE_MAX_LEN &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

static bool known_kind(const char *kind) {
    for (size_t i = 0; i < sizeof product_kinds / sizeof product_kinds[0]; i++)
        if (strcmp(kind, product_kinds[i]) == 0)
            return true;
    return false;
}

/* A refusal raised by cf_refuse() inside the transaction carries its own
 * sentence for the user; anything else is the database's problem. */
static void fail_db(request *req, const db_reply *reply, const char *what) {
    if (reply->status == DB_E_QUERY && strcmp(reply->sqlstate, "CF404") == 0)
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0, "%s", reply->message);
    else if (reply->status == DB_E_QUERY && strcmp(reply->sqlstate, "CF400") == 0)
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0, "%s", reply->message);
    else
        request_fail_db(req, reply, what);
}

/* Splits a LIST_SEPARATOR-joined column into `*items` (pointing into the
 * returned copy, which the caller frees). NULL on out-of-memory. */
static char *split_list(const char *joined, char ***items, size_t *n) {
    char *copy = strdup(joined);
    size_t count = joined[0] ? 1 : 0;
    for (const char *p = joined; *p; p++)
        count += *p == LIST_SEPARATOR[0];
    *items = calloc(count + 1, sizeof **items);
    if (copy == NULL || *items == NULL) {
        free(copy);
        free(*items);
        return NULL;
    }
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(copy, LIST_SEPARATOR, &save); tok != NULL;
         tok = strtok_r(NULL, LIST_SEPARATOR, &save))
        (*items)[(*n)++] = tok;
    return copy;
}

static void fail_nomem(request *req) {
    request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
}

/* ---- products ---- */

static const char *product_problem(const Callfloor__Product *p) {
    if (!valid_code(p->code))
        return "a product code is 1-32 letters, digits, '_' or '-', e.g. CB01";
    if (!label_valid(p->name, NAME_MAX_LEN))
        return "a product needs a name of at most 128 bytes without control characters";
    if (!known_kind(p->kind))
        return "the kind must be standard, cashback, travel, points, premium or student";
    if (!campaign_valid_decimal(p->annual_fee[0] ? p->annual_fee : "0", 2))
        return "the annual fee is yuan with at most two decimals, e.g. 0 or 300.00";
    if (!campaign_valid_decimal(p->apr, 3) || strtod(p->apr, NULL) > 100)
        return "the APR is a percentage between 0 and 100 with at most three decimals, e.g. "
               "18.25";
    if (strlen(p->disclosure) > DISCLOSURE_MAX_LEN)
        return "the disclosure text may have at most 8192 bytes";
    if (!valid_labels(p->segments, p->n_segments, NAME_MAX_LEN))
        return "segments are at most 64 labels of at most 128 bytes without control characters";
    return NULL;
}

static void on_product_inserted(const db_reply *reply, void *arg) {
    request *req = arg;
    Callfloor__Product *p = req->msg->product_add->product;
    if (reply->status != DB_OK) {
        if (db_is_unique_violation(reply))
            request_fail(req, CALLFLOOR__ERROR_CODE__ALREADY_EXISTS, 0,
                         "a product with code %s already exists", p->code);
        else
            fail_db(req, reply, "adding a product");
        return;
    }
    log_info("conn %s: %s added product %s", conn_name(req->conn), req->username, p->code);
    p->id = (uint64_t)db_int64(reply->results[0], 0, 0);
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_PRODUCT;
    out.product = p;
    request_reply(req, &out);
}

void campaign_on_product_add(request *req) {
    Callfloor__Product *p = req->msg->product_add->product;
    const char *problem = p == NULL ? "the request has no product" : product_problem(p);
    char segments[ARRAY_LITERAL_MAX];
    if (problem == NULL && !db_text_array(segments, sizeof segments, p->segments, p->n_segments))
        problem = "the segments are too long together";
    if (problem != NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0, "%s", problem);
        return;
    }
    const char *params[] = {p->code, p->name,       p->kind, p->annual_fee[0] ? p->annual_fee : "0",
                            p->apr,  p->disclosure, segments};
    request_query(req, "campaign_product_insert", 7, params, on_product_inserted, req);
}

static void on_product_list(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK) {
        fail_db(req, reply, "listing products");
        return;
    }
    const PGresult *res = reply->results[0];
    size_t n = (size_t)PQntuples(res);
    Callfloor__Product *rows = calloc(n + 1, sizeof *rows);
    Callfloor__Product **ptrs = calloc(n + 1, sizeof *ptrs);
    char **copies = calloc(n + 1, sizeof *copies);
    bool ok = rows && ptrs && copies;
    for (size_t i = 0; ok && i < n; i++) {
        Callfloor__Product *p = &rows[i];
        callfloor__product__init(p);
        p->id = (uint64_t)db_int64(res, (int)i, 0);
        p->code = (char *)db_value(res, (int)i, 1);
        p->name = (char *)db_value(res, (int)i, 2);
        p->kind = (char *)db_value(res, (int)i, 3);
        p->annual_fee = (char *)db_value(res, (int)i, 4);
        p->apr = (char *)db_value(res, (int)i, 5);
        p->disclosure = (char *)db_value(res, (int)i, 6);
        copies[i] = split_list(db_value(res, (int)i, 7), &p->segments, &p->n_segments);
        ok = copies[i] != NULL;
        ptrs[i] = p;
    }
    if (ok) {
        Callfloor__ProductListReply list = CALLFLOOR__PRODUCT_LIST_REPLY__INIT;
        list.n_products = n;
        list.products = ptrs;
        envelope out = CALLFLOOR__ENVELOPE__INIT;
        out.body_case = CALLFLOOR__ENVELOPE__BODY_PRODUCT_LIST_REPLY;
        out.product_list_reply = &list;
        request_reply(req, &out);
    } else {
        fail_nomem(req);
    }
    for (size_t i = 0; rows && copies && i < n; i++) {
        free(rows[i].segments);
        free(copies[i]);
    }
    free(copies);
    free(ptrs);
    free(rows);
}

void campaign_on_product_list(request *req) {
    request_query(req, "campaign_product_list", 0, NULL, on_product_list, req);
}

/* ---- campaigns ---- */

/* Zero or empty fields mean "the default" (see docs/PROTOCOL.md). */
static void apply_defaults(Callfloor__Campaign *c) {
    if (c->window_start[0] == '\0')
        c->window_start = "09:00";
    if (c->window_end[0] == '\0')
        c->window_end = "20:00";
    if (c->time_zone[0] == '\0')
        c->time_zone = "Asia/Shanghai";
    if (c->days == 0)
        c->days = DEFAULT_DAYS;
    if (c->max_attempts == 0)
        c->max_attempts = DEFAULT_ATTEMPTS;
    if (c->max_attempts_per_day == 0)
        c->max_attempts_per_day =
            c->max_attempts < DEFAULT_PER_DAY ? c->max_attempts : DEFAULT_PER_DAY;
    if (c->retry_no_answer_s == 0)
        c->retry_no_answer_s = DEFAULT_NO_ANSWER_S;
    if (c->retry_busy_s == 0)
        c->retry_busy_s = DEFAULT_BUSY_S;
    if (c->offer_timeout_s == 0)
        c->offer_timeout_s = DEFAULT_OFFER_S;
}

static const char *campaign_problem(const Callfloor__Campaign *c) {
    if (!label_valid(c->name, CAMPAIGN_NAME_MAX))
        return "a campaign name is 1-64 bytes without control characters";
    if (c->n_products == 0 || !valid_labels(c->products, c->n_products, CODE_MAX_LEN))
        return "a campaign sells at least one product: give its code (callfloorctl product list)";
    if (c->n_teams == 0 || !valid_labels(c->teams, c->n_teams, CAMPAIGN_NAME_MAX))
        return "a campaign is worked by at least one team: give its name (callfloorctl team list)";
    int start = campaign_parse_clock(c->window_start), end = campaign_parse_clock(c->window_end);
    if (start < 0 || end < 0 || start >= end)
        return "the calling window is HH:MM-HH:MM with the start before the end, e.g. "
               "09:00-20:00";
    if (c->days > DEFAULT_DAYS)
        return "the calling days are a set of weekdays (bits 0-6, Monday to Sunday)";
    if (!label_valid(c->time_zone, CAMPAIGN_NAME_MAX))
        return "the time zone is an IANA name such as Asia/Shanghai";
    if (c->max_attempts_per_day > c->max_attempts)
        return "the attempts per day cannot exceed the attempts in total";
    if (c->retry_no_answer_s > MAX_INTERVAL_S || c->retry_busy_s > MAX_INTERVAL_S ||
        c->offer_timeout_s > MAX_INTERVAL_S)
        return "retry intervals and the offer timeout are at most 30 days";
    if (c->min_income_band > MAX_INCOME_BAND)
        return "the minimum income band is 0 (no rule) to 9";
    return NULL;
}

typedef struct campaign_params {
    char products[ARRAY_LITERAL_MAX];
    char teams[ARRAY_LITERAL_MAX];
    char numbers[8][16];
} campaign_params;

/* A failed db_txn_query is reported by the commit's callback. */
static void queue_campaign_insert(db_txn *txn, const Callfloor__Campaign *c, campaign_params *p) {
    const uint32_t values[] = {
        c->days,         c->max_attempts,    c->max_attempts_per_day, c->retry_no_answer_s,
        c->retry_busy_s, c->offer_timeout_s, c->min_income_band};
    for (size_t i = 0; i < 7; i++)
        snprintf(p->numbers[i], sizeof p->numbers[i], "%" PRIu32, values[i]);
    snprintf(p->numbers[7], sizeof p->numbers[7], "%" PRId32, c->priority);
    const char *products[] = {p->products};
    const char *teams[] = {p->teams};
    const char *tz[] = {c->time_zone};
    const char *insert[] = {c->name,       c->window_start, c->window_end, p->numbers[0],
                            c->time_zone,  p->numbers[1],   p->numbers[2], p->numbers[3],
                            p->numbers[4], p->numbers[5],   p->numbers[6], p->numbers[7],
                            p->products,   p->teams};
    db_txn_query(txn, "campaign_require_products", 1, products);
    db_txn_query(txn, "campaign_require_teams", 1, teams);
    db_txn_query(txn, "campaign_require_time_zone", 1, tz);
    db_txn_query(txn, "campaign_insert", 14, insert);
}

/* The campaign as stored: the request's fields with the defaults filled in
 * (pointing into the request's message or at constants, which the message
 * must never own). */
typedef struct campaign_add_op {
    request *req;
    Callfloor__Campaign c;
} campaign_add_op;

static void on_campaign_inserted(const db_reply *reply, void *arg) {
    campaign_add_op *op = arg;
    request *req = op->req;
    Callfloor__Campaign *c = &op->c;
    if (reply->status != DB_OK) {
        if (db_is_unique_violation(reply))
            request_fail(req, CALLFLOOR__ERROR_CODE__ALREADY_EXISTS, 0,
                         "a campaign named %s already exists", c->name);
        else
            fail_db(req, reply, "adding a campaign");
        free(op);
        return;
    }
    const PGresult *res = reply->results[reply->nresults - 1];
    c->id = (uint64_t)db_int64(res, 0, 0);
    c->created_at = db_int64(res, 0, 1);
    log_info("conn %s: %s added campaign %s", conn_name(req->conn), req->username, c->name);
    /* The database tells the other daemons; a daemon does not hear itself. */
    hopper_campaigns_changed(req->srv);
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_CAMPAIGN;
    out.campaign = c;
    request_reply(req, &out);
    free(op);
}

/* Checks the campaign and builds its parameters; NULL after answering. */
static campaign_params *campaign_add_params(request *req, Callfloor__Campaign *c) {
    const char *problem = campaign_problem(c);
    campaign_params *params = problem == NULL ? malloc(sizeof *params) : NULL;
    if (problem == NULL && params == NULL) {
        fail_nomem(req);
        return NULL;
    }
    if (problem == NULL &&
        (!db_text_array(params->products, ARRAY_LITERAL_MAX, c->products, c->n_products) ||
         !db_text_array(params->teams, ARRAY_LITERAL_MAX, c->teams, c->n_teams)))
        problem = "the product or team lists are too long";
    if (problem != NULL) {
        free(params);
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0, "%s", problem);
        return NULL;
    }
    return params;
}

void campaign_on_add(request *req) {
    const Callfloor__Campaign *asked = req->msg->campaign_add->campaign;
    if (asked == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "the request has no campaign");
        return;
    }
    if (req->srv->db == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__SHUTTING_DOWN, 0, "the server is shutting down");
        return;
    }
    campaign_add_op *op = malloc(sizeof *op);
    db_txn *txn = op ? db_txn_begin(req->srv->db) : NULL;
    if (txn == NULL) {
        free(op);
        fail_nomem(req);
        return;
    }
    request_actor(txn, req);
    op->req = req;
    op->c = *asked;
    apply_defaults(&op->c);
    campaign_params *params = campaign_add_params(req, &op->c);
    if (params == NULL) {
        db_txn_abort(txn);
        free(op);
        return;
    }
    queue_campaign_insert(txn, &op->c, params);
    free(params); /* db_txn_query copied the parameters */
    db_txn_commit(txn, on_campaign_inserted, op);
}

/* One campaign_select row into `c`; the lists point into `*copies`. */
static bool campaign_from_row(const PGresult *res, int i, Callfloor__Campaign *c, char **copies) {
    callfloor__campaign__init(c);
    c->id = (uint64_t)db_int64(res, i, 0);
    c->name = (char *)db_value(res, i, 1);
    c->paused = db_bool(res, i, 2);
    c->window_start = (char *)db_value(res, i, 3);
    c->window_end = (char *)db_value(res, i, 4);
    c->days = (uint32_t)db_int64(res, i, 5);
    c->time_zone = (char *)db_value(res, i, 6);
    c->max_attempts = (uint32_t)db_int64(res, i, 7);
    c->max_attempts_per_day = (uint32_t)db_int64(res, i, 8);
    c->retry_no_answer_s = (uint32_t)db_int64(res, i, 9);
    c->retry_busy_s = (uint32_t)db_int64(res, i, 10);
    c->offer_timeout_s = (uint32_t)db_int64(res, i, 11);
    c->min_income_band = (uint32_t)db_int64(res, i, 12);
    c->priority = (int32_t)db_int64(res, i, 13);
    c->created_at = db_int64(res, i, 14);
    copies[0] = split_list(db_value(res, i, 15), &c->products, &c->n_products);
    copies[1] = split_list(db_value(res, i, 16), &c->teams, &c->n_teams);
    return copies[0] != NULL && copies[1] != NULL;
}

static void free_campaign_rows(Callfloor__Campaign *rows, char **copies, size_t n) {
    for (size_t i = 0; rows && copies && i < n; i++) {
        free(rows[i].products);
        free(rows[i].teams);
        free(copies[2 * i]);
        free(copies[2 * i + 1]);
    }
    free(copies);
    free(rows);
}

static void reply_campaigns(request *req, const PGresult *res, bool one) {
    size_t n = (size_t)PQntuples(res);
    Callfloor__Campaign *rows = calloc(n + 1, sizeof *rows);
    Callfloor__Campaign **ptrs = calloc(n + 1, sizeof *ptrs);
    char **copies = calloc(2 * n + 2, sizeof *copies);
    bool ok = rows && ptrs && copies;
    for (size_t i = 0; ok && i < n; i++) {
        ok = campaign_from_row(res, (int)i, &rows[i], &copies[2 * i]);
        ptrs[i] = &rows[i];
    }
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    Callfloor__CampaignListReply list = CALLFLOOR__CAMPAIGN_LIST_REPLY__INIT;
    if (!ok) {
        fail_nomem(req);
    } else if (one) {
        out.body_case = CALLFLOOR__ENVELOPE__BODY_CAMPAIGN;
        out.campaign = &rows[0];
        request_reply(req, &out);
    } else {
        list.n_campaigns = n;
        list.campaigns = ptrs;
        out.body_case = CALLFLOOR__ENVELOPE__BODY_CAMPAIGN_LIST_REPLY;
        out.campaign_list_reply = &list;
        request_reply(req, &out);
    }
    free(ptrs);
    free_campaign_rows(rows, copies, n);
}

static void on_campaign_list(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK)
        fail_db(req, reply, "listing campaigns");
    else
        reply_campaigns(req, reply->results[0], false);
}

void campaign_on_list(request *req) {
    const char *params[] = {""};
    request_query(req, "campaign_select", 1, params, on_campaign_list, req);
}

static void on_campaign_show(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK)
        fail_db(req, reply, "reading a campaign");
    else if (PQntuples(reply->results[0]) == 0)
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0,
                     "no campaign named %s (callfloorctl campaign list shows them)",
                     req->msg->campaign_show->name);
    else
        reply_campaigns(req, reply->results[0], true);
}

void campaign_on_show(request *req) {
    const char *name = req->msg->campaign_show->name;
    if (!label_valid(name, CAMPAIGN_NAME_MAX)) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0, "give a campaign name");
        return;
    }
    const char *params[] = {name};
    request_query(req, "campaign_select", 1, params, on_campaign_show, req);
}

static void on_paused_set(const db_reply *reply, void *arg) {
    request *req = arg;
    const Callfloor__CampaignSetPaused *sp = req->msg->campaign_set_paused;
    if (reply->status != DB_OK) {
        fail_db(req, reply, "pausing or resuming a campaign");
        return;
    }
    if (PQntuples(reply->results[0]) == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0,
                     "no campaign named %s (callfloorctl campaign list shows them)", sp->name);
        return;
    }
    log_info("conn %s: %s %s campaign %s", conn_name(req->conn), req->username,
             sp->paused ? "paused" : "resumed", sp->name);
    /* The database tells the other daemons; a daemon does not hear itself. */
    hopper_campaigns_changed(req->srv);
    request_ok(req);
}

void campaign_on_set_paused(request *req) {
    const Callfloor__CampaignSetPaused *sp = req->msg->campaign_set_paused;
    const char *params[] = {sp->name, sp->paused ? "true" : "false"};
    request_query(req, "campaign_set_paused", 2, params, on_paused_set, req);
}
