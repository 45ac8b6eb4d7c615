#include "score.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "label.h"
#include "listener.h"
#include "log.h"

#define CHECK_MS 1000 /* how often the end of the day is looked for */

typedef struct score_tier {
    int64_t team_id;
    uint32_t tier, applications;
} score_tier;

typedef struct pending_events {
    PGresult *res;
    int col;
} pending_events;

/* A growable list of ids, loaded a batch at a time. */
typedef struct id_list {
    int64_t *ids;
    size_t n, cap;
} id_list;

typedef struct score {
    server *srv;
    uv_timer_t timer;
    score_agent *agents;
    size_t n, cap;
    bool ready;
    bool rebuilding;
    bool stale; /* rebuild on the next tick: a target changed, or memory ran out */
    /* Events of outcomes committed while a rebuild runs: those it did not
     * count (an id above the highest it saw) are added once it is in. */
    pending_events *pending;
    size_t npending;
    /* What the last rebuild counted: every event up to counted_upto but
     * those in unseen (see score_rebuild). */
    int64_t counted_upto;
    int64_t *unseen;
    size_t nunseen;
    int64_t rebuild_at;             /* unix seconds: the end of the current day */
    int64_t month_start, month_end; /* unix seconds, for the projected tier */
    score_tier *tiers;              /* by team (0: teams without their own), then threshold */
    size_t ntiers;
    /* Events other daemons committed, announced by id (peers.c) and still
     * to be loaded; one load at a time. */
    id_list remote;
    bool fetching;
    /* Agents first seen in an event, whose targets are still to be loaded;
     * one load at a time. */
    id_list untargeted;
    bool targeting;
    void (*on_change)(server *srv, bool rebuilt);
} score;

/* Columns of both statements that give events or totals: user id, user
 * name, display name, team id, team name. */
#define WHO " u.id, u.username, u.display_name, coalesce(t.id, 0), coalesce(t.name, '')"

