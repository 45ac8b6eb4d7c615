/* campaign: card products and campaigns (what the floor sells, and the
 * calling programmes that sell it): their administration requests and the
 * validation of every field before anything reaches the database. */
#ifndef CALLFLOOR_CAMPAIGN_H
#define CALLFLOOR_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "session.h"

/* Calling windows are given as "HH:MM". Returns minutes after midnight,
 * or -1 when `s` is not a time of day (24:00 is not one). */
int campaign_parse_clock(const char *s);
/* Money and rates are decimal strings: digits, optionally a point and at
 * most `max_decimals` digits ("0", "18.25"). */
bool campaign_valid_decimal(const char *s, int max_decimals);

int campaign_prepare_statements(db_pool *pool);

void campaign_on_product_add(request *req);
void campaign_on_product_list(request *req);
void campaign_on_add(request *req);
void campaign_on_list(request *req);
void campaign_on_show(request *req);
void campaign_on_set_paused(request *req);

#endif
