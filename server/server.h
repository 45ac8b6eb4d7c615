/* server: the daemon's long-lived state, created in main() and handed to
 * every module that needs the loop, the settings or the database. */
#ifndef CALLFLOOR_SERVER_H
#define CALLFLOOR_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "db.h"
#include "settings.h"

struct audit;
struct board;
struct floor;
struct hopper;
struct listener;
struct metrics;
struct peers;
struct score;
struct session_registry;
struct vault;

typedef struct server {
    uv_loop_t *loop;
    settings cfg;            /* current settings; reloadable keys change on SIGHUP */
    const char *config_path; /* NULL when run without a file */
    char instance_id[128];
    uint64_t started_ms; /* uv_now at start */
    int schema_version;
    db_pool *db;
    struct vault *vault; /* customers' phone numbers at rest */
    struct listener *listener;
    struct session_registry *sessions;
    struct hopper *hopper;   /* this daemon's share of the lead queue */
    struct floor *floor;     /* the agents and where each is in the call cycle */
    struct score *score;     /* every agent's results for the day, week and month */
    struct board *board;     /* the supervisors watching the leaderboard */
    struct metrics *metrics; /* counters and histograms, and the /metrics endpoint */
    struct audit *audit;     /* the audit log's signed checkpoints */
    struct peers *peers;     /* the other daemons on the same database, as they report */
    bool draining;
} server;

#endif
