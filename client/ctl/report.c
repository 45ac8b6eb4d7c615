/* callfloorctl report kpi|slots|trend|monthly and calls export: the
 * server computes every figure (server/sql/009_reports.sql); this file
 * fetches the replies and writes them as an aligned table, CSV with a
 * header row, JSON, SVG charts, or the monthly HTML report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chart.h"
#include "csv.h"
#include "ctl.h"
#include "i18n.h"
#include "json.h"

typedef enum report_format { FMT_TABLE, FMT_CSV, FMT_JSON, FMT_SVG } report_format;

static const char *const format_names[] = {"table", "csv", "json", "svg"};

/* ---- asking ---- */

/* --format, else JSON with --json, else `fallback`; SVG only where
 * `svg_ok`. */
static int parse_format(ctl *x, const ctl_args *a, const char *command, bool svg_ok,
                        report_format fallback, report_format *out) {
    const char *f = ctl_opt(a, OPT_FORMAT);
    *out = f == NULL ? (x->json ? FMT_JSON : fallback) : FMT_TABLE;
    if (f == NULL)
        return CLI_EXIT_OK;
    for (int k = 0; k < 4; k++)
        if (strcmp(f, format_names[k]) == 0 && (k != FMT_SVG || svg_ok)) {
            *out = (report_format)k;
            return CLI_EXIT_OK;
        }
    return ctl_usage_error(x, command,
                           svg_ok ? _("invalid --format '%s': table, csv, json or svg")
                                  : _("invalid --format '%s': table, csv or json"),
                           f);
}

typedef struct period {
    const char *from, *to, *by, *campaign;
} period;

static period period_of(const ctl_args *a) {
    const char *campaign = ctl_opt(a, OPT_CAMPAIGN);
    const char *by = ctl_opt(a, OPT_BY);
    return (period){ctl_opt(a, OPT_FROM), ctl_opt(a, OPT_TO), by ? by : "",
                    campaign ? campaign : ""};
}

/* Asks for report `name` over `p`; on CLI_EXIT_OK *reply holds the
 * ReportReply envelope for the caller to free. */
static int fetch(ctl *x, const char *name, const period *p, uint64_t after, envelope **reply) {
    Callfloor__ReportRequest msg = CALLFLOOR__REPORT_REQUEST__INIT;
    msg.report = (char *)name;
    msg.from = (char *)p->from;
    msg.to = (char *)p->to;
    msg.by = (char *)p->by;
    msg.campaign = (char *)p->campaign;
    msg.after = after;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_REPORT_REQUEST;
    req.report_request = &msg;
    return ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_REPORT_REPLY, reply);
}

/* ---- cells ---- */

static bool cell_null(const Callfloor__ReportRow *row, size_t c) {
    return c < 64 && (row->nulls >> c & 1);
}

/* A cell for people: "-" for NULL, rates as percentages, yes/no. */
static const char *cell_text(const Callfloor__ReportReply *r, const Callfloor__ReportRow *row,
                             size_t c, char *scratch, size_t cap) {
    const Callfloor__ReportColumn *col = r->columns[c];
    size_t len = strlen(col->name);
    if (cell_null(row, c))
        return "-";
    if (strcmp(col->kind, "decimal") == 0 && len > 5 && strcmp(col->name + len - 5, "_rate") == 0) {
        snprintf(scratch, cap, "%.1f%%", 100 * chart_decimal(row->cells[c]));
        return scratch;
    }
    if (strcmp(col->kind, "boolean") == 0)
        return strcmp(row->cells[c], "t") == 0 ? _("yes") : _("no");
    return row->cells[c];
}

/* ---- writing ---- */

static int write_table(ctl *x, const Callfloor__ReportReply *r, const char *empty) {
    if (r->n_rows == 0) {
        buf_append_str(&x->out, empty);
        return CLI_EXIT_OK;
    }
    const char *header[64];
    for (size_t c = 0; c < r->n_columns && c < 64; c++)
        header[c] = r->columns[c]->name;
    cli_table t;
    int rc = cli_table_init(&t, r->n_columns, header);
    char scratch[64][32];
    for (size_t i = 0; i < r->n_rows && rc == 0; i++) {
        const char *cells[64];
        for (size_t c = 0; c < r->n_columns && c < 64; c++)
            cells[c] = cell_text(r, r->rows[i], c, scratch[c], sizeof scratch[c]);
        rc = cli_table_add_row(&t, cells);
    }
    if (rc < 0) {
        cli_table_free(&t);
        return ctl_report_status(x, CLIENT_E_NOMEM);
    }
    return ctl_emit_table(x, &t);
}

