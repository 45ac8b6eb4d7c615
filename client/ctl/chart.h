/* chart: SVG charts and the monthly HTML report, drawn from report
 * replies (ReportReply). The SVG is self-contained (no scripts, no
 * external fonts or styles) so that it opens in any browser and embeds in
 * the HTML report as it is; every text is XML-escaped. */
#ifndef CALLFLOOR_CTL_CHART_H
#define CALLFLOOR_CTL_CHART_H

#include "buf.h"
#include "envelope.h"

/* The index of column `name` in `r`, or -1. */
int chart_column(const Callfloor__ReportReply *r, const char *name);
/* A decimal as PostgreSQL writes it ("-0.4545"), whatever the locale. */
double chart_decimal(const char *s);
/* The short name of ISO weekday 1 (Monday) to 7, translated. */
const char *chart_weekday(int isodow);
/* Appends `s` with &, <, >, " and ' escaped. */
void chart_escape(buf *out, const char *s);

/* A heat map per campaign of a slots report: weekday (rows) by hour of
 * the customer's day (columns), shaded by connect rate, each cell titled
 * with its figures. Returns 0 or -ENOMEM. */
int chart_slots_svg(buf *out, const Callfloor__ReportReply *slots);
/* A trend report as bars (dials) and lines (connect and conversion rate
 * on a 0-100 % scale). Returns 0 or -ENOMEM. */
int chart_trend_svg(buf *out, const Callfloor__ReportReply *trend, const char *title);

#endif
