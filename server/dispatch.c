#include "dispatch.h"

#include <stddef.h>

#include "admin.h"
#include "audit.h"
#include "board.h"
#include "campaign.h"
#include "card.h"
#include "compliance.h"
#include "floor.h"
#include "hopper.h"
#include "leads.h"
#include "outcome.h"
#include "peers.h"
#include "role.h"
#include "report.h"
#include "results.h"
#include "score.h"

/* Who may send what. Finer checks that depend on the request's content
 * (a user changing only their own password) are made in the handler. */
static const dispatch_entry table[] = {
    {CALLFLOOR__ENVELOPE__BODY_HELLO, ROLES_ANY, true, session_on_hello},
    {CALLFLOOR__ENVELOPE__BODY_LOGIN, ROLES_ANY, true, session_on_login},
    {CALLFLOOR__ENVELOPE__BODY_PING, ROLES_ANY, true, session_on_ping},
    {CALLFLOOR__ENVELOPE__BODY_STATUS, ROLES_STAFF, false, admin_on_status},
    {CALLFLOOR__ENVELOPE__BODY_USER_ADD, ROLES_ADMIN, false, admin_on_user_add},
    {CALLFLOOR__ENVELOPE__BODY_USER_LIST, ROLES_ADMIN, false, admin_on_user_list},
    {CALLFLOOR__ENVELOPE__BODY_USER_PASSWD, ROLES_ANY, false, admin_on_user_passwd},
    {CALLFLOOR__ENVELOPE__BODY_USER_SET_DISABLED, ROLES_ADMIN, false, admin_on_user_set_disabled},
    {CALLFLOOR__ENVELOPE__BODY_TEAM_ADD, ROLES_ADMIN, false, admin_on_team_add},
    {CALLFLOOR__ENVELOPE__BODY_TEAM_LIST, ROLES_STAFF, false, admin_on_team_list},
    {CALLFLOOR__ENVELOPE__BODY_PRODUCT_ADD, ROLES_ADMIN, false, campaign_on_product_add},
    {CALLFLOOR__ENVELOPE__BODY_PRODUCT_LIST, ROLES_STAFF, false, campaign_on_product_list},
    {CALLFLOOR__ENVELOPE__BODY_CAMPAIGN_ADD, ROLES_ADMIN, false, campaign_on_add},
    {CALLFLOOR__ENVELOPE__BODY_CAMPAIGN_LIST, ROLES_STAFF, false, campaign_on_list},
    {CALLFLOOR__ENVELOPE__BODY_CAMPAIGN_SHOW, ROLES_STAFF, false, campaign_on_show},
    {CALLFLOOR__ENVELOPE__BODY_CAMPAIGN_SET_PAUSED, ROLES_STAFF, false, campaign_on_set_paused},
    {CALLFLOOR__ENVELOPE__BODY_DNC_ADD, ROLES_STAFF, false, compliance_on_dnc_add},
    {CALLFLOOR__ENVELOPE__BODY_DNC_REMOVE, ROLES_ADMIN, false, compliance_on_dnc_remove},
    {CALLFLOOR__ENVELOPE__BODY_DNC_CHECK, ROLES_STAFF, false, compliance_on_dnc_check},
    {CALLFLOOR__ENVELOPE__BODY_DNC_IMPORT, ROLES_ADMIN, false, compliance_on_dnc_import},
    {CALLFLOOR__ENVELOPE__BODY_LEADS_IMPORT, ROLES_ADMIN, false, leads_on_import},
    {CALLFLOOR__ENVELOPE__BODY_LEAD_WHY, ROLES_STAFF, false, leads_on_why},
    {CALLFLOOR__ENVELOPE__BODY_AGENT_READY, ROLES_AGENT, false, floor_on_ready},
    {CALLFLOOR__ENVELOPE__BODY_AGENT_PAUSE, ROLES_AGENT, false, floor_on_pause},
    {CALLFLOOR__ENVELOPE__BODY_DIAL, ROLES_AGENT, false, floor_on_dial},
    {CALLFLOOR__ENVELOPE__BODY_OUTCOME, ROLES_AGENT, false, outcome_on_outcome},
    {CALLFLOOR__ENVELOPE__BODY_COMPLAINT_LIST, ROLES_STAFF, false, outcome_on_complaint_list},
    {CALLFLOOR__ENVELOPE__BODY_COMPLAINT_RESOLVE, ROLES_STAFF, false, outcome_on_complaint_resolve},
    {CALLFLOOR__ENVELOPE__BODY_BOARD_SUBSCRIBE, ROLES_STAFF, false, board_on_subscribe},
    {CALLFLOOR__ENVELOPE__BODY_SCORING_GET, ROLES_STAFF, false, score_on_rules_get},
    {CALLFLOOR__ENVELOPE__BODY_SCORING_SET, ROLES_ADMIN, false, score_on_rules_set},
    {CALLFLOOR__ENVELOPE__BODY_TARGET_SET, ROLES_STAFF, false, score_on_target_set},
    {CALLFLOOR__ENVELOPE__BODY_TIER_SET, ROLES_ADMIN, false, score_on_tier_set},
    {CALLFLOOR__ENVELOPE__BODY_QA_ITEMS, ROLES_STAFF, false, score_on_qa_items},
    {CALLFLOOR__ENVELOPE__BODY_QA_REVIEW, ROLES_STAFF, false, score_on_qa_review},
    {CALLFLOOR__ENVELOPE__BODY_NOTICE_SEND, ROLES_STAFF, false, floor_on_notice_send},
    {CALLFLOOR__ENVELOPE__BODY_RESULTS_IMPORT, ROLES_ADMIN, false, results_on_import},
    {CALLFLOOR__ENVELOPE__BODY_CSAT_IMPORT, ROLES_ADMIN, false, results_on_csat_import},
    {CALLFLOOR__ENVELOPE__BODY_REPORT_REQUEST, ROLES_STAFF, false, report_on_request},
    {CALLFLOOR__ENVELOPE__BODY_AUDIT_LIST, ROLES_ADMIN, false, audit_on_list},
    {CALLFLOOR__ENVELOPE__BODY_PRIVACY_PURGE, ROLES_ADMIN, false, compliance_on_purge},
    {CALLFLOOR__ENVELOPE__BODY_AUDIT_VERIFY, ROLES_ADMIN, false, audit_on_verify},
    {CALLFLOOR__ENVELOPE__BODY_AUDIT_CHECKPOINT, ROLES_ADMIN, false, audit_on_checkpoint},
    {CALLFLOOR__ENVELOPE__BODY_AUDIT_CHECKPOINTS, ROLES_ADMIN, false, audit_on_checkpoints},
    {CALLFLOOR__ENVELOPE__BODY__NOT_SET, 0, false, NULL},
};