static const char *const statements[][2] = {
    /* Per agent and period: dials, connects, applications, approvals,
     * activations, talk time, points, the time of the last scoring event,
     * the highest event id counted, the month's target, QA-passed
     * applications, and the ids up to the highest this snapshot missed. */
    {"score_rebuild",
     "WITH b AS (SELECT date_trunc('day', now() AT TIME ZONE $1) AT TIME ZONE $1 AS d,"
     " date_trunc('week', now() AT TIME ZONE $1) AT TIME ZONE $1 AS w,"
     " date_trunc('month', now() AT TIME ZONE $1) AT TIME ZONE $1 AS m),"
     " p (period, since) AS (SELECT 0, d FROM b UNION ALL SELECT 1, w FROM b"
     " UNION ALL SELECT 2, m FROM b)"
     " SELECT" WHO ", p.period,"
     " count(*) FILTER (WHERE e.kind = 'dial'), count(*) FILTER (WHERE e.kind = 'connect'),"
     " count(*) FILTER (WHERE e.kind = 'application'),"
     " count(*) FILTER (WHERE e.kind = 'approved'), count(*) FILTER (WHERE e.kind = 'activated'),"
     " coalesce(sum(e.talk_seconds), 0), coalesce(sum(e.points), 0),"
     " coalesce((extract(epoch FROM max(e.at) FILTER (WHERE e.points <> 0)) * 1000000)::bigint, 0),"
     " (SELECT coalesce(max(id), 0) FROM score_events),"
     " coalesce((SELECT g.applications FROM targets g, b WHERE g.agent_id = u.id"
     " AND g.month = (b.m AT TIME ZONE $1)::date),"
     " (SELECT g.applications FROM targets g, b WHERE g.team_id = u.team_id"
     " AND g.month = (b.m AT TIME ZONE $1)::date), 0),"
     " count(*) FILTER (WHERE e.kind = 'qa_pass'),"
     /* Ids of the last thousand up to the highest that this snapshot does
      * not see: events of transactions still running, which their own
      * replies or announcements bring later (or rolled back). */
     " (SELECT coalesce(array_agg(g), '{}') FROM generate_series("
     " greatest((SELECT max(id) FROM score_events) - 999, 1), (SELECT max(id) FROM score_events)) g"
     " WHERE NOT EXISTS (SELECT 1 FROM score_events x WHERE x.id = g))::text"
     " FROM p JOIN score_events e ON e.at >= p.since JOIN users u ON u.id = e.agent_id"
     " LEFT JOIN teams t ON t.id = u.team_id GROUP BY u.id, t.id, p.period ORDER BY u.id"},
    {"score_rules_get",
     "SELECT r.connect_points, r.application_points, r.approved_points, r.activated_points,"
     " r.qa_fail_points, r.complaint_points FROM campaigns c, cf_scoring(c.id) r"
     " WHERE c.name = $1"},
    {"score_rules_set",
     "INSERT INTO scoring_rules (campaign_id, connect_points, application_points,"
     " approved_points, activated_points, qa_fail_points, complaint_points)"
     " SELECT id, $2, $3, $4, $5, $6, $7 FROM campaigns WHERE name = $1"
     " ON CONFLICT (campaign_id) DO UPDATE SET connect_points = EXCLUDED.connect_points,"
     " application_points = EXCLUDED.application_points,"
     " approved_points = EXCLUDED.approved_points, activated_points = EXCLUDED.activated_points,"
     " qa_fail_points = EXCLUDED.qa_fail_points, complaint_points = EXCLUDED.complaint_points,"
     " updated_at = now() RETURNING campaign_id"},
    {"score_target_agent",
     "INSERT INTO targets (agent_id, month, applications)"
     " SELECT id, to_date($2, 'YYYY-MM'), $3 FROM users WHERE username = $1 AND role = 'agent'"
     " ON CONFLICT (agent_id, month) WHERE agent_id IS NOT NULL"
     " DO UPDATE SET applications = EXCLUDED.applications RETURNING id"},
    {"score_target_team", "INSERT INTO targets (team_id, month, applications)"
                          " SELECT id, to_date($2, 'YYYY-MM'), $3 FROM teams WHERE name = $1"
                          " ON CONFLICT (team_id, month) WHERE team_id IS NOT NULL"
                          " DO UPDATE SET applications = EXCLUDED.applications RETURNING id"},
    {"score_day_end",
     "SELECT extract(epoch FROM (date_trunc('day', now() AT TIME ZONE $1) + interval '1 day')"
     " AT TIME ZONE $1)::bigint,"
     " extract(epoch FROM date_trunc('month', now() AT TIME ZONE $1) AT TIME ZONE $1)::bigint,"
     " extract(epoch FROM (date_trunc('month', now() AT TIME ZONE $1) + interval '1 month')"
     " AT TIME ZONE $1)::bigint"},
    {"score_qa_items", "SELECT code, label, weight, instant_fail FROM qa_items"
                       " ORDER BY weight DESC, code"},
    {"score_oversee_call",
     "SELECT cf_oversee($1, u.team_id, format('call %s by %s', k.id, u.username))"
     " FROM calls k JOIN users u ON u.id = k.agent_id WHERE k.id = $2"},
    {"score_qa_review",
     "SELECT review_id, score, passed, user_id, username, display_name, team_id, team, kind,"
     " points, talk_seconds, at_us, event_id FROM cf_qa_review($1, $2, $3::text[], $4)"},
    /* Another daemon's events, at each of its outcomes. Joined plainly,
     * the generic plan merge-joined them with every user up to the
     * highest agent id among them; OFFSET 0 keeps the sub-select from
     * being flattened, so each agent is read by key (migration 020 does
     * the same for an outcome's own events). */
    {"score_events_by_id",
     "SELECT" WHO ", e.kind, e.points, e.talk_seconds,"
     " (extract(epoch FROM e.at) * 1000000)::bigint, e.id"
     " FROM score_events e"
     " JOIN LATERAL (SELECT a.id, a.username, a.display_name, a.team_id FROM users a"
     " WHERE a.id = e.agent_id OFFSET 0) u ON true"
     " LEFT JOIN teams t ON t.id = u.team_id WHERE e.id = ANY ($1::bigint[]) ORDER BY e.id"},
    /* This month's target of each agent $2: theirs, else their team's (as
     * in score_rebuild). */
    {"score_targets",
     "WITH b AS (SELECT (date_trunc('month', now() AT TIME ZONE $1))::date AS m)"
     " SELECT u.id, coalesce((SELECT g.applications FROM targets g, b WHERE g.agent_id = u.id"
     " AND g.month = b.m),"
     " (SELECT g.applications FROM targets g, b WHERE g.team_id = u.team_id AND g.month = b.m), 0)"
     " FROM users u WHERE u.id = ANY ($2::bigint[])"},
    {"score_tiers", "SELECT coalesce(team_id, 0), tier, applications FROM bonus_tiers"
                    " ORDER BY 1, applications, tier"},
    {"score_tier_set",
     "INSERT INTO bonus_tiers (team_id, tier, applications)"
     " SELECT (SELECT id FROM teams WHERE name = $1), $2, $3"
     " WHERE $1 = '' OR EXISTS (SELECT 1 FROM teams WHERE name = $1)"
     " ON CONFLICT (team_id, tier) DO UPDATE SET applications = EXCLUDED.applications"
     " RETURNING tier"},
};

