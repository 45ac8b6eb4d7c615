#include "board.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floor.h"
#include "hopper.h"
#include "label.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "score.h"

#define TEAM_MAX_BYTES 64
#define WATCH_MS       250
/* A walk sends at most this many subscribers their push in one turn of
 * the loop. Sent to 1,000 in one go, a push kept agents' offers waiting
 * (tests/bench/fanout.sh); in turns, the loop answers them in between,
 * and a change that comes meanwhile reaches the subscribers not yet
 * visited in the same walk (walk_step). */
#define PUSH_CHUNK 64

/* What a subscriber was last sent of one agent. */
typedef struct sent_row {
    uint64_t user_id;
    uint32_t rank;
    uint32_t target; /* loaded after the agent's first event (score.c) */
    score_totals totals;
} sent_row;

/* A board as a subscriber was last sent it, by user id. Subscribers to one
 * team and period who were sent the same board share one list, and so one
 * push: it is ranked, compared with the list and packed once for all of
 * them, however many watch (tests/bench/fanout.sh). */
typedef struct sent_list {
    unsigned refs;
    size_t n;
    sent_row rows[];
} sent_list;

typedef struct subscriber {
    session *s;
    int64_t team_id; /* 0: every team */
    char team[TEAM_MAX_BYTES + 1];
    int period;
    sent_list *sent;
    uint64_t board_gen; /* the board's board_gen when this subscriber was last sent it */
    uint64_t floor_gen; /* ... and floor_gen */
    struct subscriber *next;
} subscriber;

/* One board push of a team and period, packed once for the subscribers who
 * were sent the same board before it (for a whole board, for all of its
 * subscribers). */
typedef struct board_push {
    int64_t team_id;
    char team[TEAM_MAX_BYTES + 1]; /* as its first subscriber knew it */
    int period;
    sent_list *before; /* held, so that no list made in the round reuses its address */
    sent_list *after;
    buf frame; /* empty: nothing changed */
} board_push;

/* One floor of a team, packed once for its subscribers. */
typedef struct floor_push {
    int64_t team_id;
    buf frame;
} floor_push;

/* The pushes packed for the scores and states of generations board_gen
 * and floor_gen; each array has room for one per subscriber. */
typedef struct push_round {
    board_push *boards;
    size_t nboards;
    floor_push *floors;
    size_t nfloors;
    uint64_t board_gen;
    uint64_t floor_gen;
    buf out; /* what one subscriber is sent */
} push_round;

/* A change bumps a generation; a subscriber is owed a push while the
 * generations it was sent are behind. A walk visits the subscribers in
 * order, a chunk a loop turn, and sends each what it is owed as of that
 * moment; one who was visited before a change gets it in the next walk. */
struct board {
    server *srv;
    subscriber *subs;
    uv_timer_t timer;         /* the next walk, board.interval after the last began */
    uv_idle_t walking;        /* a walk goes on (on_walk) */
    uv_timer_t watch;         /* long pauses, desks behind (on_watch) */
    subscriber *cursor;       /* the walk's next subscriber; NULL: the walk is over */
    push_round round;         /* the walk's pushes, repacked after a change */
    uint64_t board_gen;       /* bumped when the scores change */
    uint64_t whole_gen;       /* board_gen as of a change that may remove rows */
    uint64_t floor_gen;       /* bumped when an agent's state changes */
    uint64_t told_gen;        /* board_gen when the desks were last told */
    bool desks_due;           /* a desk opened and was not told its standing yet */
    bool desks_behind;        /* some desk's rank changed and it was not told yet */
    bool retry;               /* a push could not be packed (out of memory) */
    int open_handles;         /* while closing: the handles whose close callback is due */
    uint64_t changed_ns;      /* uv_hrtime of the first change no walk began with; 0: none */
    uint64_t walk_changed_ns; /* ... the walk under way began with */
    uint64_t pushed_ns;       /* uv_hrtime of the last walk's beginning */
};

static void on_push_timer(uv_timer_t *t);

static const char *const statements[][2] = {
    /* The team a subscription names ($1; for a supervisor, "" is their
     * own), whether the subscriber ($2) may watch it, their own team's
     * name and its name. Supervisors watch their own team only; admins
     * every team. */
    {"board_team",
     "SELECT t.id, u.role <> 'supervisor' OR t.id = u.team_id, coalesce(own.name, ''),"
     " t.name"
     " FROM users u LEFT JOIN teams own ON own.id = u.team_id"
     " LEFT JOIN teams t ON t.name = $1 OR ($1 = '' AND t.id = u.team_id)"
     " WHERE u.id = $2"},
};

int board_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

/* ---- ranking ---- */

typedef struct ranked {
    const score_agent *a;
    const score_totals *t;
} ranked;

