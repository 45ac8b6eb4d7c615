/* callfloorctl's product and campaign commands. What can be checked here
 * (numbers, durations, days, the window's shape) is, so a typo is a usage
 * error before connecting; the server checks everything again. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "i18n.h"
#include "json.h"

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* ---- parsing what the user typed ---- */

static int parse_uint(const char *s, unsigned long max, uint32_t *out) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* "90", "90s", "30m", "2h", "1d" as seconds. */
static int parse_duration(const char *s, uint32_t *out) {
    static const struct {
        char unit;
        unsigned long seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
    char number[16];
    size_t len = strlen(s);
    if (len == 0 || len >= sizeof number)
        return -1;
    unsigned long scale = 1;
    memcpy(number, s, len + 1);
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (number[len - 1] == units[k].unit) {
            number[len - 1] = '\0';
            scale = units[k].seconds;
        }
    uint32_t v;
    if (parse_uint(number, UINT32_MAX / scale, &v) < 0 || v == 0)
        return -1;
    *out = (uint32_t)(v * scale);
    return 0;
}

static int day_index(const char *s, size_t len) {
    for (int d = 0; d < 7; d++)
        if (strlen(day_names[d]) == len && strncasecmp(s, day_names[d], len) == 0)
            return d;
    return -1;
}

/* "all", "weekdays", "mon-fri", "mon,wed,sat" or a mix ("mon-wed,sat"). */
static int parse_days(const char *s, uint32_t *out) {
    if (strcasecmp(s, "all") == 0) {
        *out = 127;
        return 0;
    }
    if (strcasecmp(s, "weekdays") == 0) {
        *out = 31;
        return 0;
    }
    uint32_t mask = 0;
    while (*s) {
        size_t item = strcspn(s, ",");
        size_t dash = strcspn(s, "-,");
        int from = day_index(s, dash), to = from;
        if (dash < item)
            to = day_index(s + dash + 1, item - dash - 1);
        if (from < 0 || to < from)
            return -1;
        for (int d = from; d <= to; d++)
            mask |= 1u << d;
        s += item + (s[item] == ',');
    }
    *out = mask;
    return mask ? 0 : -1;
}

/* "09:00-20:00" into the two halves (checked by the server as times). */
static int parse_window(const char *s, char start[6], char end[6]) {
    if (strlen(s) != 11 || s[5] != '-')
        return -1;
    memcpy(start, s, 5);
    start[5] = '\0';
    memcpy(end, s + 6, 5);
    end[5] = '\0';
    return 0;
}

typedef struct campaign_input {
    Callfloor__Campaign c;
    char window_start[6], window_end[6];
} campaign_input;

static int bad_value(ctl *x, enum ctl_option o, const char *value, const char *expected) {
    static const char *const names[] = {
        [OPT_WINDOW] = "--window",
        [OPT_DAYS] = "--days",
        [OPT_MAX_ATTEMPTS] = "--max-attempts",
        [OPT_MAX_PER_DAY] = "--max-per-day",
        [OPT_RETRY_NO_ANSWER] = "--retry-no-answer",
        [OPT_RETRY_BUSY] = "--retry-busy",
        [OPT_OFFER_TIMEOUT] = "--offer-timeout",
        [OPT_MIN_INCOME_BAND] = "--min-income-band",
        [OPT_PRIORITY] = "--priority",
    };
    return ctl_usage_error(x, "campaign add", _("invalid %s '%s': %s"), names[o], value, expected);
}

/* The numeric options; an option not given stays 0 (the server's default). */
static int parse_campaign_numbers(ctl *x, const ctl_args *a, Callfloor__Campaign *c) {
    static const struct {
        enum ctl_option option;
        size_t offset;
        bool duration;
        unsigned long max;
        const char *expected;
    } fields[] = {
        {OPT_MAX_ATTEMPTS, offsetof(Callfloor__Campaign, max_attempts), false, 100,
         N_("a number of calls from 1 to 100")},
        {OPT_MAX_PER_DAY, offsetof(Callfloor__Campaign, max_attempts_per_day), false, 100,
         N_("a number of calls from 1 to 100")},
        {OPT_RETRY_NO_ANSWER, offsetof(Callfloor__Campaign, retry_no_answer_s), true, 0,
         N_("a duration such as 90s, 30m, 2h or 1d")},
        {OPT_RETRY_BUSY, offsetof(Callfloor__Campaign, retry_busy_s), true, 0,
         N_("a duration such as 90s, 30m, 2h or 1d")},
        {OPT_OFFER_TIMEOUT, offsetof(Callfloor__Campaign, offer_timeout_s), true, 0,
         N_("a duration such as 45s or 2m")},
        {OPT_MIN_INCOME_BAND, offsetof(Callfloor__Campaign, min_income_band), false, 9,
         N_("an income band from 1 to 9")},
    };
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
        const char *v = ctl_opt(a, fields[k].option);
        uint32_t *slot = (uint32_t *)((char *)c + fields[k].offset);
        if (v == NULL)
            continue;
        int rc = fields[k].duration ? parse_duration(v, slot) : parse_uint(v, fields[k].max, slot);
        if (rc < 0 || (!fields[k].duration && *slot == 0))
            return bad_value(x, fields[k].option, v, _(fields[k].expected));
    }
    return CLI_EXIT_OK;
}