int score_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

static bool id_list_push(id_list *l, int64_t id) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        int64_t *grown = realloc(l->ids, cap * sizeof *grown);
        if (grown == NULL)
            return false;
        l->ids = grown;
        l->cap = cap;
    }
    l->ids[l->n++] = id;
    return true;
}

/* The agent of row `r` (columns WHO first), added if new; NULL on
 * out-of-memory. Names are refreshed: an agent may have been renamed.
 * `with_target`: the row is a rebuild's, which carries the agent's target;
 * an agent first seen in an event's row has none yet. */
static score_agent *agent_of_row(score *sc, const PGresult *res, int r, int col, bool with_target) {
    uint64_t id = (uint64_t)db_int64(res, r, col);
    score_agent *a = NULL;
    for (size_t i = 0; i < sc->n && a == NULL; i++)
        if (sc->agents[i].user_id == id)
            a = &sc->agents[i];
    if (a == NULL) {
        if (sc->n == sc->cap) {
            size_t cap = sc->cap ? sc->cap * 2 : 64;
            score_agent *grown = realloc(sc->agents, cap * sizeof *grown);
            if (grown == NULL)
                return NULL;
            sc->agents = grown;
            sc->cap = cap;
        }
        a = &sc->agents[sc->n++];
        memset(a, 0, sizeof *a);
        a->user_id = id;
        /* Its target is not known yet: it is loaded with the next batch
         * (fetch_targets), or by a whole rebuild without memory to list it. */
        if (sc->ready && !with_target && !id_list_push(&sc->untargeted, (int64_t)id))
            sc->stale = true;
    }
    snprintf(a->username, sizeof a->username, "%s", db_value(res, r, col + 1));
    snprintf(a->display_name, sizeof a->display_name, "%s", db_value(res, r, col + 2));
    a->team_id = db_int64(res, r, col + 3);
    snprintf(a->team, sizeof a->team, "%s", db_value(res, r, col + 4));
    return a;
}

static void changed(score *sc, bool rebuilt) {
    if (sc->on_change)
        sc->on_change(sc->srv, rebuilt);
}

/* ---- updates ---- */

bool score_totals_same(const score_totals *a, const score_totals *b) {
    return a->dials == b->dials && a->connects == b->connects &&
           a->applications == b->applications && a->approvals == b->approvals &&
           a->activations == b->activations && a->talk_seconds == b->talk_seconds &&
           a->qa_passed == b->qa_passed && a->points == b->points && a->reached_at == b->reached_at;
}

static void add_event(score_totals *t, const char *kind, int64_t points, uint32_t talk,
                      int64_t at) {
    if (strcmp(kind, "dial") == 0) {
        t->dials++;
        t->talk_seconds += talk;
    } else if (strcmp(kind, "connect") == 0) {
        t->connects++;
    } else if (strcmp(kind, "application") == 0) {
        t->applications++;
    } else if (strcmp(kind, "approved") == 0) {
        t->approvals++;
    } else if (strcmp(kind, "activated") == 0) {
        t->activations++;
    } else if (strcmp(kind, "qa_pass") == 0) {
        t->qa_passed++;
    }
    t->points += points;
    if (points != 0)
        t->reached_at = at;
}

/* True when the last rebuild counted event `id` already: its reply or
 * announcement may come after the rebuild's, over another connection. */
static bool counted_by_rebuild(const score *sc, int64_t id) {
    if (id > sc->counted_upto)
        return false;
    for (size_t i = 0; i < sc->nunseen; i++)
        if (sc->unseen[i] == id)
            return false;
    return true;
}

/* Adds the events of `res` (from column `col`) the last rebuild did not
 * count. */