const dispatch_entry *dispatch_table(void) {
    return table;
}

const dispatch_entry *dispatch_find(Callfloor__Envelope__BodyCase body) {
    for (const dispatch_entry *e = table; e->handler != NULL; e++)
        if (e->body == body)
            return e;
    return NULL;
}

/* The roles in `mask` as words, for a refusal that says who may do it. */
static const char *roles_allowed(unsigned mask) {
    if (mask == ROLES_ADMIN)
        return "admin";
    if (mask == ROLES_STAFF)
        return "supervisor or admin";
    if (mask == ROLES_SUPERVISOR)
        return "supervisor";
    return "agent";
}

void dispatch_request(request *req, bool logged_in) {
    const dispatch_entry *e = dispatch_find(req->msg->body_case);
    if (e == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__UNKNOWN_REQUEST, 0,
                     "'%s' is not a request this server accepts", envelope_body_name(req->msg));
        return;
    }
    if (!logged_in && !e->before_login) {
        request_fail(req, CALLFLOOR__ERROR_CODE__UNAUTHENTICATED, 0, "log in before sending '%s'",
                     envelope_body_name(req->msg));
        return;
    }
    if (logged_in && (e->roles & ROLE_BIT(req->role)) == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__PERMISSION_DENIED, 0,
                     "'%s' needs the %s role; you are logged in as %s %s",
                     envelope_body_name(req->msg), roles_allowed(e->roles), role_name(req->role),
                     req->username);
        return;
    }
    e->handler(req);
}

int dispatch_prepare_statements(db_pool *pool) {
    int (*const modules[])(db_pool *) = {
        session_prepare_statements,    admin_prepare_statements,   campaign_prepare_statements,
        compliance_prepare_statements, leads_prepare_statements,   floor_prepare_statements,
        hopper_prepare_statements,     outcome_prepare_statements, score_prepare_statements,
        board_prepare_statements,      peers_prepare_statements,   results_prepare_statements,
        report_prepare_statements,     audit_prepare_statements,   card_prepare_statements,
    };
    for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++) {
        int rc = modules[i](pool);
        if (rc < 0)
            return rc;
    }
    return 0;
}
