#include "envelope.h"

#include <errno.h>
#include <limits.h>

#include "frame.h"

int envelope_append_frame(buf *out, const envelope *env) {
    size_t size = callfloor__envelope__get_packed_size(env);
    if (size == 0)
        return -EINVAL;
    /* The result is an int, so the frame must fit one as well as the
     * 32-bit length prefix. */
    if (size > UINT32_MAX || size > (size_t)INT_MAX - FRAME_HEADER_SIZE)
        return -E2BIG;
    int rc = buf_reserve(out, FRAME_HEADER_SIZE + size);
    if (rc < 0)
        return rc;
    uint8_t *dst = out->data + out->len;
    frame_write_header(dst, (uint32_t)size);
    callfloor__envelope__pack(env, dst + FRAME_HEADER_SIZE);
    out->len += FRAME_HEADER_SIZE + size;
    return (int)(FRAME_HEADER_SIZE + size);
}

envelope *envelope_unpack(const uint8_t *data, size_t len) {
    return callfloor__envelope__unpack(NULL, len, data);
}

void envelope_free(envelope *env) {
    if (env != NULL)
        callfloor__envelope__free_unpacked(env, NULL);
}

/* The descriptors are generated from the .proto, so names stay right when a
 * body or an error code is added without anyone touching this file. */
const char *envelope_body_name(const envelope *env) {
    if (env->body_case == CALLFLOOR__ENVELOPE__BODY__NOT_SET)
        return "none";
    const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field(
        &callfloor__envelope__descriptor, (unsigned)env->body_case);
    return field != NULL ? field->name : "unknown";
}

const char *envelope_error_name(Callfloor__ErrorCode code) {
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value(&callfloor__error_code__descriptor, (int)code);
    return value != NULL ? value->name : "UNKNOWN";
}
