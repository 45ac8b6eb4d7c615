/* The permission table: every client request has exactly one entry, only
 * Hello, Login and Ping are allowed before login, and administration is
 * reserved to the roles that need it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "dispatch.h"

static void test_each_message_has_at_most_one_entry(void **state) {
    (void)state;
    for (const dispatch_entry *a = dispatch_table(); a->handler != NULL; a++)
        for (const dispatch_entry *b = a + 1; b->handler != NULL; b++)
            assert_int_not_equal(a->body, b->body);
}

static void test_only_handshake_messages_before_login(void **state) {
    (void)state;
    for (const dispatch_entry *e = dispatch_table(); e->handler != NULL; e++) {
        bool handshake = e->body == CALLFLOOR__ENVELOPE__BODY_HELLO ||
                         e->body == CALLFLOOR__ENVELOPE__BODY_LOGIN ||
                         e->body == CALLFLOOR__ENVELOPE__BODY_PING;
        assert_int_equal(e->before_login, handshake);
    }
}

static void test_replies_and_pushes_are_not_requests(void **state) {
    (void)state;
    assert_null(dispatch_find(CALLFLOOR__ENVELOPE__BODY_ERROR));
    assert_null(dispatch_find(CALLFLOOR__ENVELOPE__BODY_HELLO_REPLY));
    assert_null(dispatch_find(CALLFLOOR__ENVELOPE__BODY_CLOSING));
    assert_null(dispatch_find(CALLFLOOR__ENVELOPE__BODY_USER_LIST_REPLY));
    assert_null(dispatch_find(CALLFLOOR__ENVELOPE__BODY__NOT_SET));
}

static void test_agents_cannot_administer(void **state) {
    (void)state;
    const Callfloor__Envelope__BodyCase admin_only[] = {
        CALLFLOOR__ENVELOPE__BODY_USER_ADD,          CALLFLOOR__ENVELOPE__BODY_USER_LIST,
        CALLFLOOR__ENVELOPE__BODY_USER_SET_DISABLED, CALLFLOOR__ENVELOPE__BODY_TEAM_ADD,
        CALLFLOOR__ENVELOPE__BODY_RESULTS_IMPORT,    CALLFLOOR__ENVELOPE__BODY_CSAT_IMPORT,
    };
    for (size_t i = 0; i < sizeof admin_only / sizeof admin_only[0]; i++) {
        const dispatch_entry *e = dispatch_find(admin_only[i]);
        assert_non_null(e);
        assert_int_equal(e->roles, ROLES_ADMIN);
    }
    assert_int_equal(dispatch_find(CALLFLOOR__ENVELOPE__BODY_STATUS)->roles & ROLES_AGENT, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_message_has_at_most_one_entry),
        cmocka_unit_test(test_only_handshake_messages_before_login),
        cmocka_unit_test(test_replies_and_pushes_are_not_requests),
        cmocka_unit_test(test_agents_cannot_administer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
