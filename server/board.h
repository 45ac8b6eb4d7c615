/* board: the live leaderboard for supervisors. A subscription names a team
 * (or every team) and a period; it is answered with the whole board at
 * once, and then pushed only the rows whose rank or figures changed, at
 * most one push every board.interval however many outcomes came in
 * between. A push reaches its subscribers 64 in each turn of the event
 * loop, so that agents are answered in between; a change that comes
 * meanwhile reaches those not yet sent to in the same push, and the others
 * with the next. After a rebuild of the scores (start, the end of a day) every
 * subscriber gets a whole board again. A subscriber that does not read is
 * disconnected by its conn once its output passes session.output_cap;
 * nobody else waits for it. Rank: points, then applications, then whoever
 * got there first. */
#ifndef CALLFLOOR_BOARD_H
#define CALLFLOOR_BOARD_H

#include <stdbool.h>

#include "session.h"

int board_prepare_statements(db_pool *pool);
/* Creates srv->board and starts srv->score. Returns 0 or -ENOMEM. */
int board_start(server *srv);
void board_close(server *srv);
/* The session closed: its subscriptions end. */
void board_session_closed(server *srv, session *s);

/* An agent's state changed: the floor is pushed with the next board push.
 * Subscribers also get the floor of their team right after subscribing. */
void board_floor_changed(server *srv);
/* Pushes an alert at once to the subscribers who watch `team` or every
 * team ("" reaches only those). `kind` names it: complaint,
 * application_refused, long_pause, hopper_dry. */
void board_alert(server *srv, const char *kind, const char *team, const char *username,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same for what concerns the teams `team_ids` (a campaign's): it
 * reaches the subscribers who watch one of them or every team. */
void board_alert_teams(server *srv, const char *kind, const int64_t *team_ids, size_t nteams,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Shows subscribers watching `team` a notice sent to it. */
void board_notice(server *srv, const envelope *notice, const char *team);

/* A desk became ready: it is told its own standing (AgentScore) with the
 * next push, and again whenever it changes. */
void board_desk_opened(server *srv);

void board_on_subscribe(request *req);

#endif
