/* report: the KPI, time-slot, trend and call-export reports, computed by
 * the SQL functions of server/sql/009_reports.sql and passed on as typed
 * columns and text cells, so that every client formats the same figures
 * (table, CSV, JSON, SVG). */
#ifndef CALLFLOOR_REPORT_H
#define CALLFLOOR_REPORT_H

#include <stdbool.h>

#include "session.h"

/* Rows in one page of the call export. */
#define REPORT_PAGE_ROWS 2000
/* The longest period a report covers, in days. */
#define REPORT_MAX_DAYS 400

/* Reads YYYY-MM-DD into days since 1970-01-01; false if it is no date.
 * Exposed for the unit test. */
bool report_parse_date(const char *s, long *days);

int report_prepare_statements(db_pool *pool);
/* Dispatch table handler: ReportRequest. */
void report_on_request(request *req);

#endif
