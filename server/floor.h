/* floor: every agent this daemon knows and where each is in the call cycle:
 * offline, ready, offered, on a call, wrapping up, paused. A ready agent
 * is offered the next lead from the hopper, with the card read when it was
 * claimed (card.h) or, when that is missing or stale, after the lead is
 * read and checked again; the compliance rules are checked again when it
 * is dialled. An offer not dialled within the campaign's offer timeout
 * goes back and the agent is paused. An agent whose connection drops keeps
 * the lead or call they held for queue.reconnect_grace; a Ready from their
 * next session hands it back. The agent's state changes in floor_set_state
 * only. */
#ifndef CALLFLOOR_FLOOR_H
#define CALLFLOOR_FLOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

typedef struct agent agent;

int floor_prepare_statements(db_pool *pool);
/* Creates srv->floor and starts srv->hopper. Returns 0 or -ENOMEM. */
int floor_start(server *srv);
/* Gives back every lead offered and not dialled, stops the queue and frees
 * the agents. Calls still open keep their leases until they expire, so
 * that their outcomes can still come in through another daemon. */
void floor_close(server *srv);

/* The session of an agent closed: what they held waits for their return. */
void floor_session_closed(server *srv, session *s, uint64_t user_id);
/* The outcome of `call_id` by `user_id` is committed: the agent wraps up. */
void floor_outcome_recorded(server *srv, uint64_t user_id, uint64_t call_id);

/* The leads agents hold (offered or on a call): writes at most `cap` ids
 * to `out` and returns how many there are (with cap 0: only counts). */
size_t floor_held_leads(const server *srv, int64_t *out, size_t cap);
bool floor_holds_lead(const server *srv, int64_t lead_id);

/* One agent as supervisors see them. */
typedef struct floor_view {
    uint64_t user_id;
    const char *username, *display_name, *team;
    int64_t team_id;
    Callfloor__AgentState state;
    const char *reason;
    int64_t since;       /* unix seconds the state began */
    int64_t campaign_id; /* of the lead held; 0 when none */
} floor_view;
typedef void (*floor_each_cb)(const floor_view *v, void *arg);
/* Calls `fn` for every agent this daemon knows, then for those only other
 * daemons report (peers_each). */
void floor_each(const server *srv, floor_each_cb fn, void *arg);
/* Calls `fn` for every agent of this daemon whose state changed since the
 * last call, or with `all` also for every one not offline: what the peers
 * module announces to the other daemons. */
void floor_each_to_announce(server *srv, bool all, floor_each_cb fn, void *arg);
/* True when agent `user_id` is on this daemon's floor and not offline:
 * then this daemon's word on them goes before other daemons'. */
bool floor_knows(const server *srv, uint64_t user_id);
/* Calls `fn` for every agent paused longer than `threshold_ms` and not
 * reported yet during this pause; each long pause is reported once. */
void floor_each_long_pause(server *srv, uint64_t threshold_ms, floor_each_cb fn, void *arg);
/* What an agent's desk was last told of their standing (AgentScore). */
typedef struct floor_standing {
    uint32_t rank_today, team_today, applications_month, target_month;
    int64_t points_today;
    uint64_t told_ms; /* the loop's time (uv_now) when it was told; all fields
                         0xff bytes: never told */
} floor_standing;
/* Calls `fn` for every agent with a desk open here; `fn` may update what
 * the desk was last told and send it a push. */
void floor_each_desk(server *srv,
                     void (*fn)(uint64_t user_id, int64_t team_id, session *s, floor_standing *told,
                                void *arg),
                     void *arg);
/* The team name of an agent known here ("" if none), by id or by name. */
const char *floor_team_of(const server *srv, uint64_t user_id);
const char *floor_team_by_name(const server *srv, const char *username);

typedef struct floor_counts {
    unsigned ready, offered, on_call, wrap_up, paused;
} floor_counts;
void floor_get_counts(const server *srv, floor_counts *out);

/* Dispatch table handlers. */
void floor_on_ready(request *req);
void floor_on_pause(request *req);
void floor_on_dial(request *req);
/* A supervisor's notice to the desks of one agent or one team. */
void floor_on_notice_send(request *req);

#endif