static void add_events(score *sc, const PGresult *res, int col) {
    for (int r = 0; r < PQntuples(res); r++) {
        bool counted = counted_by_rebuild(sc, db_int64(res, r, col + 9));
        score_agent *a = counted ? NULL : agent_of_row(sc, res, r, col, false);
        if (a == NULL)
            continue;
        /* Events are committed now: they belong to every current period. */
        for (int p = 0; p < SCORE_PERIODS; p++)
            add_event(&a->totals[p], db_value(res, r, col + 5), db_int64(res, r, col + 6),
                      (uint32_t)db_int64(res, r, col + 7), db_int64(res, r, col + 8));
    }
}

static void fetch_targets(server *srv);

static void keep_pending(score *sc, const PGresult *res, int col) {
    pending_events *grown = realloc(sc->pending, (sc->npending + 1) * sizeof *grown);
    PGresult *copy = grown ? PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES) : NULL;
    if (grown != NULL)
        sc->pending = grown;
    if (copy == NULL) {
        log_warn("no memory to hold scores during a rebuild; the board is short until the next");
        return;
    }
    sc->pending[sc->npending++] = (pending_events){copy, col};
}

static void drop_pending(score *sc) {
    for (size_t i = 0; i < sc->npending; i++)
        PQclear(sc->pending[i].res);
    free(sc->pending);
    sc->pending = NULL;
    sc->npending = 0;
}

void score_apply_events(server *srv, const PGresult *res, int col) {
    score *sc = srv->score;
    if (sc == NULL || PQntuples(res) == 0)
        return;
    if (sc->rebuilding) {
        keep_pending(sc, res, col);
        return;
    }
    if (!sc->ready)
        return; /* the first rebuild, still to come, counts them */
    add_events(sc, res, col);
    changed(sc, false);
    fetch_targets(srv);
}

/* ---- rebuilding ---- */

static void load_tiers(score *sc, const PGresult *res) {
    size_t n = (size_t)PQntuples(res);
    score_tier *tiers = calloc(n + 1, sizeof *tiers);
    if (tiers == NULL)
        return; /* the tiers of the last rebuild stay */
    for (size_t i = 0; i < n; i++)
        tiers[i] = (score_tier){db_int64(res, (int)i, 0), (uint32_t)db_int64(res, (int)i, 1),
                                (uint32_t)db_int64(res, (int)i, 2)};
    free(sc->tiers);
    sc->tiers = tiers;
    sc->ntiers = n;
}

static void on_rebuilt(const db_reply *reply, void *arg) {
    server *srv = arg;
    score *sc = srv->score;
    if (sc == NULL)
        return;
    sc->rebuilding = false;
    if (reply->status != DB_OK) {
        /* The events held meanwhile are counted by the next attempt. */
        drop_pending(sc);
        sc->stale = true;
        log_warn("loading the scores failed (%s); trying again", reply->message);
        return;
    }
    const PGresult *res = reply->results[0];
    sc->n = 0;
    sc->untargeted.n = 0; /* the rebuild's rows carry every target */
    for (int r = 0; r < PQntuples(res); r++) {
        score_agent *a = agent_of_row(sc, res, r, 0, true);
        int period = (int)db_int64(res, r, 5);
        if (a == NULL || period < 0 || period >= SCORE_PERIODS)
            continue;
        score_totals *t = &a->totals[period];
        t->dials = (uint32_t)db_int64(res, r, 6);
        t->connects = (uint32_t)db_int64(res, r, 7);
        t->applications = (uint32_t)db_int64(res, r, 8);
        t->approvals = (uint32_t)db_int64(res, r, 9);
        t->activations = (uint32_t)db_int64(res, r, 10);
        t->talk_seconds = (uint32_t)db_int64(res, r, 11);
        t->points = db_int64(res, r, 12);
        t->reached_at = db_int64(res, r, 13);
        a->target = (uint32_t)db_int64(res, r, 15);
        t->qa_passed = (uint32_t)db_int64(res, r, 16);
    }
    sc->counted_upto = PQntuples(res) > 0 ? db_int64(res, 0, 14) : 0;
    free(sc->unseen);
    sc->unseen = db_parse_ids(PQntuples(res) > 0 ? db_value(res, 0, 17) : "", &sc->nunseen);
    /* Ready before the held events are added: an agent first seen in one
     * has no target yet, and is queued for fetch_targets. */
    sc->ready = true;
    for (size_t i = 0; i < sc->npending; i++)
        add_events(sc, sc->pending[i].res, sc->pending[i].col);
    drop_pending(sc);
    sc->rebuild_at = db_int64(reply->results[1], 0, 0);
    sc->month_start = db_int64(reply->results[1], 0, 1);
    sc->month_end = db_int64(reply->results[1], 0, 2);
    load_tiers(sc, reply->results[2]);
    log_info("scores loaded: %zu agents with results this month", sc->n);
    changed(sc, true);
    fetch_targets(srv);
}

