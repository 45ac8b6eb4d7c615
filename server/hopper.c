#include "hopper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "board.h"
#include "floor.h"
#include "log.h"

#define TICK_MS 1000
/* A change to the campaigns reloads them at once (campaign.c for this daemon's
 * own, 018_campaign_notify.sql for the others'); this reload is the safety
 * net for any news that did not arrive. */
#define RELOAD_EVERY_TICK 30
/* A campaign no agent here asked for in this long has its hopper emptied,
 * so that agents of other daemons get its leads. */
#define WANTED_MS 60000
/* How often the eligible leads left in the database are counted for the
 * floor view. A count reads a campaign's whole open backlog (0.13 s for
 * 50,000 leads with 1,000 agents at work, more on a saturated floor), so
 * the next one waits COUNT_DUTY times as long as the last one took, at
 * least COUNT_INTERVAL_MS: counting takes at most a thirtieth of one
 * database CPU from the offers and outcomes. A count that took very long
 * (queued behind a report, or on a connection that broke) delays the next
 * one by COUNT_MAX_WAIT_MS at most, and a failed one by the least. */
#define COUNT_INTERVAL_MS 10000
#define COUNT_MAX_WAIT_MS 300000
#define COUNT_DUTY        30
#define NAME_BYTES        256
#define CLAIM_SIZE_MAX    1000 /* leads a claim grows to at most */

typedef struct campaign_hopper {
    int64_t id;
    char name[NAME_BYTES];
    int priority;
    bool paused;
    uint32_t offer_timeout_ms;
    int64_t *teams;
    size_t nteams;
    hopper_lead *leads;
    size_t n, cap;
    bool claiming;         /* a claim is in flight */
    bool starved;          /* ... and an agent found nothing to take meanwhile */
    size_t claim_size;     /* leads a claim tops the hopper up to; 0: queue.hopper_batch */
    bool dry_alerted;      /* supervisors were told it ran dry; cleared by new leads */
    uint64_t dry_until;    /* uv_now before which an empty claim is not retried */
    uint64_t wanted_until; /* uv_now until which agents here may want its leads */
    int64_t eligible;      /* open leads in the database one could claim now; -1: not counted */
} campaign_hopper;

typedef struct hopper {
    server *srv;
    uv_timer_t timer;
    campaign_hopper *campaigns;
    size_t ncampaigns;
    unsigned ticks;
    uint64_t renewed_at;
    bool loading;
    bool reload_wanted; /* load the campaigns again: changed during a load, or it failed */
    bool releasing;     /* freeing what an earlier run of this instance held */
    bool started;       /* ... done: claims may begin */
    bool claiming_callbacks;
    bool counting;
    uint64_t count_started; /* uv_now of the count in flight */
    uint64_t next_count;    /* uv_now before which no count starts */
    uint64_t cards_gen;     /* counts the times cards were forgotten */
    struct claim *reading;  /* claims whose leads' cards are being read */
    void (*on_leads)(server *srv);
} hopper;

/* Who may be claimed: the rules of cf_lead_blockers (server/sql/020_outcome_path.sql, first
 * written in 005_queue.sql, 012_open_calls.sql and 019_open_calls_by_lead.sql) inline, so that the
 * planner can use leads_queue_idx; the two must agree. They are in two parts: ELIGIBLE_LEAD needs
 * only the lead and its campaign, ELIGIBLE_LOCALLY also the time in the lead's zone. Over q, a lead
 * or a group of leads with the same zone (q.time_zone), attempts_day and attempts_today, and c, its
 * campaign. */
#define ELIGIBLE_LEAD                                                         \
    " q.status = 'open' AND NOT c.paused AND q.next_eligible_at <= now()"     \
    " AND (q.lease_expires_at IS NULL OR q.lease_expires_at < now())"         \
    " AND q.attempts < c.max_attempts"                                        \
    " AND NOT EXISTS (SELECT 1 FROM dnc d WHERE d.phone_hmac = q.phone_hmac)" \
    " AND NOT EXISTS (SELECT 1 FROM calls k WHERE k.lead_id = q.id"           \
    " AND k.disposition IS NULL)"
#define ELIGIBLE_LOCALLY                                                                  \
    " (q.attempts_day IS DISTINCT FROM"                                                   \
    " (now() AT TIME ZONE coalesce(q.time_zone, c.time_zone))::date"                      \
    " OR q.attempts_today < c.max_attempts_per_day)"                                      \
    " AND cf_in_window(coalesce(q.time_zone, c.time_zone), c.window_start, c.window_end," \
    " c.days, now())"
#define ELIGIBLE ELIGIBLE_LEAD " AND" ELIGIBLE_LOCALLY
#define CLAIMED                                                                               \
    " RETURNING l.id, l.campaign_id, l.tier = 'vip', l.score, coalesce(l.callback_owner, 0)," \
    " coalesce(extract(epoch FROM l.callback_at)::bigint, 0)"

