/* card: what an agent's desk is shown of a lead when it is offered: the
 * customer's name and masked number, profile and score, the calls made to
 * the number in any campaign (newest first, at most CARD_HISTORY_MAX), and
 * the campaign's products, those whose segments match the customer first.
 * Cards are read for many leads in one transaction: the hopper reads those
 * of every claim, so that an offer needs no database round trip, and an
 * offer built again (after a reconnect, or of a lead whose card is missing
 * or stale) reads its one. A card is one allocation, ready to be sent.
 *
 * A card says nothing of whether its lead may be called: the claim checked
 * that, and the dial checks it again under the lead's row lock. A card is
 * shown only while fresh (card_fresh), and the hopper forgets the cards of
 * numbers put on the do-not-call list, and all of them when a campaign
 * changed or personal data was purged (server/sql/021_card_news.sql). */
#ifndef CALLFLOOR_CARD_H
#define CALLFLOOR_CARD_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "proto/callfloor.pb-c.h"

#define CARD_HISTORY_MAX 20
/* The length of a number's HMAC in hex, as PostgreSQL's encode(..., 'hex')
 * writes it. */
#define CARD_HMAC_HEX_BYTES 64
/* The results card_read adds to a transaction. */
#define CARD_READS 3
/* A card older than this is read again before it is shown: the number's
 * calls in other campaigns may have moved on. */
#define CARD_FRESH_S 300

typedef struct lead_card lead_card;

int card_prepare_statements(db_pool *pool);
/* Adds to `txn` the CARD_READS statements that read the cards of the leads
 * in `ids`, a bigint[] literal (db_id_array). */
void card_read(db_txn *txn, const char *ids);
/* Builds the cards of every lead found by the reads whose results start at
 * `first` in `reply`. Returns a malloc'ed array of *n cards, each its own
 * allocation, in lead id order; NULL with *n 0 when none were found or
 * memory ran out. */
lead_card **card_build_all(const db_reply *reply, int first, size_t *n);
void card_free(lead_card *card);

int64_t card_lead_id(const lead_card *card);
/* Whether the card may be shown now without reading it again: it is
 * younger than CARD_FRESH_S, and the lead's calling window was open when it
 * was read and has not closed since. Measured on the monotonic clock from
 * the seconds the database gave, so that a clock step changes nothing. */
bool card_fresh(const lead_card *card);
/* Whether the number was on the do-not-call list when the card was read. */
bool card_listed(const lead_card *card);
/* Whether the card's number has `hmac_hex`, CARD_HMAC_HEX_BYTES long. */
bool card_has_number(const lead_card *card, const char *hmac_hex);
/* The offer of the card's lead as the desk shows it, valid while the card
 * is: the sender fills in call_id and expires_in_ms in a copy. */
const Callfloor__LeadOffer *card_offer(const lead_card *card);

#endif
