/* Who may send what, message by message and role by role: the policy the
 * daemon must enforce, written out here once more, checked against the
 * dispatch table. Every message of the Envelope is either a request in
 * this table or something clients may not send (a reply or a push), so a
 * new message fails this test until someone decides who may send it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "dispatch.h"

#define A       (1u << CALLFLOOR__ROLE__ROLE_AGENT)
#define S       (1u << CALLFLOOR__ROLE__ROLE_SUPERVISOR)
#define M       (1u << CALLFLOOR__ROLE__ROLE_ADMIN)
#define BODY(x) CALLFLOOR__ENVELOPE__BODY_##x

typedef struct rule {
    Callfloor__Envelope__BodyCase body;
    unsigned roles; /* who may send it once logged in */
    bool before_login;
} rule;

static const rule policy[] = {
    {BODY(HELLO), A | S | M, true},
    {BODY(LOGIN), A | S | M, true},
    {BODY(PING), A | S | M, true},
    {BODY(USER_PASSWD), A | S | M, false}, /* one's own; admins anyone's */
    /* The floor's work: agents only. */
    {BODY(AGENT_READY), A, false},
    {BODY(AGENT_PAUSE), A, false},
    {BODY(DIAL), A, false},
    {BODY(OUTCOME), A, false},
    /* Watching and coaching: supervisors and admins. */
    {BODY(STATUS), S | M, false},
    {BODY(TEAM_LIST), S | M, false},
    {BODY(PRODUCT_LIST), S | M, false},
    {BODY(CAMPAIGN_LIST), S | M, false},
    {BODY(CAMPAIGN_SHOW), S | M, false},
    {BODY(CAMPAIGN_SET_PAUSED), S | M, false},
    {BODY(DNC_ADD), S | M, false},
    {BODY(DNC_CHECK), S | M, false},
    {BODY(LEAD_WHY), S | M, false},
    {BODY(COMPLAINT_LIST), S | M, false},
    {BODY(COMPLAINT_RESOLVE), S | M, false},
    {BODY(BOARD_SUBSCRIBE), S | M, false},
    {BODY(SCORING_GET), S | M, false},
    {BODY(TARGET_SET), S | M, false},
    {BODY(QA_ITEMS), S | M, false},
    {BODY(QA_REVIEW), S | M, false},
    {BODY(NOTICE_SEND), S | M, false},
    {BODY(REPORT_REQUEST), S | M, false},
    /* Administration: admins only. */
    {BODY(USER_ADD), M, false},
    {BODY(USER_LIST), M, false},
    {BODY(USER_SET_DISABLED), M, false},
    {BODY(TEAM_ADD), M, false},
    {BODY(PRODUCT_ADD), M, false},
    {BODY(CAMPAIGN_ADD), M, false},
    {BODY(DNC_REMOVE), M, false},
    {BODY(DNC_IMPORT), M, false},
    {BODY(LEADS_IMPORT), M, false},
    {BODY(SCORING_SET), M, false},
    {BODY(TIER_SET), M, false},
    {BODY(RESULTS_IMPORT), M, false},
    {BODY(CSAT_IMPORT), M, false},
    {BODY(AUDIT_LIST), M, false},
    {BODY(AUDIT_VERIFY), M, false},
    {BODY(AUDIT_CHECKPOINT), M, false},
    {BODY(AUDIT_CHECKPOINTS), M, false},
    {BODY(PRIVACY_PURGE), M, false},
};
#define NRULES (sizeof policy / sizeof policy[0])

static const rule *rule_for(Callfloor__Envelope__BodyCase body) {
    for (size_t i = 0; i < NRULES; i++)
        if (policy[i].body == body)
            return &policy[i];
    return NULL;
}

/* Every message the Envelope can carry, as every role: allowed exactly when
 * the policy says so. */
static void test_every_message_as_every_role(void **state) {
    (void)state;
    const ProtobufCMessageDescriptor *d = &callfloor__envelope__descriptor;
    static const Callfloor__Role roles[] = {
        CALLFLOOR__ROLE__ROLE_AGENT, CALLFLOOR__ROLE__ROLE_SUPERVISOR, CALLFLOOR__ROLE__ROLE_ADMIN};
    size_t requests = 0;
    for (unsigned f = 0; f < d->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &d->fields[f];
        if (field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue; /* the id */
        Callfloor__Envelope__BodyCase body = (Callfloor__Envelope__BodyCase)field->id;
        const rule *want = rule_for(body);
        const dispatch_entry *have = dispatch_find(body);
        if (want == NULL) {
            if (have != NULL)
                fail_msg("%s is accepted from clients but the policy does not list it",
                         field->name);
            continue;
        }
        requests++;
        if (have == NULL)
            fail_msg("%s is in the policy but the daemon does not accept it", field->name);
        assert_int_equal(have->before_login, want->before_login);
        for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
            bool allowed = (have->roles & ROLE_BIT(roles[r])) != 0;
            bool should = (want->roles & (1u << roles[r])) != 0;
            if (allowed != should)
                fail_msg("%s as role %d: the daemon %s it, the policy %s", field->name,
                         (int)roles[r], allowed ? "allows" : "refuses",
                         should ? "allows it" : "refuses it");
        }
    }
    assert_int_equal(requests, NRULES);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_message_as_every_role),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