static const char *const statements[][2] = {
    {"hopper_campaigns",
     "SELECT c.id, c.name, c.priority, c.paused,"
     " (extract(epoch FROM c.offer_timeout) * 1000)::bigint,"
     " coalesce(array_agg(ct.team_id) FILTER (WHERE ct.team_id IS NOT NULL), '{}')"
     " FROM campaigns c LEFT JOIN campaign_teams ct ON ct.campaign_id = c.id"
     " GROUP BY c.id ORDER BY c.id"},
    /* The best leads of one campaign. */
    /* The planner cannot know that most open leads are eligible, so it
     * would sort every one of a campaign's leads to take the first few;
     * walking leads_claim_order_idx in order stops after them instead (a
     * claim over 50,000 leads: 3 ms instead of 270 ms; docs/BENCHMARKS.md). */
    {"hopper_walk_in_order", "SELECT set_config('enable_sort', 'off', true)"},
    {"hopper_claim",
     "UPDATE leads l SET lease_owner = $1, lease_expires_at = now() + $2::interval"
     " WHERE l.id IN (SELECT q.id FROM leads q JOIN campaigns c ON c.id = q.campaign_id"
     " WHERE q.campaign_id = $4 AND" ELIGIBLE
     " ORDER BY (q.callback_owner IS NOT NULL) DESC, (q.tier = 'vip') DESC, q.score DESC,"
     " q.created_at, q.id LIMIT $3 FOR UPDATE OF q SKIP LOCKED)" CLAIMED},
    /* Callbacks that came due, in every campaign ($4) with agents here,
     * however full the hoppers: they go before everything else. */
    {"hopper_claim_callbacks",
     "UPDATE leads l SET lease_owner = $1, lease_expires_at = now() + $2::interval"
     " WHERE l.id IN (SELECT q.id FROM leads q JOIN campaigns c ON c.id = q.campaign_id"
     " WHERE q.callback_owner IS NOT NULL AND q.campaign_id = ANY ($4::bigint[]) AND" ELIGIBLE
     " ORDER BY q.next_eligible_at LIMIT $3 FOR UPDATE OF q SKIP LOCKED)" CLAIMED},
    /* Why a campaign has nothing to offer, counted by rule, for the alert. */
    {"hopper_dry_reason",
     "SELECT CASE WHEN count(*) = 0 THEN 'it has no open leads left'"
     " ELSE format('of its %s open leads, %s rest after a call, %s are outside calling hours or"
     " days, %s are at an attempt cap, %s are on the do-not-call list, %s are held by agents',"
     " count(*), count(*) FILTER (WHERE q.next_eligible_at > now()),"
     " count(*) FILTER (WHERE NOT cf_in_window(coalesce(q.time_zone, c.time_zone),"
     " c.window_start, c.window_end, c.days, now())),"
     " count(*) FILTER (WHERE q.attempts >= c.max_attempts OR (q.attempts_day ="
     " (now() AT TIME ZONE coalesce(q.time_zone, c.time_zone))::date"
     " AND q.attempts_today >= c.max_attempts_per_day)),"
     " count(*) FILTER (WHERE EXISTS (SELECT 1 FROM dnc d WHERE d.phone_hmac = q.phone_hmac)),"
     " count(*) FILTER (WHERE q.lease_expires_at > now())) END"
     " FROM leads q JOIN campaigns c ON c.id = q.campaign_id"
     " WHERE q.campaign_id = $1 AND q.status = 'open'"},
    /* The leads of the campaigns $1 that could be claimed now. The leads are
     * counted in groups first, and the rules that need the time in a zone
     * are applied to the groups: a few hundred time zone conversions
     * instead of four for every lead (50,000 leads with 1,000 agents at
     * work: 129 ms instead of 274 ms; docs/BENCHMARKS.md). */
    {"hopper_eligible_count",
     "SELECT q.campaign_id, sum(q.n)::bigint"
     " FROM (SELECT q.campaign_id, coalesce(q.time_zone, c.time_zone) AS time_zone,"
     " q.attempts_day, q.attempts_today, count(*) AS n"
     " FROM leads q JOIN campaigns c ON c.id = q.campaign_id"
     " WHERE q.campaign_id = ANY ($1::bigint[]) AND" ELIGIBLE_LEAD " GROUP BY 1, 2, 3, 4) q"
     " JOIN campaigns c ON c.id = q.campaign_id"
     " WHERE" ELIGIBLE_LOCALLY " GROUP BY q.campaign_id"},
    {"hopper_renew", "UPDATE leads SET lease_expires_at = now() + $2::interval"
                     " WHERE lease_owner = $1 AND id = ANY ($3::bigint[])"},
    /* Leases of this daemon that nothing here holds (a release that failed,
     * a claimed row dropped for want of memory) go back, unless granted in
     * the last half minute: a claim may be on its way back to the hopper. */
    {"hopper_release_stray",
     "UPDATE leads SET lease_owner = NULL, lease_expires_at = NULL"
     " WHERE lease_owner = $1 AND NOT (id = ANY ($3::bigint[]))"
     " AND lease_expires_at < now() + $2::interval - interval '30 seconds'"},
    {"hopper_release", "UPDATE leads SET lease_owner = NULL, lease_expires_at = NULL"
                       " WHERE lease_owner = $1 AND id = ANY ($2::bigint[])"},
    {"hopper_release_all", "UPDATE leads SET lease_owner = NULL, lease_expires_at = NULL"
                           " WHERE lease_owner = $1"},
};

int hopper_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

static void lease_ttl_text(const server *srv, char *out, size_t cap) {
    snprintf(out, cap, "%u milliseconds", srv->cfg.lease_ttl_ms);
}

