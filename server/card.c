#include "card.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#define NS_PER_S     1000000000ull
#define STRINGIFY(x) #x
#define DECIMAL(x)   STRINGIFY(x)

struct lead_card {
    int64_t lead_id;
    uint64_t fresh_until_ns; /* uv_hrtime before which it may be shown */
    bool listed;
    char hmac_hex[CARD_HMAC_HEX_BYTES + 1];
    Callfloor__LeadOffer offer; /* its strings and arrays point into this allocation */
};

/* build() lays the history entries out after the card, their pointers
 * after them, then the products and theirs. */
_Static_assert(sizeof(lead_card) % _Alignof(Callfloor__CallHistoryEntry) == 0, "card layout");
_Static_assert(sizeof(Callfloor__CallHistoryEntry) % _Alignof(void *) == 0, "card layout");
_Static_assert(_Alignof(Callfloor__OfferedProduct) <= _Alignof(void *), "card layout");
_Static_assert(sizeof(Callfloor__OfferedProduct) % _Alignof(void *) == 0, "card layout");

/* Every statement takes the leads' ids as a bigint[] and returns their
 * rows in lead id order, so that one pass over the three results builds
 * every card. */
static const char *const statements[][2] = {
    /* The seconds left of the lead's calling window: until the window's
     * end time on the lead's local date, in the lead's zone; 0 outside the
     * window. Windows never span midnight (campaigns_window_check). */
    {"card_leads",
     "SELECT l.id, l.name, l.phone_masked, l.tier, l.age_band, l.income_band, l.spend_profile,"
     " l.travel_interest, l.score::text, c.name,"
     " coalesce(extract(epoch FROM l.callback_at)::bigint, 0),"
     " CASE WHEN cf_in_window(z.zone, c.window_start, c.window_end, c.days, now())"
     " THEN extract(epoch FROM ((now() AT TIME ZONE z.zone)::date + c.window_end)"
     " AT TIME ZONE z.zone - now())::bigint ELSE 0 END,"
     " encode(l.phone_hmac, 'hex'), EXISTS (SELECT 1 FROM dnc d WHERE d.phone_hmac = l.phone_hmac)"
     " FROM leads l JOIN campaigns c ON c.id = l.campaign_id,"
     " LATERAL (SELECT coalesce(l.time_zone, c.time_zone) AS zone) z"
     " WHERE l.id = ANY ($1::bigint[]) ORDER BY l.id"},
    {"card_history",
     "SELECT me.id, extract(epoch FROM k.started_at)::bigint, u.username, c.name,"
     " coalesce(k.disposition, ''), k.notes"
     " FROM leads me CROSS JOIN LATERAL (SELECT k.* FROM leads l JOIN calls k ON k.lead_id = l.id"
     " WHERE l.phone_hmac = me.phone_hmac ORDER BY k.started_at DESC, k.id DESC"
     " LIMIT " DECIMAL(CARD_HISTORY_MAX) ") k"
                                         " JOIN users u ON u.id = k.agent_id JOIN campaigns c ON "
                                         "c.id = k.campaign_id"
                                         " WHERE me.id = ANY ($1::bigint[]) ORDER BY me.id, "
                                         "k.started_at DESC, k.id DESC"},
    {"card_products",
     "SELECT l.id, p.code, p.name, p.kind, p.annual_fee::text, p.apr::text, p.disclosure,"
     " p.segments && ARRAY[l.age_band, l.spend_profile,"
     " CASE WHEN l.travel_interest THEN 'traveller' END,"
     " CASE WHEN l.income_band >= 6 THEN 'high-income' END]::text[] AS recommended"
     " FROM leads l JOIN campaign_products cp ON cp.campaign_id = l.campaign_id"
     " JOIN products p ON p.id = cp.product_id WHERE l.id = ANY ($1::bigint[])"
     " ORDER BY l.id, recommended DESC, p.code"},
};

_Static_assert(sizeof statements / sizeof statements[0] == CARD_READS,
               "CARD_READS counts the statements card_read adds");

int card_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

void card_read(db_txn *txn, const char *ids) {
    const char *params[] = {ids};
    for (size_t i = 0; i < CARD_READS; i++)
        db_txn_query(txn, statements[i][0], 1, params);
}

/* ---- building ---- */

/* The rows of one lead in a result ordered by lead id: [from, to). */
typedef struct rows {
    const PGresult *res;
    int from, to;
} rows;

/* Advances `*next` past the rows of lead `id` in `res` and returns them;
 * rows of leads before `id` (none, with the reads above) are skipped. */
static rows rows_of(const PGresult *res, int *next, int64_t id) {
    int n = PQntuples(res);
    while (*next < n && db_int64(res, *next, 0) < id)
        (*next)++;
    rows r = {res, *next, *next};
    while (r.to < n && db_int64(res, r.to, 0) == id)
        r.to++;
    *next = r.to;
    return r;
}

/* The bytes the cells of `r` take as C strings. */
static size_t text_bytes(rows r) {
    size_t bytes = 0;
    int cols = PQnfields(r.res);
    for (int row = r.from; row < r.to; row++)
        for (int col = 0; col < cols; col++)
            bytes += (size_t)PQgetlength(r.res, row, col) + 1;
    return bytes;
}

/* Copies cell (row, col) to the text area at `*cursor`. */
static char *keep(char **cursor, const PGresult *res, int row, int col) {
    const char *value = db_value(res, row, col);
    size_t len = strlen(value) + 1;
    char *out = memcpy(*cursor, value, len);
    *cursor += len;
    return out;
}

