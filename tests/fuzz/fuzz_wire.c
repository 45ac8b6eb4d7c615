/* fuzz_wire: bytes as they arrive on a connection. The frame decoder cuts
 * them into frames (at the limit a session has before login, then after),
 * each frame is unpacked as an Envelope, and its message is looked up in the
 * dispatch table as the server does before running a handler. Nothing may
 * crash, leak or read out of bounds, whatever the bytes. */
#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "envelope.h"
#include "frame.h"

static int on_frame(void *arg, const uint8_t *payload, size_t len) {
    (void)arg;
    envelope *env = envelope_unpack(payload, len);
    if (env != NULL) {
        const dispatch_entry *e = dispatch_find(env->body_case);
        /* What the server checks next: the role mask and the login state. */
        volatile unsigned roles = e != NULL ? e->roles : 0;
        (void)roles;
        envelope_free(env);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    frame_decoder d;
    frame_decoder_init(&d, 16 * 1024);
    /* Fed in two parts, as reads split it, the limit raised between. */
    size_t half = size / 2;
    if (frame_decoder_feed(&d, data, half, on_frame, NULL) == 0) {
        frame_decoder_set_max(&d, 1024 * 1024);
        frame_decoder_feed(&d, data + half, size - half, on_frame, NULL);
    }
    frame_decoder_free(&d);
    return 0;
}
