/* results: what happened after the call, imported from files by admins.
 * The bank's decisions move applications along (approved or declined,
 * card issued, card activated: server/sql/008_results.sql keeps the order
 * and the dates straight); approvals and activations score and reach the
 * board at once. Customer satisfaction surveys score calls or agents from
 * 1 to 5. Each row is applied whole or rejected with its line and why. */
#ifndef CALLFLOOR_RESULTS_H
#define CALLFLOOR_RESULTS_H

#include "session.h"

#define RESULTS_IMPORT_BATCH_MAX 1000

int results_prepare_statements(db_pool *pool);
/* Dispatch table handlers: ResultsImport and CsatImport. */
void results_on_import(request *req);
void results_on_csat_import(request *req);

#endif
