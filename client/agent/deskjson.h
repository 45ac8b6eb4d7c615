/* deskjson: the agent desk's work in JSON lines, for --script. Pushes and
 * answers become one object each with an "event" member (lead_offer,
 * status, notice, call_started, outcome_ack, error); an outcome
 * command's flat object becomes an Outcome message. docs/AGENT_SCRIPT.md
 * lists every member. */
#ifndef CALLFLOOR_AGENT_DESKJSON_H
#define CALLFLOOR_AGENT_DESKJSON_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"
#include "proto/callfloor.pb-c.h"

typedef Callfloor__Envelope envelope;

/* "ready", "on_call", ... as the state appears in a status event. */
const char *deskjson_state_name(Callfloor__AgentState s);
/* Appends the event for a server push; false (nothing appended) for a push
 * the desk does not show. */
bool deskjson_push(buf *out, const envelope *push);
void deskjson_status(buf *out, const Callfloor__AgentStatus *st);
void deskjson_call_started(buf *out, uint64_t lead_id, const Callfloor__DialReply *r);
void deskjson_outcome_ack(buf *out, const char *key, const Callfloor__OutcomeReply *r);
void deskjson_error(buf *out, const char *code, const char *message);

/* Everything an Outcome points to, so that it lives as long as the members
 * it was read from. */
typedef struct deskjson_outcome {
    Callfloor__Outcome outcome;
    Callfloor__Disclosure disclosure;
    Callfloor__PreScreen prescreen;
    char key[65];
} deskjson_outcome;

/* Fills `out` from an outcome command's members; the call defaults to
 * `current_call`, and the key to a fresh random one. Returns NULL, or a
 * sentence saying what is wrong. */
const char *deskjson_parse_outcome(const json_member *m, int n, uint64_t current_call,
                                   deskjson_outcome *out);
/* A random idempotency key: 32 hex digits. Returns 0 or -errno. */
int deskjson_new_key(char key[65]);

#endif