static void rebuild(server *srv) {
    score *sc = srv->score;
    db_txn *txn = sc->rebuilding || srv->db == NULL ? NULL : db_txn_begin(srv->db);
    if (txn == NULL)
        return;
    const char *params[] = {srv->cfg.board_time_zone};
    db_txn_query(txn, "score_rebuild", 1, params);
    db_txn_query(txn, "score_day_end", 1, params);
    db_txn_query(txn, "score_tiers", 0, NULL);
    db_txn_mark_slow(txn); /* the month's score events */
    sc->rebuilding = true;
    sc->stale = false; /* what asks for a rebuild from now on needs another */
    db_txn_commit(txn, on_rebuilt, srv);
}

/* Until the first rebuild succeeded, and at the end of each day; only
 * with a database connection up, which at the start takes a moment (a
 * rebuild sent before would fail, and warn, for nothing). */
static void on_check(uv_timer_t *t) {
    server *srv = t->data;
    score *sc = srv->score;
    if (srv->db == NULL || !db_pool_available(srv->db))
        return;
    if (!sc->ready || sc->stale || time(NULL) >= sc->rebuild_at)
        rebuild(srv);
}

/* ---- targets of agents first seen in an event ---- */

static void on_targets(const db_reply *reply, void *arg) {
    server *srv = arg;
    score *sc = srv->score;
    if (sc == NULL)
        return;
    sc->targeting = false;
    if (reply->status != DB_OK) {
        log_warn("loading new agents' targets failed (%s); the board catches up by a rebuild",
                 reply->message);
        sc->stale = true;
        return;
    }
    const PGresult *res = reply->results[0];
    bool any = false;
    for (int r = 0; r < PQntuples(res); r++) {
        uint64_t id = (uint64_t)db_int64(res, r, 0);
        for (size_t i = 0; i < sc->n; i++) {
            if (sc->agents[i].user_id == id) {
                sc->agents[i].target = (uint32_t)db_int64(res, r, 1);
                any = true;
                break;
            }
        }
    }
    if (any)
        changed(sc, false);
    fetch_targets(srv);
}

/* Loads the targets of the agents first seen since the last load: a few
 * rows, where a rebuild would read the month's events again. */
static void fetch_targets(server *srv) {
    score *sc = srv->score;
    if (sc->targeting || sc->rebuilding || sc->untargeted.n == 0 || srv->db == NULL)
        return;
    char *array = db_id_array(sc->untargeted.ids, sc->untargeted.n);
    db_txn *txn = array ? db_txn_begin(srv->db) : NULL;
    if (txn == NULL) {
        free(array);
        sc->stale = true; /* out of memory: a rebuild loads them */
        sc->untargeted.n = 0;
        return;
    }
    const char *params[] = {srv->cfg.board_time_zone, array};
    db_txn_query(txn, "score_targets", 2, params);
    free(array);
    sc->untargeted.n = 0;
    sc->targeting = true;
    db_txn_commit(txn, on_targets, srv);
}

/* ---- other daemons' events ---- */

#define REMOTE_BATCH 1000

static void fetch_remote(server *srv);

static void on_remote_loaded(const db_reply *reply, void *arg) {
    server *srv = arg;
    score *sc = srv->score;
    if (sc == NULL)
        return;
    sc->fetching = false;
    if (reply->status == DB_OK) {
        score_apply_events(srv, reply->results[0], 0);
    } else {
        log_warn("loading other daemons' score events failed (%s); the board catches up by a "
                 "rebuild",
                 reply->message);
        sc->stale = true;
    }
    fetch_remote(srv);
}

static void fetch_remote(server *srv) {
    score *sc = srv->score;
    if (sc->fetching || sc->remote.n == 0 || srv->db == NULL)
        return;
    size_t n = sc->remote.n < REMOTE_BATCH ? sc->remote.n : REMOTE_BATCH;
    char *array = db_id_array(sc->remote.ids, n);
    db_txn *txn = array ? db_txn_begin(srv->db) : NULL;
    if (txn == NULL) {
        free(array);
        sc->stale = true; /* out of memory: a rebuild counts them */
        sc->remote.n = 0;
        return;
    }
    const char *params[] = {array};
    db_txn_query(txn, "score_events_by_id", 1, params);
    free(array);
    sc->remote.n -= n;
    memmove(sc->remote.ids, sc->remote.ids + n, sc->remote.n * sizeof *sc->remote.ids);
    sc->fetching = true;
    db_txn_commit(txn, on_remote_loaded, srv);
}