static int parse_campaign(ctl *x, const ctl_args *a, campaign_input *in) {
    Callfloor__Campaign *c = &in->c;
    callfloor__campaign__init(c);
    c->name = (char *)a->name;
    c->products = (char **)a->values[OPT_PRODUCT];
    c->n_products = a->count[OPT_PRODUCT];
    c->teams = (char **)a->values[OPT_TEAM];
    c->n_teams = a->count[OPT_TEAM];
    const char *v;
    if ((v = ctl_opt(a, OPT_WINDOW)) != NULL) {
        if (parse_window(v, in->window_start, in->window_end) < 0)
            return bad_value(x, OPT_WINDOW, v, _("HH:MM-HH:MM, e.g. 09:00-20:00"));
        c->window_start = in->window_start;
        c->window_end = in->window_end;
    }
    if ((v = ctl_opt(a, OPT_DAYS)) != NULL && parse_days(v, &c->days) < 0)
        return bad_value(x, OPT_DAYS, v, _("mon-fri, mon,wed,sat, weekdays or all"));
    if ((v = ctl_opt(a, OPT_TIME_ZONE)) != NULL)
        c->time_zone = (char *)v;
    if ((v = ctl_opt(a, OPT_PRIORITY)) != NULL) {
        char *end;
        long p = strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || p < -1000 || p > 1000)
            return bad_value(x, OPT_PRIORITY, v, _("a number from -1000 to 1000"));
        c->priority = (int32_t)p;
    }
    return parse_campaign_numbers(x, a, c);
}

/* ---- showing products and campaigns ---- */

static void json_strings(json_writer *w, const char *key, char **items, size_t n) {
    json_key(w, key);
    json_array_begin(w);
    for (size_t k = 0; k < n; k++)
        json_string(w, items[k]);
    json_array_end(w);
}

static void json_product(json_writer *w, const void *item) {
    const Callfloor__Product *p = item;
    json_object_begin(w);
    json_kv_uint(w, "id", p->id);
    json_kv_string(w, "code", p->code);
    json_kv_string(w, "name", p->name);
    json_kv_string(w, "kind", p->kind);
    json_kv_string(w, "annual_fee", p->annual_fee);
    json_kv_string(w, "apr", p->apr);
    json_kv_string(w, "disclosure", p->disclosure);
    json_strings(w, "segments", p->segments, p->n_segments);
    json_object_end(w);
}

static void format_days(uint32_t days, char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    if (days == 127) {
        snprintf(out, cap, "%s", _("every day"));
        return;
    }
    for (int d = 0; d < 7; d++)
        if (days & (1u << d))
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", day_names[d]);
}

static void json_campaign(json_writer *w, const void *item) {
    const Callfloor__Campaign *c = item;
    char days[64];
    format_days(c->days, days, sizeof days);
    json_object_begin(w);
    json_kv_uint(w, "id", c->id);
    json_kv_string(w, "name", c->name);
    json_kv_bool(w, "paused", c->paused);
    json_strings(w, "products", c->products, c->n_products);
    json_strings(w, "teams", c->teams, c->n_teams);
    json_kv_string(w, "window_start", c->window_start);
    json_kv_string(w, "window_end", c->window_end);
    json_kv_uint(w, "days", c->days);
    json_kv_string(w, "time_zone", c->time_zone);
    json_kv_uint(w, "max_attempts", c->max_attempts);
    json_kv_uint(w, "max_attempts_per_day", c->max_attempts_per_day);
    json_kv_uint(w, "retry_no_answer_s", c->retry_no_answer_s);
    json_kv_uint(w, "retry_busy_s", c->retry_busy_s);
    json_kv_uint(w, "offer_timeout_s", c->offer_timeout_s);
    json_kv_uint(w, "min_income_band", c->min_income_band);
    json_kv_int(w, "priority", c->priority);
    json_object_end(w);
}