static bool serves_team(const campaign_hopper *c, int64_t team_id) {
    for (size_t i = 0; i < c->nteams; i++)
        if (c->teams[i] == team_id)
            return true;
    return false;
}

static campaign_hopper *find_campaign(const hopper *h, int64_t id) {
    for (size_t i = 0; i < h->ncampaigns; i++)
        if (h->campaigns[i].id == id)
            return &h->campaigns[i];
    return NULL;
}

/* ---- releasing leases ---- */

static void on_released(const db_reply *reply, void *arg) {
    (void)arg;
    if (reply->status != DB_OK)
        log_warn("releasing leads failed (%s); their leases expire by themselves", reply->message);
}

/* Releases `n` leases in one statement. */
static void release_ids(server *srv, const int64_t *ids, size_t n) {
    if (n == 0 || srv->db == NULL)
        return;
    char *array = db_id_array(ids, n);
    if (array == NULL)
        return; /* the next renewal releases them as strays */
    db_txn *txn = db_txn_begin(srv->db);
    if (txn != NULL) {
        const char *params[] = {srv->instance_id, array};
        db_txn_query(txn, "hopper_release", 2, params);
        db_txn_commit(txn, on_released, NULL);
    }
    free(array);
}

void hopper_release(server *srv, int64_t lead_id) {
    release_ids(srv, &lead_id, 1);
}

/* Releases `n` leads and frees their cards. */
static void release_leads(server *srv, hopper_lead *leads, size_t n) {
    int64_t *ids = calloc(n + 1, sizeof *ids);
    if (ids != NULL) {
        for (size_t i = 0; i < n; i++)
            ids[i] = leads[i].id;
        release_ids(srv, ids, n);
    }
    free(ids);
    for (size_t i = 0; i < n; i++) {
        card_free(leads[i].card);
        leads[i].card = NULL;
    }
}

static void release_campaign(server *srv, campaign_hopper *c) {
    release_leads(srv, c->leads, c->n);
    c->n = 0;
}

/* Forgets the card of every lead in the hoppers whose number has HMAC
 * `hmac_hex`, or with NULL every card: the offers of those leads read them
 * again, with a check of the lead. The caller bumps cards_gen, so that
 * cards being read are not kept either. */
static void forget_cards(hopper *h, const char *hmac_hex) {
    for (size_t i = 0; i < h->ncampaigns; i++) {
        campaign_hopper *c = &h->campaigns[i];
        for (size_t k = 0; k < c->n; k++) {
            lead_card **card = &c->leads[k].card;
            if (*card != NULL && (hmac_hex == NULL || card_has_number(*card, hmac_hex))) {
                card_free(*card);
                *card = NULL;
            }
        }
    }
}

/* ---- claiming ---- */

/* A claim in flight: sent, then its leads waiting for their cards. */
typedef struct claim {
    server *srv;
    int64_t campaign_id; /* 0 for the callbacks of every campaign */
    uint64_t cards_gen;  /* h->cards_gen when it was sent */
    size_t limit;        /* the leads asked for */
    hopper_lead *leads;
    size_t n;
    struct claim *next; /* in h->reading while the cards are read */
} claim;

static bool ensure_room(campaign_hopper *c, size_t more) {
    if (c->n + more <= c->cap)
        return true;
    size_t cap = c->n + more;
    hopper_lead *leads = realloc(c->leads, cap * sizeof *leads);
    if (leads == NULL)
        return false;
    c->leads = leads;
    c->cap = cap;
    return true;
}

/* The claim's order: callbacks, VIP, score, oldest (ids grow with imports).
 * An UPDATE returns its rows in no particular order, so they are sorted. */
static int claim_order(const void *pa, const void *pb) {
    const hopper_lead *a = pa, *b = pb;
    if ((a->callback_owner != 0) != (b->callback_owner != 0))
        return a->callback_owner != 0 ? -1 : 1;
    if (a->vip != b->vip)
        return a->vip ? -1 : 1;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static bool in_hopper(const campaign_hopper *c, int64_t id) {
    for (size_t i = 0; i < c->n; i++)
        if (c->leads[i].id == id)
            return true;
    return false;
}

/* Adds claimed lead `l` to its campaign's hopper. Returns false when the
 * campaign is unknown yet or memory ran out (the lease then expires by
 * itself), or when the lead is here already: claimed again after its lease
 * lapsed (renewals failed for a while), it is in a hopper or with an
 * agent. */
static bool add_claimed(hopper *h, const hopper_lead *l) {
    campaign_hopper *c = find_campaign(h, l->campaign_id);
    if (c == NULL || in_hopper(c, l->id) || floor_holds_lead(h->srv, l->id) || !ensure_room(c, 1))
        return false;
    c->leads[c->n++] = *l;
    return true;
}

/* ---- a hopper running dry ---- */

static void on_dry_reason(const db_reply *reply, void *arg) {
    claim *cl = arg;
    server *srv = cl->srv;
    campaign_hopper *c = srv->hopper ? find_campaign(srv->hopper, cl->campaign_id) : NULL;
    free(cl);
    if (c != NULL && reply->status == DB_OK && PQntuples(reply->results[0]) == 1)
        board_alert_teams(srv, "hopper_dry", c->teams, c->nteams,
                          "campaign %s has no lead its agents may call now: %s", c->name,
                          db_value(reply->results[0], 0, 0));
}

/* Agents wait and the campaign has nothing: supervisors hear why, once
 * until leads come again. */
static void report_dry(server *srv, campaign_hopper *c) {
    if (c->dry_alerted || uv_now(srv->loop) >= c->wanted_until || srv->db == NULL)
        return;
    claim *cl = malloc(sizeof *cl);
    db_txn *txn = cl ? db_txn_begin(srv->db) : NULL;
    if (txn == NULL) {
        free(cl);
        return;
    }
    *cl = (claim){.srv = srv, .campaign_id = c->id};
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)c->id);
    const char *params[] = {id};
    db_txn_query(txn, "hopper_dry_reason", 1, params);
    c->dry_alerted = true;
    db_txn_commit(txn, on_dry_reason, cl);
}

