/* desk: the agent's session with the server, kept alive for the desk's
 * whole run. It logs in once (desk_open, at start-up), and when a session
 * that worked drops it logs in again with exponential backoff (1 s doubling
 * to 30 s) if asked to. It stops trying when a new login cannot help: the
 * server said the account was disabled or the password changed, or it
 * refused the stored password; desk_retry tries again on request.
 *
 * The desk keeps the login password (to log in again) and replaces it when
 * the agent changes their own password through it; desk_destroy wipes it.
 * Everything runs on the caller's libuv loop. */
#ifndef CALLFLOOR_AGENT_DESK_H
#define CALLFLOOR_AGENT_DESK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <uv.h>

#include "cli.h"
#include "client.h"
#include "outbox.h"

enum {
    DESK_E_BUSY = -5101,     /* a password change is already waiting for its answer */
    DESK_E_TOO_LONG = -5102, /* a new password longer than CLI_PASSWORD_MAX bytes */
};

typedef enum desk_state {
    DESK_CONNECTING, /* a login is on its way (the first one, or a reconnection) */
    DESK_CONNECTED,
    DESK_WAITING, /* the session dropped; the next login starts at desk_retry_at */
    DESK_CLOSED,  /* no session and no retry planned; desk_drop_reason says why */
} desk_state;

typedef struct desk_options {
    /* Copied with the password; the strings it points to must outlive the desk. */
    const cli_conn_options *conn;
    const char *client_name;    /* not copied either */
    bool reconnect;             /* log in again after a drop (false: stay closed) */
    unsigned probe_interval_ms; /* measure the round trip this often; 0: never */
} desk_options;

/* Who is logged in, as the server said at the last successful login. */
typedef struct desk_user {
    char *username;
    char *display_name;
    char *team; /* "" without a team */
    Callfloor__Role role;
} desk_user;

typedef struct desk desk;

/* Called after every change worth showing: the state, the round trip. */
typedef void (*desk_event_cb)(desk *d, void *arg);
/* `reply` is the server's answer (possibly an Error body), valid only during
 * the call; NULL when status < 0 (a CLIENT_E_* code). */
typedef void (*desk_reply_cb)(desk *d, int status, const envelope *reply, void *arg);
/* `rtt_ms` is meaningful only when status is 0. */
typedef void (*desk_ping_cb)(desk *d, int status, unsigned rtt_ms, void *arg);

/* A server push (a lead offer, a status change), valid only during the call. */
typedef void (*desk_push_cb)(desk *d, const envelope *push, void *arg);
/* The answer to an outcome sent from the outbox: `settled` is true when it
 * left the outbox (acknowledged, or refused for its content), false when
 * it stays there to be sent again after the next login. */
typedef void (*desk_outcome_cb)(desk *d, const char *key, int status, const envelope *reply,
                                bool settled, void *arg);

/* Returns NULL on out-of-memory. */
desk *desk_create(uv_loop_t *loop, const desk_options *opts);
/* Logs in, running the loop until the server answered or the attempt
 * failed; for start-up only. Returns 0 or a CLIENT_E_* code, with the
 * sentence in desk_drop_reason and the server's code in desk_server_code. */
int desk_open(desk *d);
void desk_on_event(desk *d, desk_event_cb cb, void *arg);
/* Logs in now: from DESK_WAITING or DESK_CLOSED; otherwise does nothing. */
void desk_retry(desk *d);
/* Changes the logged-in user's own password; the new one is used for later
 * logins once the server accepted it. `password` is copied. Returns 0,
 * DESK_E_BUSY, DESK_E_TOO_LONG or a CLIENT_E_* code (then `cb` is never
 * called). */
int desk_change_password(desk *d, const char *password, desk_reply_cb cb, void *arg);
/* Sends a Ping and measures the time to its Pong. */
int desk_ping(desk *d, desk_ping_cb cb, void *arg);
/* Sends any other request; `cb` gets the answer. Returns 0 or a CLIENT_E_*
 * code (then `cb` is never called). */
int desk_request(desk *d, envelope *req, desk_reply_cb cb, void *arg);
void desk_on_push(desk *d, desk_push_cb cb, void *arg);
/* Outcomes go through `ob` (not owned): written there first, and resent
 * after every login until answered. Set it before desk_open. */
void desk_set_outbox(desk *d, outbox *ob);
/* The outbox given to desk_set_outbox, or NULL. */
const outbox *desk_outbox(const desk *d);
/* `cb` hears the answer to every outcome sent, resends included. */
void desk_on_outcome(desk *d, desk_outcome_cb cb, void *arg);
/* Writes `o` to the outbox and sends it when connected. Returns 0 (sent,
 * or waiting for the next login), an OUTBOX_E_* code or -errno when it
 * could not be kept, or a CLIENT_E_* code without an outbox. */
int desk_submit_outcome(desk *d, const Callfloor__Outcome *o);
/* Closes the session without calling any pending callback and frees the
 * desk once its handles closed: run the loop afterwards. */
void desk_destroy(desk *d);

desk_state desk_get_state(const desk *d);
/* NULL before the first successful login. */
const desk_user *desk_get_user(const desk *d);
const char *desk_server(const desk *d);
/* "" before the first successful login. */
const char *desk_server_version(const desk *d);
/* Wall-clock time of the current session's login; 0 when not connected. */
time_t desk_logged_in_at(const desk *d);
/* The last measured round trip in milliseconds, or -1 when none yet. */
int desk_rtt_ms(const desk *d);
/* Why the last session ended or the first login failed ("" if it did not). */
const char *desk_drop_reason(const desk *d);
/* Why the last reconnection attempt failed ("" if none failed yet). */
const char *desk_attempt_error(const desk *d);
/* The server's code for the last failure (ERROR_CODE_UNSPECIFIED if none). */
Callfloor__ErrorCode desk_server_code(const desk *d);
/* In DESK_WAITING: the loop time (uv_now) of the next login. */
uint64_t desk_retry_at(const desk *d);

#endif
