/* sim: the state callfloor-sim shares between its parts. main.c reads the
 * options, paces the sessions in, keeps time and prints the report;
 * cycle.c plays each session: an agent's call cycle (ready, offer, dial,
 * talk, outcome, again) or a supervisor watching the board. */
#ifndef CALLFLOOR_SIM_H
#define CALLFLOOR_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "cli.h"
#include "redial.h"
#include "stats.h"

typedef struct sim sim;

typedef enum sim_role { SIM_SUPERVISOR, SIM_AGENT } sim_role;

/* When a request went: offers, outcomes, pushes and pings are timed only
 * for those sent in the measured window, while every session is in. The ramp's
 * figures would mix in the logins' password checks; the wind-down ends
 * every open call at once, a burst no working floor makes. */
typedef enum sim_phase { SIM_RAMP, SIM_WINDOW, SIM_WIND_DOWN } sim_phase;

typedef struct sim_session {
    sim *s;
    redial *r;
    sim_role role;
    char username[80];
    uint64_t started_at; /* uv_hrtime of the first attempt */
    bool ever_up, up, gone;
    uint64_t ping_sent_at;
    bool ping_in_flight;
    sim_phase ping_phase;
    /* An agent's call cycle. */
    uv_timer_t talk;        /* the simulated conversation */
    uint64_t ready_sent_at; /* 0 unless an AgentReady waits for its offer */
    sim_phase ready_phase;
    uint64_t lead_id, call_id;
    bool dialling;
    bool dial_lost;   /* the connection went with a Dial unanswered */
    char product[32]; /* the offer's first product, for an application */
    /* The outcome sent and not yet acknowledged: resent with the same key
     * after a reconnect, so that the server answers it exactly once. */
    bool outcome_pending;
    char key[48];
    const char *disposition;
    uint32_t talk_seconds;
    uint64_t outcome_sent_at;
    sim_phase outcome_phase;
    uint64_t acked_at; /* when the latest outcome's answer came */
    unsigned outcomes; /* outcomes sent and not refused */
    unsigned acked;    /* outcomes answered */
    unsigned seq;
    uint32_t base_dials; /* today's dials on the board before the run */
    /* A supervisor: per agent, the outcomes its board has shown. */
    unsigned *seen;
} sim_session;

struct sim {
    uv_loop_t *loop;
    cli_conn_options conn;
    const char *prefix, *supervisor_prefix, *acks_path;
    unsigned agents, supervisors, connect_rate, duration_s, talk_ms, ping_ms, server_pid;
    bool json, idle, quiet;
    sim_session *sessions; /* the supervisors first, then the agents */
    unsigned total, started, settled, ok, failed, lost, reconnects;
    unsigned left_open;     /* agents with work unfinished at the end */
    unsigned boards_behind; /* supervisors not shown every last outcome at the end */
    char first_failure[CLI_MESSAGE_MAX];
    int first_failure_status;
    /* fanout: from an outcome's answer reaching its agent to the board
     * push showing it reaching each supervisor: the server's fan-out, the
     * database commit left out. */
    samples login, rtt, offer, ack, push, fanout;
    samples wind_down_ack;      /* the answers to the outcomes the wind-down sent */
    uint64_t fanout_before_ack; /* fanout samples read before the answer */
    /* Pushes the supervisors received while measuring, and their bytes. */
    uint64_t supervisor_pushes, supervisor_push_bytes;
    /* retried: requests the server asked to send again later */
    uint64_t offers, dials, dials_refused, acked, acked_in_window, refused, retried, replayed,
        applications;
    bool measuring;   /* between all sessions in and the wind-down */
    bool bases_known; /* the first board snapshot gave each agent's dials */
    FILE *acks;
    bool winding_down, stopping;
    uint64_t rng;
};

/* Starts `se`'s session (index `k` of s->sessions) from the next loop
 * iteration; it reconnects by itself when the connection is lost. */
void sim_session_start(sim *s, unsigned k);
/* Sends a Ping on every session number k with k % slices == slice that is
 * up and has none in flight. Called with each slice in turn, every session
 * pings once a round and the round's pings are spread over it, as real
 * clients' heartbeats are: all at once, they would queue behind one
 * another and each other request behind them. */
void sim_ping_slice(sim *s, unsigned slice, unsigned slices);
/* No more leads are asked for; every call in progress ends now. */
void sim_wind_down(sim *s);
/* True when no agent that is connected has a call open, a Dial or an
 * outcome unanswered. */
bool sim_settled(const sim *s);
/* The supervisors connected whose board does not show every agent's
 * latest outcome (the agents and supervisors being of one team). */
unsigned sim_boards_behind(const sim *s);
/* The agents with a call open or a Dial or outcome unanswered. */
unsigned sim_left_open(const sim *s);
/* Closes every session; run the loop afterwards to free them. */
void sim_stop_all(sim *s);
/* Counts a failure and keeps the first one's words and status. */
void sim_note_failure(sim *s, int status, const char *why);

#endif