static int rank_order(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->t->points != b->t->points)
        return a->t->points > b->t->points ? -1 : 1;
    if (a->t->applications != b->t->applications)
        return a->t->applications > b->t->applications ? -1 : 1;
    /* Whoever got there first; an agent who never scored comes after. */
    int64_t ra = a->t->reached_at ? a->t->reached_at : INT64_MAX;
    int64_t rb = b->t->reached_at ? b->t->reached_at : INT64_MAX;
    if (ra != rb)
        return ra < rb ? -1 : 1;
    return strcmp(a->a->username, b->a->username);
}

static bool active(const score_totals *t) {
    return t->dials || t->points || t->connects || t->applications;
}

/* The subscriber's board in rank order; the caller frees it. */
static ranked *rank_board(const server *srv, const subscriber *sub, size_t *n) {
    size_t total = score_count(srv);
    ranked *rows = calloc(total + 1, sizeof *rows);
    *n = 0;
    if (rows == NULL)
        return NULL;
    for (size_t i = 0; i < total; i++) {
        const score_agent *a = score_agent_at(srv, i);
        const score_totals *t = &a->totals[sub->period];
        if ((sub->team_id == 0 || a->team_id == sub->team_id) && active(t))
            rows[(*n)++] = (ranked){a, t};
    }
    qsort(rows, *n, sizeof *rows, rank_order);
    return rows;
}

/* ---- sending ---- */

static void fill_row(const server *srv, Callfloor__BoardRow *row, const ranked *r, uint32_t rank) {
    callfloor__board_row__init(row);
    row->rank = rank;
    row->agent = (char *)r->a->username;
    row->display_name = (char *)r->a->display_name;
    row->team = (char *)r->a->team;
    row->points = r->t->points;
    row->dials = r->t->dials;
    row->connects = r->t->connects;
    row->applications = r->t->applications;
    row->approvals = r->t->approvals;
    row->activations = r->t->activations;
    row->talk_seconds = r->t->talk_seconds;
    row->qa_passed = r->t->qa_passed;
    row->target = r->a->target;
    uint32_t month = r->a->totals[SCORE_MONTH].qa_passed;
    row->tier = score_tier_for(srv, r->a->team_id, month);
    row->projected_tier = score_tier_for(srv, r->a->team_id, score_month_projection(srv, month));
}

static sent_list *sent_list_ref(sent_list *l) {
    l->refs++;
    return l;
}

static void sent_list_unref(sent_list *l) {
    if (l != NULL && --l->refs == 0)
        free(l);
}

static int by_user_id(const void *pa, const void *pb) {
    const sent_row *a = pa, *b = pb;
    return a->user_id < b->user_id ? -1 : a->user_id > b->user_id;
}

static const sent_row *find_sent(const sent_list *l, uint64_t user_id) {
    const sent_row key = {.user_id = user_id};
    return l == NULL ? NULL : bsearch(&key, l->rows, l->n, sizeof key, by_user_id);
}

static bool sent_same(const sent_list *a, const sent_list *b) {
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->rows[i].user_id != b->rows[i].user_id || a->rows[i].rank != b->rows[i].rank ||
            !score_totals_same(&a->rows[i].totals, &b->rows[i].totals))
            return false;
    return true;
}

/* Builds the Board of `sub`'s team and period into `out`: the rows that
 * differ from `before`, or all of them when `before` is NULL; `*after` is
 * then the board as sent. Returns the number of rows, or -ENOMEM. */
static int build_board(const server *srv, const subscriber *sub, const sent_list *before,
                       Callfloor__Board *out, Callfloor__BoardRow **rows,
                       Callfloor__BoardRow ***ptrs, sent_list **after) {
    size_t n;
    ranked *r = rank_board(srv, sub, &n);
    sent_list *sent = r ? malloc(sizeof *sent + (n + 1) * sizeof sent->rows[0]) : NULL;
    *rows = calloc(n + 1, sizeof **rows);
    *ptrs = calloc(n + 1, sizeof **ptrs);
    if (sent == NULL || *rows == NULL || *ptrs == NULL) {
        free(r);
        free(sent);
        free(*rows);
        free(*ptrs);
        *rows = NULL;
        *ptrs = NULL;
        return -ENOMEM;
    }
    sent->refs = 1;
    sent->n = n;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        sent->rows[i] = (sent_row){r[i].a->user_id, (uint32_t)(i + 1), r[i].a->target, *r[i].t};
        const sent_row *was = find_sent(before, r[i].a->user_id);
        if (was != NULL && was->rank == i + 1 && was->target == r[i].a->target &&
            score_totals_same(&was->totals, r[i].t))
            continue;
        fill_row(srv, &(*rows)[k], &r[i], (uint32_t)(i + 1));
        (*ptrs)[k] = &(*rows)[k];
        k++;
    }
    qsort(sent->rows, n, sizeof sent->rows[0], by_user_id);
    *after = sent;
    callfloor__board__init(out);
    out->period = (Callfloor__Period)sub->period;
    out->team = (char *)sub->team;
    out->snapshot = before == NULL;
    out->n_rows = k;
    out->rows = *ptrs;
    out->at = time(NULL);
    /* The strings point into the score table, which does not change
     * before the caller has packed the message. */
    free(r);
    return (int)k;
}

