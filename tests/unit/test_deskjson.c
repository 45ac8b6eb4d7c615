/* The desk's JSON lines: an outcome command read into an Outcome (defaults,
 * the application's checklist and pre-screen, every bad member refused
 * with a sentence), and a lead offer written with its Chinese name, masked
 * number, history and products. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "deskjson.h"

/* Parses `text` (copied) as a command and reads it as an outcome. */
static const char *parse(const char *text, uint64_t call, deskjson_outcome *out, char *copy,
                         size_t cap) {
    json_member m[32];
    size_t where;
    snprintf(copy, cap, "%s", text);
    int n = json_parse_flat(copy, m, 32, &where);
    assert_true(n > 0);
    return deskjson_parse_outcome(m, n, call, out);
}

static void test_simple_outcome(void **state) {
    (void)state;
    deskjson_outcome o;
    char text[512];
    assert_null(
        parse("{\"cmd\":\"outcome\",\"disposition\":\"NO_ANSWER\"}", 42, &o, text, sizeof text));
    assert_int_equal(o.outcome.call_id, 42);
    assert_string_equal(o.outcome.disposition, "NO_ANSWER");
    assert_int_equal(strlen(o.outcome.idempotency_key), 32);
    assert_int_equal(strspn(o.outcome.idempotency_key, "0123456789abcdef"), 32);
    assert_null(o.outcome.disclosure);
    deskjson_outcome again;
    assert_null(parse("{\"cmd\":\"outcome\",\"disposition\":\"NO_ANSWER\"}", 42, &again, text,
                      sizeof text));
    assert_string_not_equal(o.key, again.key);

    assert_null(parse("{\"cmd\":\"outcome\",\"disposition\":\"CALLBACK\",\"call_id\":7,"
                      "\"key\":\"my-key-123\",\"callback_at\":1796803200,\"talk_seconds\":95,"
                      "\"notes\":\"晚上再打\"}",
                      42, &o, text, sizeof text));
    assert_int_equal(o.outcome.call_id, 7);
    assert_string_equal(o.outcome.idempotency_key, "my-key-123");
    assert_int_equal(o.outcome.callback_at, 1796803200);
    assert_int_equal(o.outcome.talk_seconds, 95);
    assert_string_equal(o.outcome.notes, "晚上再打");
}

static void test_application(void **state) {
    (void)state;
    deskjson_outcome o;
    char text[512];
    assert_null(parse("{\"cmd\":\"outcome\",\"disposition\":\"APPLICATION_SUBMITTED\","
                      "\"product\":\"CB01\",\"identity_stated\":true,\"recording_consent\":true,"
                      "\"annual_fee_stated\":false,\"apr_stated\":true,\"no_pressure\":true,"
                      "\"income_band\":5,\"employment\":\"employed\",\"existing_cards\":2}",
                      9, &o, text, sizeof text));
    assert_string_equal(o.outcome.product_code, "CB01");
    assert_non_null(o.outcome.disclosure);
    assert_true(o.outcome.disclosure->identity_stated);
    assert_false(o.outcome.disclosure->annual_fee_stated);
    assert_non_null(o.outcome.prescreen);
    assert_int_equal(o.outcome.prescreen->income_band, 5);
    assert_int_equal(o.outcome.prescreen->existing_cards, 2);
    assert_string_equal(o.outcome.prescreen->employment, "employed");
}

static void test_bad_outcomes(void **state) {
    (void)state;
    deskjson_outcome o;
    char text[512];
    const struct {
        const char *json;
        uint64_t call;
        const char *says;
    } bad[] = {
        {"{\"cmd\":\"outcome\",\"disposition\":\"BUSY\"}", 0, "no call"},
        {"{\"cmd\":\"outcome\"}", 3, "disposition"},
        {"{\"cmd\":\"outcome\",\"disposition\":\"BUSY\",\"talk_seconds\":-5}", 3, "talk_seconds"},
        {"{\"cmd\":\"outcome\",\"disposition\":\"BUSY\",\"talk_seconds\":90000}", 3,
         "talk_seconds"},
        {"{\"cmd\":\"outcome\",\"disposition\":\"BUSY\",\"talk_seconds\":\"ten\"}", 3,
         "talk_seconds"},
        {"{\"cmd\":\"outcome\",\"disposition\":\"BUSY\",\"call_id\":1.5}", 3, "call"},
        {"{\"cmd\":\"outcome\",\"disposition\":\"CALLBACK\",\"callback_at\":\"tonight\"}", 3,
         "callback_at"},
        {"{\"cmd\":\"outcome\",\"disposition\":\"APPLICATION_SUBMITTED\",\"income_band\":12}", 3,
         "income_band"},
        {"{\"cmd\":\"outcome\",\"disposition\":\"APPLICATION_SUBMITTED\",\"existing_cards\":100}",
         3, "existing_cards"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *problem = parse(bad[i].json, bad[i].call, &o, text, sizeof text);
        if (problem == NULL || strstr(problem, bad[i].says) == NULL)
            fail_msg("%s: expected a problem naming '%s', got '%s'", bad[i].json, bad[i].says,
                     problem ? problem : "none");
    }
}

static void test_offer_line(void **state) {
    (void)state;
    Callfloor__CallHistoryEntry h = CALLFLOOR__CALL_HISTORY_ENTRY__INIT;
    h.at = 1796000000;
    h.agent = "ann";
    h.campaign = "春季";
    h.disposition = "NO_ANSWER";
    h.notes = "没人接";
    Callfloor__CallHistoryEntry *hp[] = {&h};
    Callfloor__OfferedProduct p = CALLFLOOR__OFFERED_PRODUCT__INIT;
    p.code = "CB01";
    p.name = "畅享返现卡";
    p.recommended = true;
    Callfloor__OfferedProduct *pp[] = {&p};
    Callfloor__LeadOffer o = CALLFLOOR__LEAD_OFFER__INIT;
    o.lead_id = 12;
    o.name = "张\"伟\"";
    o.phone_masked = "138****5678";
    o.n_history = 1;
    o.history = hp;
    o.n_products = 1;
    o.products = pp;
    envelope push = CALLFLOOR__ENVELOPE__INIT;
    push.body_case = CALLFLOOR__ENVELOPE__BODY_LEAD_OFFER;
    push.lead_offer = &o;
    buf out = BUF_INIT;
    assert_true(deskjson_push(&out, &push));
    char line[2048];
    assert_true(out.len < sizeof line);
    memcpy(line, out.data, out.len);
    line[out.len] = '\0';
    assert_non_null(strstr(line, "\"event\":\"lead_offer\""));
    assert_non_null(strstr(line, "\"name\":\"张\\\"伟\\\"\""));
    assert_non_null(strstr(line, "\"phone\":\"138****5678\""));
    assert_non_null(strstr(line, "\"history\":[{\"at\":1796000000,\"agent\":\"ann\""));
    assert_non_null(strstr(line, "\"recommended\":true"));
    assert_null(strchr(line, '\n'));
    buf_free(&out);

    envelope other = CALLFLOOR__ENVELOPE__INIT;
    other.body_case = CALLFLOOR__ENVELOPE__BODY_PONG;
    buf none = BUF_INIT;
    assert_false(deskjson_push(&none, &other));
    assert_int_equal(none.len, 0);
    buf_free(&none);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_outcome),
        cmocka_unit_test(test_application),
        cmocka_unit_test(test_bad_outcomes),
        cmocka_unit_test(test_offer_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
