#include "chart.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

/* Heat map geometry, in pixels. */
#define CELL_W   30
#define CELL_H   24
#define LEFT     48
#define TOP      44
#define MAP_GAP  36
#define MIN_DIAL 1 /* a slot with fewer dials is drawn empty */

/* Trend chart geometry. */
#define PLOT_W 720
#define PLOT_H 260
#define PAD_L  56
#define PAD_R  56
#define PAD_T  40
#define PAD_B  48

int chart_column(const Callfloor__ReportReply *r, const char *name) {
    for (size_t c = 0; c < r->n_columns; c++)
        if (strcmp(r->columns[c]->name, name) == 0)
            return (int)c;
    return -1;
}

void chart_escape(buf *out, const char *s) {
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '&':
            buf_append_str(out, "&amp;");
            break;
        case '<':
            buf_append_str(out, "&lt;");
            break;
        case '>':
            buf_append_str(out, "&gt;");
            break;
        case '"':
            buf_append_str(out, "&quot;");
            break;
        case '\'':
            buf_append_str(out, "&#39;");
            break;
        default:
            buf_append(out, p, 1);
        }
    }
}

double chart_decimal(const char *s) {
    double sign = *s == '-' ? -1.0 : 1.0, v = 0, scale = 1;
    s += *s == '-';
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (*s - '0');
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            v += (*s - '0') * (scale /= 10);
    return sign * v;
}

/* A cell's value as a number; 0 for NULL or text. */
static bool is_null(const Callfloor__ReportRow *row, int c) {
    return c < 0 || (size_t)c >= row->n_cells || (c < 64 && (row->nulls >> c & 1));
}

static double value(const Callfloor__ReportRow *row, int c) {
    if (is_null(row, c))
        return 0;
    return chart_decimal(row->cells[c]);
}

static void text(buf *out, int x, int y, const char *anchor, const char *s) {
    buf_appendf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\">", x, y, anchor);
    chart_escape(out, s);
    buf_append_str(out, "</text>\n");
}

/* ---- the heat map ---- */

/* Light to dark blue as `rate` goes from 0 to 1. */
static void shade(double rate, char *out, size_t cap) {
    static const int light[3] = {0xf0, 0xf6, 0xfc}, dark[3] = {0x08, 0x30, 0x6b};
    int rgb[3];
    rate = rate < 0 ? 0 : rate > 1 ? 1 : rate;
    for (int k = 0; k < 3; k++)
        rgb[k] = light[k] + (int)((dark[k] - light[k]) * rate);
    snprintf(out, cap, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

const char *chart_weekday(int isodow) {
    static const char *const names[] = {N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"),
                                        N_("Fri"), N_("Sat"), N_("Sun")};
    return isodow >= 1 && isodow <= 7 ? _(names[isodow - 1]) : "?";
}

typedef struct slot_cols {
    int campaign, weekday, hour, dials, connects, rate, applications;
} slot_cols;

static void slot_cell(buf *out, const Callfloor__ReportRow *row, const slot_cols *k, int y0) {
    int day = (int)value(row, k->weekday), hour = atoi(row->cells[k->hour]);
    int dials = (int)value(row, k->dials);
    double rate = value(row, k->rate);
    char fill[8], tip[200];
    if (dials < MIN_DIAL)
        return;
    shade(rate, fill, sizeof fill);
    int x = LEFT + hour * CELL_W, y = y0 + (day - 1) * CELL_H;
    buf_appendf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>", x, y,
                CELL_W - 1, CELL_H - 1, fill);
    snprintf(tip, sizeof tip, _("%s %02d:00: %d of %d dials answered (%d%%), %d applications"),
             chart_weekday(day), hour, (int)value(row, k->connects), dials, (int)(rate * 100 + 0.5),
             (int)value(row, k->applications));
    chart_escape(out, tip);
    buf_appendf(out,
                "</title></rect>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
                "fill=\"%s\">%d</text>\n",
                x + CELL_W / 2, y + CELL_H / 2 + 4, rate > 0.5 ? "#fff" : "#000",
                (int)(rate * 100 + 0.5));
}

/* One campaign's map: its rows are [from, to) of the reply. */
static void slot_map(buf *out, const Callfloor__ReportReply *r, const slot_cols *k, size_t from,
                     size_t to, int y0) {
    char title[300];
    snprintf(title, sizeof title, _("Connect rate (%%) by the customer's weekday and hour: %s"),
             r->rows[from]->cells[k->campaign]);
    buf_appendf(out, "<g font-size=\"11\">\n");
    buf_appendf(out, "<text x=\"%d\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">", LEFT,
                y0 - 26);
    chart_escape(out, title);
    buf_append_str(out, "</text>\n");
    for (int h = 0; h < 24; h++) {
        char label[4];
        snprintf(label, sizeof label, "%02d", h);
        text(out, LEFT + h * CELL_W + CELL_W / 2, y0 - 6, "middle", label);
    }
    for (int d = 1; d <= 7; d++) {
        buf_appendf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#eee\"/>\n",
                    LEFT, y0 + (d - 1) * CELL_H, 24 * CELL_W - 1, CELL_H - 1);
        text(out, LEFT - 6, y0 + (d - 1) * CELL_H + CELL_H / 2 + 4, "end", chart_weekday(d));
    }
    for (size_t i = from; i < to; i++)
        slot_cell(out, r->rows[i], k, y0);
    buf_append_str(out, "</g>\n");
}

