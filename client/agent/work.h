/* work: the agent's call cycle for the screen: where the agent is (ready,
 * offered, on a call...), the lead offered, the number while a call is
 * open, and the requests that move the cycle on (ready, pause, dial,
 * outcome). It knows nothing of curses: the screen draws what it holds
 * and is told through the change callback when to draw again. Outcomes go
 * through the desk's outbox. */
#ifndef CALLFLOOR_AGENT_WORK_H
#define CALLFLOOR_AGENT_WORK_H

#include <stdbool.h>
#include <stdint.h>

#include "desk.h"

typedef struct work work;

/* Called after every change; `note` is a sentence for the agent (an error
 * when `is_error`), or NULL. */
typedef void (*work_change_cb)(work *w, const char *note, bool is_error, void *arg);

/* The dispositions in the order the screen lists them (keys 1-9, 0). */
extern const char *const work_dispositions[];
#define WORK_NDISPOSITIONS 10

typedef struct work_application {
    const char *product_code;
    Callfloor__Disclosure disclosure;
    Callfloor__PreScreen prescreen;
} work_application;

/* Takes over the desk's pushes and outcome answers. NULL on out-of-memory. */
work *work_create(desk *d, work_change_cb cb, void *arg);
void work_destroy(work *w);

Callfloor__AgentState work_state(const work *w);
/* The lead offered or being called, or NULL. */
const Callfloor__LeadOffer *work_offer(const work *w);
/* The full number during a call, else "". */
const char *work_phone(const work *w);
uint64_t work_call_id(const work *w);
/* Wall-clock time the call started, or the offer came; 0 when none. */
int64_t work_since(const work *w);
/* Outcomes waiting in the outbox for the server. */
size_t work_outbox_count(const work *w);
/* The agent's own standing as last pushed, or NULL before the first. */
const Callfloor__AgentScore *work_standing(const work *w);
/* Why the agent is paused ("" when not). */
const char *work_pause_reason(const work *w);

/* The requests; each returns 0 once sent, or a negative code after
 * reporting a note through the change callback. */
int work_ready(work *w);
int work_pause(work *w, const char *reason);
int work_dial(work *w);
/* Ends the call with `disposition`; `callback_at` for CALLBACK, `notes`
 * for COMPLAINT (may be ""), `app` for APPLICATION_SUBMITTED. */
int work_outcome(work *w, const char *disposition, int64_t callback_at, const char *notes,
                 const work_application *app);

#endif
