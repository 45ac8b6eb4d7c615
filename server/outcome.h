/* outcome: how a call ends. An Outcome is checked here (disposition,
 * idempotency key, the truthful-selling checklist), then recorded by one
 * SQL function (cf_record_outcome, server/sql/005_queue.sql) in one
 * transaction with everything it implies: the lead's rest or callback or
 * closing, an application, a complaint, a do-not-call entry. The same
 * idempotency key returns the first result; the same key with another
 * payload is refused. Complaints are listed and resolved here too. */
#ifndef CALLFLOOR_OUTCOME_H
#define CALLFLOOR_OUTCOME_H

#include <stdbool.h>

#include "session.h"

int outcome_prepare_statements(db_pool *pool);

/* True for the dispositions the protocol knows (NO_ANSWER, ...). */
bool outcome_valid_disposition(const char *s);
/* True for a key of 8 to 64 characters from A-Z a-z 0-9 - _. */
bool outcome_valid_key(const char *s);
/* The checklist items not confirmed, as "annual fee, APR" into `out`, or
 * "" when all are; "the whole checklist" when it is missing. */
void outcome_missing_disclosures(const Callfloor__Disclosure *d, char *out, size_t cap);

void outcome_on_outcome(request *req);
void outcome_on_complaint_list(request *req);
void outcome_on_complaint_resolve(request *req);

#endif