/* A claim that comes back after the hopper closed (a drain) gives its
 * leads straight back, so that other daemons need not wait out the lease. */
static void release_claimed(server *srv, const PGresult *res) {
    int rows = PQntuples(res);
    int64_t *ids = malloc(((size_t)rows + 1) * sizeof *ids);
    if (ids == NULL)
        return; /* the leases expire by themselves */
    for (int r = 0; r < rows; r++)
        ids[r] = db_int64(res, r, 0);
    release_ids(srv, ids, (size_t)rows);
    free(ids);
}

/* The leads a claim tops `c` up to: queue.hopper_batch, or more after
 * claims agents waited for (adapt_claim_size). */
static size_t claim_size(const server *srv, const campaign_hopper *c) {
    size_t batch = (size_t)srv->cfg.hopper_batch;
    if (c->claim_size < batch)
        return batch;
    return c->claim_size > CLAIM_SIZE_MAX ? CLAIM_SIZE_MAX : c->claim_size;
}

typedef struct served_agents {
    const campaign_hopper *c;
    size_t n;
} served_agents;

static void count_served(uint64_t user_id, int64_t team_id, session *s, floor_standing *told,
                         void *arg) {
    (void)user_id, (void)s, (void)told;
    served_agents *sa = arg;
    if (serves_team(sa->c, team_id))
        sa->n++;
}

/* Sizes the next claim of `c` after one that brought `claimed` of the
 * `asked` leads. When a whole floor turns ready at once, or conversations
 * are short, one batch a round trip leaves agents waiting for leads the
 * database has: a claim that came back full while agents found the hopper
 * empty doubles the next. Any other shrinks it by a quarter. It never
 * passes the agents logged in here who work the campaign: more leads than
 * they can take in one round trip would only be held away from other
 * daemons. */
static void adapt_claim_size(server *srv, campaign_hopper *c, size_t claimed, size_t asked) {
    size_t size = claim_size(srv, c);
    size = c->starved && claimed == asked ? size * 2 : size - size / 4;
    served_agents sa = {.c = c};
    floor_each_desk(srv, count_served, &sa);
    c->claim_size = size < sa.n ? size : sa.n; /* claim_size keeps it at least one batch */
    c->starved = false;
}

/* The claim is over: its leads, with or without their cards, go into the
 * hoppers, and waiting agents are told. */
static void claim_done(claim *cl, bool claimed) {
    server *srv = cl->srv;
    hopper *h = srv->hopper;
    campaign_hopper *one = cl->campaign_id ? find_campaign(h, cl->campaign_id) : NULL;
    if (cl->campaign_id == 0)
        h->claiming_callbacks = false;
    else if (one != NULL) {
        one->claiming = false;
        if (claimed)
            adapt_claim_size(srv, one, cl->n, cl->limit);
    }
    if (cl->n == 0 && one != NULL) { /* nothing eligible: retry on a later tick */
        one->dry_until = uv_now(srv->loop) + TICK_MS;
        if (one->n == 0 && claimed)
            report_dry(srv, one);
    } else if (one != NULL) {
        one->dry_alerted = false;
    }
    for (size_t i = 0; i < cl->n; i++)
        if (!add_claimed(h, &cl->leads[i]))
            card_free(cl->leads[i].card);
    for (size_t i = 0; cl->n > 0 && i < h->ncampaigns; i++)
        if (h->campaigns[i].n > 1)
            qsort(h->campaigns[i].leads, h->campaigns[i].n, sizeof *h->campaigns[i].leads,
                  claim_order);
    if (cl->n > 0 && h->on_leads)
        h->on_leads(srv);
    free(cl->leads);
    free(cl);
}

/* Gives each card its lead in the claim. Cards of leads not in it, and of
 * numbers listed since the claim, are freed: their offers check them. */
static void attach_cards(claim *cl, lead_card **cards, size_t n) {
    for (size_t k = 0; k < n; k++) {
        hopper_lead *l = NULL;
        for (size_t i = 0; i < cl->n && l == NULL; i++)
            if (cl->leads[i].id == card_lead_id(cards[k]))
                l = &cl->leads[i];
        if (l != NULL && l->card == NULL && !card_listed(cards[k]))
            l->card = cards[k];
        else
            card_free(cards[k]);
    }
}

