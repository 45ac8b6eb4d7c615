/* peers: what the daemons sharing one database tell each other, so that
 * every daemon's supervisors see the whole floor whichever daemon an agent
 * is on. One connection of the pool listens on channel "callfloor"
 * (server/sql/014_notify.sql): "s IDS" announces score events another
 * daemon committed, which score.c loads; "c" says another daemon or a tool
 * changed a campaign, and the hopper reads them again
 * (018_campaign_notify.sql); "d HMACS" names numbers put on the
 * do-not-call list and "k" says many were or personal data was purged, and
 * the hopper forgets the cards of those numbers or all of them
 * (021_card_news.sql); "f INSTANCE" and then one line
 * per agent gives the floor states of another daemon's agents, kept here
 * and shown beside this daemon's own (floor_each). Each daemon announces
 * the agents whose state changed at most once every board.interval, and
 * all of them every PEERS_HEARTBEAT_MS; an agent not heard of for three
 * heartbeats is dropped, its daemon gone. The pool hears its own
 * sessions' notifications too; only "d" and "k" are news to this daemon
 * then, as its hopper's cards do not follow its own outcomes and imports. */
#ifndef CALLFLOOR_PEERS_H
#define CALLFLOOR_PEERS_H

#include "floor.h"
#include "server.h"

#define PEERS_HEARTBEAT_MS 10000

int peers_prepare_statements(db_pool *pool);
/* Creates srv->peers and starts listening and announcing. Returns 0 or
 * -ENOMEM. */
int peers_start(server *srv);
void peers_close(server *srv);
/* Calls `fn` for every agent another daemon reported and this one does
 * not know itself. */
void peers_each(const server *srv, floor_each_cb fn, void *arg);

#endif