/* ---- the floor ---- */

typedef struct floor_build {
    int64_t team_id; /* 0: every team */
    const server *srv;
    Callfloor__FloorAgent *agents;
    Callfloor__FloorAgent **ptrs;
    size_t n, cap;
    Callfloor__FloorQueue *queues;
    Callfloor__FloorQueue **qptrs;
    size_t nq, qcap;
} floor_build;

static void add_floor_agent(const floor_view *v, void *arg) {
    floor_build *fb = arg;
    if ((fb->team_id != 0 && v->team_id != fb->team_id) || fb->n == fb->cap)
        return;
    Callfloor__FloorAgent *a = &fb->agents[fb->n];
    callfloor__floor_agent__init(a);
    a->agent = (char *)v->username;
    a->display_name = (char *)v->display_name;
    a->team = (char *)v->team;
    a->state = v->state;
    a->reason = (char *)v->reason;
    a->since = v->since;
    a->campaign = (char *)(v->campaign_id ? hopper_campaign_name(fb->srv, v->campaign_id) : "");
    fb->ptrs[fb->n++] = a;
}

static void add_floor_queue(const hopper_campaign_stats *c, void *arg) {
    floor_build *fb = arg;
    if (fb->nq == fb->qcap)
        return;
    Callfloor__FloorQueue *q = &fb->queues[fb->nq];
    callfloor__floor_queue__init(q);
    q->campaign = (char *)c->name;
    q->hopper = c->depth;
    q->eligible = c->eligible;
    fb->qptrs[fb->nq++] = q;
}

static void count_one(const floor_view *v, void *arg) {
    (void)v;
    (*(size_t *)arg)++;
}

static void count_queue(const hopper_campaign_stats *c, void *arg) {
    (void)c;
    (*(size_t *)arg)++;
}

/* Appends the frame of the floor of team `team_id` (0: every team), whole,
 * to `frame`. Returns 0 or -ENOMEM. */
static int pack_floor(server *srv, int64_t team_id, buf *frame) {
    floor_build fb = {.team_id = team_id, .srv = srv};
    floor_each(srv, count_one, &fb.cap);
    hopper_each_campaign(srv, count_queue, &fb.qcap);
    fb.agents = calloc(fb.cap + 1, sizeof *fb.agents);
    fb.ptrs = calloc(fb.cap + 1, sizeof *fb.ptrs);
    fb.queues = calloc(fb.qcap + 1, sizeof *fb.queues);
    fb.qptrs = calloc(fb.qcap + 1, sizeof *fb.qptrs);
    int rc = -ENOMEM;
    if (fb.agents && fb.ptrs && fb.queues && fb.qptrs) {
        floor_each(srv, add_floor_agent, &fb);
        hopper_each_campaign(srv, add_floor_queue, &fb);
        Callfloor__Floor f = CALLFLOOR__FLOOR__INIT;
        f.n_agents = fb.n;
        f.agents = fb.ptrs;
        f.n_queues = fb.nq;
        f.queues = fb.qptrs;
        f.at = time(NULL);
        envelope out = CALLFLOOR__ENVELOPE__INIT;
        out.body_case = CALLFLOOR__ENVELOPE__BODY_FLOOR;
        out.floor = &f;
        rc = envelope_append_frame(frame, &out) < 0 ? -ENOMEM : 0;
    }
    free(fb.agents);
    free(fb.ptrs);
    free(fb.queues);
    free(fb.qptrs);
    return rc;
}

static void send_frame(subscriber *sub, const buf *frame) {
    if (buf_pending(frame) > 0)
        session_send_frame(sub->s, buf_head(frame), buf_pending(frame));
}

/* Sends `sub` the floor of its team, whole. */
static void push_floor(server *srv, subscriber *sub) {
    buf frame = BUF_INIT;
    if (pack_floor(srv, sub->team_id, &frame) == 0)
        send_frame(sub, &frame);
    buf_free(&frame);
}

/* A change after a quiet spell is pushed at once (on the loop's next turn,
 * with whatever else this turn changes); changes coming faster are
 * gathered into one walk per board.interval. A walk under way takes the
 * change to the subscribers it has not visited yet and sets off the next
 * walk when it ends. */