static void on_cards(const db_reply *reply, void *arg) {
    claim *cl = arg;
    hopper *h = cl->srv->hopper;
    if (h == NULL) { /* closed meanwhile: the leads go straight back */
        release_leads(cl->srv, cl->leads, cl->n);
        free(cl->leads);
        free(cl);
        return;
    }
    claim **link = &h->reading;
    while (*link != cl)
        link = &(*link)->next;
    *link = cl->next;
    if (reply->status != DB_OK)
        log_warn("reading the cards of %zu claimed leads failed (%s); each is read when offered",
                 cl->n, reply->message);
    /* Numbers listed or a campaign changed since the claim: the cards may
     * show leads that may no longer be called. */
    if (cl->cards_gen == h->cards_gen) {
        size_t n;
        lead_card **cards = card_build_all(reply, 0, &n);
        attach_cards(cl, cards, n);
        free(cards);
    }
    claim_done(cl, true);
}

/* Sends the read of the claimed leads' cards. Returns false when nothing
 * was sent. */
static bool read_cards(claim *cl) {
    int64_t *ids = malloc((cl->n + 1) * sizeof *ids);
    for (size_t i = 0; ids != NULL && i < cl->n; i++)
        ids[i] = cl->leads[i].id;
    char *array = ids && cl->n > 0 ? db_id_array(ids, cl->n) : NULL;
    db_txn *txn = array ? db_txn_begin(cl->srv->db) : NULL;
    free(ids);
    if (txn != NULL) {
        card_read(txn, array);
        db_txn_commit(txn, on_cards, cl);
        /* Its leases are renewed with the hoppers' meanwhile. */
        cl->next = cl->srv->hopper->reading;
        cl->srv->hopper->reading = cl;
    }
    free(array);
    return txn != NULL;
}

/* Copies the claimed rows into the claim. Returns false when memory ran
 * out (the leases then expire by themselves). */
static bool take_claimed(claim *cl, const PGresult *res) {
    int rows = PQntuples(res);
    cl->leads = calloc((size_t)rows + 1, sizeof *cl->leads);
    if (cl->leads == NULL)
        return false;
    for (int r = 0; r < rows; r++)
        cl->leads[r] = (hopper_lead){
            .id = db_int64(res, r, 0),
            .campaign_id = db_int64(res, r, 1),
            .vip = db_bool(res, r, 2),
            .score = strtod(db_value(res, r, 3), NULL),
            .callback_owner = (uint64_t)db_int64(res, r, 4),
            .callback_at = db_int64(res, r, 5),
        };
    cl->n = (size_t)rows;
    return true;
}

static void on_claimed(const db_reply *reply, void *arg) {
    claim *cl = arg;
    server *srv = cl->srv;
    if (srv->hopper == NULL) {
        if (reply->status == DB_OK)
            release_claimed(srv, reply->results[0]);
        free(cl);
        return;
    }
    if (reply->status != DB_OK)
        log_warn("claiming leads failed: %s", reply->message);
    bool claimed = reply->status == DB_OK && take_claimed(cl, reply->results[0]);
    if (!claimed || !read_cards(cl))
        claim_done(cl, claimed);
}

/* The campaigns agents here asked for leads from lately, as a bigint[]
 * parameter; NULL when none did (or out of memory). */
static char *wanted_campaigns(const server *srv) {
    const hopper *h = srv->hopper;
    int64_t *ids = malloc((h->ncampaigns + 1) * sizeof *ids);
    size_t n = 0;
    uint64_t now = uv_now(srv->loop);
    for (size_t i = 0; ids && i < h->ncampaigns; i++)
        if (now < h->campaigns[i].wanted_until)
            ids[n++] = h->campaigns[i].id;
    char *array = n > 0 ? db_id_array(ids, n) : NULL;
    free(ids);
    return array;
}

/* Submits one claim of at most `limit` leads: of campaign `campaign_id`, or
 * with 0 the due callbacks of all. Returns false when nothing was sent. */
static bool submit_claim(server *srv, int64_t campaign_id, size_t limit) {
    claim *cl = malloc(sizeof *cl);
    db_txn *txn = cl ? db_txn_begin(srv->db) : NULL;
    if (txn == NULL) {
        free(cl);
        return false;
    }
    *cl = (claim){.srv = srv,
                  .campaign_id = campaign_id,
                  .cards_gen = srv->hopper->cards_gen,
                  .limit = limit};
    char id[24], ttl[40], max[24];
    snprintf(id, sizeof id, "%lld", (long long)campaign_id);
    lease_ttl_text(srv, ttl, sizeof ttl);
    snprintf(max, sizeof max, "%zu", limit);
    char *wanted = campaign_id ? NULL : wanted_campaigns(srv);
    if (campaign_id == 0 && wanted == NULL) {
        db_txn_abort(txn);
        free(cl);
        return false;
    }
    const char *params[] = {srv->instance_id, ttl, max, campaign_id ? id : wanted};
    if (campaign_id != 0)
        db_txn_context(txn, "hopper_walk_in_order", 0, NULL);
    db_txn_query(txn, campaign_id ? "hopper_claim" : "hopper_claim_callbacks", 4, params);
    db_txn_commit(txn, on_claimed, cl);
    free(wanted);
    return true;
}

/* Claims leads for `c` unless it is full, paused, already claiming or
 * found dry a moment ago. */
static void maybe_claim(server *srv, campaign_hopper *c) {
    size_t size = claim_size(srv, c);
    uint64_t now = uv_now(srv->loop);
    if (!srv->hopper->started || c->paused || c->claiming || c->n > size / 2 || srv->db == NULL ||
        now < c->dry_until || now >= c->wanted_until)
        return;
    c->claiming = submit_claim(srv, c->id, size - c->n);
}

