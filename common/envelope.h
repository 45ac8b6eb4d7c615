/* envelope: packing and unpacking the protocol's Envelope to and from
 * frames. */
#ifndef CALLFLOOR_ENVELOPE_H
#define CALLFLOOR_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "proto/callfloor.pb-c.h"

typedef Callfloor__Envelope envelope;

/* Appends one frame (header + packed envelope) to `out`. Returns the number
 * of bytes appended or -ENOMEM / -E2BIG (frame too large for an int) /
 * -EINVAL (an envelope with neither id nor body packs to nothing, and the
 * wire forbids an empty frame). On error `out` is unchanged. */
int envelope_append_frame(buf *out, const envelope *env);
/* Unpacks a frame payload. Returns NULL when the bytes are not a valid
 * Envelope. The result is freed with envelope_free. */
envelope *envelope_unpack(const uint8_t *data, size_t len);
void envelope_free(envelope *env);
/* The oneof case name for logs, e.g. "user_add"; "none" for no body. */
const char *envelope_body_name(const envelope *env);
/* Human-readable name of an error code, e.g. "PERMISSION_DENIED". */
const char *envelope_error_name(Callfloor__ErrorCode code);

#endif
