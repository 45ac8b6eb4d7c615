/* Unit tests for common/envelope: pack and unpack round trips through a
 * real frame, rejection of bytes that are no Envelope, and the names used
 * in logs, which come from the generated descriptors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "buf.h"
#include "envelope.h"
#include "frame.h"

/* Packs `env` into a frame, checks the header against the bytes that
 * follow it, and unpacks the payload again. */
static envelope *round_trip(const envelope *env) {
    buf b = BUF_INIT;
    int n = envelope_append_frame(&b, env);
    assert_true(n > FRAME_HEADER_SIZE);
    assert_int_equal((size_t)n, buf_pending(&b));
    uint8_t header[FRAME_HEADER_SIZE];
    frame_write_header(header, (uint32_t)(n - FRAME_HEADER_SIZE));
    assert_memory_equal(buf_head(&b), header, sizeof header);
    envelope *back =
        envelope_unpack(buf_head(&b) + FRAME_HEADER_SIZE, (size_t)n - FRAME_HEADER_SIZE);
    buf_free(&b);
    assert_non_null(back);
    return back;
}

static void test_hello_round_trip(void **state) {
    (void)state;
    Callfloor__Hello hello = CALLFLOOR__HELLO__INIT;
    hello.protocol_version = CALLFLOOR__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT;
    hello.client_name = "callfloor-agent";
    hello.client_version = "0.1.0";
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.id = 42;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_HELLO;
    env.hello = &hello;

    envelope *back = round_trip(&env);
    assert_int_equal(back->id, 42);
    assert_int_equal(back->body_case, CALLFLOOR__ENVELOPE__BODY_HELLO);
    assert_int_equal(back->hello->protocol_version, 1);
    assert_string_equal(back->hello->client_name, "callfloor-agent");
    assert_string_equal(back->hello->client_version, "0.1.0");
    assert_string_equal(envelope_body_name(back), "hello");
    envelope_free(back);
}

static void test_login_round_trip(void **state) {
    (void)state;
    Callfloor__Login login = CALLFLOOR__LOGIN__INIT;
    login.username = "张三";
    login.password = "correct horse battery staple";
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.id = UINT64_MAX;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_LOGIN;
    env.login = &login;

    envelope *back = round_trip(&env);
    assert_true(back->id == UINT64_MAX);
    assert_int_equal(back->body_case, CALLFLOOR__ENVELOPE__BODY_LOGIN);
    assert_string_equal(back->login->username, "张三");
    assert_string_equal(back->login->password, "correct horse battery staple");
    envelope_free(back);
}

static void test_error_round_trip(void **state) {
    (void)state;
    Callfloor__Error error = CALLFLOOR__ERROR__INIT;
    error.code = CALLFLOOR__ERROR_CODE__RATE_LIMITED;
    error.message = "slow down";
    error.retry_after_ms = 1500;
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.id = 7;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_ERROR;
    env.error = &error;

    envelope *back = round_trip(&env);
    assert_int_equal(back->id, 7);
    assert_int_equal(back->body_case, CALLFLOOR__ENVELOPE__BODY_ERROR);
    assert_int_equal(back->error->code, CALLFLOOR__ERROR_CODE__RATE_LIMITED);
    assert_string_equal(back->error->message, "slow down");
    assert_int_equal(back->error->retry_after_ms, 1500);
    assert_string_equal(envelope_error_name(back->error->code), "RATE_LIMITED");
    envelope_free(back);
}

/* A push with an empty message body still packs to a few bytes. */
static void test_push_with_empty_body(void **state) {
    (void)state;
    Callfloor__Ok ok = CALLFLOOR__OK__INIT;
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_OK;
    env.ok = &ok;
    envelope *back = round_trip(&env);
    assert_int_equal(back->id, 0);
    assert_int_equal(back->body_case, CALLFLOOR__ENVELOPE__BODY_OK);
    envelope_free(back);
}

static void test_nothing_to_pack_is_refused(void **state) {
    (void)state;
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    buf b = BUF_INIT;
    assert_int_equal(envelope_append_frame(&b, &env), -EINVAL);
    assert_int_equal(buf_pending(&b), 0);
    buf_free(&b);
}

static void test_frames_append_after_existing_bytes(void **state) {
    (void)state;
    Callfloor__Ping ping = CALLFLOOR__PING__INIT;
    ping.nonce = 99;
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.id = 1;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_PING;
    env.ping = &ping;
    buf b = BUF_INIT;
    int first = envelope_append_frame(&b, &env);
    int second = envelope_append_frame(&b, &env);
    assert_true(first > 0);
    assert_int_equal(first, second);
    assert_int_equal(buf_pending(&b), (size_t)first * 2);
    assert_memory_equal(buf_head(&b), buf_head(&b) + first, (size_t)first);
    buf_free(&b);
}

static void test_garbage_is_rejected(void **state) {
    (void)state;
    /* A tag varint that never ends. */
    static const uint8_t endless_varint[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                             0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    assert_null(envelope_unpack(endless_varint, sizeof endless_varint));
    /* Field 10 (hello) declares 16 bytes but only one follows. */
    static const uint8_t truncated[] = {0x52, 0x10, 0x01};
    assert_null(envelope_unpack(truncated, sizeof truncated));
    /* Field number 0 does not exist in any message. */
    static const uint8_t field_zero[] = {0x00, 0x01};
    assert_null(envelope_unpack(field_zero, sizeof field_zero));
}

static void test_body_names(void **state) {
    (void)state;
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    assert_string_equal(envelope_body_name(&env), "none");
    env.body_case = CALLFLOOR__ENVELOPE__BODY_USER_ADD;
    assert_string_equal(envelope_body_name(&env), "user_add");
    env.body_case = CALLFLOOR__ENVELOPE__BODY_TEAM_LIST_REPLY;
    assert_string_equal(envelope_body_name(&env), "team_list_reply");
    env.body_case = CALLFLOOR__ENVELOPE__BODY_PING;
    assert_string_equal(envelope_body_name(&env), "ping");
    env.body_case = (Callfloor__Envelope__BodyCase)9999;
    assert_string_equal(envelope_body_name(&env), "unknown");
}

static void test_error_names(void **state) {
    (void)state;
    assert_string_equal(envelope_error_name(CALLFLOOR__ERROR_CODE__PERMISSION_DENIED),
                        "PERMISSION_DENIED");
    assert_string_equal(envelope_error_name(CALLFLOOR__ERROR_CODE__PROTOCOL_ERROR),
                        "PROTOCOL_ERROR");
    assert_string_equal(envelope_error_name(CALLFLOOR__ERROR_CODE__IDLE_TIMEOUT), "IDLE_TIMEOUT");
    assert_string_equal(envelope_error_name((Callfloor__ErrorCode)9999), "UNKNOWN");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_round_trip),
        cmocka_unit_test(test_login_round_trip),
        cmocka_unit_test(test_error_round_trip),
        cmocka_unit_test(test_push_with_empty_body),
        cmocka_unit_test(test_nothing_to_pack_is_refused),
        cmocka_unit_test(test_frames_append_after_existing_bytes),
        cmocka_unit_test(test_garbage_is_rejected),
        cmocka_unit_test(test_body_names),
        cmocka_unit_test(test_error_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