void score_on_remote_events(server *srv, const char *ids) {
    score *sc = srv->score;
    if (sc == NULL)
        return;
    size_t n;
    int64_t *parsed = db_parse_ids(ids, &n);
    for (size_t i = 0; i < n; i++) {
        if (!id_list_push(&sc->remote, parsed[i])) {
            sc->stale = true; /* out of memory: a rebuild counts them */
            break;
        }
    }
    if (parsed == NULL)
        sc->stale = true;
    free(parsed);
    fetch_remote(srv);
}

/* A first rebuild not sent yet will count what was announced. */
void score_catch_up(server *srv) {
    score *sc = srv->score;
    if (sc != NULL && (sc->ready || sc->rebuilding))
        sc->stale = true;
}

/* ---- life ---- */

int score_start(server *srv, void (*on_change)(server *srv, bool rebuilt)) {
    score *sc = calloc(1, sizeof *sc);
    if (sc == NULL)
        return -ENOMEM;
    sc->srv = srv;
    sc->on_change = on_change;
    srv->score = sc;
    uv_timer_init(srv->loop, &sc->timer);
    sc->timer.data = srv;
    uv_timer_start(&sc->timer, on_check, CHECK_MS / 10, CHECK_MS);
    return 0;
}

static void on_timer_closed(uv_handle_t *h) {
    score *sc = h->data;
    drop_pending(sc);
    free(sc->unseen);
    free(sc->remote.ids);
    free(sc->untargeted.ids);
    free(sc->tiers);
    free(sc->agents);
    free(sc);
}

void score_close(server *srv) {
    score *sc = srv->score;
    if (sc == NULL)
        return;
    srv->score = NULL;
    sc->timer.data = sc;
    uv_close((uv_handle_t *)&sc->timer, on_timer_closed);
}

bool score_ready(const server *srv) {
    return srv->score != NULL && srv->score->ready;
}

size_t score_count(const server *srv) {
    return srv->score ? srv->score->n : 0;
}

const score_agent *score_agent_at(const server *srv, size_t i) {
    return &srv->score->agents[i];
}

/* ---- tiers ---- */

static bool team_has_tiers(const score *sc, int64_t team_id) {
    for (size_t i = 0; i < sc->ntiers; i++)
        if (sc->tiers[i].team_id == team_id)
            return true;
    return false;
}

uint32_t score_tier_for(const server *srv, int64_t team_id, uint32_t applications) {
    const score *sc = srv->score;
    if (sc == NULL)
        return 0;
    int64_t which = team_has_tiers(sc, team_id) ? team_id : 0;
    uint32_t tier = 0;
    for (size_t i = 0; i < sc->ntiers; i++)
        if (sc->tiers[i].team_id == which && applications >= sc->tiers[i].applications &&
            sc->tiers[i].tier > tier)
            tier = sc->tiers[i].tier;
    return tier;
}

uint32_t score_month_projection(const server *srv, uint32_t applications) {
    const score *sc = srv->score;
    int64_t now = time(NULL);
    if (sc == NULL || sc->month_end <= sc->month_start || now <= sc->month_start)
        return applications;
    double done = (double)(now - sc->month_start) / (double)(sc->month_end - sc->month_start);
    /* A straight line from the month's start; the first hour says little. */
    if (done < 1.0 / (31 * 24))
        return applications;
    double projected = applications / (done < 1.0 ? done : 1.0);
    return projected > 1e6 ? 1000000u : (uint32_t)(projected + 0.5);
}

static void on_tier(const db_reply *reply, void *arg) {
    request *req = arg;
    const Callfloor__TierSet *t = req->msg->tier_set;
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "setting a bonus tier");
    } else if (PQntuples(reply->results[0]) == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0,
                     "no team named %s (callfloorctl team list shows them)", t->team);
    } else {
        log_info("conn %s: %s set bonus tier %u of %s at %u applications", conn_name(req->conn),
                 req->username, t->tier, *t->team ? t->team : "every team", t->applications);
        if (req->srv->score != NULL)
            req->srv->score->stale = true;
        request_ok(req);
    }
}