/* A text cell that a spreadsheet would take for a formula (=, +, -, @ or
 * a control character first) gets a ' in front: an export opened in Excel
 * must not run what an agent typed as a recording reference. */
static void csv_append_text(buf *out, const char *s) {
    size_t len = strlen(s);
    char *quoted = len > 0 && strchr("=+-@\t\r", *s) != NULL ? malloc(len + 2) : NULL;
    if (quoted == NULL) {
        csv_append_field(out, s);
        return;
    }
    quoted[0] = '\'';
    memcpy(quoted + 1, s, len + 1);
    csv_append_field(out, quoted);
    free(quoted);
}

static void write_csv_header(buf *out, const Callfloor__ReportReply *r) {
    for (size_t c = 0; c < r->n_columns; c++) {
        if (c > 0)
            buf_append(out, ",", 1);
        csv_append_field(out, r->columns[c]->name);
    }
    buf_append(out, "\r\n", 2);
}

/* NULL is an empty cell; booleans are true or false. */
static void write_csv_rows(buf *out, const Callfloor__ReportReply *r) {
    for (size_t i = 0; i < r->n_rows; i++) {
        const Callfloor__ReportRow *row = r->rows[i];
        for (size_t c = 0; c < row->n_cells; c++) {
            if (c > 0)
                buf_append(out, ",", 1);
            if (cell_null(row, c))
                continue;
            if (strcmp(r->columns[c]->kind, "boolean") == 0)
                buf_append_str(out, strcmp(row->cells[c], "t") == 0 ? "true" : "false");
            else if (strcmp(r->columns[c]->kind, "text") == 0)
                csv_append_text(out, row->cells[c]);
            else
                csv_append_field(out, row->cells[c]);
        }
        buf_append(out, "\r\n", 2);
    }
}

static void write_json_cell(json_writer *w, const Callfloor__ReportReply *r,
                            const Callfloor__ReportRow *row, size_t c) {
    const char *kind = r->columns[c]->kind;
    if (cell_null(row, c))
        json_null(w);
    else if (strcmp(kind, "integer") == 0 || strcmp(kind, "decimal") == 0)
        json_number_text(w, row->cells[c]);
    else if (strcmp(kind, "boolean") == 0)
        json_bool(w, strcmp(row->cells[c], "t") == 0);
    else
        json_string(w, row->cells[c]);
}

/* {column: value, ...} for every row */
static void write_json_objects(json_writer *w, const Callfloor__ReportReply *r) {
    for (size_t i = 0; i < r->n_rows; i++) {
        json_object_begin(w);
        for (size_t c = 0; c < r->rows[i]->n_cells && c < r->n_columns; c++) {
            json_key(w, r->columns[c]->name);
            write_json_cell(w, r, r->rows[i], c);
        }
        json_object_end(w);
    }
}

/* "rows": [{column: value, ...}, ...] */
static void write_json_rows(json_writer *w, const Callfloor__ReportReply *r) {
    json_key(w, "rows");
    json_array_begin(w);
    write_json_objects(w, r);
    json_array_end(w);
}

static void json_begin_report(json_writer *w, buf *out, const char *name, const period *p) {
    json_init(w, out);
    json_object_begin(w);
    json_kv_string(w, "report", name);
    json_kv_string(w, "from", p->from);
    json_kv_string(w, "to", p->to);
    if (*p->by)
        json_kv_string(w, "by", p->by);
    json_kv_string(w, "campaign", p->campaign);
}

/* Writes a whole report in `f` (not SVG). */
static int write_report(ctl *x, const char *name, const period *p, const envelope *env,
                        report_format f) {
    const Callfloor__ReportReply *r = env->report_reply;
    if (f == FMT_CSV) {
        write_csv_header(&x->out, r);
        write_csv_rows(&x->out, r);
        return CLI_EXIT_OK;
    }
    if (f == FMT_JSON) {
        json_writer w;
        json_begin_report(&w, &x->out, name, p);
        write_json_rows(&w, r);
        json_object_end(&w);
        return CLI_EXIT_OK;
    }
    return write_table(x, r, _("Nothing happened in that period.\n"));
}

/* ---- kpi, trend ---- */

