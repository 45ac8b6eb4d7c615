/* floor: every agent this daemon knows and where each is in the call cycle:
 * offline, ready, offered, on a call, wrapping up, paused. A ready agent
 * is offered the next lead from the hopper, checked again against the
 * compliance rules when the offer is built and when it is dialled; an
 * offer not dialled within the campaign's offer timeout goes back and the
 * agent is paused. An agent whose connection drops keeps the lead or call
 * they held for queue.reconnect_grace; a Ready from their next session
 * hands it back. The agent's state changes in floor_set_state only. */
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

typedef struct floor_counts {
    unsigned ready, offered, on_call, wrap_up, paused;
} floor_counts;
void floor_get_counts(const server *srv, floor_counts *out);

/* Dispatch table handlers. */
void floor_on_ready(request *req);
void floor_on_pause(request *req);
void floor_on_dial(request *req);

#endif