static void schedule_push(server *srv) {
    struct board *bd = srv->board;
    uint64_t now = uv_hrtime();
    if (bd->changed_ns == 0)
        bd->changed_ns = now;
    if (uv_is_active((uv_handle_t *)&bd->timer) || bd->cursor != NULL)
        return;
    uint64_t interval_ns = (uint64_t)srv->cfg.board_interval_ms * 1000000u;
    uint64_t since = now - bd->pushed_ns;
    uint64_t wait_ms = since >= interval_ns ? 0 : (interval_ns - since + 999999u) / 1000000u;
    uv_timer_start(&bd->timer, on_push_timer, wait_ms, 0);
}

void board_floor_changed(server *srv) {
    struct board *bd = srv->board;
    if (bd == NULL || bd->subs == NULL)
        return;
    bd->floor_gen++;
    schedule_push(srv);
}

/* ---- alerts and notices: at once, not coalesced ---- */

static bool sees_team(const subscriber *sub, const char *team) {
    return sub->team[0] == '\0' || strcmp(sub->team, team) == 0;
}

static bool watches_one_of(const subscriber *sub, const int64_t *team_ids, size_t nteams) {
    for (size_t i = 0; i < nteams; i++)
        if (sub->team_id == team_ids[i])
            return true;
    return false;
}

/* Sends the alert to those who watch `team` or every team, or one of
 * `team_ids`. */
static void send_alert(server *srv, const char *kind, const char *team, const char *username,
                       const int64_t *team_ids, size_t nteams, const char *message) {
    struct board *bd = srv->board;
    Callfloor__Alert a = CALLFLOOR__ALERT__INIT;
    a.kind = (char *)kind;
    a.message = (char *)message;
    a.agent = (char *)username;
    a.team = (char *)team;
    a.at = time(NULL);
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_ALERT;
    out.alert = &a;
    for (subscriber *sub = bd->subs; sub != NULL; sub = sub->next)
        if (sees_team(sub, team) || watches_one_of(sub, team_ids, nteams))
            session_send(sub->s, &out);
}

/* Formats the message and sends the alert, if anyone watches at all. */
__attribute__((format(printf, 7, 0))) static void alertv(server *srv, const char *kind,
                                                         const char *team, const char *username,
                                                         const int64_t *team_ids, size_t nteams,
                                                         const char *fmt, va_list ap) {
    if (srv->board == NULL || srv->board->subs == NULL)
        return;
    char message[512];
    vsnprintf(message, sizeof message, fmt, ap);
    send_alert(srv, kind, team, username, team_ids, nteams, message);
}

void board_alert(server *srv, const char *kind, const char *team, const char *username,
                 const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    alertv(srv, kind, team, username, NULL, 0, fmt, ap);
    va_end(ap);
}

void board_alert_teams(server *srv, const char *kind, const int64_t *team_ids, size_t nteams,
                       const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    alertv(srv, kind, "", "", team_ids, nteams, fmt, ap);
    va_end(ap);
}

void board_notice(server *srv, const envelope *notice, const char *team) {
    struct board *bd = srv->board;
    for (subscriber *sub = bd ? bd->subs : NULL; sub != NULL; sub = sub->next)
        if (sees_team(sub, team))
            session_send(sub->s, notice);
}

static void alert_long_pause(const floor_view *v, void *arg) {
    server *srv = arg;
    board_alert(srv, "long_pause", v->team, v->username,
                "%s has been paused (%s) since %lld, longer than board.pause_alert", v->username,
                *v->reason ? v->reason : "no reason", (long long)v->since);
}

/* ---- each desk's own standing ---- */

/* Every agent's standing, ranked once each time the desks are told so
 * that telling D desks costs D lookups rather than D scans of all agents. */
typedef struct desk_standing {
    uint64_t user_id;
    const score_agent *a;
    uint32_t rank_today; /* 0 without results today */
    uint32_t team_today; /* the team's agents with results today */
} desk_standing;

typedef struct standings {
    desk_standing *rows; /* by user id */
    size_t n;
    uint64_t now_ms;      /* uv_now */
    uint64_t interval_ms; /* board.rank_interval */
    bool behind;          /* a desk was not told its new rank yet */
} standings;

/* Groups agents by team, each team's agents with results today first and
 * in rank order. */
static int by_team_then_rank(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->a->team_id != b->a->team_id)
        return a->a->team_id < b->a->team_id ? -1 : 1;
    bool active_a = active(a->t), active_b = active(b->t);
    if (active_a != active_b)
        return active_a ? -1 : 1;
    return active_a ? rank_order(a, b) : 0;
}

static int by_user(const void *pa, const void *pb) {
    const desk_standing *a = pa, *b = pb;
    return a->user_id < b->user_id ? -1 : a->user_id > b->user_id;
}

/* rank_order is total (the user name breaks ties), so an agent's rank is
 * one more than the number of its team ranked before it. */
