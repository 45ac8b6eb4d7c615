/* Cards built from the three reads of card.c, as libpq would return them:
 * each lead gets its own calls and products however the rows of other
 * leads interleave, in the order read; a lead without calls or products
 * gets none; a card is fresh only while the lead's calling window is open;
 * a listed number's card says so. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "card.h"

#define HMAC_A "aa00000000000000000000000000000000000000000000000000000000000001"
#define HMAC_B "bb00000000000000000000000000000000000000000000000000000000000002"

/* A result with `ncols` text columns and the rows given, NULL for SQL NULL. */
static PGresult *result(int ncols, int nrows, const char *const *cells) {
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    assert_non_null(res);
    PGresAttDesc cols[16];
    assert_true(ncols <= 16);
    for (int c = 0; c < ncols; c++)
        cols[c] = (PGresAttDesc){.name = (char *)"c", .typid = 25, .typlen = -1, .atttypmod = -1};
    assert_int_equal(PQsetResultAttrs(res, ncols, cols), 1);
    for (int r = 0; r < nrows; r++)
        for (int c = 0; c < ncols; c++) {
            const char *v = cells[r * ncols + c];
            assert_int_equal(PQsetvalue(res, r, c, (char *)v, v ? (int)strlen(v) : -1), 1);
        }
    return res;
}

typedef struct reads {
    PGresult *results[CARD_READS];
    db_reply reply;
} reads;

/* Lead 5 (window open two minutes more, not listed) with two calls and
 * two products; lead 9 (window closed, listed) with one call and none.
 * The calls of lead 3, not read, come first and must be passed over. */
static void make_reads(reads *r) {
    const char *leads[] = {
        "5", "张伟", "138****0001", "vip",        "30-39", "6",    "traveller",
        "t", "88.5", "春季",        "0",          "120",   HMAC_A, "f",
        "9", "王芳", "138****0002", "normal",     "40-49", "2",    "",
        "f", "10",   "春季",        "1780000000", "0",     HMAC_B, "t",
    };
    const char *calls[] = {
        "3",    "1700000300", "zed",  "夏季", "NO_ANSWER",  "",    "5",    "1700000200", "ann",
        "春季", "CALLBACK",   "回电", "5",    "1700000100", "bob", "夏季", "BUSY",       NULL,
        "9",    "1700000050", "ann",  "春季", "",           "",
    };
    const char *products[] = {
        "5", "PT02", "白金卡", "credit", "600.00", "18.25", "年费600元", "t",
        "5", "CB01", "返现卡", "credit", "0.00",   "15.00", "免年费",    "f",
    };
    r->results[0] = result(14, 2, leads);
    r->results[1] = result(6, 4, calls);
    r->results[2] = result(8, 2, products);
    r->reply = (db_reply){.status = DB_OK,
                          .sqlstate = "",
                          .message = "",
                          .constraint = "",
                          .failed_statement = -1,
                          .nresults = CARD_READS,
                          .results = r->results};
}

static void free_reads(reads *r) {
    for (int i = 0; i < CARD_READS; i++)
        PQclear(r->results[i]);
}

static void test_cards(void **state) {
    (void)state;
    reads r;
    make_reads(&r);
    size_t n;
    lead_card **cards = card_build_all(&r.reply, 0, &n);
    free_reads(&r); /* a card keeps nothing of the results */
    assert_int_equal(n, 2);

    const Callfloor__LeadOffer *o = card_offer(cards[0]);
    assert_int_equal(card_lead_id(cards[0]), 5);
    assert_int_equal(o->lead_id, 5);
    assert_string_equal(o->name, "张伟");
    assert_string_equal(o->phone_masked, "138****0001");
    assert_string_equal(o->tier, "vip");
    assert_int_equal(o->income_band, 6);
    assert_true(o->travel_interest);
    assert_string_equal(o->score, "88.5");
    assert_string_equal(o->campaign, "春季");
    assert_int_equal(o->callback_at, 0);
    assert_int_equal(o->n_history, 2);
    assert_int_equal(o->history[0]->at, 1700000200);
    assert_string_equal(o->history[0]->agent, "ann");
    assert_string_equal(o->history[0]->notes, "回电");
    assert_string_equal(o->history[1]->disposition, "BUSY");
    assert_string_equal(o->history[1]->notes, ""); /* NULL notes */
    assert_int_equal(o->n_products, 2);
    assert_string_equal(o->products[0]->code, "PT02");
    assert_string_equal(o->products[0]->disclosure, "年费600元");
    assert_true(o->products[0]->recommended);
    assert_string_equal(o->products[1]->annual_fee, "0.00");
    assert_false(o->products[1]->recommended);
    assert_true(card_fresh(cards[0]));
    assert_false(card_listed(cards[0]));
    assert_true(card_has_number(cards[0], HMAC_A));
    assert_false(card_has_number(cards[0], HMAC_B));

    o = card_offer(cards[1]);
    assert_int_equal(card_lead_id(cards[1]), 9);
    assert_string_equal(o->name, "王芳");
    assert_int_equal(o->callback_at, 1780000000);
    assert_int_equal(o->n_history, 1);
    assert_string_equal(o->history[0]->disposition, "");
    assert_int_equal(o->n_products, 0);
    assert_false(card_fresh(cards[1])); /* outside its window */
    assert_true(card_listed(cards[1]));

    for (size_t i = 0; i < n; i++)
        card_free(cards[i]);
    free(cards);
}

/* A failed read or one that found no lead builds nothing. */
static void test_nothing(void **state) {
    (void)state;
    reads r;
    make_reads(&r);
    size_t n = 7;
    r.reply.status = DB_E_QUERY;
    assert_null(card_build_all(&r.reply, 0, &n));
    assert_int_equal(n, 0);
    r.reply.status = DB_OK;
    r.reply.nresults = CARD_READS - 1;
    assert_null(card_build_all(&r.reply, 0, &n));
    free_reads(&r);

    PGresult *empty[CARD_READS + 1] = {result(1, 0, NULL), result(14, 0, NULL), result(6, 0, NULL),
                                       result(8, 0, NULL)};
    db_reply reply = {
        .status = DB_OK, .failed_statement = -1, .nresults = CARD_READS + 1, .results = empty};
    n = 7;
    assert_null(card_build_all(&reply, 1, &n)); /* after a statement of the caller's own */
    assert_int_equal(n, 0);
    for (int i = 0; i < CARD_READS + 1; i++)
        PQclear(empty[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cards),
        cmocka_unit_test(test_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