void score_on_tier_set(request *req) {
    const Callfloor__TierSet *t = req->msg->tier_set;
    if (t->tier < 1 || t->tier > 9 || t->applications < 1 || t->applications > 100000) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "a bonus tier is 1 to 9, reached at 1 to 100000 applications in a month");
        return;
    }
    char tier[8], count[16];
    snprintf(tier, sizeof tier, "%u", t->tier);
    snprintf(count, sizeof count, "%u", t->applications);
    const char *params[] = {t->team, tier, count};
    request_query(req, "score_tier_set", 3, params, on_tier, req);
}

/* ---- quality reviews ---- */

static void on_qa_items(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "listing the scorecard");
        return;
    }
    const PGresult *res = reply->results[0];
    int n = PQntuples(res);
    Callfloor__QaItem *items = calloc((size_t)n + 1, sizeof *items);
    Callfloor__QaItem **ptrs = calloc((size_t)n + 1, sizeof *ptrs);
    if (items == NULL || ptrs == NULL) {
        free(items);
        free(ptrs);
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        callfloor__qa_item__init(&items[i]);
        items[i].code = (char *)db_value(res, i, 0);
        items[i].label = (char *)db_value(res, i, 1);
        items[i].weight = (uint32_t)db_int64(res, i, 2);
        items[i].instant_fail = db_bool(res, i, 3);
        ptrs[i] = &items[i];
    }
    Callfloor__QaItemsReply r = CALLFLOOR__QA_ITEMS_REPLY__INIT;
    r.n_items = (size_t)n;
    r.items = ptrs;
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_QA_ITEMS_REPLY;
    out.qa_items_reply = &r;
    request_reply(req, &out);
    free(items);
    free(ptrs);
}

void score_on_qa_items(request *req) {
    request_query(req, "score_qa_items", 0, NULL, on_qa_items, req);
}

static void on_qa_review(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status == DB_E_QUERY && strcmp(reply->sqlstate, "CF404") == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0, "%s", reply->message);
        return;
    }
    if (reply->status == DB_E_QUERY && strcmp(reply->sqlstate, "CF400") == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0, "%s", reply->message);
        return;
    }
    if (reply->status == DB_E_QUERY && strcmp(reply->sqlstate, "CF409") == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__ALREADY_EXISTS, 0, "%s", reply->message);
        return;
    }
    if (reply->status != DB_OK || PQntuples(reply->results[0]) != 1) {
        request_fail_db(req, reply, "recording a review");
        return;
    }
    const PGresult *res = reply->results[0];
    score_apply_events(req->srv, res, 3);
    Callfloor__QaReviewReply r = CALLFLOOR__QA_REVIEW_REPLY__INIT;
    r.review_id = (uint64_t)db_int64(res, 0, 0);
    r.score = (uint32_t)db_int64(res, 0, 1);
    r.passed = db_bool(res, 0, 2);
    r.points = db_int64(res, 0, 9);
    log_info("conn %s: %s reviewed call %llu: %u points, %s", conn_name(req->conn), req->username,
             (unsigned long long)req->msg->qa_review->call_id, r.score,
             r.passed ? "passed" : "failed");
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_QA_REVIEW_REPLY;
    out.qa_review_reply = &r;
    request_reply(req, &out);
}

void score_on_qa_review(request *req) {
    const Callfloor__QaReview *q = req->msg->qa_review;
    bool ok = q->call_id != 0 && q->n_failed <= 16 && strlen(q->notes) <= 2000 &&
              (q->notes[0] == '\0' || label_valid(q->notes, 2000));
    for (size_t i = 0; ok && i < q->n_failed; i++)
        ok = label_valid(q->failed[i], 32);
    char array[16 * 70 + 3], id[24], reviewer[24];
    if (ok)
        ok = db_text_array(array, sizeof array, q->failed, q->n_failed);
    if (!ok) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "a review names an ended call, at most 16 failed scorecard items and notes "
                     "of one line");
        return;
    }
    snprintf(id, sizeof id, "%llu", (unsigned long long)q->call_id);
    snprintf(reviewer, sizeof reviewer, "%llu", (unsigned long long)req->user_id);
    const char *params[] = {id, reviewer, array, q->notes};
    request_query_overseen(req, "score_oversee_call", id, "score_qa_review", 4, params,
                           on_qa_review, req);
}

/* ---- scoring rules and targets ---- */

