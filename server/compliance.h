/* compliance: what a customer or a regulator forbids. For now the
 * do-not-call list: adding, removing and checking numbers, and importing
 * lists of them. Numbers are made canonical (common/phone.h), found by
 * their HMAC and stored sealed (vault.h); they are never logged, and
 * answers carry them masked. */
#ifndef CALLFLOOR_COMPLIANCE_H
#define CALLFLOOR_COMPLIANCE_H

#include "session.h"

/* The most numbers one DncImport may carry. */
#define COMPLIANCE_IMPORT_BATCH_MAX 1000

int compliance_prepare_statements(db_pool *pool);

void compliance_on_dnc_add(request *req);
void compliance_on_dnc_remove(request *req);
void compliance_on_dnc_check(request *req);
void compliance_on_dnc_import(request *req);

#endif
