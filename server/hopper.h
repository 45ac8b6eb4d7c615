/* hopper: this daemon's share of the lead queue. For every campaign it keeps
 * in memory a short list of leads claimed from PostgreSQL in one statement
 * (FOR UPDATE SKIP LOCKED) and leased to this daemon, in the order the
 * claim gave them: callbacks, VIP, score, oldest, each with its card
 * (card.h), read right after the claim. A lead taken with
 * hopper_take belongs to the caller until it is given back with
 * hopper_release or an outcome releases it in the database. One timer
 * renews every lease this daemon holds and refills hoppers that run low;
 * the campaigns (which teams work them, paused or not) are read again when
 * one changes, and every half minute in case that news was lost. */
#ifndef CALLFLOOR_HOPPER_H
#define CALLFLOOR_HOPPER_H

#include <stdbool.h>
#include <stdint.h>

#include "card.h"
#include "server.h"

typedef struct hopper_lead {
    int64_t id;
    int64_t campaign_id;
    bool vip;
    double score;
    uint64_t callback_owner; /* 0 unless a callback booked by that agent */
    int64_t callback_at;     /* unix seconds, with callback_owner */
    lead_card *card;         /* NULL if it could not be read or was forgotten */
} hopper_lead;

int hopper_prepare_statements(db_pool *pool);
/* Creates srv->hopper: frees the leases an earlier run of this instance
 * left behind, loads the campaigns and starts the timer. `on_leads` is
 * called whenever new leads arrived, so that waiting agents can be served.
 * Returns 0 or -ENOMEM. */
int hopper_start(server *srv, void (*on_leads)(server *srv));
/* Releases the leases of every lead still in a hopper, stops the timer and
 * frees srv->hopper once its handle is closed. Leads taken are the
 * takers' to release. */
void hopper_close(server *srv);

/* Takes the best lead for agent `agent_id` of team `team_id`: their own due
 * callback first, then VIP, campaign priority, score and age, from the
 * campaigns the team works that are not paused. Returns false when none
 * is in memory now; a refill is then under way and on_leads will tell.
 * The lead's card, if it has one, is the caller's to free. */
bool hopper_take(server *srv, uint64_t agent_id, int64_t team_id, hopper_lead *out);
/* Reads the campaigns again now, and forgets the cards in the hoppers: one
 * of them changed. campaign.c calls it for this daemon's own changes,
 * peers.c when PostgreSQL announces another daemon's or a tool's. */
void hopper_campaigns_changed(server *srv);
/* Forgets the cards of the leads in the hoppers, and of those being read,
 * whose numbers' HMACs `hmacs` lists (in hex, separated by spaces), or with
 * NULL every card: offering such a lead reads it again and checks whether
 * it may be called. peers.c calls it when PostgreSQL announces numbers put
 * on the do-not-call list or personal data purged (021_card_news.sql). */
void hopper_forget_cards(server *srv, const char *hmacs);
/* Gives a taken lead back to the queue: its lease is released in the
 * database, so that any daemon may claim it again if it is eligible. */
void hopper_release(server *srv, int64_t lead_id);

/* What the agent desk needs to know of a campaign: its name ("" if unknown)
 * and its offer timeout in milliseconds. */
const char *hopper_campaign_name(const server *srv, int64_t campaign_id);
uint32_t hopper_offer_timeout_ms(const server *srv, int64_t campaign_id);
/* What hopper_each_campaign tells of one campaign. */
typedef struct hopper_campaign_stats {
    const char *name;
    unsigned depth;      /* leads its hopper holds */
    int64_t eligible;    /* leads in the database that could be claimed now and
                          * no daemon holds (counted every few seconds for
                          * campaigns agents here work; -1 for the others and
                          * until first counted) */
    unsigned claim_size; /* leads its next claim tops the hopper up to */
} hopper_campaign_stats;

/* Calls `fn` with every campaign's figures. */
void hopper_each_campaign(const server *srv, void (*fn)(const hopper_campaign_stats *c, void *arg),
                          void *arg);
/* Leads held in memory across all campaigns. */
unsigned hopper_depth(const server *srv);

#endif