static void reply_rules(request *req, const char *campaign, const PGresult *res) {
    Callfloor__ScoringRules r = CALLFLOOR__SCORING_RULES__INIT;
    r.campaign = (char *)campaign;
    r.connect_points = (int32_t)db_int64(res, 0, 0);
    r.application_points = (int32_t)db_int64(res, 0, 1);
    r.approved_points = (int32_t)db_int64(res, 0, 2);
    r.activated_points = (int32_t)db_int64(res, 0, 3);
    r.qa_fail_points = (int32_t)db_int64(res, 0, 4);
    r.complaint_points = (int32_t)db_int64(res, 0, 5);
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_SCORING_RULES;
    out.scoring_rules = &r;
    request_reply(req, &out);
}

static void fail_no_campaign(request *req, const char *campaign) {
    request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0,
                 "no campaign named %s (callfloorctl campaign list shows them)", campaign);
}

static void on_rules(const db_reply *reply, void *arg) {
    request *req = arg;
    const char *campaign = req->msg->body_case == CALLFLOOR__ENVELOPE__BODY_SCORING_GET
                               ? req->msg->scoring_get->campaign
                               : req->msg->scoring_set->rules->campaign;
    const PGresult *res = reply->status == DB_OK ? reply->results[reply->nresults - 1] : NULL;
    if (reply->status == DB_E_QUERY && strcmp(reply->sqlstate, "23514") == 0)
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "points for a connect, an application, an approval and an activation are 0 "
                     "or more; penalties for a failed review and a complaint are 0 or less");
    else if (res == NULL)
        request_fail_db(req, reply, "reading scoring rules");
    else if (PQntuples(res) == 0)
        fail_no_campaign(req, campaign);
    else
        reply_rules(req, campaign, res);
}

void score_on_rules_get(request *req) {
    const char *params[] = {req->msg->scoring_get->campaign};
    request_query(req, "score_rules_get", 1, params, on_rules, req);
}

void score_on_rules_set(request *req) {
    const Callfloor__ScoringRules *r = req->msg->scoring_set->rules;
    if (r == NULL || r->campaign[0] == '\0') {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "scoring rules name their campaign");
        return;
    }
    char v[6][16];
    const int32_t points[6] = {r->connect_points,   r->application_points, r->approved_points,
                               r->activated_points, r->qa_fail_points,     r->complaint_points};
    for (int i = 0; i < 6; i++)
        snprintf(v[i], sizeof v[i], "%d", points[i]);
    const char *params[] = {r->campaign, v[0], v[1], v[2], v[3], v[4], v[5]};
    db_txn *txn = request_begin(req);
    if (txn == NULL)
        return;
    db_txn_query(txn, "score_rules_set", 7, params);
    db_txn_query(txn, "score_rules_get", 1, params);
    db_txn_commit(txn, on_rules, req);
}

static void on_target(const db_reply *reply, void *arg) {
    request *req = arg;
    const Callfloor__TargetSet *t = req->msg->target_set;
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "setting a target");
    } else if (PQntuples(reply->results[0]) == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0,
                     *t->agent ? "no agent named %s" : "no team named %s",
                     *t->agent ? t->agent : t->team);
    } else {
        log_info("conn %s: %s set the %s target of %s to %u applications", conn_name(req->conn),
                 req->username, t->month, *t->agent ? t->agent : t->team, t->applications);
        if (req->srv->score != NULL)
            req->srv->score->stale = true; /* the boards show targets */
        request_ok(req);
    }
}

static bool valid_month(const char *s) {
    return strlen(s) == 7 && strspn(s, "0123456789") == 4 && s[4] == '-' &&
           strspn(s + 5, "0123456789") == 2 &&
           ((s[5] == '0' && s[6] >= '1') || (s[5] == '1' && s[6] <= '2'));
}

void score_on_target_set(request *req) {
    const Callfloor__TargetSet *t = req->msg->target_set;
    if ((*t->agent == '\0') == (*t->team == '\0') || !valid_month(t->month) ||
        t->applications == 0 || t->applications > 100000) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "a target is for one agent or one team, for a month YYYY-MM, of 1 to "
                     "100000 applications");
        return;
    }
    char count[16];
    snprintf(count, sizeof count, "%u", t->applications);
    const char *params[] = {*t->agent ? t->agent : t->team, t->month, count};
    request_query(req, *t->agent ? "score_target_agent" : "score_target_team", 3, params, on_target,
                  req);
}