static int standings_build(const server *srv, standings *out) {
    size_t total = score_count(srv);
    ranked *order = malloc((total + 1) * sizeof *order);
    out->rows = malloc((total + 1) * sizeof *out->rows);
    out->n = total;
    if (order == NULL || out->rows == NULL) {
        free(order);
        free(out->rows);
        return -ENOMEM;
    }
    for (size_t i = 0; i < total; i++) {
        const score_agent *a = score_agent_at(srv, i);
        order[i] = (ranked){a, &a->totals[SCORE_DAY]};
    }
    qsort(order, total, sizeof *order, by_team_then_rank);
    for (size_t first = 0, end; first < total; first = end) {
        uint32_t team_today = 0;
        for (end = first; end < total && order[end].a->team_id == order[first].a->team_id; end++)
            team_today += active(order[end].t);
        for (size_t i = first; i < end; i++)
            out->rows[i] =
                (desk_standing){order[i].a->user_id, order[i].a,
                                active(order[i].t) ? (uint32_t)(i - first + 1) : 0, team_today};
    }
    free(order);
    qsort(out->rows, total, sizeof *out->rows, by_user);
    return 0;
}

static bool own_standing_changed(const floor_standing *a, const floor_standing *b) {
    return a->points_today != b->points_today || a->applications_month != b->applications_month ||
           a->target_month != b->target_month;
}

/* How long after a desk was last told it may hear that only its rank
 * moved: board.rank_interval and up to as much again, a share fixed per
 * agent, so that desks told together drift apart rather than all hearing
 * at the same push every interval. */
static uint64_t rank_quiet_ms(uint64_t user_id, uint64_t interval_ms) {
    return interval_ms + ((user_id * 0x9E3779B97F4A7C15u) >> 32) % interval_ms;
}

/* A desk hears its own points, applications and target with the push that
 * changed them, and a rank that others' results moved no sooner than
 * rank_quiet_ms after it was last told, with a push or the watch timer. On a floor of 1,000
 * one result moves hundreds of ranks, and telling every one of them at
 * every push was hundreds of writes in one turn of the loop, which delayed
 * the offers and acknowledgements waiting behind them
 * (tests/bench/floor.sh). */
static void tell_desk(uint64_t user_id, int64_t team_id, session *s, floor_standing *told,
                      void *arg) {
    standings *all = arg;
    (void)team_id;
    desk_standing key = {.user_id = user_id};
    const desk_standing *me = bsearch(&key, all->rows, all->n, sizeof key, by_user);
    floor_standing now = {.told_ms = all->now_ms};
    if (me != NULL) {
        now.rank_today = me->rank_today;
        now.team_today = me->team_today;
        now.points_today = me->a->totals[SCORE_DAY].points;
        now.applications_month = me->a->totals[SCORE_MONTH].applications;
        now.target_month = me->a->target;
    }
    if (!own_standing_changed(&now, told)) {
        if (now.rank_today == told->rank_today && now.team_today == told->team_today)
            return;
        if (all->now_ms - told->told_ms < rank_quiet_ms(user_id, all->interval_ms)) {
            all->behind = true;
            return;
        }
    }
    *told = now;
    Callfloor__AgentScore sc = CALLFLOOR__AGENT_SCORE__INIT;
    sc.rank_today = now.rank_today;
    sc.team_today = now.team_today;
    sc.points_today = now.points_today;
    sc.applications_month = now.applications_month;
    sc.target_month = now.target_month;
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_AGENT_SCORE;
    out.agent_score = &sc;
    session_send(s, &out);
}

/* Tells the desks here their standing (tell_desk); false without memory. */
static bool tell_desks(server *srv) {
    standings all = {.now_ms = uv_now(srv->loop), .interval_ms = srv->cfg.rank_interval_ms};
    if (standings_build(srv, &all) < 0)
        return false;
    floor_each_desk(srv, tell_desk, &all);
    free(all.rows);
    srv->board->desks_behind = all.behind;
    return true;
}

/* Every WATCH_MS: long pauses, for the supervisors, and the ranks that
 * desks were not told yet, which fall due at times spread over an
 * interval (rank_quiet_ms): a tick of a second would gather them again. */
static void on_watch(uv_timer_t *t) {
    server *srv = t->data;
    if (srv->board == NULL)
        return;
    if (srv->board->subs != NULL)
        floor_each_long_pause(srv, srv->cfg.pause_alert_ms, alert_long_pause, srv);
    if (srv->board->desks_behind && !tell_desks(srv))
        log_warn("out of memory telling the desks their standing; trying again in %dms", WATCH_MS);
}

/* A desk that opens is told its standing with the next push. */
void board_desk_opened(server *srv) {
    struct board *bd = srv->board;
    if (bd == NULL)
        return;
    bd->desks_due = true;
    schedule_push(srv);
}

/* ---- pushing ---- */