static void join(char **items, size_t n, char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    for (size_t k = 0; k < n && len < cap; k++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", k ? ", " : "", items[k]);
}

static void format_duration(uint32_t s, char *out, size_t cap) {
    if (s % 3600 == 0)
        snprintf(out, cap, "%uh", s / 3600);
    else if (s % 60 == 0)
        snprintf(out, cap, "%um", s / 60);
    else
        snprintf(out, cap, "%us", s);
}

/* ---- products ---- */

int ctl_run_product_add(ctl *x, const ctl_args *a) {
    Callfloor__Product p = CALLFLOOR__PRODUCT__INIT;
    const char *kind = ctl_opt(a, OPT_KIND), *fee = ctl_opt(a, OPT_ANNUAL_FEE);
    const char *disclosure = ctl_opt(a, OPT_DISCLOSURE);
    p.code = (char *)a->name;
    p.name = (char *)ctl_opt(a, OPT_NAME);
    p.kind = (char *)(kind ? kind : "standard");
    p.annual_fee = (char *)(fee ? fee : "0");
    p.apr = (char *)ctl_opt(a, OPT_APR);
    p.disclosure = (char *)(disclosure ? disclosure : "");
    p.segments = (char **)a->values[OPT_SEGMENT];
    p.n_segments = a->count[OPT_SEGMENT];
    Callfloor__ProductAdd msg = CALLFLOOR__PRODUCT_ADD__INIT;
    msg.product = &p;
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_PRODUCT_ADD;
    req.product_add = &msg;
    int rc = ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_PRODUCT, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json)
        ctl_json_one(x, "product", json_product, reply->product);
    else
        buf_appendf(&x->out, _("Added product %s (%s), APR %s%%, annual fee %s.\n"),
                    reply->product->code, reply->product->name, reply->product->apr,
                    reply->product->annual_fee);
    envelope_free(reply);
    return CLI_EXIT_OK;
}

static int add_product_row(cli_table *t, const void *item) {
    const Callfloor__Product *p = item;
    char segments[512];
    join(p->segments, p->n_segments, segments, sizeof segments);
    const char *row[] = {p->code, p->name, p->kind, p->annual_fee, p->apr, segments};
    return cli_table_add_row(t, row);
}

int ctl_run_product_list(ctl *x, const ctl_args *a) {
    (void)a;
    char empty[128];
    snprintf(empty, sizeof empty, _("No products yet; add one with '%s product add CODE'.\n"),
             PROGRAM);
    const char *header[] = {_("CODE"),       _("NAME"),  _("KIND"),
                            _("ANNUAL FEE"), _("APR %"), _("SEGMENTS")};
    const ctl_list list = {CALLFLOOR__ENVELOPE__BODY_PRODUCT_LIST,
                           CALLFLOOR__ENVELOPE__BODY_PRODUCT_LIST_REPLY,
                           &callfloor__product__descriptor,
                           json_product,
                           header,
                           6,
                           add_product_row,
                           empty};
    return ctl_run_list(x, &list);
}

/* ---- campaigns ---- */

static int campaign_text(ctl *x, const Callfloor__Campaign *c) {
    char products[512], teams[512], window[32], days[64], attempts[64], retry[64], offer[16],
        income[16], priority[16];
    char no_answer[16], busy[16];
    join(c->products, c->n_products, products, sizeof products);
    join(c->teams, c->n_teams, teams, sizeof teams);
    snprintf(window, sizeof window, "%s-%s", c->window_start, c->window_end);
    format_days(c->days, days, sizeof days);
    snprintf(attempts, sizeof attempts, _("%u in total, %u per day"), c->max_attempts,
             c->max_attempts_per_day);
    format_duration(c->retry_no_answer_s, no_answer, sizeof no_answer);
    format_duration(c->retry_busy_s, busy, sizeof busy);
    snprintf(retry, sizeof retry, _("no answer %s, busy %s"), no_answer, busy);
    format_duration(c->offer_timeout_s, offer, sizeof offer);
    snprintf(income, sizeof income, "%u", c->min_income_band);
    snprintf(priority, sizeof priority, "%d", c->priority);
    const char *rows[][2] = {
        {_("campaign"), c->name},
        {_("state"), c->paused ? _("paused") : _("active")},
        {_("products"), products},
        {_("teams"), teams},
        {_("calling window"), window},
        {_("days"), days},
        {_("time zone"), c->time_zone},
        {_("attempts"), attempts},
        {_("retry after"), retry},
        {_("offer timeout"), offer},
        {_("min. income band"), c->min_income_band ? income : _("no rule")},
        {_("priority"), priority},
    };
    cli_table t;
    int rc = cli_table_init(&t, 2, NULL);
    for (size_t k = 0; k < sizeof rows / sizeof rows[0] && rc == 0; k++)
        rc = cli_table_add_row(&t, rows[k]);
    if (rc < 0) {
        cli_table_free(&t);
        return ctl_report_status(x, CLIENT_E_NOMEM);
    }
    return ctl_emit_table(x, &t);
}

