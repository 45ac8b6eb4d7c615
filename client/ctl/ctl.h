/* ctl: what callfloorctl's command files share: the parsed arguments, the
 * connection to the server, the output buffer and the helpers that send a
 * request and report failures. main.c owns the command table, parsing and
 * help; each other file implements a family of commands. */
#ifndef CALLFLOOR_CTL_H
#define CALLFLOOR_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "buf.h"
#include "cli.h"
#include "client.h"
#include "envelope.h"
#include "json.h"

#define PROGRAM        "callfloorctl"
#define CTL_MAX_REPEAT 64

/* Every option any command takes; a command's row says which it accepts. */
enum ctl_option {
    OPT_ROLE,
    OPT_TEAM,
    OPT_DISPLAY_NAME,
    OPT_DESCRIPTION,
    OPT_NAME,
    OPT_KIND,
    OPT_ANNUAL_FEE,
    OPT_APR,
    OPT_DISCLOSURE,
    OPT_SEGMENT,
    OPT_PRODUCT,
    OPT_WINDOW,
    OPT_DAYS,
    OPT_TIME_ZONE,
    OPT_MAX_ATTEMPTS,
    OPT_MAX_PER_DAY,
    OPT_RETRY_NO_ANSWER,
    OPT_RETRY_BUSY,
    OPT_OFFER_TIMEOUT,
    OPT_MIN_INCOME_BAND,
    OPT_PRIORITY,
    OPT_REASON,
    OPT_REJECTS,
    OPT_STATUS,
    OPT_RESOLUTION,
    OPT_CONNECT,
    OPT_APPLICATION,
    OPT_APPROVED,
    OPT_ACTIVATED,
    OPT_QA_FAIL,
    OPT_COMPLAINT,
    OPT_AGENT,
    OPT_MONTH,
    OPT_APPLICATIONS,
    OPT_FAIL,
    OPT_NOTES,
    OPT_UPHELD,
    OPT_FROM,
    OPT_TO,
    OPT_BY,
    OPT_CAMPAIGN,
    OPT_FORMAT,
    OPT_OUT,
    OPT_ACTOR,
    OPT_ACTION,
    OPT_LIMIT,
    OPT_BEFORE,
    OPT_OLDER_THAN,
    OPT_DRY_RUN,
    OPT_COUNT
};
#define OPT_BIT(o) (1ul << (o))

typedef struct ctl_args {
    const char *name; /* the command's first argument (NAME) */
    const char *file; /* its second (FILE), for the commands that take two */
    const char *values[OPT_COUNT][CTL_MAX_REPEAT];
    size_t count[OPT_COUNT];
    Callfloor__Role role;
    char new_password[CLI_PASSWORD_MAX + 1];
} ctl_args;

typedef struct ctl {
    cli_conn_options conn;
    bool json;
    bool loop_ready;
    uv_loop_t loop;
    client *client;
    buf out; /* what goes to standard output once the command succeeded */
} ctl;

/* The option's first value, or NULL when it was not given. */
const char *ctl_opt(const ctl_args *a, enum ctl_option o);
/* Sends `req` and waits. On CLI_EXIT_OK *reply holds an answer of type
 * `want` for the caller to free; otherwise the failure has been reported
 * and its exit code is returned. */
int ctl_call(ctl *x, envelope *req, Callfloor__Envelope__BodyCase want, envelope **reply);
/* Reads a whole number from 1 to `max` (digits only) into `out`. */
bool ctl_parse_number(const char *s, unsigned long long max, unsigned long long *out);
/* Sends a request answered with Ok. Returns CLI_EXIT_OK, or the exit code
 * of the failure it reported. */
int ctl_call_ok(ctl *x, envelope *req);
/* Starts the JSON answer {"ok":true,...} of a command answered with Ok;
 * the caller adds its members and ends the object. */
void ctl_json_ok_begin(ctl *x, json_writer *w);
/* The same for a request whose message has no fields (Status, the lists),
 * given by its body case. */
int ctl_call_empty(ctl *x, Callfloor__Envelope__BodyCase body, Callfloor__Envelope__BodyCase want,
                   envelope **reply);
/* Reports a negative CLIENT_E_* status; returns the exit code. */
int ctl_report_status(ctl *x, int status);
/* Reports a usage error (exit CLI_EXIT_USAGE) with a pointer to the help of
 * `help_topic` ("" for the main help, NULL for none). */