static board_push *find_board_push(push_round *pr, const subscriber *sub, bool whole) {
    for (size_t i = 0; i < pr->nboards; i++) {
        board_push *p = &pr->boards[i];
        if (p->team_id == sub->team_id && p->period == sub->period &&
            strcmp(p->team, sub->team) == 0 && p->before == (whole ? NULL : sub->sent))
            return p;
    }
    return NULL;
}

/* Subscribers of one team and period whose boards differed before the
 * round hold the same board after it; from now on they share its list. */
static void share_after(push_round *pr, board_push *p) {
    for (size_t i = 0; i < pr->nboards; i++) {
        board_push *q = &pr->boards[i];
        if (q->team_id == p->team_id && q->period == p->period && sent_same(q->after, p->after)) {
            sent_list_unref(p->after);
            p->after = sent_list_ref(q->after);
            return;
        }
    }
}

/* The round's push for `sub`: one made for a subscriber who was sent the
 * same, or a new one. NULL when out of memory. */
static board_push *board_push_for(server *srv, push_round *pr, const subscriber *sub, bool whole) {
    board_push *p = find_board_push(pr, sub, whole);
    if (p != NULL)
        return p;
    Callfloor__Board b;
    Callfloor__BoardRow *rows, **ptrs;
    sent_list *after;
    int n = build_board(srv, sub, whole ? NULL : sub->sent, &b, &rows, &ptrs, &after);
    if (n < 0)
        return NULL;
    p = &pr->boards[pr->nboards];
    int rc = 0;
    if (n > 0 || whole) {
        envelope out = CALLFLOOR__ENVELOPE__INIT;
        out.body_case = CALLFLOOR__ENVELOPE__BODY_BOARD;
        out.board = &b;
        rc = envelope_append_frame(&p->frame, &out);
    }
    free(rows);
    free(ptrs);
    if (rc < 0) {
        buf_free(&p->frame);
        sent_list_unref(after);
        return NULL;
    }
    p->team_id = sub->team_id;
    snprintf(p->team, sizeof p->team, "%s", sub->team);
    p->period = sub->period;
    p->before = whole ? NULL : sent_list_ref(sub->sent);
    p->after = after;
    share_after(pr, p);
    pr->nboards++;
    return p;
}

/* The round's floor of `sub`'s team, packed once per team; NULL when out
 * of memory. */
static const floor_push *floor_push_for(server *srv, push_round *pr, const subscriber *sub) {
    for (size_t i = 0; i < pr->nfloors; i++)
        if (pr->floors[i].team_id == sub->team_id)
            return &pr->floors[i];
    floor_push *f = &pr->floors[pr->nfloors];
    if (pack_floor(srv, sub->team_id, &f->frame) < 0) {
        buf_free(&f->frame);
        return NULL;
    }
    f->team_id = sub->team_id;
    pr->nfloors++;
    return f;
}

/* Sends `sub` what it is owed: the rows of its board that changed (all of
 * them after a change that may remove rows) and its team's floor, in one
 * SSL_write and one write. A write per frame cost a TLS record and a
 * system call per subscriber each, most of a fan-out's time, and a board
 * change often comes with a floor change (the agent's state). Returns
 * whether it was sent anything. Out of memory, the subscriber stays owed
 * and another walk is due. */
static bool push_to(server *srv, subscriber *sub) {
    struct board *bd = srv->board;
    push_round *pr = &bd->round;
    bool board = sub->board_gen != pr->board_gen, whole = sub->board_gen < bd->whole_gen;
    bool floor = sub->floor_gen != pr->floor_gen;
    if (!board && !floor)
        return false;
    board_push *p = board ? board_push_for(srv, pr, sub, whole) : NULL;
    const floor_push *f = floor ? floor_push_for(srv, pr, sub) : NULL;
    buf *out = &pr->out;
    buf_reset(out);
    bool packed =
        (p != NULL || !board) && (f != NULL || !floor) &&
        (p == NULL || buf_append(out, buf_head(&p->frame), buf_pending(&p->frame)) == 0) &&
        (f == NULL || buf_append(out, buf_head(&f->frame), buf_pending(&f->frame)) == 0);
    if (!packed) {
        bd->retry = true;
        return false;
    }
    send_frame(sub, out);
    if (p != NULL) {
        sent_list *was = sub->sent;
        sub->sent = sent_list_ref(p->after);
        sent_list_unref(was);
    }
    sub->board_gen = pr->board_gen;
    sub->floor_gen = pr->floor_gen;
    return true;
}

static void push_round_free(push_round *pr) {
    for (size_t i = 0; i < pr->nboards; i++) {
        sent_list_unref(pr->boards[i].before);
        sent_list_unref(pr->boards[i].after);
        buf_free(&pr->boards[i].frame);
    }
    for (size_t i = 0; i < pr->nfloors; i++)
        buf_free(&pr->floors[i].frame);
    buf_free(&pr->out);
    free(pr->boards);
    free(pr->floors);
    *pr = (push_round){0};
}