/* ---- taking ---- */

/* Whether `agent_id` may take `l` now: someone else's callback stays
 * theirs until the grace period after its time. */
static bool may_take(const server *srv, const hopper_lead *l, uint64_t agent_id, time_t now) {
    if (l->callback_owner == 0 || l->callback_owner == agent_id)
        return true;
    return now >= l->callback_at + (time_t)(srv->cfg.callback_grace_ms / 1000);
}

/* Is `a` (from campaign `ca`) a better next lead than `b` (from `cb`)? */
static bool better(const hopper_lead *a, const campaign_hopper *ca, const hopper_lead *b,
                   const campaign_hopper *cb) {
    if (a->vip != b->vip)
        return a->vip;
    if (ca->priority != cb->priority)
        return ca->priority > cb->priority;
    if (a->score != b->score)
        return a->score > b->score;
    return a->id < b->id;
}

/* Marks the campaigns of `team_id` as wanted and tops them up. `empty`:
 * an agent of the team found nothing to take, so the claims already in
 * flight for them were too small. */
static void want_leads(server *srv, int64_t team_id, bool empty) {
    hopper *h = srv->hopper;
    for (size_t k = 0; k < h->ncampaigns; k++) {
        campaign_hopper *c = &h->campaigns[k];
        if (c->paused || !serves_team(c, team_id))
            continue;
        c->wanted_until = uv_now(srv->loop) + WANTED_MS;
        if (empty && c->claiming)
            c->starved = true;
        maybe_claim(srv, c);
    }
}

bool hopper_take(server *srv, uint64_t agent_id, int64_t team_id, hopper_lead *out) {
    hopper *h = srv->hopper;
    if (h == NULL)
        return false;
    campaign_hopper *best_c = NULL;
    size_t best_i = 0;
    bool own_callback = false;
    time_t now = time(NULL);
    for (size_t k = 0; k < h->ncampaigns && !own_callback; k++) {
        campaign_hopper *c = &h->campaigns[k];
        if (c->paused || !serves_team(c, team_id))
            continue;
        for (size_t i = 0; i < c->n; i++) {
            const hopper_lead *l = &c->leads[i];
            if (!may_take(srv, l, agent_id, now))
                continue;
            own_callback = l->callback_owner == agent_id;
            if (own_callback || best_c == NULL || better(l, c, &best_c->leads[best_i], best_c)) {
                best_c = c;
                best_i = i;
            }
            if (own_callback || l->callback_owner == 0)
                break; /* the rest of this hopper is in worse order */
        }
    }
    if (best_c != NULL) {
        *out = best_c->leads[best_i];
        memmove(&best_c->leads[best_i], &best_c->leads[best_i + 1],
                (best_c->n - best_i - 1) * sizeof *best_c->leads);
        best_c->n--;
    }
    want_leads(srv, team_id, best_c == NULL);
    return best_c != NULL;
}

/* ---- campaigns ---- */

static void load_campaigns(server *srv);

/* Updates `c` from row `r` of the campaign list. */
static void load_campaign(server *srv, campaign_hopper *c, const PGresult *res, int r) {
    bool paused = db_bool(res, r, 3);
    if (paused && !c->paused && c->n > 0)
        release_campaign(srv, c);
    c->id = db_int64(res, r, 0);
    snprintf(c->name, sizeof c->name, "%s", db_value(res, r, 1));
    c->priority = (int)db_int64(res, r, 2);
    c->paused = paused;
    c->offer_timeout_ms = (uint32_t)db_int64(res, r, 4);
    size_t n;
    int64_t *teams = db_parse_ids(db_value(res, r, 5), &n);
    if (teams != NULL) {
        free(c->teams);
        c->teams = teams;
        c->nteams = n;
    }
}

static void on_campaigns(const db_reply *reply, void *arg) {
    server *srv = arg;
    hopper *h = srv->hopper;
    if (h == NULL)
        return;
    h->loading = false;
    if (reply->status != DB_OK) {
        h->reload_wanted = true; /* the next tick tries again */
        return;
    }
    const PGresult *res = reply->results[0];
    size_t rows = (size_t)PQntuples(res);
    /* Campaigns are never deleted, and come in id order: new ones are
     * appended and the existing ones keep their place and their leads. */
    if (rows > h->ncampaigns) {
        campaign_hopper *grown = realloc(h->campaigns, rows * sizeof *grown);
        if (grown == NULL) {
            h->reload_wanted = true; /* the next tick tries again */
            return;
        }
        memset(grown + h->ncampaigns, 0, (rows - h->ncampaigns) * sizeof *grown);
        for (size_t r = h->ncampaigns; r < rows; r++)
            grown[r].eligible = -1;
        h->campaigns = grown;
        h->ncampaigns = rows;
    }
    for (size_t r = 0; r < rows; r++)
        load_campaign(srv, &h->campaigns[r], res, (int)r);
    if (h->reload_wanted)
        load_campaigns(srv); /* what this load read may be older than the last change */
    if (h->on_leads)
        h->on_leads(srv); /* a campaign resumed or a team joined one */
}

/* Reads the campaigns and the teams working them; one load at a time, and
 * a load asked for while one is in flight follows it. */
