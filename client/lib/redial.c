#include "redial.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

#define REDIAL_FIRST_DELAY_MS 1000
#define REDIAL_MAX_DELAY_MS   30000
#define REDIAL_REASON_MAX     512

struct redial {
    uv_loop_t *loop;
    client_options opts; /* strings owned, see copy_options */
    redial_changed_cb changed;
    redial_push_cb push;
    void *arg;
    client *c;
    redial_state state;
    uv_timer_t retry; /* the wait before the next attempt, and its countdown */
    uint64_t retry_at;
    uint64_t ready_since;
    unsigned delay_ms;
    char reason[REDIAL_REASON_MAX];
    int status;
};

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

static void free_options(client_options *o) {
    free((char *)o->server);
    free((char *)o->ca_file);
    free((char *)o->cert_file);
    free((char *)o->key_file);
    free((char *)o->username);
    if (o->password)
        memset((char *)o->password, 0, strlen(o->password));
    free((char *)o->password);
    free((char *)o->client_name);
}

static int copy_options(client_options *dst, const client_options *src) {
    *dst = *src;
    dst->server = dup_or_null(src->server);
    dst->ca_file = dup_or_null(src->ca_file);
    dst->cert_file = dup_or_null(src->cert_file);
    dst->key_file = dup_or_null(src->key_file);
    dst->username = dup_or_null(src->username);
    dst->password = dup_or_null(src->password);
    dst->client_name = dup_or_null(src->client_name);
    if ((src->server && !dst->server) || (src->ca_file && !dst->ca_file) ||
        (src->cert_file && !dst->cert_file) || (src->key_file && !dst->key_file) ||
        (src->username && !dst->username) || (src->password && !dst->password) ||
        (src->client_name && !dst->client_name)) {
        free_options(dst);
        return -1;
    }
    return 0;
}

static void set_state(redial *r, redial_state state) {
    r->state = state;
    r->changed(r, r->arg);
}

/* Retrying cannot fix these: the user has to do something first. */
static int is_final(int status, Callfloor__ErrorCode server_code) {
    if (status == CLIENT_E_AUTH)
        return 1;
    return server_code == CALLFLOOR__ERROR_CODE__ACCOUNT_DISABLED ||
           server_code == CALLFLOOR__ERROR_CODE__UNSUPPORTED_VERSION ||
           server_code == CALLFLOOR__ERROR_CODE__INVALID_CREDENTIALS;
}

static void attempt(redial *r);

static void on_retry(uv_timer_t *t) {
    redial *r = t->data;
    if (uv_now(r->loop) >= r->retry_at) {
        uv_timer_stop(&r->retry);
        attempt(r);
    } else {
        r->changed(r, r->arg); /* the countdown moved */
    }
}

/* Drops the dead client and either gives up or waits before trying again. */
static void connection_ended(redial *r, int status, const char *why) {
    Callfloor__ErrorCode code = client_last_server_code(r->c);
    snprintf(r->reason, sizeof r->reason, "%s", why);
    r->status = status;
    client_destroy(r->c);
    r->c = NULL;
    if (is_final(status, code)) {
        set_state(r, REDIAL_GAVE_UP);
        return;
    }
    r->retry_at = uv_now(r->loop) + r->delay_ms;
    r->delay_ms = r->delay_ms * 2 > REDIAL_MAX_DELAY_MS ? REDIAL_MAX_DELAY_MS : r->delay_ms * 2;
    uv_timer_start(&r->retry, on_retry, 250, 250);
    set_state(r, REDIAL_WAITING);
}

static void on_closed(client *c, int status, const char *reason, void *arg) {
    (void)c;
    connection_ended(arg, status, reason);
}

static void on_push(client *c, const envelope *push, void *arg) {
    redial *r = arg;
    (void)c;
    if (r->push)
        r->push(r, push, r->arg);
}

static void on_ready(client *c, int status, void *arg) {
    redial *r = arg;
    if (status < 0) {
        connection_ended(r, status, client_last_error(c));
        return;
    }
    r->delay_ms = REDIAL_FIRST_DELAY_MS;
    r->ready_since = uv_now(r->loop);
    r->reason[0] = '\0';
    set_state(r, REDIAL_READY);
}

static void attempt(redial *r) {
    r->c = client_create(r->loop, &r->opts);
    if (r->c == NULL) {
        snprintf(r->reason, sizeof r->reason, "%s", _("out of memory"));
        r->status = CLIENT_E_NOMEM;
        set_state(r, REDIAL_GAVE_UP);
        return;
    }
    client_on_closed(r->c, on_closed, r);
    client_on_push(r->c, on_push, r);
    set_state(r, REDIAL_CONNECTING);
    int rc = client_connect(r->c, on_ready, r);
    if (rc < 0)
        connection_ended(r, rc, client_last_error(r->c));
}

redial *redial_start(uv_loop_t *loop, const client_options *opts, redial_changed_cb changed,
                     redial_push_cb push, void *arg) {
    redial *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    if (copy_options(&r->opts, opts) < 0) {
        free(r);
        return NULL;
    }
    r->loop = loop;
    r->changed = changed;
    r->push = push;
    r->arg = arg;
    r->delay_ms = REDIAL_FIRST_DELAY_MS;
    uv_timer_init(loop, &r->retry);
    r->retry.data = r;
    /* The first attempt starts from the loop, so the owner hears of no
     * change before redial_start has returned. */
    r->state = REDIAL_CONNECTING;
    r->retry_at = uv_now(loop);
    uv_timer_start(&r->retry, on_retry, 0, 0);
    return r;
}

static void on_retry_closed(uv_handle_t *h) {
    redial *r = h->data;
    free_options(&r->opts);
    free(r);
}

void redial_stop(redial *r) {
    if (r->c != NULL) {
        client *c = r->c;
        r->c = NULL;
        client_destroy(c);
    }
    uv_close((uv_handle_t *)&r->retry, on_retry_closed);
}

redial_state redial_current(const redial *r) {
    return r->state;
}

client *redial_client(const redial *r) {
    return r->state == REDIAL_READY ? r->c : NULL;
}

const char *redial_reason(const redial *r) {
    return r->reason;
}

int redial_status(const redial *r) {
    return r->status;
}

unsigned redial_seconds_left(const redial *r) {
    uint64_t now = uv_now(r->loop);
    return r->state == REDIAL_WAITING && r->retry_at > now
               ? (unsigned)((r->retry_at - now + 999) / 1000)
               : 0;
}

uint64_t redial_ready_since(const redial *r) {
    return r->ready_since;
}
