/* monitor: what the supervisor monitor knows about the floor and how it
 * keeps it fresh. A snapshot (the server's status and its teams) is
 * fetched every refresh interval over a session that reconnects by itself
 * (redial); the screen (screen.c) or the JSON lines (main.c) show it. */
#ifndef CALLFLOOR_MONITOR_H
#define CALLFLOOR_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "cli.h"
#include "client.h"
#include "redial.h"

#define MONITOR_PROGRAM "callfloor-monitor"

typedef struct monitor monitor;

/* One row of the leaderboard as last pushed. */
typedef struct monitor_row {
    uint32_t rank;
    char agent[65];
    char display_name[129];
    char team[129];
    int64_t points;
    uint32_t dials, connects, applications, approvals, activations, talk_seconds;
    uint32_t target, tier, projected_tier;
    uint32_t qa_passed; /* applications whose call passed review: the tier counts these */
} monitor_row;
/* Called when a new snapshot arrived, a refresh failed, or the connection
 * changed state. */
typedef void (*monitor_changed_cb)(monitor *m, void *arg);

struct monitor {
    uv_loop_t *loop;
    redial *session;
    uv_timer_t refresh;
    unsigned interval_ms;
    bool fetching;
    bool stopping;            /* answers cut off by monitor_stop are not news */
    envelope *pending_status; /* the StatusReply while TeamList is asked */
    monitor_changed_cb changed;
    void *arg;
    /* The last snapshot, both parts from the same refresh; NULL until the
     * first one arrives. */
    envelope *status;     /* StatusReply */
    envelope *teams;      /* TeamListReply */
    uint64_t snapshot_at; /* uv_now of the snapshot */
    /* Why the last refresh failed, "" after a good one; `refused` when the
     * server said no (e.g. PERMISSION_DENIED), which retrying cannot fix. */
    char problem[CLI_MESSAGE_MAX];
    const char *problem_code;
    bool refused;
    /* The leaderboard subscription and what it holds: the rows in rank
     * order, and the last Board message as it came (snapshot or changes),
     * numbered so that the JSON mode prints each one once. */
    const char *team; /* "" for every team */
    Callfloor__Period period;
    monitor_row *rows;
    size_t nrows;
    envelope *board_last;
    uint64_t board_seq;
    /* The other pushes: the floor (kept for the screen), alerts and
     * notices; the last one of any of them, numbered, for the JSON lines. */
    envelope *floor_last;
    envelope *event_last;
    uint64_t event_seq;
    char alert_line[CLI_MESSAGE_MAX]; /* the newest alert or notice, for the screen */
    /* The answer to the last notice sent or review made, as a sentence. */
    char answer[CLI_MESSAGE_MAX];
    bool answer_is_error;
};

/* Starts the session and the refreshes. Returns 0 or -ENOMEM. */
int monitor_start(monitor *m, uv_loop_t *loop, const client_options *opts, unsigned interval_ms,
                  monitor_changed_cb changed, void *arg);
/* Which leaderboard to watch; call right after monitor_start, or later to
 * switch (the board is asked for again). `team` must outlive the monitor. */
void monitor_watch_board(monitor *m, const char *team, Callfloor__Period period);
/* Refreshes now (when connected and no refresh is under way). */
void monitor_refresh(monitor *m);
/* Sends `text` to the open desks of `team` or of `agent` (one of the two
 * is ""), or reviews ended call `call_id` failing the `nfailed` scorecard
 * items `failed`. The answer lands in m->answer; returns 0, or a negative
 * CLIENT_E_* code (nothing was sent) with m->answer saying why. */
int monitor_send_notice(monitor *m, const char *team, const char *agent, const char *text);
int monitor_review(monitor *m, uint64_t call_id, char **failed, size_t nfailed, const char *notes);
/* Stops everything; the loop must run once more to release it all. */
void monitor_stop(monitor *m);

/* The full-screen view (screen.c); returns the exit status. */
int screen_run(uv_loop_t *loop, const client_options *opts, unsigned interval_ms, const char *team,
               Callfloor__Period period);

#endif