static void load_campaigns(server *srv) {
    hopper *h = srv->hopper;
    if (srv->db == NULL)
        return;
    if (h->loading) {
        h->reload_wanted = true;
        return;
    }
    db_txn *txn = db_txn_begin(srv->db);
    if (txn == NULL) {
        h->reload_wanted = true;
        return;
    }
    db_txn_query(txn, "hopper_campaigns", 0, NULL);
    h->loading = true;
    h->reload_wanted = false;
    db_txn_commit(txn, on_campaigns, srv);
}

void hopper_campaigns_changed(server *srv) {
    hopper *h = srv->hopper;
    if (h == NULL)
        return;
    hopper_forget_cards(srv, NULL); /* their windows or calling days may have changed */
    if (h->started)
        load_campaigns(srv); /* before the start, the start loads them */
}

void hopper_forget_cards(server *srv, const char *hmacs) {
    hopper *h = srv->hopper;
    if (h == NULL)
        return;
    h->cards_gen++;
    if (hmacs == NULL) {
        forget_cards(h, NULL);
        return;
    }
    char hmac[CARD_HMAC_HEX_BYTES + 1];
    for (const char *at = hmacs; *at != '\0';) {
        size_t len = strcspn(at, " ");
        if (len == CARD_HMAC_HEX_BYTES) {
            memcpy(hmac, at, len);
            hmac[len] = '\0';
            forget_cards(h, hmac);
        }
        at += len + (at[len] == ' ');
    }
}

/* ---- the timer ---- */

static void on_renewed(const db_reply *reply, void *arg) {
    (void)arg;
    if (reply->status != DB_OK)
        log_warn("renewing this daemon's lead leases failed: %s", reply->message);
}

/* Every lead this daemon holds: in its hoppers or on their way there,
 * offered, on a call. */
static int64_t *held_leads(const server *srv, size_t *n) {
    const hopper *h = srv->hopper;
    size_t in_hoppers = 0;
    for (size_t i = 0; i < h->ncampaigns; i++)
        in_hoppers += h->campaigns[i].n;
    for (const claim *cl = h->reading; cl != NULL; cl = cl->next)
        in_hoppers += cl->n;
    size_t with_agents = floor_held_leads(srv, NULL, 0);
    int64_t *ids = malloc((in_hoppers + with_agents + 1) * sizeof *ids);
    *n = 0;
    if (ids == NULL)
        return NULL;
    for (size_t i = 0; i < h->ncampaigns; i++)
        for (size_t k = 0; k < h->campaigns[i].n; k++)
            ids[(*n)++] = h->campaigns[i].leads[k].id;
    for (const claim *cl = h->reading; cl != NULL; cl = cl->next)
        for (size_t k = 0; k < cl->n; k++)
            ids[(*n)++] = cl->leads[k].id;
    *n += floor_held_leads(srv, ids + *n, with_agents);
    return ids;
}

static void renew_leases(server *srv) {
    size_t n;
    int64_t *ids = held_leads(srv, &n);
    char *array = ids ? db_id_array(ids, n) : NULL;
    db_txn *txn = array ? db_txn_begin(srv->db) : NULL;
    free(ids);
    if (txn == NULL) {
        free(array);
        return;
    }
    char ttl[40];
    lease_ttl_text(srv, ttl, sizeof ttl);
    const char *params[] = {srv->instance_id, ttl, array};
    db_txn_query(txn, "hopper_renew", 3, params);
    db_txn_query(txn, "hopper_release_stray", 3, params);
    db_txn_commit(txn, on_renewed, NULL);
    free(array);
}

static void on_stale_released(const db_reply *reply, void *arg) {
    server *srv = arg;
    hopper *h = srv->hopper;
    if (h == NULL)
        return;
    h->releasing = false;
    h->started = reply->status == DB_OK;
    if (h->started)
        load_campaigns(srv);
}

/* What an earlier run of this instance held is in no one's memory now, so
 * it is released before this run claims anything. */
static void release_stale(server *srv) {
    hopper *h = srv->hopper;
    db_txn *txn = h->releasing ? NULL : db_txn_begin(srv->db);
    if (txn == NULL)
        return;
    const char *params[] = {srv->instance_id};
    db_txn_query(txn, "hopper_release_all", 1, params);
    h->releasing = true;
    db_txn_commit(txn, on_stale_released, srv);
}

/* ---- the eligible leads left, for supervisors ---- */

/* How long after a count that took `took_ms` the next one may start. */
static uint64_t count_wait_ms(uint64_t took_ms) {
    uint64_t wait = took_ms * COUNT_DUTY;
    if (wait < COUNT_INTERVAL_MS)
        return COUNT_INTERVAL_MS;
    return wait < COUNT_MAX_WAIT_MS ? wait : COUNT_MAX_WAIT_MS;
}

static void on_counted(const db_reply *reply, void *arg) {
    server *srv = arg;
    hopper *h = srv->hopper;
    if (h == NULL)
        return;
    h->counting = false;
    uint64_t now = uv_now(srv->loop);
    if (reply->status != DB_OK) {
        h->next_count = now + COUNT_INTERVAL_MS;
        log_warn("counting the eligible leads failed: %s", reply->message);
        return;
    }
    h->next_count = now + count_wait_ms(now - h->count_started);
    const PGresult *res = reply->results[0];
    bool changed = false;
    for (size_t i = 0; i < h->ncampaigns; i++) {
        campaign_hopper *c = &h->campaigns[i];
        int64_t n = now < c->wanted_until ? 0 : -1; /* a wanted campaign missing counts 0 */
        for (int r = 0; r < PQntuples(res); r++)
            if (db_int64(res, r, 0) == c->id)
                n = db_int64(res, r, 1);
        changed |= n != c->eligible;
        c->eligible = n;
    }
    if (changed)
        board_floor_changed(srv);
}