int chart_slots_svg(buf *out, const Callfloor__ReportReply *r) {
    slot_cols k = {chart_column(r, "campaign"),    chart_column(r, "weekday"),
                   chart_column(r, "hour"),        chart_column(r, "dials"),
                   chart_column(r, "connects"),    chart_column(r, "connect_rate"),
                   chart_column(r, "applications")};
    if (k.campaign < 0 || k.weekday < 0 || k.hour < 0 || k.dials < 0 || k.rate < 0)
        return -1;
    size_t maps = 0;
    for (size_t i = 0; i < r->n_rows; i++)
        maps += i == 0 || strcmp(r->rows[i]->cells[k.campaign], r->rows[i - 1]->cells[k.campaign]);
    int map_h = 7 * CELL_H + MAP_GAP + TOP - 20, width = LEFT + 24 * CELL_W + 16;
    int height = maps == 0 ? 60 : (int)maps * map_h + 20;
    buf_appendf(out,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n",
                width, height, width, height);
    if (maps == 0)
        text(out, LEFT, 30, "start", _("No calls in that period."));
    int y0 = TOP;
    for (size_t i = 0, start = 0; i <= r->n_rows; i++) {
        if (i < r->n_rows && (i == start || strcmp(r->rows[i]->cells[k.campaign],
                                                   r->rows[start]->cells[k.campaign]) == 0))
            continue;
        if (i > start) {
            slot_map(out, r, &k, start, i, y0);
            y0 += map_h;
        }
        start = i;
    }
    return buf_append_str(out, "</svg>\n");
}

/* ---- the trend ---- */

static int point_x(size_t i, int step) {
    return PAD_L + (int)i * step + step / 2;
}

static int point_y(const Callfloor__ReportRow *row, int col) {
    return PAD_T + PLOT_H - (int)(value(row, col) * PLOT_H + 0.5);
}

/* A rate as a line, broken where it is NULL (nothing to measure), with a
 * dot on each point so that a lone one shows. */
static void rate_line(buf *out, const Callfloor__ReportReply *r, int col, const char *colour,
                      int step) {
    bool open = false;
    for (size_t i = 0; col >= 0 && i <= r->n_rows; i++) {
        bool have = i < r->n_rows && !is_null(r->rows[i], col);
        if (have && !open)
            buf_appendf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                        colour);
        if (have)
            buf_appendf(out, "%s%d,%d", open ? " " : "", point_x(i, step),
                        point_y(r->rows[i], col));
        else if (open)
            buf_append_str(out, "\"/>\n");
        open = have;
    }
    for (size_t i = 0; col >= 0 && i < r->n_rows; i++)
        if (!is_null(r->rows[i], col))
            buf_appendf(out, "<circle cx=\"%d\" cy=\"%d\" r=\"3\" fill=\"%s\"/>\n",
                        point_x(i, step), point_y(r->rows[i], col), colour);
}

static void legend(buf *out, int x, const char *colour, const char *label) {
    buf_appendf(out, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", x,
                PAD_T + PLOT_H + 28, colour);
    text(out, x + 16, PAD_T + PLOT_H + 38, "start", label);
}

int chart_trend_svg(buf *out, const Callfloor__ReportReply *r, const char *title) {
    int period = chart_column(r, "period"), dials = chart_column(r, "dials");
    if (period < 0 || dials < 0)
        return -1;
    double most = 1;
    for (size_t i = 0; i < r->n_rows; i++)
        if (value(r->rows[i], dials) > most)
            most = value(r->rows[i], dials);
    int step = r->n_rows ? PLOT_W / (int)r->n_rows : PLOT_W;
    step = step < 1 ? 1 : step;
    int width = PAD_L + PLOT_W + PAD_R, height = PAD_T + PLOT_H + PAD_B;
    buf_appendf(out,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n",
                width, height, width, height);
    buf_appendf(out, "<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">", PAD_L);
    chart_escape(out, title);
    buf_append_str(out, "</text>\n");
    buf_appendf(out,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                "stroke=\"#999\"/>\n",
                PAD_L, PAD_T, PLOT_W, PLOT_H);
    for (size_t i = 0; i < r->n_rows; i++) {
        int h = (int)(value(r->rows[i], dials) / most * PLOT_H + 0.5);
        int x = PAD_L + (int)i * step;
        buf_appendf(out,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#c6dbef\">"
                    "<title>",
                    x + 1, PAD_T + PLOT_H - h, step > 2 ? step - 2 : 1, h);
        chart_escape(out, r->rows[i]->cells[period]);
        buf_appendf(out, ": %s</title></rect>\n", r->rows[i]->cells[dials]);
    }
    rate_line(out, r, chart_column(r, "connect_rate"), "#08519c", step);
    rate_line(out, r, chart_column(r, "conversion_rate"), "#e6550d", step);
    char most_text[32];
    snprintf(most_text, sizeof most_text, "%.0f", most);
    text(out, PAD_L - 6, PAD_T + 10, "end", most_text);
    text(out, PAD_L - 6, PAD_T + PLOT_H, "end", "0");
    text(out, PAD_L + PLOT_W + 6, PAD_T + 10, "start", "100%");
    text(out, PAD_L + PLOT_W + 6, PAD_T + PLOT_H, "start", "0%");
    if (r->n_rows > 0) {
        text(out, PAD_L, PAD_T + PLOT_H + 16, "start", r->rows[0]->cells[period]);
        text(out, PAD_L + PLOT_W, PAD_T + PLOT_H + 16, "end",
             r->rows[r->n_rows - 1]->cells[period]);
    }
    legend(out, PAD_L, "#c6dbef", _("dials"));
    legend(out, PAD_L + 120, "#08519c", _("connect rate"));
    legend(out, PAD_L + 260, "#e6550d", _("conversion rate"));
    return buf_append_str(out, "</svg>\n");
}
