/* outbox: the agent's outcomes that the server has not acknowledged yet,
 * kept in a local file so that none is lost when the connection, the
 * server or the desk itself dies. An outcome is written (and synced) before
 * it is sent and removed once the server answered it; the desk resends
 * whatever is left after every login. The server recognises a resend by its
 * idempotency key, so an outcome sent twice is recorded once.
 *
 * The file holds one outcome per line, as the hex of its protobuf encoding.
 * It is small (at most OUTBOX_MAX entries) and rewritten whole, through a
 * temporary file and a rename, when an entry is removed. */
#ifndef CALLFLOOR_AGENT_OUTBOX_H
#define CALLFLOOR_AGENT_OUTBOX_H

#include <stddef.h>

#include "proto/callfloor.pb-c.h"

#define OUTBOX_MAX 1000

enum {
    OUTBOX_E_FULL = -5201,    /* OUTBOX_MAX outcomes are waiting already */
    OUTBOX_E_CORRUPT = -5202, /* a line of the file is not an outcome */
};

typedef struct outbox outbox;

/* Opens (creating it and its directory if needed) the outbox at `path` and
 * reads what it holds. Returns NULL with a sentence in `err`. */
outbox *outbox_open(const char *path, char *err, size_t errlen);
void outbox_close(outbox *ob);
/* Writes `o` to the file and syncs it. Returns 0, OUTBOX_E_FULL or -errno. */
int outbox_add(outbox *ob, const Callfloor__Outcome *o);
/* Removes the outcome with this idempotency key, if it is there. Returns 0
 * or -errno (the file then still holds it, and a resend is harmless). */
int outbox_remove(outbox *ob, const char *key);
size_t outbox_count(const outbox *ob);
/* The i-th waiting outcome, unpacked; free it with
 * callfloor__outcome__free_unpacked(o, NULL). NULL on out-of-memory. */
Callfloor__Outcome *outbox_get(const outbox *ob, size_t i);
const char *outbox_path(const outbox *ob);
/* The default file: $XDG_STATE_HOME/callfloor/outbox-USER (or under
 * ~/.local/state). Returns -1 when neither variable is set. */
int outbox_default_path(const char *user, char *out, size_t cap);

#endif