/* Counts, for the campaigns agents here work, the leads one could claim. */
static void count_eligible(server *srv) {
    hopper *h = srv->hopper;
    char *wanted = wanted_campaigns(srv);
    if (wanted == NULL) {
        /* Nobody here works a campaign: no count says anything now. */
        bool changed = false;
        for (size_t i = 0; i < h->ncampaigns; i++) {
            changed |= h->campaigns[i].eligible != -1;
            h->campaigns[i].eligible = -1;
        }
        if (changed)
            board_floor_changed(srv);
        return;
    }
    db_txn *txn = db_txn_begin(srv->db);
    if (txn == NULL) {
        free(wanted);
        return;
    }
    const char *params[] = {wanted};
    db_txn_query(txn, "hopper_eligible_count", 1, params);
    db_txn_mark_slow(txn); /* every open lead: 0.13 s for 50,000 */
    h->counting = true;
    h->count_started = uv_now(srv->loop);
    db_txn_commit(txn, on_counted, srv);
    free(wanted);
}

/* Campaigns nobody here wants any more give their leads back. */
static void release_unwanted(server *srv) {
    hopper *h = srv->hopper;
    uint64_t now = uv_now(srv->loop);
    for (size_t i = 0; i < h->ncampaigns; i++) {
        campaign_hopper *c = &h->campaigns[i];
        if (now < c->wanted_until)
            continue;
        c->claim_size = 0; /* whoever comes back starts at one batch */
        if (c->n > 0)
            release_campaign(srv, c);
    }
}

static void on_tick(uv_timer_t *t) {
    server *srv = t->data;
    hopper *h = srv->hopper;
    if (srv->db == NULL)
        return;
    if (!h->started) {
        release_stale(srv);
        return;
    }
    /* The start loaded them a tick ago. */
    if (++h->ticks % RELOAD_EVERY_TICK == 0 || h->reload_wanted)
        load_campaigns(srv);
    uint64_t now = uv_now(srv->loop);
    if (!h->counting && now >= h->next_count)
        count_eligible(srv);
    if (now - h->renewed_at >= srv->cfg.lease_ttl_ms / 3) {
        h->renewed_at = now;
        renew_leases(srv);
    }
    release_unwanted(srv);
    if (!h->claiming_callbacks)
        h->claiming_callbacks = submit_claim(srv, 0, (size_t)srv->cfg.hopper_batch);
    for (size_t i = 0; i < h->ncampaigns; i++)
        maybe_claim(srv, &h->campaigns[i]);
    /* Waiting agents may now take a callback whose owner's grace is over. */
    if (h->on_leads)
        h->on_leads(srv);
}

int hopper_start(server *srv, void (*on_leads)(server *srv)) {
    hopper *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -ENOMEM;
    h->srv = srv;
    h->on_leads = on_leads;
    h->renewed_at = uv_now(srv->loop);
    srv->hopper = h;
    uv_timer_init(srv->loop, &h->timer);
    h->timer.data = srv;
    uv_timer_start(&h->timer, on_tick, TICK_MS / 10, TICK_MS);
    return 0;
}

static void on_timer_closed(uv_handle_t *handle) {
    hopper *h = handle->data;
    for (size_t i = 0; i < h->ncampaigns; i++) {
        free(h->campaigns[i].leads);
        free(h->campaigns[i].teams);
    }
    free(h->campaigns);
    free(h);
}

void hopper_close(server *srv) {
    hopper *h = srv->hopper;
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->ncampaigns; i++)
        release_campaign(srv, &h->campaigns[i]);
    srv->hopper = NULL;
    h->timer.data = h;
    uv_close((uv_handle_t *)&h->timer, on_timer_closed);
}

/* ---- what others need to know ---- */

const char *hopper_campaign_name(const server *srv, int64_t campaign_id) {
    const campaign_hopper *c = srv->hopper ? find_campaign(srv->hopper, campaign_id) : NULL;
    return c ? c->name : "";
}

uint32_t hopper_offer_timeout_ms(const server *srv, int64_t campaign_id) {
    const campaign_hopper *c = srv->hopper ? find_campaign(srv->hopper, campaign_id) : NULL;
    return c ? c->offer_timeout_ms : 60000;
}

void hopper_each_campaign(const server *srv, void (*fn)(const hopper_campaign_stats *c, void *arg),
                          void *arg) {
    for (size_t i = 0; srv->hopper && i < srv->hopper->ncampaigns; i++) {
        const campaign_hopper *c = &srv->hopper->campaigns[i];
        hopper_campaign_stats stats = {
            .name = c->name,
            .depth = (unsigned)c->n,
            .eligible = c->eligible,
            .claim_size = (unsigned)claim_size(srv, c),
        };
        fn(&stats, arg);
    }
}

unsigned hopper_depth(const server *srv) {
    unsigned n = 0;
    for (size_t i = 0; srv->hopper && i < srv->hopper->ncampaigns; i++)
        n += (unsigned)srv->hopper->campaigns[i].n;
    return n;
}