static int run_simple(ctl *x, const ctl_args *a, const char *name, bool svg_ok) {
    char command[32];
    snprintf(command, sizeof command, "report %s", name);
    report_format f;
    int rc = parse_format(x, a, command, svg_ok, FMT_TABLE, &f);
    period p = period_of(a);
    envelope *reply = NULL;
    if (rc == CLI_EXIT_OK)
        rc = fetch(x, name, &p, 0, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (f == FMT_SVG) {
        char title[160];
        snprintf(title, sizeof title, _("Calls and results, %s to %s"), p.from, p.to);
        if (chart_trend_svg(&x->out, reply->report_reply, title) < 0)
            rc = ctl_report_status(x, CLIENT_E_NOMEM);
    } else {
        rc = write_report(x, name, &p, reply, f);
    }
    envelope_free(reply);
    return rc;
}

int ctl_run_report_kpi(ctl *x, const ctl_args *a) {
    return run_simple(x, a, "kpi", false);
}

int ctl_run_report_trend(ctl *x, const ctl_args *a) {
    return run_simple(x, a, "trend", true);
}

/* ---- slots ---- */

typedef struct slot_columns {
    int campaign, weekday, hour, dials, rate, rank;
} slot_columns;

static slot_columns slot_columns_of(const Callfloor__ReportReply *r) {
    return (slot_columns){chart_column(r, "campaign"),     chart_column(r, "weekday"),
                          chart_column(r, "hour"),         chart_column(r, "dials"),
                          chart_column(r, "connect_rate"), chart_column(r, "connect_rank")};
}

#define BEST_SLOTS 3

/* Whether row `i` is one of its campaign's best slots to call. */
static bool best_slot(const Callfloor__ReportReply *r, const slot_columns *k, size_t i) {
    const Callfloor__ReportRow *row = r->rows[i];
    return k->rank >= 0 && !cell_null(row, (size_t)k->rank) &&
           atoi(row->cells[k->rank]) <= BEST_SLOTS;
}

/* "春季: Tue 10:00 62.0% of 13 dials, ..." per campaign, best first. */
/* The best slots of the campaign whose rows are [from, to), best first;
 * returns whether it had any. */
static bool write_campaign_best(buf *out, const Callfloor__ReportReply *r, const slot_columns *k,
                                size_t from, size_t to) {
    bool any = false;
    for (int rank = 1; rank <= BEST_SLOTS; rank++)
        for (size_t i = from; i < to; i++) {
            const Callfloor__ReportRow *row = r->rows[i];
            if (!best_slot(r, k, i) || atoi(row->cells[k->rank]) != rank)
                continue;
            if (!any)
                buf_appendf(out, _("Best times to reach customers of %s:\n"),
                            row->cells[k->campaign]);
            any = true;
            buf_appendf(out, _("  %d. %s %s:00, %.1f%% of %s dials answered\n"), rank,
                        chart_weekday(atoi(row->cells[k->weekday])), row->cells[k->hour],
                        100 * chart_decimal(row->cells[k->rate]), row->cells[k->dials]);
        }
    return any;
}

/* "春季: Tue 10:00 62.0% of 13 dials, ..." per campaign (the rows come
 * grouped by campaign), best first. */
static void write_best_text(buf *out, const Callfloor__ReportReply *r) {
    slot_columns k = slot_columns_of(r);
    bool any = false;
    for (size_t start = 0, i = 1; start < r->n_rows; i++) {
        if (i < r->n_rows &&
            strcmp(r->rows[i]->cells[k.campaign], r->rows[start]->cells[k.campaign]) == 0)
            continue;
        any |= write_campaign_best(out, r, &k, start, i);
        start = i;
    }
    if (!any)
        buf_append_str(out, _("No weekday and hour has 10 dials yet: too few calls to name the "
                              "best times.\n"));
}

static void write_best_json(json_writer *w, const Callfloor__ReportReply *r) {
    slot_columns k = slot_columns_of(r);
    json_key(w, "best");
    json_array_begin(w);
    for (size_t i = 0; i < r->n_rows; i++) {
        if (!best_slot(r, &k, i))
            continue;
        const Callfloor__ReportRow *row = r->rows[i];
        json_object_begin(w);
        json_kv_string(w, "campaign", row->cells[k.campaign]);
        json_kv_int(w, "weekday", atoi(row->cells[k.weekday]));
        json_kv_string(w, "hour", row->cells[k.hour]);
        json_key(w, "connect_rate");
        json_number_text(w, row->cells[k.rate]);
        json_kv_int(w, "connect_rank", atoi(row->cells[k.rank]));
        json_object_end(w);
    }
    json_array_end(w);
}

int ctl_run_report_slots(ctl *x, const ctl_args *a) {
    report_format f;
    int rc = parse_format(x, a, "report slots", true, FMT_TABLE, &f);
    period p = period_of(a);
    envelope *reply = NULL;
    if (rc == CLI_EXIT_OK)
        rc = fetch(x, "slots", &p, 0, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__ReportReply *r = reply->report_reply;
    if (f == FMT_SVG) {
        rc = chart_slots_svg(&x->out, r) < 0 ? ctl_report_status(x, CLIENT_E_NOMEM) : rc;
    } else if (f == FMT_JSON) {
        json_writer w;
        json_begin_report(&w, &x->out, "slots", &p);
        write_best_json(&w, r);
        write_json_rows(&w, r);
        json_object_end(&w);
    } else if (f == FMT_TABLE) {
        write_best_text(&x->out, r);
        if (r->n_rows > 0)
            buf_append(&x->out, "\n", 1);
        rc = write_table(x, r, "");
    } else {
        rc = write_report(x, "slots", &p, reply, f);
    }
    envelope_free(reply);
    return rc;
}

/* ---- the monthly report ---- */

static void html_table(buf *out, const Callfloor__ReportReply *r) {
    if (r->n_rows == 0) {
        buf_appendf(out, "<p>%s</p>\n", _("Nothing happened in that period."));
        return;
    }
    buf_append_str(out, "<table>\n<tr>");
    for (size_t c = 0; c < r->n_columns; c++) {
        buf_append_str(out, "<th>");
        chart_escape(out, r->columns[c]->name);
        buf_append_str(out, "</th>");
    }
    buf_append_str(out, "</tr>\n");
    char scratch[32];
    for (size_t i = 0; i < r->n_rows; i++) {
        buf_append_str(out, "<tr>");
        for (size_t c = 0; c < r->n_columns; c++) {
            bool number = strcmp(r->columns[c]->kind, "text") != 0;
            buf_append_str(out, number ? "<td class=\"n\">" : "<td>");
            chart_escape(out, cell_text(r, r->rows[i], c, scratch, sizeof scratch));
            buf_append_str(out, "</td>");
        }
        buf_append_str(out, "</tr>\n");
    }
    buf_append_str(out, "</table>\n");
}

static void html_heading(buf *out, const char *text) {
    buf_append_str(out, "<h2>");
    chart_escape(out, text);
    buf_append_str(out, "</h2>\n");
}

/* The month's first and last day, from YYYY-MM. */
static bool month_range(const char *month, char *from, char *to) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m;
    char end;
    if (strlen(month) != 7 || sscanf(month, "%4d-%2d%c", &y, &m, &end) != 2 || y < 2000 ||
        y > 2999 || m < 1 || m > 12)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    snprintf(from, 11, "%04d-%02d-01", y, m);
    snprintf(to, 11, "%04d-%02d-%02d", y, m, days[m - 1] + (m == 2 && leap));
    return true;
}

/* One section of the monthly report: a heading, then a table or a
 * chart. */
typedef struct section {
    const char *heading;
    const char *report, *by;
    bool chart;
} section;

static const section monthly_sections[] = {
    {N_("Teams"), "kpi", "team", false},
    {N_("Agents"), "kpi", "agent", false},
    {N_("Campaigns"), "kpi", "campaign", false},
    {N_("Products"), "kpi", "product", false},
    {N_("Day by day"), "trend", "day", true},
    {N_("When customers answer (connect rate by weekday and hour)"), "slots", "", true},
};

static int write_file(ctl *x, const char *dir, const char *name, const buf *content, char *path,
                      size_t cap) {
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return ctl_usage_error(x, NULL, _("cannot create %s: %s"), dir, strerror(errno));
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    bool ok =
        f != NULL && fwrite(buf_head(content), 1, buf_pending(content), f) == buf_pending(content);
    if (f != NULL && fclose(f) != 0)
        ok = false;
    return ok ? CLI_EXIT_OK
              : ctl_usage_error(x, NULL, _("cannot write %s: %s"), path, strerror(errno));
}

static int monthly_section(ctl *x, buf *html, const section *s, const period *month) {
    period p = *month;
    p.by = s->by;
    envelope *reply = NULL;
    int rc = fetch(x, s->report, &p, 0, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    html_heading(html, _(s->heading));
    const Callfloor__ReportReply *r = reply->report_reply;
    if (s->chart && strcmp(s->report, "slots") == 0)
        rc = chart_slots_svg(html, r);
    else if (s->chart)
        rc = chart_trend_svg(html, r, _(s->heading));
    if (rc == 0 && (!s->chart || strcmp(s->report, "trend") == 0))
        html_table(html, r);
    envelope_free(reply);
    return rc < 0 ? ctl_report_status(x, CLIENT_E_NOMEM) : CLI_EXIT_OK;
}

int ctl_run_report_monthly(ctl *x, const ctl_args *a) {
    const char *month = ctl_opt(a, OPT_MONTH);
    char from[11], to[11], title[160], name[64], path[4096];
    if (!month_range(month, from, to))
        return ctl_usage_error(x, "report monthly", _("invalid --month '%s': e.g. 2026-12"), month);
    const char *campaign = ctl_opt(a, OPT_CAMPAIGN);
    period p = {from, to, "", campaign ? campaign : ""};
    snprintf(title, sizeof title, _("callfloor monthly report, %s"), month);
    buf html = BUF_INIT;
    buf_append_str(&html, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    chart_escape(&html, title);
    buf_append_str(&html, "</title>\n<style>body{font-family:sans-serif;margin:2em}"
                          "table{border-collapse:collapse;font-size:13px;margin-bottom:1em}"
                          "th,td{border:1px solid #ccc;padding:3px 6px}th{background:#eee}"
                          "td.n{text-align:right}</style></head><body>\n<h1>");
    chart_escape(&html, title);
    buf_append_str(&html, "</h1>\n<p>");
    chart_escape(&html, *p.campaign ? p.campaign : _("Every campaign"));
    buf_appendf(&html, ", %s – %s</p>\n", from, to);
    int rc = CLI_EXIT_OK;
    for (size_t k = 0; k < sizeof monthly_sections / sizeof monthly_sections[0] && !rc; k++)
        rc = monthly_section(x, &html, &monthly_sections[k], &p);
    buf_append_str(&html, "</body></html>\n");
    snprintf(name, sizeof name, "callfloor-%s.html", month);
    if (rc == CLI_EXIT_OK)
        rc = write_file(x, ctl_opt(a, OPT_OUT), name, &html, path, sizeof path);
    buf_free(&html);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json) {
        json_writer w;
        json_init(&w, &x->out);
        json_object_begin(&w);
        json_kv_string(&w, "file", path);
        json_object_end(&w);
    } else {
        buf_appendf(&x->out, _("Wrote %s; open it in a browser.\n"), path);
    }
    return CLI_EXIT_OK;
}

/* ---- calls export ---- */

/* Page by page, each written out at once: a month of calls does not fit
 * in memory as one reply. */
int ctl_run_calls_export(ctl *x, const ctl_args *a) {
    report_format f;
    int rc = parse_format(x, a, "calls export", false, FMT_CSV, &f);
    period p = period_of(a);
    uint64_t after = 0;
    json_writer w;
    if (rc == CLI_EXIT_OK && f == FMT_JSON) {
        json_begin_report(&w, &x->out, "calls", &p);
        json_key(&w, "rows");
        json_array_begin(&w);
    }
    for (bool first = true; rc == CLI_EXIT_OK && (first || after != 0); first = false) {
        envelope *reply = NULL;
        rc = fetch(x, "calls", &p, after, &reply);
        if (rc != CLI_EXIT_OK)
            break;
        const Callfloor__ReportReply *r = reply->report_reply;
        if (f == FMT_JSON) {
            write_json_objects(&w, r);
        } else if (f == FMT_CSV) {
            if (first)
                write_csv_header(&x->out, r);
            write_csv_rows(&x->out, r);
        } else {
            rc = write_table(x, r, first ? _("No calls in that period.\n") : "");
        }
        after = r->next_after;
        envelope_free(reply);
        if (rc == CLI_EXIT_OK && cli_write_stdout(&x->out) < 0)
            rc = ctl_usage_error(x, NULL, _("cannot write the output: %s"), strerror(errno));
        buf_reset(&x->out);
    }
    if (f == FMT_JSON && rc == CLI_EXIT_OK) {
        json_array_end(&w);
        json_object_end(&w);
    }
    return rc;
}
