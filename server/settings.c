#include "settings.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

#define KEY(name, type, def, field, min, max, reload, help) \
    { name, type, def, offsetof(settings, field), min, max, reload, help }

const config_key settings_table[] = {
    KEY("server.listen", CONFIG_STRING, "127.0.0.1:7443", listen, 0, 0, false,
        "Address and port to accept clients on, e.g. 0.0.0.0:7443 or [::]:7443."),
    KEY("server.instance_id", CONFIG_STRING, "", instance_id, 0, 0, false,
        "Name of this daemon among several sharing one database; empty means the host name."),
    KEY("server.worker_threads", CONFIG_INT, "0", worker_threads, 0, 1024, false,
        "Threads hashing passwords off the event loop; 0 means one per CPU (at least 4)."),
    KEY("tls.cert", CONFIG_STRING, "/etc/callfloor/server.crt", tls_cert, 0, 0, true,
        "Server certificate chain (PEM)."),
    KEY("tls.key", CONFIG_STRING, "/etc/callfloor/server.key", tls_key, 0, 0, true,
        "Private key of the server certificate (PEM)."),
    KEY("tls.client_ca", CONFIG_STRING, "", tls_client_ca, 0, 0, true,
        "CA that signs client certificates; empty disables client certificates."),
    KEY("tls.profile", CONFIG_STRING, "intermediate", tls_profile, 0, 0, true,
        "intermediate (TLS 1.2 and 1.3) or modern (TLS 1.3 only)."),
    KEY("database.conninfo", CONFIG_STRING, "dbname=callfloor", db_conninfo, 0, 0, false,
        "libpq connection string of the PostgreSQL database."),
    KEY("database.pool_size", CONFIG_INT, "4", db_pool_size, 1, 64, false,
        "Number of PostgreSQL connections the daemon keeps open."),
    KEY("session.heartbeat_interval", CONFIG_DURATION, "10s", heartbeat_interval_ms, 1000, 600000,
        true, "Clients ping this often; three silent intervals close a session."),
    KEY("session.handshake_timeout", CONFIG_DURATION, "10s", handshake_timeout_ms, 1000, 300000,
        true, "Time allowed for the TLS handshake, and again for Hello and Login after it."),
    KEY("session.max_frame", CONFIG_SIZE, "1m", max_frame, 1024, 64 * 1024 * 1024, true,
        "Largest frame accepted from a logged-in client."),
    KEY("session.max_frame_prelogin", CONFIG_SIZE, "16k", max_frame_prelogin, 256, 1024 * 1024,
        true, "Largest frame accepted before login."),
    KEY("session.output_cap", CONFIG_SIZE, "4m", output_cap, 65536, 1024 * 1024 * 1024, true,
        "Bytes queued to one slow client before it is disconnected."),
    KEY("session.max_connections", CONFIG_INT, "20000", max_connections, 1, 1000000, true,
        "Connections accepted at once; more are refused."),
    KEY("session.max_per_address", CONFIG_INT, "0", max_per_address, 0, 1000000, true,
        "Connections accepted at once from one client address; 0: no limit."),
    KEY("queue.hopper_batch", CONFIG_INT, "20", hopper_batch, 1, 1000, true,
        "Leads one campaign's hopper claims from the database at a time; more while agents wait."),
    KEY("queue.lease_ttl", CONFIG_DURATION, "5m", lease_ttl_ms, 30000, 3600000, false,
        "How long a claimed lead stays this daemon's without renewal; renewed every third of it."),
    KEY("queue.reconnect_grace", CONFIG_DURATION, "2m", reconnect_grace_ms, 0, 3600000, true,
        "An agent who reconnects within this gets back the lead or call they held."),
    KEY("queue.callback_grace", CONFIG_DURATION, "15m", callback_grace_ms, 0, 86400000, true,
        "A callback is offered only to the agent who booked it until this long after its time."),
    KEY("board.time_zone", CONFIG_STRING, "Asia/Shanghai", board_time_zone, 0, 0, false,
        "Time zone whose days, weeks and months the scores are counted in."),
    KEY("board.interval", CONFIG_DURATION, "200ms", board_interval_ms, 10, 60000, true,
        "Leaderboard pushes to one supervisor come at most this often."),
    KEY("board.pause_alert", CONFIG_DURATION, "15m", pause_alert_ms, 1000, 86400000, true,
        "Supervisors are alerted when an agent stays paused longer than this."),
    KEY("board.rank_interval", CONFIG_DURATION, "1s", rank_interval_ms, 1000, 3600000, true,
        "An agent's desk hears that others' results moved its rank no sooner than one to two of "
        "this after it was last told."),
    KEY("vault.key_file", CONFIG_STRING, "/etc/callfloor/vault.keys", vault_key_file, 0, 0, false,
        "Keys that encrypt and hash customers' phone numbers (deploy/gen-vault-key.sh)."),
    KEY("bootstrap.admin_user", CONFIG_STRING, "admin", bootstrap_admin, 0, 0, false,
        "Name of the first admin account, created if no admin exists."),
    KEY("bootstrap.admin_password_file", CONFIG_STRING, "", bootstrap_password_file, 0, 0, false,
        "File whose first line is the first admin's password; empty skips the bootstrap."),
    KEY("log.level", CONFIG_STRING, "info", log_level, 0, 0, true,
        "error, warn, notice, info or debug."),
    KEY("metrics.listen", CONFIG_STRING, "127.0.0.1:9464", metrics_listen, 0, 0, false,
        "host:port of the Prometheus endpoint /metrics; empty for none."),
    KEY("audit.signing_key", CONFIG_STRING, "/etc/callfloor/audit.key", audit_signing_key, 0, 0,
        false, "Ed25519 private key (PEM) that signs the audit checkpoints; empty for none."),
    KEY("audit.checkpoint_interval", CONFIG_DURATION, "1h", audit_checkpoint_ms, 60000, 86400000,
        false, "How often the audit log's head is signed, when it changed."),
    KEY("privacy.retention_days", CONFIG_INT, "0", privacy_retention_days, 0, 36500, true,
        "Days after which an untouched customer's personal data may be purged; 0: unset."),
    {NULL, CONFIG_STRING, NULL, 0, 0, 0, false, NULL},
};

