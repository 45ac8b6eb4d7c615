/* settings: the daemon's configuration, described once as a config_key
 * table (common/config.h). Every key, its default and whether SIGHUP may
 * change it is listed in deploy/callfloord.conf.example. */
#ifndef CALLFLOOR_SETTINGS_H
#define CALLFLOOR_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

typedef struct settings {
    /* [server] */
    char *listen;       /* "host:port" */
    char *instance_id;  /* "" = the host name */
    int worker_threads; /* 0 = one per CPU, at least 4 */
    /* [tls] */
    char *tls_cert;
    char *tls_key;
    char *tls_client_ca; /* "" = no client certificates */
    char *tls_profile;   /* "intermediate" or "modern" */
    /* [database] */
    char *db_conninfo;
    int db_pool_size;
    /* [session] */
    unsigned heartbeat_interval_ms;
    unsigned handshake_timeout_ms;
    size_t max_frame;
    size_t max_frame_prelogin;
    size_t output_cap;
    int max_connections;
    int max_per_address; /* 0: no limit */
    /* [queue] */
    int hopper_batch;
    unsigned lease_ttl_ms;
    unsigned reconnect_grace_ms;
    unsigned callback_grace_ms;
    /* [board] */
    char *board_time_zone;
    unsigned board_interval_ms;
    unsigned pause_alert_ms;
    unsigned rank_interval_ms;
    /* [vault] */
    char *vault_key_file;
    /* [bootstrap] */
    char *bootstrap_admin;
    char *bootstrap_password_file;
    /* [log] */
    char *log_level;
    char *metrics_listen;         /* "host:port" of /metrics; "" for none */
    char *audit_signing_key;      /* Ed25519 private key (PEM) signing checkpoints */
    unsigned audit_checkpoint_ms; /* how often the audit chain's head is signed */
    int privacy_retention_days;   /* customers untouched this long may be purged; 0: unset */
} settings;

extern const config_key settings_table[];

/* Fills `s` with defaults, then the file (if `path` is not NULL), then the
 * `overrides` ("key=value" strings, from the command line). Checks values
 * that depend on each other. Returns 0 or -1 with a sentence in `err`; in
 * both cases `s` is later released with settings_free. */
int settings_load(settings *s, const char *path, char *const *overrides, int noverrides, char *err,
                  size_t errlen);
/* Moves the values of the reloadable keys from `next` into `current`
 * (and the replaced values into `next`, to be freed with it). */
void settings_apply_reload(settings *current, settings *next);
void settings_free(settings *s);

#endif
