/* score: every agent's results for today, this week and this month in the
 * business time zone (board.time_zone), held in memory from the
 * append-only score_events: rebuilt with one query at start and when a day
 * ends there, and updated with the events of each committed outcome. The
 * board ranks and pushes them. */
#ifndef CALLFLOOR_SCORE_H
#define CALLFLOOR_SCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "session.h"

enum { SCORE_DAY, SCORE_WEEK, SCORE_MONTH, SCORE_PERIODS };

typedef struct score_totals {
    uint32_t dials, connects, applications, approvals, activations, talk_seconds;
    /* Applications whose call passed its quality review: the bonus tier
     * counts these. */
    uint32_t qa_passed;
    int64_t points;
    /* Unix microseconds of the last event that brought points: of two
     * agents level on points and applications, the one who got there first
     * ranks higher. */
    int64_t reached_at;
} score_totals;

typedef struct score_agent {
    uint64_t user_id;
    char username[65];
    char display_name[129];
    int64_t team_id; /* 0: in no team */
    char team[129];
    score_totals totals[SCORE_PERIODS];
    uint32_t target; /* this month's target of applications (theirs, else the team's); 0: none */
} score_agent;

/* True when `a` and `b` hold the same results (field by field: the struct
 * has padding). */
bool score_totals_same(const score_totals *a, const score_totals *b);

int score_prepare_statements(db_pool *pool);
/* Creates srv->score and starts the first rebuild; `on_change` is called
 * after every rebuild (`rebuilt` true: rows may have gone) and every
 * update. Returns 0 or -ENOMEM. */
int score_start(server *srv, void (*on_change)(server *srv, bool rebuilt));
void score_close(server *srv);

/* Adds the score events of `res` to the totals. From column `col` on, a
 * row holds the agent (user id, user name, display name, team id, team
 * name) and the event (kind, points, talk seconds, unix time, event id),
 * as cf_record_outcome_scored (server/sql/006_scores.sql) returns them. */
void score_apply_events(server *srv, const PGresult *res, int col);

/* Loads and adds the events `ids` (comma-separated) that another daemon
 * committed, as peers.c hears of them. */
void score_on_remote_events(server *srv, const char *ids);
/* Events may have been missed (no connection listened for a while): the
 * totals are rebuilt on the next check, unless the first rebuild is still
 * to be sent. */
void score_catch_up(server *srv);

/* True once the first rebuild finished: until then the totals are empty. */
bool score_ready(const server *srv);
size_t score_count(const server *srv);
const score_agent *score_agent_at(const server *srv, size_t i);

/* The bonus tier `applications` (QA-passed) this month earn in team `team_id` (the
 * team's tiers, or the tiers of teams without their own); 0 for none. */
uint32_t score_tier_for(const server *srv, int64_t team_id, uint32_t applications);
/* `applications` so far this month drawn on in a straight line to the
 * month's end, in the business time zone. */
uint32_t score_month_projection(const server *srv, uint32_t applications);

/* Dispatch table handlers: scoring rules, targets, bonus tiers. */
void score_on_tier_set(request *req);
void score_on_qa_items(request *req);
void score_on_qa_review(request *req);
void score_on_rules_get(request *req);
void score_on_rules_set(request *req);
void score_on_target_set(request *req);

#endif