/* Makes the walk's pushes those of the generations now, packed as its
 * subscribers come; false without memory. */
static bool round_renew(struct board *bd) {
    push_round *pr = &bd->round;
    if (pr->boards != NULL && pr->board_gen == bd->board_gen && pr->floor_gen == bd->floor_gen)
        return true;
    push_round_free(pr);
    size_t nsubs = 0;
    for (const subscriber *sub = bd->subs; sub != NULL; sub = sub->next)
        nsubs++;
    pr->boards = calloc(nsubs + 1, sizeof *pr->boards);
    pr->floors = calloc(nsubs + 1, sizeof *pr->floors);
    pr->board_gen = bd->board_gen;
    pr->floor_gen = bd->floor_gen;
    if (pr->boards != NULL && pr->floors != NULL)
        return true;
    push_round_free(pr);
    return false;
}

/* The desks are told their standing when the scores changed or one
 * opened; out of memory, with the next walk. */
static void walk_tell_desks(server *srv) {
    struct board *bd = srv->board;
    if (bd->told_gen == bd->board_gen && !bd->desks_due)
        return;
    if (!tell_desks(srv)) {
        log_warn("out of memory telling the desks their standing; trying again in %ums",
                 srv->cfg.board_interval_ms);
        bd->retry = true;
        return;
    }
    bd->told_gen = bd->board_gen;
    bd->desks_due = false;
}

/* A walk is over: the subscribers it visited before a change, and any it
 * could not send to, are owed the next, board.interval after this one
 * began. */
static void walk_end(server *srv) {
    struct board *bd = srv->board;
    bd->cursor = NULL;
    uv_idle_stop(&bd->walking);
    push_round_free(&bd->round);
    metrics_observe(srv, METRIC_PUSH_LATENCY, uv_hrtime() - bd->walk_changed_ns);
    if (bd->retry || bd->changed_ns != 0) {
        bd->retry = false;
        schedule_push(srv);
    }
}

/* One turn of a walk: up to PUSH_CHUNK subscribers sent what they are
 * owed. A push may close a subscriber's conn (over its output cap); the
 * conn is freed later, never inside this loop (board_session_closed moves
 * the cursor past it). */
static void walk_step(server *srv) {
    struct board *bd = srv->board;
    if (!round_renew(bd)) {
        log_warn("out of memory pushing the board; trying again in %ums",
                 srv->cfg.board_interval_ms);
        bd->retry = true;
        walk_end(srv);
        return;
    }
    for (unsigned sent = 0; bd->cursor != NULL && sent < PUSH_CHUNK;) {
        subscriber *sub = bd->cursor;
        bd->cursor = sub->next;
        sent += push_to(srv, sub);
    }
    if (bd->cursor == NULL)
        walk_end(srv);
}

static void on_walk(uv_idle_t *h) {
    walk_step(h->data);
}

static void on_push_timer(uv_timer_t *t) {
    server *srv = t->data;
    struct board *bd = srv->board;
    if (bd == NULL)
        return;
    bd->pushed_ns = uv_hrtime();
    walk_tell_desks(srv);
    if (bd->subs == NULL) {
        bd->changed_ns = 0;
        if (bd->retry) { /* the desks could not be told: again */
            bd->retry = false;
            schedule_push(srv);
        }
        return;
    }
    metrics_count(srv, METRIC_PUSHES);
    bd->walk_changed_ns = bd->changed_ns != 0 ? bd->changed_ns : bd->pushed_ns;
    bd->changed_ns = 0;
    bd->cursor = bd->subs;
    uv_idle_start(&bd->walking, on_walk);
}

/* Scores changed: one walk per board.interval at most. The desks are told
 * their own standing too. */
static void on_scores(server *srv, bool rebuilt) {
    struct board *bd = srv->board;
    if (bd == NULL)
        return;
    bd->board_gen++;
    if (rebuilt)
        bd->whole_gen = bd->board_gen;
    schedule_push(srv);
}

/* ---- subscribing ---- */