/* Checks that need more than one key, or a vocabulary. */
static int settings_validate(const settings *s, char *err, size_t errlen) {
    log_level level;
    if (log_level_parse(s->log_level, &level) < 0) {
        snprintf(err, errlen, "log.level '%s' is not one of error, warn, notice, info, debug",
                 s->log_level);
        return -1;
    }
    if (strcmp(s->tls_profile, "intermediate") != 0 && strcmp(s->tls_profile, "modern") != 0) {
        snprintf(err, errlen, "tls.profile '%s' must be intermediate or modern", s->tls_profile);
        return -1;
    }
    if (s->max_frame_prelogin > s->max_frame) {
        snprintf(err, errlen, "session.max_frame_prelogin (%zu) exceeds session.max_frame (%zu)",
                 s->max_frame_prelogin, s->max_frame);
        return -1;
    }
    if (s->tls_cert[0] == '\0' || s->tls_key[0] == '\0') {
        snprintf(err, errlen, "tls.cert and tls.key must name the server's PEM files");
        return -1;
    }
    return 0;
}

static int settings_apply_override(settings *s, const char *override, char *err, size_t errlen) {
    const char *eq = strchr(override, '=');
    char name[128];
    if (eq == NULL || eq == override || (size_t)(eq - override) >= sizeof name) {
        snprintf(err, errlen, "--set '%s' is not KEY=VALUE (e.g. --set log.level=debug)", override);
        return -1;
    }
    memcpy(name, override, (size_t)(eq - override));
    name[eq - override] = '\0';
    return config_set(settings_table, s, name, eq + 1, "--set", err, errlen);
}

int settings_load(settings *s, const char *path, char *const *overrides, int noverrides, char *err,
                  size_t errlen) {
    memset(s, 0, sizeof *s);
    if (config_set_defaults(settings_table, s, err, errlen) < 0)
        return -1;
    if (path != NULL && config_load_file(settings_table, s, path, err, errlen) < 0)
        return -1;
    for (int i = 0; i < noverrides; i++)
        if (settings_apply_override(s, overrides[i], err, errlen) < 0)
            return -1;
    return settings_validate(s, err, errlen);
}

static size_t value_size(config_type type) {
    switch (type) {
    case CONFIG_STRING:
        return sizeof(char *);
    case CONFIG_INT:
        return sizeof(int);
    case CONFIG_BOOL:
        return sizeof(bool);
    case CONFIG_DURATION:
        return sizeof(unsigned);
    case CONFIG_SIZE:
        return sizeof(size_t);
    }
    return 0;
}

void settings_apply_reload(settings *current, settings *next) {
    for (const config_key *k = settings_table; k->name != NULL; k++) {
        if (!k->reloadable)
            continue;
        unsigned char tmp[sizeof(size_t) > sizeof(char *) ? sizeof(size_t) : sizeof(char *)];
        unsigned char *a = (unsigned char *)current + k->offset;
        unsigned char *b = (unsigned char *)next + k->offset;
        size_t n = value_size(k->type);
        memcpy(tmp, a, n);
        memcpy(a, b, n);
        memcpy(b, tmp, n);
    }
}

void settings_free(settings *s) {
    config_free(settings_table, s);
}