int ctl_run_campaign_add(ctl *x, const ctl_args *a) {
    campaign_input in;
    int rc = parse_campaign(x, a, &in);
    if (rc != CLI_EXIT_OK)
        return rc;
    Callfloor__CampaignAdd msg = CALLFLOOR__CAMPAIGN_ADD__INIT;
    msg.campaign = &in.c;
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_CAMPAIGN_ADD;
    req.campaign_add = &msg;
    rc = ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_CAMPAIGN, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json)
        ctl_json_one(x, "campaign", json_campaign, reply->campaign);
    else
        rc = campaign_text(x, reply->campaign);
    envelope_free(reply);
    return rc;
}

static int add_campaign_row(cli_table *t, const void *item) {
    const Callfloor__Campaign *c = item;
    char products[256], teams[256], window[32], days[64], priority[16];
    join(c->products, c->n_products, products, sizeof products);
    join(c->teams, c->n_teams, teams, sizeof teams);
    snprintf(window, sizeof window, "%s-%s", c->window_start, c->window_end);
    format_days(c->days, days, sizeof days);
    snprintf(priority, sizeof priority, "%d", c->priority);
    const char *row[] = {
        c->name, c->paused ? _("paused") : _("active"), products, teams, window, days, priority};
    return cli_table_add_row(t, row);
}

int ctl_run_campaign_list(ctl *x, const ctl_args *a) {
    (void)a;
    char empty[128];
    snprintf(empty, sizeof empty, _("No campaigns yet; add one with '%s campaign add NAME'.\n"),
             PROGRAM);
    const char *header[] = {_("CAMPAIGN"), _("STATE"), _("PRODUCTS"), _("TEAMS"),
                            _("WINDOW"),   _("DAYS"),  _("PRIORITY")};
    const ctl_list list = {CALLFLOOR__ENVELOPE__BODY_CAMPAIGN_LIST,
                           CALLFLOOR__ENVELOPE__BODY_CAMPAIGN_LIST_REPLY,
                           &callfloor__campaign__descriptor,
                           json_campaign,
                           header,
                           7,
                           add_campaign_row,
                           empty};
    return ctl_run_list(x, &list);
}

int ctl_run_campaign_show(ctl *x, const ctl_args *a) {
    Callfloor__CampaignShow msg = CALLFLOOR__CAMPAIGN_SHOW__INIT;
    msg.name = (char *)a->name;
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_CAMPAIGN_SHOW;
    req.campaign_show = &msg;
    int rc = ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_CAMPAIGN, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json)
        ctl_json_one(x, "campaign", json_campaign, reply->campaign);
    else
        rc = campaign_text(x, reply->campaign);
    envelope_free(reply);
    return rc;
}

static int set_paused(ctl *x, const char *name, bool paused) {
    Callfloor__CampaignSetPaused msg = CALLFLOOR__CAMPAIGN_SET_PAUSED__INIT;
    msg.name = (char *)name;
    msg.paused = paused;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_CAMPAIGN_SET_PAUSED;
    req.campaign_set_paused = &msg;
    int rc = ctl_call_ok(x, &req);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json) {
        json_writer w;
        ctl_json_ok_begin(x, &w);
        json_kv_string(&w, "campaign", name);
        json_kv_bool(&w, "paused", paused);
        json_object_end(&w);
    } else {
        buf_appendf(&x->out,
                    paused ? _("Paused campaign %s; it offers no more leads.\n")
                           : _("Resumed campaign %s.\n"),
                    name);
    }
    return CLI_EXIT_OK;
}

int ctl_run_campaign_pause(ctl *x, const ctl_args *a) {
    return set_paused(x, a->name, true);
}

int ctl_run_campaign_resume(ctl *x, const ctl_args *a) {
    return set_paused(x, a->name, false);
}