/* Watches team `team_id` named `team` (0 and "": every team). */
static void subscribe(request *req, int64_t team_id, const char *team) {
    server *srv = req->srv;
    session *s = request_session(req);
    const Callfloor__BoardSubscribe *m = req->msg->board_subscribe;
    if (s == NULL || srv->board == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__SHUTTING_DOWN, 0, "the server is shutting down");
        return;
    }
    subscriber *sub = calloc(1, sizeof *sub);
    if (sub == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    sub->s = s;
    sub->team_id = team_id;
    snprintf(sub->team, sizeof sub->team, "%s", team);
    sub->period = (int)m->period;
    sub->board_gen = srv->board->board_gen;
    sub->floor_gen = srv->board->floor_gen;
    Callfloor__Board b;
    Callfloor__BoardRow *rows, **ptrs;
    if (build_board(srv, sub, NULL, &b, &rows, &ptrs, &sub->sent) < 0) {
        free(sub);
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    sub->next = srv->board->subs;
    srv->board->subs = sub;
    log_info("conn %s: %s watches the board of %s", conn_name(req->conn), req->username,
             *team ? team : "every team");
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_BOARD;
    out.board = &b;
    request_reply(req, &out);
    free(rows);
    free(ptrs);
    push_floor(srv, sub);
}

static void on_team(const db_reply *reply, void *arg) {
    request *req = arg;
    const char *team = req->msg->board_subscribe->team;
    const PGresult *res = reply->status == DB_OK ? reply->results[0] : NULL;
    if (res == NULL)
        request_fail_db(req, reply, "finding a team");
    else if (PQntuples(res) != 1 || (PQgetisnull(res, 0, 0) && *team == '\0'))
        request_fail(req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                     "you are in no team, so there is no board for you to watch; ask an admin "
                     "to add you to the team you supervise");
    else if (PQgetisnull(res, 0, 0))
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0,
                     "no team named %s (callfloorctl team list shows them)", team);
    else if (!db_bool(res, 0, 1))
        request_fail(req, CALLFLOOR__ERROR_CODE__PERMISSION_DENIED, 0,
                     "supervisors watch their own team's board (%s); ask an admin for another "
                     "team's figures",
                     db_value(res, 0, 2));
    else
        subscribe(req, db_int64(res, 0, 0), db_value(res, 0, 3));
}

static bool watching(const struct board *bd, const session *s) {
    for (const subscriber *sub = bd ? bd->subs : NULL; sub != NULL; sub = sub->next)
        if (sub->s == s)
            return true;
    return false;
}

void board_on_subscribe(request *req) {
    const Callfloor__BoardSubscribe *m = req->msg->board_subscribe;
    if ((unsigned)m->period > CALLFLOOR__PERIOD__PERIOD_MONTH ||
        (*m->team && !label_valid(m->team, TEAM_MAX_BYTES))) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "a board subscription names a team (or none for all) and a period: day, "
                     "week or month");
        return;
    }
    /* A new subscription replaces the session's earlier one (another team
     * or period). */
    if (watching(req->srv->board, request_session(req)))
        board_session_closed(req->srv, request_session(req));
    if (*m->team == '\0' && req->role == CALLFLOOR__ROLE__ROLE_ADMIN) {
        subscribe(req, 0, "");
        return;
    }
    char user[24];
    snprintf(user, sizeof user, "%llu", (unsigned long long)req->user_id);
    const char *params[] = {m->team, user};
    request_query(req, "board_team", 2, params, on_team, req);
}

/* ---- life ---- */

void board_session_closed(server *srv, session *s) {
    struct board *bd = srv->board;
    for (subscriber **p = bd ? &bd->subs : NULL; p != NULL && *p != NULL;) {
        subscriber *sub = *p;
        if (sub->s != s) {
            p = &sub->next;
            continue;
        }
        *p = sub->next;
        if (bd->cursor == sub)
            bd->cursor = sub->next;
        sent_list_unref(sub->sent);
        free(sub);
    }
}

int board_start(server *srv) {
    struct board *bd = calloc(1, sizeof *bd);
    if (bd == NULL)
        return -ENOMEM;
    bd->srv = srv;
    uv_timer_init(srv->loop, &bd->timer);
    bd->timer.data = srv;
    uv_idle_init(srv->loop, &bd->walking);
    bd->walking.data = srv;
    uv_timer_init(srv->loop, &bd->watch);
    bd->watch.data = srv;
    uv_timer_start(&bd->watch, on_watch, WATCH_MS, WATCH_MS);
    srv->board = bd;
    return score_start(srv, on_scores);
}

/* The board is freed once its handles are closed. */
static void on_board_handle_closed(uv_handle_t *h) {
    struct board *bd = h->data;
    if (--bd->open_handles == 0)
        free(bd);
}

void board_close(server *srv) {
    struct board *bd = srv->board;
    if (bd == NULL)
        return;
    while (bd->subs != NULL)
        board_session_closed(srv, bd->subs->s);
    push_round_free(&bd->round);
    bd->cursor = NULL;
    srv->board = NULL;
    bd->timer.data = bd;
    bd->walking.data = bd;
    bd->watch.data = bd;
    bd->open_handles = 3;
    uv_close((uv_handle_t *)&bd->timer, on_board_handle_closed);
    uv_close((uv_handle_t *)&bd->walking, on_board_handle_closed);
    uv_close((uv_handle_t *)&bd->watch, on_board_handle_closed);
    score_close(srv);
}
