/* leads: the people campaigns call. For now, importing lead lists: every
 * row is checked here (name, phone, segment fields) and again by the
 * database (time zone, constraints); numbers are sealed and hashed like
 * the do-not-call list's, numbers on that list are suppressed, and a
 * number already in the campaign is counted as a duplicate. */
#ifndef CALLFLOOR_LEADS_H
#define CALLFLOOR_LEADS_H

#include <stdbool.h>

#include "session.h"

#define LEADS_IMPORT_BATCH_MAX 1000

/* What a row's optional fields may hold; exposed for the unit test.
 * Each returns the canonical text for the database, or NULL. */
const char *leads_parse_tier(const char *s);
const char *leads_parse_flag(const char *s);
bool leads_valid_income_band(const char *s);
bool leads_valid_score(const char *s);

int leads_prepare_statements(db_pool *pool);
void leads_on_import(request *req);
/* Answers LeadWhy: every reason the lead may not be dialled now. */
void leads_on_why(request *req);

#endif