int ctl_usage_error(ctl *x, const char *help_topic, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Renders a finished table into the output; frees it either way. */
int ctl_emit_table(ctl *x, cli_table *t);

/* Output for the list and show commands. `items` are the reply's
 * repeated field (protobuf-c arrays of message pointers). */
typedef void (*ctl_json_fn)(json_writer *w, const void *item);
typedef int (*ctl_row_fn)(cli_table *t, const void *item);
/* {"KEY": ITEM} */
void ctl_json_one(ctl *x, const char *key, ctl_json_fn write, const void *item);
/* {"KEY": [ITEM, ...]} */
void ctl_json_list(ctl *x, const char *key, ctl_json_fn write, void *const *items, size_t n);
/* A table with `header` (ncols titles) and one row per item; `empty` is
 * printed instead when there are none. */
int ctl_emit_rows(ctl *x, const char *const *header, size_t ncols, ctl_row_fn add_row,
                  void *const *items, size_t n, const char *empty);
/* A list command: the request `ask` (an empty message) is answered with
 * `answer`, a message whose first field is the repeated list of `item`
 * messages that `json` and `add_row` take. In JSON the list is
 * {"FIELD": [ITEM, ...]}; as text, a table of `ncols` columns with
 * `header` and a row per item, or `empty` when there are none. */
typedef struct ctl_list {
    Callfloor__Envelope__BodyCase ask, answer;
    const ProtobufCMessageDescriptor *item;
    ctl_json_fn json;
    const char *const *header;
    size_t ncols;
    ctl_row_fn add_row;
    const char *empty;
} ctl_list;
/* Runs a list command; returns its exit code. */
int ctl_run_list(ctl *x, const ctl_list *list);

/* Products and campaigns (catalog.c). */
int ctl_run_product_add(ctl *x, const ctl_args *a);
int ctl_run_product_list(ctl *x, const ctl_args *a);
int ctl_run_campaign_add(ctl *x, const ctl_args *a);
int ctl_run_campaign_list(ctl *x, const ctl_args *a);
int ctl_run_campaign_show(ctl *x, const ctl_args *a);
int ctl_run_campaign_pause(ctl *x, const ctl_args *a);
int ctl_run_campaign_resume(ctl *x, const ctl_args *a);

/* The do-not-call list (dnc.c). */
int ctl_run_dnc_add(ctl *x, const ctl_args *a);
int ctl_run_dnc_remove(ctl *x, const ctl_args *a);
int ctl_run_dnc_check(ctl *x, const ctl_args *a);
int ctl_run_dnc_import(ctl *x, const ctl_args *a);

/* Lead lists (leads.c). */
int ctl_run_leads_import(ctl *x, const ctl_args *a);

/* Erasing personal data past its retention (audit.c). */
int ctl_run_privacy_purge(ctl *x, const ctl_args *a);

/* The audit log (audit.c). */
int ctl_run_audit_list(ctl *x, const ctl_args *a);
int ctl_run_audit_verify(ctl *x, const ctl_args *a);
int ctl_run_audit_checkpoint(ctl *x, const ctl_args *a);
int ctl_run_audit_export(ctl *x, const ctl_args *a);

/* Reports and the call export (report.c). */
int ctl_run_report_kpi(ctl *x, const ctl_args *a);
int ctl_run_report_slots(ctl *x, const ctl_args *a);
int ctl_run_report_trend(ctl *x, const ctl_args *a);
int ctl_run_report_monthly(ctl *x, const ctl_args *a);
int ctl_run_calls_export(ctl *x, const ctl_args *a);

/* The bank's results and satisfaction surveys (results.c). */
int ctl_run_results_import(ctl *x, const ctl_args *a);
int ctl_run_csat_import(ctl *x, const ctl_args *a);

/* The queue: why a lead is or is not dialable, complaints (queue.c). */
int ctl_run_leads_why(ctl *x, const ctl_args *a);
int ctl_run_complaint_list(ctl *x, const ctl_args *a);
int ctl_run_complaint_resolve(ctl *x, const ctl_args *a);

/* Scoring rules and targets (score.c). */
int ctl_run_campaign_scoring(ctl *x, const ctl_args *a);
int ctl_run_target_set(ctl *x, const ctl_args *a);
int ctl_run_notice_send(ctl *x, const ctl_args *a);
int ctl_run_tier_set(ctl *x, const ctl_args *a);
int ctl_run_qa_items(ctl *x, const ctl_args *a);
int ctl_run_qa_review(ctl *x, const ctl_args *a);

/* A progress bar on standard error for the imports: `done` of `size`
 * bytes, at file line `line`; `final` ends its line. Nothing when
 * `enabled` is false or the size is unknown (0). */
void ctl_progress(bool enabled, long long done, long long size, unsigned line, bool final);

/* Their rows in the command table (see ctl_command in main.c). */
#define CTL_REPORT_OPTIONS \
    (OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO) | OPT_BIT(OPT_CAMPAIGN) | OPT_BIT(OPT_FORMAT))
#define CTL_CATALOG_OPTIONS_PRODUCT                                                       \
    (OPT_BIT(OPT_NAME) | OPT_BIT(OPT_KIND) | OPT_BIT(OPT_ANNUAL_FEE) | OPT_BIT(OPT_APR) | \
     OPT_BIT(OPT_DISCLOSURE) | OPT_BIT(OPT_SEGMENT))
#define CTL_CATALOG_OPTIONS_CAMPAIGN                                                       \
    (OPT_BIT(OPT_PRODUCT) | OPT_BIT(OPT_TEAM) | OPT_BIT(OPT_WINDOW) | OPT_BIT(OPT_DAYS) |  \
     OPT_BIT(OPT_TIME_ZONE) | OPT_BIT(OPT_MAX_ATTEMPTS) | OPT_BIT(OPT_MAX_PER_DAY) |       \
     OPT_BIT(OPT_RETRY_NO_ANSWER) | OPT_BIT(OPT_RETRY_BUSY) | OPT_BIT(OPT_OFFER_TIMEOUT) | \
     OPT_BIT(OPT_MIN_INCOME_BAND) | OPT_BIT(OPT_PRIORITY))

#endif
