/* board: the live leaderboard for supervisors. A subscription names a team
 * (or every team) and a period; it is answered with the whole board at
 * once, and then pushed only the rows whose rank or figures changed, at
 * most one push every board.interval however many outcomes came in
 * between. After a rebuild of the scores (start, the end of a day) every
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

void board_on_subscribe(request *req);

#endif