static void fill_lead(lead_card *card, rows lead, char **text) {
    const PGresult *res = lead.res;
    int r = lead.from;
    Callfloor__LeadOffer *o = &card->offer;
    card->lead_id = db_int64(res, r, 0);
    o->lead_id = (uint64_t)card->lead_id;
    o->name = keep(text, res, r, 1);
    o->phone_masked = keep(text, res, r, 2);
    o->tier = keep(text, res, r, 3);
    o->age_band = keep(text, res, r, 4);
    o->income_band = (uint32_t)db_int64(res, r, 5);
    o->spend_profile = keep(text, res, r, 6);
    o->travel_interest = db_bool(res, r, 7);
    o->score = keep(text, res, r, 8);
    o->campaign = keep(text, res, r, 9);
    o->callback_at = db_int64(res, r, 10);
    int64_t fresh_s = db_int64(res, r, 11);
    fresh_s = fresh_s < 0 ? 0 : fresh_s > CARD_FRESH_S ? CARD_FRESH_S : fresh_s;
    card->fresh_until_ns = uv_hrtime() + (uint64_t)fresh_s * NS_PER_S;
    snprintf(card->hmac_hex, sizeof card->hmac_hex, "%s", db_value(res, r, 12));
    card->listed = db_bool(res, r, 13);
}

static void fill_history(Callfloor__CallHistoryEntry *h, Callfloor__CallHistoryEntry **at,
                         rows calls, char **text) {
    for (int i = 0; i < calls.to - calls.from; i++) {
        int r = calls.from + i;
        callfloor__call_history_entry__init(&h[i]);
        h[i].at = db_int64(calls.res, r, 1);
        h[i].agent = keep(text, calls.res, r, 2);
        h[i].campaign = keep(text, calls.res, r, 3);
        h[i].disposition = keep(text, calls.res, r, 4);
        h[i].notes = keep(text, calls.res, r, 5);
        at[i] = &h[i];
    }
}

static void fill_products(Callfloor__OfferedProduct *p, Callfloor__OfferedProduct **at,
                          rows products, char **text) {
    for (int i = 0; i < products.to - products.from; i++) {
        int r = products.from + i;
        callfloor__offered_product__init(&p[i]);
        p[i].code = keep(text, products.res, r, 1);
        p[i].name = keep(text, products.res, r, 2);
        p[i].kind = keep(text, products.res, r, 3);
        p[i].annual_fee = keep(text, products.res, r, 4);
        p[i].apr = keep(text, products.res, r, 5);
        p[i].disclosure = keep(text, products.res, r, 6);
        p[i].recommended = db_bool(products.res, r, 7);
        at[i] = &p[i];
    }
}

/* One allocation: the card, its history entries and their pointers, its
 * products and theirs, then the text every string points into. */
static lead_card *build(rows lead, rows calls, rows products) {
    size_t nh = (size_t)(calls.to - calls.from), np = (size_t)(products.to - products.from);
    size_t history_at = sizeof(lead_card);
    size_t products_at = history_at + nh * (sizeof(Callfloor__CallHistoryEntry) + sizeof(void *));
    size_t text_at = products_at + np * (sizeof(Callfloor__OfferedProduct) + sizeof(void *));
    size_t size = text_at + text_bytes(lead) + text_bytes(calls) + text_bytes(products);
    unsigned char *block = malloc(size);
    if (block == NULL)
        return NULL;
    lead_card *card = (lead_card *)block;
    callfloor__lead_offer__init(&card->offer);
    Callfloor__CallHistoryEntry *h = (Callfloor__CallHistoryEntry *)(block + history_at);
    Callfloor__OfferedProduct *p = (Callfloor__OfferedProduct *)(block + products_at);
    char *text = (char *)block + text_at;
    fill_lead(card, lead, &text);
    fill_history(h, (Callfloor__CallHistoryEntry **)(h + nh), calls, &text);
    fill_products(p, (Callfloor__OfferedProduct **)(p + np), products, &text);
    card->offer.n_history = nh;
    card->offer.history = (Callfloor__CallHistoryEntry **)(h + nh);
    card->offer.n_products = np;
    card->offer.products = (Callfloor__OfferedProduct **)(p + np);
    return card;
}

lead_card **card_build_all(const db_reply *reply, int first, size_t *n) {
    *n = 0;
    if (reply->status != DB_OK || reply->nresults < first + CARD_READS)
        return NULL;
    const PGresult *leads = reply->results[first], *calls = reply->results[first + 1],
                   *products = reply->results[first + 2];
    int nleads = PQntuples(leads);
    lead_card **cards = nleads > 0 ? malloc((size_t)nleads * sizeof *cards) : NULL;
    if (cards == NULL)
        return NULL;
    int next_call = 0, next_product = 0;
    for (int r = 0; r < nleads; r++) {
        int64_t id = db_int64(leads, r, 0);
        rows lead = {leads, r, r + 1};
        lead_card *card =
            build(lead, rows_of(calls, &next_call, id), rows_of(products, &next_product, id));
        if (card != NULL)
            cards[(*n)++] = card;
    }
    if (*n == 0) {
        free(cards);
        return NULL;
    }
    return cards;
}

void card_free(lead_card *card) {
    free(card);
}

/* ---- using ---- */

int64_t card_lead_id(const lead_card *card) {
    return card->lead_id;
}

bool card_fresh(const lead_card *card) {
    return uv_hrtime() < card->fresh_until_ns;
}

bool card_listed(const lead_card *card) {
    return card->listed;
}

bool card_has_number(const lead_card *card, const char *hmac_hex) {
    return strcmp(card->hmac_hex, hmac_hex) == 0;
}

const Callfloor__LeadOffer *card_offer(const lead_card *card) {
    return &card->offer;
}
