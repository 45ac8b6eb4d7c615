/* redial: a logged-in session kept up for the interactive programs (the
 * agent desk, the monitor). When the connection is lost it connects again
 * after a growing delay (1 s, doubling, at most 30 s), and says why it was
 * lost. A refusal that retrying cannot fix (wrong password, disabled
 * account, a protocol the server does not speak) ends it instead.
 *
 * Every change of state is reported through one callback, on the loop
 * thread; the owner redraws from redial_state and friends. */
#ifndef CALLFLOOR_REDIAL_H
#define CALLFLOOR_REDIAL_H

#include <stdint.h>

#include <uv.h>

#include "client.h"

typedef enum redial_state {
    REDIAL_CONNECTING, /* connecting, TLS, Hello, Login */
    REDIAL_READY,      /* logged in: redial_client() may be used */
    REDIAL_WAITING,    /* lost; the next attempt is redial_seconds_left() away */
    REDIAL_GAVE_UP,    /* refused for good; redial_reason() says why */
} redial_state;

typedef struct redial redial;
typedef void (*redial_changed_cb)(redial *r, void *arg);
/* A push from the server while READY; valid only during the call. */
typedef void (*redial_push_cb)(redial *r, const envelope *push, void *arg);

/* Copies the options and starts the first attempt on the next loop
 * iteration (so no callback runs before this returns). Returns NULL on
 * out-of-memory. */
redial *redial_start(uv_loop_t *loop, const client_options *opts, redial_changed_cb changed,
                     redial_push_cb push, void *arg);
/* Closes the connection and frees `r` once its handles are closed (run the
 * loop once more). Pending requests get CLIENT_E_CLOSED. */
void redial_stop(redial *r);
redial_state redial_current(const redial *r);
/* The session while READY, NULL otherwise. Do not keep it across a
 * state change: a new connection is a new client. */
client *redial_client(const redial *r);
/* Why the last connection ended or failed, as a sentence; "" if none. */
const char *redial_reason(const redial *r);
/* The CLIENT_E_* status the last connection ended or failed with; 0 if none. */
int redial_status(const redial *r);
unsigned redial_seconds_left(const redial *r);
/* When the current session was logged in (uv_now milliseconds). */
uint64_t redial_ready_since(const redial *r);

#endif
