/* callfloorctl: the administrator's command line, over the same protocol as
 * every other client. Each command is one row of the command table (its
 * words, syntax, help and handler); parsing, help, connecting and error
 * reporting are shared, so a new command is a row and a handler. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "buf.h"
#include "cli.h"
#include "client.h"
#include "envelope.h"
#include "i18n.h"
#include "json.h"
#include "pii.h"
#include "role.h"
#include "version.h"

#include "ctl.h"

/* Returned by parsing steps that did not end the program. */
#define CTL_CONTINUE (-1)

typedef int (*ctl_handler)(ctl *x, const ctl_args *a);

typedef struct ctl_command {
    const char *words;
    const char *synopsis;     /* the arguments shown in the command list */
    const char *usage;        /* all arguments, for the command's own help */
    const char *summary;      /* one line, translated */
    const char *details;      /* options and notes, translated; may be NULL */
    int nargs;                /* positional arguments: 0, 1 (NAME) or 2 (NAME FILE) */
    unsigned long options;    /* OPT_BIT()s the command accepts */
    unsigned long required;   /* ... must be given */
    unsigned long repeatable; /* ... may be given more than once */
    bool new_password;
    ctl_handler run; /* NULL for "help" */
} ctl_command;

static int run_status(ctl *x, const ctl_args *a);
static int run_user_add(ctl *x, const ctl_args *a);
static int run_user_list(ctl *x, const ctl_args *a);
static int run_user_passwd(ctl *x, const ctl_args *a);
static int run_user_disable(ctl *x, const ctl_args *a);
static int run_user_enable(ctl *x, const ctl_args *a);
static int run_team_add(ctl *x, const ctl_args *a);
static int run_team_list(ctl *x, const ctl_args *a);

static const char *const new_password_note =
    N_("The new password is asked for twice on a terminal; otherwise it is the first\n"
       "line of standard input. It is never taken from the command line.\n");

static const ctl_command commands[] = {
    {"status", "", "", N_("Show the server's state: version, sessions, database."), NULL, false, 0,
     0, 0, false, run_status},
    {"user add", "NAME --role ROLE", "NAME --role ROLE [--team TEAM] [--display-name TEXT]",
     N_("Create an account."),
     N_("Options:\n"
        "  --role ROLE          agent, supervisor or admin (required)\n"
        "  --team TEAM          put the user in this team (create it first with 'team add')\n"
        "  --display-name TEXT  the name others see, e.g. 张伟\n"),
     true, OPT_BIT(OPT_ROLE) | OPT_BIT(OPT_TEAM) | OPT_BIT(OPT_DISPLAY_NAME), OPT_BIT(OPT_ROLE), 0,
     true, run_user_add},
    {"user list", "", "", N_("List the accounts."), NULL, false, 0, 0, 0, false, run_user_list},
    {"user passwd", "NAME", "NAME", N_("Set a new password for an account."), NULL, true, 0, 0, 0,
     true, run_user_passwd},
    {"user disable", "NAME", "NAME", N_("Disable an account and end its open sessions."), NULL,
     true, 0, 0, 0, false, run_user_disable},
    {"user enable", "NAME", "NAME", N_("Enable a disabled account again."), NULL, true, 0, 0, 0,
     false, run_user_enable},
    {"team add", "NAME", "NAME [--description TEXT]", N_("Create a team."),
     N_("Options:\n"
        "  --description TEXT   what the team is for, e.g. 信用卡一组\n"),
     true, OPT_BIT(OPT_DESCRIPTION), 0, 0, false, run_team_add},
    {"team list", "", "", N_("List the teams and how many active members each has."), NULL, false,
     0, 0, 0, false, run_team_list},
    {"product add", "CODE --name TEXT --apr PERCENT",
     "CODE --name TEXT --apr PERCENT [--kind KIND] [--annual-fee YUAN] [--disclosure TEXT] "
     "[--segment S]...",
     N_("Add a card product."),
     N_("Options:\n"
        "  --name TEXT         the product's name as agents say it, e.g. 畅享白金卡 (required)\n"
        "  --apr PERCENT       interest per year in percent, e.g. 18.25 (required)\n"
        "  --kind KIND         standard, cashback, travel, points, premium or student\n"
        "                      (default standard)\n"
        "  --annual-fee YUAN   the annual fee, e.g. 0 or 300.00 (default 0)\n"
        "  --disclosure TEXT   the fees, interest and risks the agent must read out\n"
        "  --segment S         a customer segment the card suits, e.g. traveller; repeat\n"
        "                      for more\n"),
     true, CTL_CATALOG_OPTIONS_PRODUCT, OPT_BIT(OPT_NAME) | OPT_BIT(OPT_APR), OPT_BIT(OPT_SEGMENT),
     false, ctl_run_product_add},
    {"product list", "", "", N_("List the card products."), NULL, false, 0, 0, 0, false,
     ctl_run_product_list},
    {"campaign add", "NAME --product CODE --team TEAM",
     "NAME --product CODE... --team TEAM... [--window HH:MM-HH:MM] [--days DAYS] "
     "[--time-zone ZONE] [--max-attempts N] [--max-per-day N] [--retry-no-answer DURATION] "
     "[--retry-busy DURATION] [--offer-timeout DURATION] [--min-income-band N] [--priority N]",
     N_("Create a calling campaign."),
     N_("Options:\n"
        "  --product CODE            a product it sells (required; repeat for more)\n"
        "  --team TEAM               a team that works it (required; repeat for more)\n"
        "  --window HH:MM-HH:MM      when customers may be called, in their local time\n"
        "                            (default 09:00-20:00)\n"
        "  --days DAYS               weekdays to call: mon-fri, mon,wed,sat, weekdays or all\n"
        "                            (default all)\n"
        "  --time-zone ZONE          for leads without their own (default Asia/Shanghai)\n"
        "  --max-attempts N          calls to one customer in total (default 6)\n"
        "  --max-per-day N           calls to one customer per day (default 2)\n"
        "  --retry-no-answer DURATION  rest after nobody answered, e.g. 2h (default 2h)\n"
        "  --retry-busy DURATION     rest after a busy line, e.g. 30m (default 30m)\n"
        "  --offer-timeout DURATION  an offer not dialled within this goes back (default 60s)\n"
        "  --min-income-band N       pre-screen: lowest income band 1-9 (default: no rule)\n"
        "  --priority N              higher campaigns are served first (default 0)\n"
        "Durations are seconds, or a number with s, m, h or d.\n"),
     true, CTL_CATALOG_OPTIONS_CAMPAIGN, OPT_BIT(OPT_PRODUCT) | OPT_BIT(OPT_TEAM),
     OPT_BIT(OPT_PRODUCT) | OPT_BIT(OPT_TEAM), false, ctl_run_campaign_add},
    {"campaign list", "", "", N_("List the campaigns."), NULL, false, 0, 0, 0, false,
     ctl_run_campaign_list},
    {"campaign show", "NAME", "NAME", N_("Show one campaign's settings."), NULL, true, 0, 0, 0,
     false, ctl_run_campaign_show},
    {"campaign pause", "NAME", "NAME", N_("Pause a campaign: it offers no more leads."), NULL, true,
     0, 0, 0, false, ctl_run_campaign_pause},
    {"campaign resume", "NAME", "NAME", N_("Resume a paused campaign."), NULL, true, 0, 0, 0, false,
     ctl_run_campaign_resume},
    {"campaign scoring", "NAME",
     "NAME [--connect N] [--application N] [--approved N] "
     "[--activated N] [--qa-fail N] [--complaint N]",
     N_("Show or change how a campaign's results score on the leaderboard."),
     N_("Without options it shows the points; the options change those given and keep\n"
        "the others. Events already scored keep their points.\n"
        "\n"
        "Options:\n"
        "  --connect N       a call where the customer was spoken to (default 1)\n"
        "  --application N   a submitted application (default 10)\n"
        "  --approved N      an application the bank approved (default 20)\n"
        "  --activated N     a card the customer activated (default 30)\n"
        "  --qa-fail N       a failed quality review, 0 or less (default -10)\n"
        "  --complaint N     an upheld complaint, 0 or less (default -20)\n"),
     true,
     OPT_BIT(OPT_CONNECT) | OPT_BIT(OPT_APPLICATION) | OPT_BIT(OPT_APPROVED) |
         OPT_BIT(OPT_ACTIVATED) | OPT_BIT(OPT_QA_FAIL) | OPT_BIT(OPT_COMPLAINT),
     0, 0, false, ctl_run_campaign_scoring},
    {"target set", "--agent NAME|--team NAME --month YYYY-MM --applications N",
     "(--agent NAME | --team NAME) --month YYYY-MM --applications N",
     N_("Set a monthly target of applications for an agent or a team."),
     N_("The leaderboard shows each agent's target: their own, or else their team's.\n"
        "\n"
        "Options:\n"
        "  --agent NAME         the agent the target is for\n"
        "  --team NAME          ... or the team\n"
        "  --month YYYY-MM      the month, e.g. 2026-12 (required)\n"
        "  --applications N     applications to reach, e.g. 20 (required)\n"),
     false, OPT_BIT(OPT_AGENT) | OPT_BIT(OPT_TEAM) | OPT_BIT(OPT_MONTH) | OPT_BIT(OPT_APPLICATIONS),
     OPT_BIT(OPT_MONTH) | OPT_BIT(OPT_APPLICATIONS), 0, false, ctl_run_target_set},
    {"tier set", "TIER --applications N", "TIER --applications N [--team NAME]",
     N_("Set the applications a month that earn a bonus tier (1-9)."),
     N_("The leaderboard shows each agent's tier this month and the tier their pace\n"
        "projects by the month's end. Without --team, the tier applies to the teams\n"
        "that have no tiers of their own.\n"
        "\n"
        "Options:\n"
        "  --applications N   applications in a month that reach the tier (required)\n"
        "  --team NAME        the team the tier is for\n"),
     true, OPT_BIT(OPT_APPLICATIONS) | OPT_BIT(OPT_TEAM), OPT_BIT(OPT_APPLICATIONS), 0, false,
     ctl_run_tier_set},
    {"qa items", "", "", N_("List the quality scorecard's items."), NULL, false, 0, 0, 0, false,
     ctl_run_qa_items},
    {"qa review", "CALL_ID [--fail ITEM]...", "CALL_ID [--fail ITEM]... [--notes TEXT]",
     N_("Review an ended call against the quality scorecard."),
     N_("Every item not named with --fail passed. The score is 100 less the failed\n"
        "items' weights; the review passes with 80 or more and no instant-fail item\n"
        "failed. A failed review costs the agent the campaign's qa-fail points.\n"
        "\n"
        "Options:\n"
        "  --fail ITEM    an item the call failed (repeat for more; 'qa items' lists them)\n"
        "  --notes TEXT   what the reviewer noticed\n"),
     true, OPT_BIT(OPT_FAIL) | OPT_BIT(OPT_NOTES), 0, OPT_BIT(OPT_FAIL), false, ctl_run_qa_review},
    {"notice send", "TEXT --agent NAME|--team NAME", "TEXT (--agent NAME | --team NAME)",
     N_("Send a notice to the desks of an agent or a whole team."),
     N_("The desks that are open now show it at once, and so do the monitors\n"
        "watching that team. One line of at most 500 bytes.\n"),
     true, OPT_BIT(OPT_AGENT) | OPT_BIT(OPT_TEAM), 0, 0, false, ctl_run_notice_send},
    {"dnc add", "PHONE", "PHONE [--reason TEXT]",
     N_("Put a phone number on the do-not-call list: it is never called again."),
     N_("Options:\n"
        "  --reason TEXT   why, e.g. 客户要求不再来电 (kept with the entry)\n"
        "\n"
        "PHONE '-' reads the number from the first line of standard input, so that\n"
        "it does not show in the process list.\n"),
     true, OPT_BIT(OPT_REASON), 0, 0, false, ctl_run_dnc_add},
    {"dnc remove", "PHONE", "PHONE", N_("Take a phone number off the do-not-call list."),
     N_("PHONE '-' reads the number from the first line of standard input.\n"), true, 0, 0, 0,
     false, ctl_run_dnc_remove},
    {"dnc check", "PHONE", "PHONE", N_("Say whether a phone number is on the do-not-call list."),
     N_("PHONE '-' reads the number from the first line of standard input.\n"), true, 0, 0, 0,
     false, ctl_run_dnc_check},
    {"dnc import", "FILE", "FILE [--reason TEXT]",
     N_("Add every phone number in FILE to the do-not-call list."),
     N_("FILE has one phone number a line (or a CSV file with the number in its first\n"
        "column); blank lines, lines starting with '#' and a header line are skipped.\n"
        "Numbers already listed are counted, invalid ones reported with their line.\n"
        "\n"
        "Options:\n"
        "  --reason TEXT   why, for every number of the file\n"),
     true, OPT_BIT(OPT_REASON), 0, 0, false, ctl_run_dnc_import},
    {"leads import", "CAMPAIGN FILE", "CAMPAIGN FILE [--rejects FILE]",
     N_("Import a lead list (CSV) into a campaign."),
     N_("FILE is UTF-8 CSV (RFC 4180) with a header row naming its columns: name and\n"
        "phone (required), time_zone, tier (normal or vip), age_band, income_band\n"
        "(0-9), spend_profile, travel_interest (yes or no), score, external_id.\n"
        "Numbers on the do-not-call list are suppressed, numbers already in the\n"
        "campaign counted as duplicates, and invalid rows reported with their line.\n"
        "\n"
        "Options:\n"
        "  --rejects FILE   also write the invalid rows' lines and reasons to FILE (CSV)\n"),
     2, OPT_BIT(OPT_REJECTS), 0, 0, false, ctl_run_leads_import},
    {"results import", "FILE", "FILE [--rejects FILE]",
     N_("Import the bank's decisions on applications (CSV)."),
     N_("FILE is UTF-8 CSV with the columns application (its number), result\n"
        "(approved, declined, issued or activated) and date (YYYY-MM-DD, in the\n"
        "business time zone). An application is approved or declined, then its card\n"
        "issued, then activated, each on or after the date before; a row that breaks\n"
        "the order, names an unknown application or a future date is rejected with\n"
        "its line, and the others are applied, each whole. A result already known\n"
        "with the same date is counted, not applied again, so a file may be imported\n"
        "twice. Approvals and activations score on the leaderboard at once.\n"
        "\n"
        "Options:\n"
        "  --rejects FILE   also write the rejected rows' lines and reasons to FILE (CSV)\n"),
     true, OPT_BIT(OPT_REJECTS), 0, 0, false, ctl_run_results_import},
    {"csat import", "FILE", "FILE [--rejects FILE]",
     N_("Import customer satisfaction surveys (CSV)."),
     N_("FILE is UTF-8 CSV with the columns score (1 very dissatisfied to 5 very\n"
        "satisfied; required), call (the call's number), agent (user name; needed\n"
        "without a call), customer (the lead's number), comment and date (YYYY-MM-DD;\n"
        "default today). What a row says must agree with its call. A call already\n"
        "surveyed with the same score is counted, not imported again.\n"
        "\n"
        "Options:\n"
        "  --rejects FILE   also write the rejected rows' lines and reasons to FILE (CSV)\n"),
     true, OPT_BIT(OPT_REJECTS), 0, 0, false, ctl_run_csat_import},
    {"report kpi", "--from DATE --to DATE",
     "--from DATE --to DATE [--by GROUP] [--campaign NAME] [--format FORMAT]",
     N_("Report the KPIs of a period: dials, connect and conversion rates, cards..."),
     N_("Dials, connects, connect rate (接通率), conversations, applications, conversion\n"
        "rate (转化率), approvals, cards issued (发卡量), activations, activation rate\n"
        "(活卡率), average talk and handle time, complaints, satisfaction, QA pass\n"
        "rate, points and target attainment. docs/REPORTS.md defines each column.\n"
        "A supervisor's reports cover their own team; an admin's, the whole floor.\n"
        "\n"
        "Options:\n"
        "  --from DATE       the first day, e.g. 2026-12-01 (required)\n"
        "  --to DATE         the last day, included (required)\n"
        "  --by GROUP        agent (default), team, campaign, product, hour or weekday\n"
        "                    (the customer's local hour and weekday)\n"
        "  --campaign NAME   only this campaign\n"
        "  --format FORMAT   table (default), csv or json\n"),
     false, CTL_REPORT_OPTIONS | OPT_BIT(OPT_BY), OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO), 0, false,
     ctl_run_report_kpi},
    {"report slots", "--from DATE --to DATE",
     "--from DATE --to DATE [--campaign NAME] [--format FORMAT]",
     N_("Report when customers answer: connect and conversion rate by weekday and hour."),
     N_("Hours and weekdays are the customer's own. The best times (the highest connect\n"
        "rates among the slots with at least 10 dials) are named first; --format svg\n"
        "draws a heat map per campaign.\n"
        "\n"
        "Options:\n"
        "  --from DATE       the first day (required)\n"
        "  --to DATE         the last day, included (required)\n"
        "  --campaign NAME   only this campaign\n"
        "  --format FORMAT   table (default), csv, json or svg\n"),
     false, CTL_REPORT_OPTIONS, OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO), 0, false,
     ctl_run_report_slots},
    {"report trend", "--from DATE --to DATE",
     "--from DATE --to DATE [--by day|week|month] [--campaign NAME] [--format FORMAT]",
     N_("Report a period day by day, week by week or month by month."),
     N_("Dials, connects, applications and what became of them per day (default),\n"
        "week or month; --format svg draws dials as bars and the connect and\n"
        "conversion rates as lines.\n"
        "\n"
        "Options:\n"
        "  --from DATE       the first day (required)\n"
        "  --to DATE         the last day, included (required)\n"
        "  --by PERIOD       day (default), week or month\n"
        "  --campaign NAME   only this campaign\n"
        "  --format FORMAT   table (default), csv, json or svg\n"),
     false, CTL_REPORT_OPTIONS | OPT_BIT(OPT_BY), OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO), 0, false,
     ctl_run_report_trend},
    {"report monthly", "--month YYYY-MM --out DIR", "--month YYYY-MM --out DIR [--campaign NAME]",
     N_("Write a month's report for the team meeting: one HTML file with tables and charts."),
     N_("The file, DIR/callfloor-YYYY-MM.html, holds the KPIs by team, agent, campaign\n"
        "and product, the month day by day, and when customers answer; it needs\n"
        "nothing but a browser.\n"
        "\n"
        "Options:\n"
        "  --month YYYY-MM   the month, e.g. 2026-12 (required)\n"
        "  --out DIR         the directory to write to, made if missing (required)\n"
        "  --campaign NAME   only this campaign\n"),
     false, OPT_BIT(OPT_MONTH) | OPT_BIT(OPT_OUT) | OPT_BIT(OPT_CAMPAIGN),
     OPT_BIT(OPT_MONTH) | OPT_BIT(OPT_OUT), 0, false, ctl_run_report_monthly},
    {"calls export", "--from DATE --to DATE",
     "--from DATE --to DATE [--campaign NAME] [--format FORMAT]",
     N_("Export the calls of a period for audit, with masked phone numbers."),
     N_("One row per ended call: when, agent, team, campaign, customer (lead), the\n"
        "masked number, outcome, talk time, recording, application and complaint.\n"
        "Written as it arrives, so a month of calls takes little memory.\n"
        "\n"
        "Options:\n"
        "  --from DATE       the first day (required)\n"
        "  --to DATE         the last day, included (required)\n"
        "  --campaign NAME   only this campaign\n"
        "  --format FORMAT   csv (default), json or table\n"),
     false, CTL_REPORT_OPTIONS, OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO), 0, false,
     ctl_run_calls_export},
    {"audit list", "", "[--actor NAME] [--action PREFIX] [--limit N] [--before ID]",
     N_("Show the audit log, newest first."),
     N_("Every admin action, import, permission change, do-not-call change, phone\n"
        "reveal and login, with who did it and from where.\n"
        "\n"
        "Options:\n"
        "  --actor NAME      only what this user did\n"
        "  --action PREFIX   only these actions, e.g. login or dnc. (see docs/AUDIT.md)\n"
        "  --limit N         at most N rows, 1 to 1000 (default 50)\n"
        "  --before ID       the rows before row ID, to page back\n"),
     false, OPT_BIT(OPT_ACTOR) | OPT_BIT(OPT_ACTION) | OPT_BIT(OPT_LIMIT) | OPT_BIT(OPT_BEFORE), 0,
     0, false, ctl_run_audit_list},
    {"audit verify", "", "", N_("Check that no audit row was changed, deleted, moved or cut off."),
     N_("Recomputes the hash chain over every row and checks every signed checkpoint.\n"
        "Exit status 0: intact; 1: tampered with, and the first bad row is named.\n"),
     false, 0, 0, 0, false, ctl_run_audit_verify},
    {"audit checkpoint", "", "", N_("Sign the audit log's head now."),
     N_("The server also signs it every audit.checkpoint_interval when rows were added.\n"), false,
     0, 0, 0, false, ctl_run_audit_checkpoint},
    {"audit export", "", "[--out FILE]",
     N_("Export the signed checkpoints for an auditor (JSON lines)."),
     N_("Each line has the row it covers, that row's hash, the Ed25519 public key, the\n"
        "signature and the exact message signed, all in hex; docs/AUDIT.md shows how\n"
        "to check them with openssl alone.\n"
        "\n"
        "Options:\n"
        "  --out FILE   write to FILE instead of standard output\n"),
     false, OPT_BIT(OPT_OUT), 0, 0, false, ctl_run_audit_export},
    {"privacy purge", "", "[--older-than DAYS] [--dry-run]",
     N_("Erase the personal data of customers nobody called for a long time."),
     N_("A customer last called (or imported, if never called) more than DAYS ago\n"
        "becomes anonymous: name, number, segment, call notes, pre-screen answers and\n"
        "survey comments are erased; calls, outcomes and scores stay for the reports.\n"
        "The do-not-call list is kept. See docs/PRIVACY.md.\n"
        "\n"
        "Options:\n"
        "  --older-than DAYS   the retention in days (default: the server's\n"
        "                      privacy.retention_days)\n"
        "  --dry-run           only count what would be erased\n"),
     false, OPT_BIT(OPT_OLDER_THAN) | OPT_BIT(OPT_DRY_RUN), 0, 0, false, ctl_run_privacy_purge},
    {"leads why", "LEAD_ID", "LEAD_ID", N_("Explain why a lead may or may not be dialled now."),
     N_("Lists every rule that keeps the lead from being called at this moment: the\n"
        "do-not-call list, the calling window and days in the customer's own time\n"
        "zone, the attempt caps, the rest after the last call, a callback booked by\n"
        "another agent, a paused campaign, or another daemon holding it.\n"),
     true, 0, 0, 0, false, ctl_run_leads_why},
    {"complaint list", "", "[--status open|all]",
     N_("List the complaints recorded on calls, the oldest due first."),
     N_("A complaint must be answered within 24 hours of the call; DUE BY says when.\n"
        "\n"
        "Options:\n"
        "  --status open|all   only the open ones (default), or all of them\n"),
     false, OPT_BIT(OPT_STATUS), 0, 0, false, ctl_run_complaint_list},
    {"complaint resolve", "ID --resolution TEXT", "ID --resolution TEXT [--upheld yes|no]",
     N_("Close a complaint, saying how it was resolved."),
     N_("Options:\n"
        "  --resolution TEXT   what was done, e.g. 已致电客户道歉 (required)\n"
        "  --upheld yes|no     the agent was at fault (default no): it costs them the\n"
        "                      campaign's complaint points on the leaderboard\n"),
     true, OPT_BIT(OPT_RESOLUTION) | OPT_BIT(OPT_UPHELD), OPT_BIT(OPT_RESOLUTION), 0, false,
     ctl_run_complaint_resolve},
    {"help", "[COMMAND]", "[COMMAND]", N_("Show the help for all commands, or for one."), NULL,
     false, 0, 0, 0, false, NULL},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* ---- help ---- */

static bool is_help_flag(const char *arg) {
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* Prints the commands whose words start with `group` (all when NULL). */
static void print_command_list(FILE *f, const char *group) {
    cli_table t;
    buf out = BUF_INIT;
    size_t glen = group ? strlen(group) : 0;
    cli_table_init(&t, 2, NULL);
    for (size_t k = 0; k < NCOMMANDS; k++) {
        const ctl_command *c = &commands[k];
        if (group && (strncmp(c->words, group, glen) != 0 || c->words[glen] != ' '))
            continue;
        char synopsis[128];
        snprintf(synopsis, sizeof synopsis, "  %s%s%s", c->words, *c->synopsis ? " " : "",
                 c->synopsis);
        const char *row[2] = {synopsis, _(c->summary)};
        cli_table_add_row(&t, row);
    }
    cli_table_render(&t, &out);
    fwrite(buf_head(&out), 1, buf_pending(&out), f);
    buf_free(&out);
    cli_table_free(&t);
}

static void print_main_help(void) {
    printf(_("Usage: %s [OPTIONS] COMMAND [ARGUMENTS]\n"
             "\n"
             "Administers a callfloor server: accounts, teams, products, campaigns, the\n"
             "do-not-call list and its status.\n"
             "\n"
             "Commands:\n"),
           PROGRAM);
    print_command_list(stdout, NULL);
    fputs(_("\nOutput options:\n"
            "  --json                print one JSON document on standard output, also for\n"
            "                        errors: {\"error\":{\"code\":...,\"message\":...}}\n"
            "  --help                show this help ('COMMAND --help' for one command)\n"
            "  --version             show the version\n"
            "\n"),
          stdout);
    cli_conn_print_help(stdout);
    printf(_("\nExit status: 0 done; 1 the server refused or failed the request or the\n"
             "login; 2 wrong usage; 3 no connection (network, TLS, protocol, timeout).\n"
             "\n"
             "Examples:\n"
             "  %s --user admin status\n"
             "  %s --user admin user add zhangwei --role agent --team north --display-name 张伟\n"
             "  %s --user admin --json user list\n"),
           PROGRAM, PROGRAM, PROGRAM);
}

static void print_command_help(const ctl_command *c) {
    printf(_("Usage: %s [OPTIONS] %s%s%s\n\n"), PROGRAM, c->words, *c->usage ? " " : "", c->usage);
    printf("%s\n", _(c->summary));
    if (c->details)
        printf("\n%s", _(c->details));
    if (c->new_password)
        printf("\n%s", _(new_password_note));
    printf(_("\nRun '%s --help' for the connection and output options.\n"), PROGRAM);
}

static void print_group_help(FILE *f, const char *group) {
    fprintf(f, _("Usage: %s [OPTIONS] %s COMMAND [ARGUMENTS]\n\nCommands:\n"), PROGRAM, group);
    print_command_list(f, group);
    fprintf(f, _("\nRun '%s %s COMMAND --help' for a command's options.\n"), PROGRAM, group);
}

/* ---- failures ---- */

static int report(ctl *x, const cli_failure *f) {
    cli_failure_print(f, PROGRAM, x->json);
    return f->exit_code;
}

/* A usage error goes to standard error with a hint where help is; in JSON
 * mode the error document goes to standard output as well. */
int ctl_usage_error(ctl *x, const char *help_topic, const char *fmt, ...) {
    char message[CLI_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cli_failure f;
    cli_failure_usage(&f, "%s", message);
    cli_failure_print(&f, PROGRAM, false);
    if (help_topic && *help_topic)
        fprintf(stderr, _("Try '%s %s --help'.\n"), PROGRAM, help_topic);
    else if (help_topic)
        fprintf(stderr, _("Try '%s --help'.\n"), PROGRAM);
    if (x->json)
        cli_failure_print(&f, PROGRAM, true);
    return f.exit_code;
}

int ctl_report_status(ctl *x, int status) {
    cli_failure f;
    const char *sentence = x->client ? client_last_error(x->client) : NULL;
    Callfloor__ErrorCode code = x->client ? client_last_server_code(x->client)
                                          : CALLFLOOR__ERROR_CODE__ERROR_CODE_UNSPECIFIED;
    cli_failure_from_status(&f, status, sentence, code);
    return report(x, &f);
}

/* ---- option parsing ---- */

/* Options valid before and after the command: --json and the connection
 * flags. Returns 1 when consumed, 0 when not one of them, -1 on error. */
static int parse_common_option(ctl *x, int argc, char **argv, int *i, char *err, size_t errlen) {
    if (strcmp(argv[*i], "--json") == 0) {
        x->json = true;
        return 1;
    }
    return cli_conn_parse_flag(&x->conn, argc, argv, i, err, errlen);
}

static int parse_global_options(ctl *x, int argc, char **argv, int *i) {
    char err[CLI_MESSAGE_MAX];
    for (; *i < argc && argv[*i][0] == '-' && argv[*i][1] != '\0'; ++*i) {
        const char *arg = argv[*i];
        if (is_help_flag(arg)) {
            print_main_help();
            return CLI_EXIT_OK;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("%s (callfloor) %s\n", PROGRAM, CALLFLOOR_VERSION);
            return CLI_EXIT_OK;
        }
        if (strcmp(arg, "--") == 0) {
            ++*i;
            break;
        }
        int rc = parse_common_option(x, argc, argv, i, err, sizeof err);
        if (rc < 0)
            return ctl_usage_error(x, "", "%s", err);
        if (rc == 0)
            return ctl_usage_error(x, "", _("unknown option '%s'"), arg);
    }
    return CTL_CONTINUE;
}

static const char *const option_flags[OPT_COUNT] = {
    [OPT_ROLE] = "--role",
    [OPT_TEAM] = "--team",
    [OPT_DISPLAY_NAME] = "--display-name",
    [OPT_DESCRIPTION] = "--description",
    [OPT_NAME] = "--name",
    [OPT_KIND] = "--kind",
    [OPT_ANNUAL_FEE] = "--annual-fee",
    [OPT_APR] = "--apr",
    [OPT_DISCLOSURE] = "--disclosure",
    [OPT_SEGMENT] = "--segment",
    [OPT_PRODUCT] = "--product",
    [OPT_WINDOW] = "--window",
    [OPT_DAYS] = "--days",
    [OPT_TIME_ZONE] = "--time-zone",
    [OPT_MAX_ATTEMPTS] = "--max-attempts",
    [OPT_MAX_PER_DAY] = "--max-per-day",
    [OPT_RETRY_NO_ANSWER] = "--retry-no-answer",
    [OPT_RETRY_BUSY] = "--retry-busy",
    [OPT_OFFER_TIMEOUT] = "--offer-timeout",
    [OPT_MIN_INCOME_BAND] = "--min-income-band",
    [OPT_PRIORITY] = "--priority",
    [OPT_REASON] = "--reason",
    [OPT_REJECTS] = "--rejects",
    [OPT_STATUS] = "--status",
    [OPT_RESOLUTION] = "--resolution",
    [OPT_CONNECT] = "--connect",
    [OPT_APPLICATION] = "--application",
    [OPT_APPROVED] = "--approved",
    [OPT_ACTIVATED] = "--activated",
    [OPT_QA_FAIL] = "--qa-fail",
    [OPT_COMPLAINT] = "--complaint",
    [OPT_AGENT] = "--agent",
    [OPT_MONTH] = "--month",
    [OPT_APPLICATIONS] = "--applications",
    [OPT_FAIL] = "--fail",
    [OPT_NOTES] = "--notes",
    [OPT_UPHELD] = "--upheld",
    [OPT_FROM] = "--from",
    [OPT_TO] = "--to",
    [OPT_BY] = "--by",
    [OPT_CAMPAIGN] = "--campaign",
    [OPT_FORMAT] = "--format",
    [OPT_OUT] = "--out",
    [OPT_ACTOR] = "--actor",
    [OPT_ACTION] = "--action",
    [OPT_LIMIT] = "--limit",
    [OPT_BEFORE] = "--before",
    [OPT_OLDER_THAN] = "--older-than",
    [OPT_DRY_RUN] = "--dry-run",
};

const char *ctl_opt(const ctl_args *a, enum ctl_option o) {
    return a->count[o] > 0 ? a->values[o][0] : NULL;
}

/* The options that take no value: given means "yes". */
static const unsigned long flag_options = OPT_BIT(OPT_DRY_RUN);

static int parse_command_option(const ctl_command *c, ctl_args *a, int argc, char **argv, int *i,
                                char *err, size_t errlen) {
    for (int o = 0; o < OPT_COUNT; o++) {
        if (!(c->options & OPT_BIT(o)))
            continue;
        const char *value = "yes";
        int rc = flag_options & OPT_BIT(o)
                     ? strcmp(argv[*i], option_flags[o]) == 0
                     : cli_flag_value(argc, argv, i, option_flags[o], &value, err, errlen);
        if (rc <= 0) {
            if (rc < 0)
                return rc;
            continue;
        }
        bool again = a->count[o] > 0;
        if ((again && !(c->repeatable & OPT_BIT(o))) || a->count[o] == CTL_MAX_REPEAT) {
            snprintf(err, errlen,
                     again && !(c->repeatable & OPT_BIT(o)) ? _("%s may be given only once")
                                                            : _("%s is given too many times"),
                     option_flags[o]);
            return -1;
        }
        a->values[o][a->count[o]++] = value;
        return 1;
    }
    return 0;
}

static int check_command_args(ctl *x, const ctl_command *c, ctl_args *a) {
    if (c->nargs >= 1 && a->name == NULL)
        return ctl_usage_error(x, c->words, _("'%s' needs a name"), c->words);
    if (c->nargs == 2 && a->file == NULL)
        return ctl_usage_error(x, c->words, _("'%s' needs a file"), c->words);
    if ((c->required & OPT_BIT(OPT_ROLE)) && ctl_opt(a, OPT_ROLE) == NULL)
        return ctl_usage_error(x, c->words, _("'%s' needs --role (agent, supervisor or admin)"),
                               c->words);
    for (int o = 0; o < OPT_COUNT; o++)
        if ((c->required & OPT_BIT(o)) && a->count[o] == 0)
            return ctl_usage_error(x, c->words, _("'%s' needs %s"), c->words, option_flags[o]);
    const char *role = ctl_opt(a, OPT_ROLE);
    if (role && role_parse(role, &a->role) < 0)
        return ctl_usage_error(x, c->words, _("invalid role '%s': use agent, supervisor or admin"),
                               role);
    return CTL_CONTINUE;
}

static int parse_command_args(ctl *x, const ctl_command *c, int argc, char **argv, int start,
                              ctl_args *a) {
    char err[CLI_MESSAGE_MAX];
    for (int j = start; j < argc && strcmp(argv[j], "--") != 0; j++)
        if (is_help_flag(argv[j])) {
            print_command_help(c);
            return CLI_EXIT_OK;
        }
    bool options_done = false;
    for (int j = start; j < argc; j++) {
        const char *arg = argv[j];
        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            int rc = parse_command_option(c, a, argc, argv, &j, err, sizeof err);
            if (rc == 0)
                rc = parse_common_option(x, argc, argv, &j, err, sizeof err);
            if (rc < 0)
                return ctl_usage_error(x, c->words, "%s", err);
            if (rc == 0)
                return ctl_usage_error(x, c->words, _("unknown option '%s' for '%s'"), arg,
                                       c->words);
            continue;
        }
        const char **slot = a->name == NULL ? &a->name : &a->file;
        if ((slot == &a->name ? 1 : 2) > c->nargs || *slot != NULL)
            return ctl_usage_error(x, c->words, _("unexpected argument '%s'"), arg);
        *slot = arg;
    }
    return check_command_args(x, c, a);
}

/* ---- finding the command ---- */

/* How many of `words` the command's words match, or 0 if not all do. */
static size_t match_words(const char *spec, int n, char **words) {
    size_t matched = 0;
    while (*spec) {
        size_t len = strcspn(spec, " ");
        if ((int)matched >= n || strlen(words[matched]) != len ||
            strncmp(words[matched], spec, len) != 0)
            return 0;
        matched++;
        spec += len;
        spec += *spec == ' ';
    }
    return matched;
}

static const ctl_command *find_command(int n, char **words, size_t *nwords) {
    const ctl_command *best = NULL;
    *nwords = 0;
    for (size_t k = 0; k < NCOMMANDS; k++) {
        size_t m = match_words(commands[k].words, n, words);
        if (m > *nwords) {
            best = &commands[k];
            *nwords = m;
        }
    }
    return best;
}

static bool is_group(const char *word) {
    size_t len = strlen(word);
    for (size_t k = 0; k < NCOMMANDS; k++)
        if (strncmp(commands[k].words, word, len) == 0 && commands[k].words[len] == ' ')
            return true;
    return false;
}

static int unknown_command(ctl *x, int n, char **words) {
    if (!is_group(words[0]))
        return ctl_usage_error(x, "", _("unknown command '%s'"), words[0]);
    if (n >= 2 && is_help_flag(words[1])) {
        print_group_help(stdout, words[0]);
        return CLI_EXIT_OK;
    }
    if (n < 2 || words[1][0] == '-') {
        print_group_help(stderr, words[0]);
        return ctl_usage_error(x, NULL, _("'%s' needs a command, listed above"), words[0]);
    }
    return ctl_usage_error(x, words[0], _("unknown command '%s %s'"), words[0], words[1]);
}

static int run_help(ctl *x, int n, char **words) {
    if (n == 0 || (n == 1 && is_help_flag(words[0]))) {
        print_main_help();
        return CLI_EXIT_OK;
    }
    size_t nwords;
    const ctl_command *c = find_command(n, words, &nwords);
    if (c && (int)nwords == n) {
        print_command_help(c);
        return CLI_EXIT_OK;
    }
    if (n == 1 && is_group(words[0])) {
        print_group_help(stdout, words[0]);
        return CLI_EXIT_OK;
    }
    return ctl_usage_error(x, "", _("no help for '%s': there is no such command"), words[0]);
}

/* ---- talking to the server ---- */

static int connect_client(ctl *x) {
    client_options co;
    cli_conn_to_client(&x->conn, PROGRAM, &co);
    int rc = uv_loop_init(&x->loop);
    if (rc < 0) {
        fprintf(stderr, _("%s: cannot start the event loop: %s\n"), PROGRAM, uv_strerror(rc));
        return CLI_EXIT_SERVER;
    }
    x->loop_ready = true;
    x->client = client_create(&x->loop, &co);
    cli_conn_wipe(&x->conn);
    if (x->client == NULL)
        return ctl_report_status(x, CLIENT_E_NOMEM);
    int status = client_connect_sync(x->client);
    return status == 0 ? CLI_EXIT_OK : ctl_report_status(x, status);
}

/* Sends `req` and waits. On CLI_EXIT_OK *reply holds an answer of type
 * `want` for the caller to free; otherwise the failure has been reported. */
int ctl_call(ctl *x, envelope *req, Callfloor__Envelope__BodyCase want, envelope **reply) {
    int status = client_call_sync(x->client, req, reply);
    if (status < 0)
        return ctl_report_status(x, status);
    cli_failure f;
    if ((*reply)->body_case == CALLFLOOR__ENVELOPE__BODY_ERROR) {
        cli_failure_from_error(&f, (*reply)->error);
    } else if ((*reply)->body_case != want) {
        f.exit_code = CLI_EXIT_CONNECT;
        f.code = "PROTOCOL_ERROR";
        snprintf(f.message, sizeof f.message,
                 _("the server answered %s with %s (are %s and callfloord the same version?)"),
                 envelope_body_name(req), envelope_body_name(*reply), PROGRAM);
    } else {
        return CLI_EXIT_OK;
    }
    envelope_free(*reply);
    *reply = NULL;
    return report(x, &f);
}

bool ctl_parse_number(const char *s, unsigned long long max, unsigned long long *out) {
    if (*s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno != 0 || v == 0 || v > max)
        return false;
    *out = v;
    return true;
}

int ctl_call_ok(ctl *x, envelope *req) {
    envelope *reply;
    int rc = ctl_call(x, req, CALLFLOOR__ENVELOPE__BODY_OK, &reply);
    if (rc == CLI_EXIT_OK)
        envelope_free(reply);
    return rc;
}

void ctl_json_ok_begin(ctl *x, json_writer *w) {
    json_init(w, &x->out);
    json_object_begin(w);
    json_kv_bool(w, "ok", true);
}

/* The list requests and Status carry an empty message; the Envelope's
 * descriptor says where each one goes, so one function sends them all. */
int ctl_call_empty(ctl *x, Callfloor__Envelope__BodyCase body, Callfloor__Envelope__BodyCase want,
                   envelope **reply) {
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field(&callfloor__envelope__descriptor, (unsigned)body);
    ProtobufCMessage msg;
    if (field == NULL || field->descriptor == NULL ||
        ((const ProtobufCMessageDescriptor *)field->descriptor)->sizeof_message != sizeof msg)
        return ctl_report_status(x, CLIENT_E_PROTOCOL);
    protobuf_c_message_init(field->descriptor, &msg);
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = body;
    ProtobufCMessage *slot = &msg;
    memcpy((char *)&req + field->offset, &slot, sizeof slot);
    return ctl_call(x, &req, want, reply);
}

/* Every list reply holds its list in its first field; the descriptors say
 * where that is, so one function runs every list command. */
int ctl_run_list(ctl *x, const ctl_list *list) {
    envelope *reply;
    int rc = ctl_call_empty(x, list->ask, list->answer, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    const ProtobufCFieldDescriptor *body = protobuf_c_message_descriptor_get_field(
        &callfloor__envelope__descriptor, (unsigned)list->answer);
    const ProtobufCMessage *msg;
    memcpy(&msg, (const char *)reply + body->offset, sizeof msg);
    const ProtobufCFieldDescriptor *field =
        msg->descriptor->n_fields > 0 ? &msg->descriptor->fields[0] : NULL;
    if (field == NULL || field->label != PROTOBUF_C_LABEL_REPEATED ||
        field->descriptor != list->item) {
        envelope_free(reply);
        return ctl_report_status(x, CLIENT_E_PROTOCOL);
    }
    size_t n;
    void *const *items;
    memcpy(&n, (const char *)msg + field->quantifier_offset, sizeof n);
    memcpy(&items, (const char *)msg + field->offset, sizeof items);
    if (x->json)
        ctl_json_list(x, field->name, list->json, items, n);
    else
        rc = ctl_emit_rows(x, list->header, list->ncols, list->add_row, items, n, list->empty);
    envelope_free(reply);
    return rc;
}

/* ---- output helpers ---- */

static void json_time(json_writer *w, const char *key, int64_t unix_s) {
    char text[32];
    json_key(w, key);
    if (unix_s == 0) {
        json_null(w);
        return;
    }
    cli_format_utc_time(unix_s, text, sizeof text);
    json_string(w, text);
}

static void json_optional_string(json_writer *w, const char *key, const char *s) {
    json_key(w, key);
    if (s && *s)
        json_string(w, s);
    else
        json_null(w);
}

static void json_user(json_writer *w, const void *item) {
    const Callfloor__User *u = item;
    json_object_begin(w);
    json_kv_uint(w, "id", u->id);
    json_kv_string(w, "username", u->username);
    json_kv_string(w, "display_name", u->display_name);
    json_kv_string(w, "role", role_name(u->role));
    json_optional_string(w, "team", u->team);
    json_kv_bool(w, "disabled", u->disabled);
    json_time(w, "created_at", u->created_at);
    json_time(w, "last_login_at", u->last_login_at);
    json_object_end(w);
}

static void json_team(json_writer *w, const void *item) {
    const Callfloor__Team *t = item;
    json_object_begin(w);
    json_kv_uint(w, "id", t->id);
    json_kv_string(w, "name", t->name);
    json_kv_string(w, "description", t->description);
    json_kv_uint(w, "members", t->members);
    json_object_end(w);
}

/* Renders a finished table into the output; frees it either way. */
int ctl_emit_table(ctl *x, cli_table *t) {
    int rc = cli_table_render(t, &x->out);
    cli_table_free(t);
    if (rc < 0)
        return ctl_report_status(x, CLIENT_E_NOMEM);
    return CLI_EXIT_OK;
}

void ctl_json_one(ctl *x, const char *key, ctl_json_fn write, const void *item) {
    json_writer w;
    json_init(&w, &x->out);
    json_object_begin(&w);
    json_key(&w, key);
    write(&w, item);
    json_object_end(&w);
}

void ctl_json_list(ctl *x, const char *key, ctl_json_fn write, void *const *items, size_t n) {
    json_writer w;
    json_init(&w, &x->out);
    json_object_begin(&w);
    json_key(&w, key);
    json_array_begin(&w);
    for (size_t k = 0; k < n; k++)
        write(&w, items[k]);
    json_array_end(&w);
    json_object_end(&w);
}

void ctl_progress(bool enabled, long long done, long long size, unsigned line, bool final) {
    enum { WIDTH = 30 };
    if (!enabled || size <= 0)
        return;
    int filled = (int)(WIDTH * done / size);
    fprintf(stderr, "\r[%.*s%*s] %3d%%  %u", filled, "##############################",
            WIDTH - filled, "", (int)(100 * done / size), line);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

int ctl_emit_rows(ctl *x, const char *const *header, size_t ncols, ctl_row_fn add_row,
                  void *const *items, size_t n, const char *empty) {
    if (n == 0) {
        buf_append_str(&x->out, empty);
        return CLI_EXIT_OK;
    }
    cli_table t;
    int rc = cli_table_init(&t, ncols, header);
    for (size_t k = 0; k < n && rc == 0; k++)
        rc = add_row(&t, items[k]);
    if (rc < 0) {
        cli_table_free(&t);
        return ctl_report_status(x, CLIENT_E_NOMEM);
    }
    return ctl_emit_table(x, &t);
}

static void format_uptime(int64_t s, char *out, size_t cap) {
    int h = (int)(s / 3600 % 24), m = (int)(s / 60 % 60), sec = (int)(s % 60);
    if (s >= 86400)
        snprintf(out, cap, _("%lld d %02d:%02d:%02d"), (long long)(s / 86400), h, m, sec);
    else
        snprintf(out, cap, "%02d:%02d:%02d", h, m, sec);
}

/* ---- commands ---- */

static void status_json(ctl *x, const Callfloor__StatusReply *s) {
    json_writer w;
    json_init(&w, &x->out);
    cli_json_status(&w, s);
}

/* A p99 bucket bound in ms, or "-" before anything was measured. */
static const char *p99_text(double ms, char *out, size_t cap) {
    if (ms <= 0)
        snprintf(out, cap, "-");
    else
        snprintf(out, cap, ms < 1 ? "%.1f" : "%.0f", ms);
    return out;
}

static int status_text(ctl *x, const Callfloor__StatusReply *s) {
    char uptime[64], conns[128], sessions[128], pool[128], schema[32];
    format_uptime(s->uptime_s, uptime, sizeof uptime);
    snprintf(conns, sizeof conns, _("%u open, %u logged in"), s->connections, s->sessions);
    snprintf(sessions, sizeof sessions, _("agents %u, supervisors %u, admins %u"), s->agents,
             s->supervisors, s->admins);
    snprintf(pool, sizeof pool, _("%u of %u connections ready, %u queries waiting"),
             s->db_connections_ready, s->db_connections, s->db_queued);
    snprintf(schema, sizeof schema, "%u", s->schema_version);
    char work[160], tls[96], latency[160], offer[16], db[16], pushed[16];
    snprintf(work, sizeof work, _("%llu leads offered, %llu outcomes, %u leads ready"),
             (unsigned long long)s->leads_offered, (unsigned long long)s->outcomes,
             s->hopper_depth);
    snprintf(tls, sizeof tls, _("%llu handshakes, %llu failed"),
             (unsigned long long)s->tls_handshakes, (unsigned long long)s->tls_failures);
    snprintf(latency, sizeof latency, _("offer %s ms, database %s ms, push %s ms"),
             p99_text(s->offer_p99_ms, offer, sizeof offer), p99_text(s->db_p99_ms, db, sizeof db),
             p99_text(s->push_p99_ms, pushed, sizeof pushed));
    const char *rows[][2] = {
        {_("server"), x->conn.server},
        {_("version"), s->server_version},
        {_("instance"), s->instance_id},
        {_("uptime"), uptime},
        {_("connections"), conns},
        {_("sessions"), sessions},
        {_("database"), s->db_ok ? _("ok") : _("UNREACHABLE (see the server's log)")},
        {_("database pool"), pool},
        {_("schema version"), schema},
        {_("since start"), work},
        {_("TLS"), tls},
        {_("p99 latency"), latency},
    };
    cli_table t;
    cli_table_init(&t, 2, NULL);
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++)
        if (cli_table_add_row(&t, rows[k]) < 0) {
            cli_table_free(&t);
            return ctl_report_status(x, CLIENT_E_NOMEM);
        }
    return ctl_emit_table(x, &t);
}

static int run_status(ctl *x, const ctl_args *a) {
    (void)a;
    envelope *reply;
    int rc = ctl_call_empty(x, CALLFLOOR__ENVELOPE__BODY_STATUS,
                            CALLFLOOR__ENVELOPE__BODY_STATUS_REPLY, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json)
        status_json(x, reply->status_reply);
    else
        rc = status_text(x, reply->status_reply);
    envelope_free(reply);
    return rc;
}

static int add_user_row(cli_table *t, const void *item) {
    const Callfloor__User *u = item;
    char id[24], created[32], last[32];
    snprintf(id, sizeof id, "%llu", (unsigned long long)u->id);
    cli_format_local_time(u->created_at, created, sizeof created);
    if (u->last_login_at)
        cli_format_local_time(u->last_login_at, last, sizeof last);
    else
        snprintf(last, sizeof last, "%s", _("never"));
    const char *row[] = {id,
                         u->username,
                         u->display_name,
                         role_name(u->role),
                         *u->team ? u->team : "-",
                         u->disabled ? _("disabled") : _("active"),
                         created,
                         last};
    return cli_table_add_row(t, row);
}

static int run_user_list(ctl *x, const ctl_args *a) {
    (void)a;
    char empty[128];
    snprintf(empty, sizeof empty, _("No users yet; add one with '%s user add NAME --role ROLE'.\n"),
             PROGRAM);
    const char *header[] = {_("ID"),   _("USER"),   _("NAME"),    _("ROLE"),
                            _("TEAM"), _("STATUS"), _("CREATED"), _("LAST LOGIN")};
    const ctl_list list = {CALLFLOOR__ENVELOPE__BODY_USER_LIST,
                           CALLFLOOR__ENVELOPE__BODY_USER_LIST_REPLY,
                           &callfloor__user__descriptor,
                           json_user,
                           header,
                           8,
                           add_user_row,
                           empty};
    return ctl_run_list(x, &list);
}

static int run_user_add(ctl *x, const ctl_args *a) {
    Callfloor__UserAdd msg = CALLFLOOR__USER_ADD__INIT;
    msg.username = (char *)a->name;
    const char *display_name = ctl_opt(a, OPT_DISPLAY_NAME), *team = ctl_opt(a, OPT_TEAM);
    msg.display_name = (char *)(display_name ? display_name : "");
    msg.role = a->role;
    msg.team = (char *)(team ? team : "");
    msg.password = (char *)a->new_password;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_USER_ADD;
    req.user_add = &msg;
    envelope *reply;
    int rc = ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_USER, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json) {
        ctl_json_one(x, "user", json_user, reply->user);
    } else if (team && *team) {
        buf_appendf(&x->out, _("Created user %s (id %llu), %s in team %s.\n"), a->name,
                    (unsigned long long)reply->user->id, role_name(a->role), team);
    } else {
        buf_appendf(&x->out, _("Created user %s (id %llu), %s without a team.\n"), a->name,
                    (unsigned long long)reply->user->id, role_name(a->role));
    }
    envelope_free(reply);
    return CLI_EXIT_OK;
}

/* The commands answered with Ok print the same JSON shape. */
static void ok_json(ctl *x, const char *username, int disabled) {
    json_writer w;
    ctl_json_ok_begin(x, &w);
    json_kv_string(&w, "username", username);
    if (disabled >= 0)
        json_kv_bool(&w, "disabled", disabled);
    json_object_end(&w);
}

static int run_user_passwd(ctl *x, const ctl_args *a) {
    Callfloor__UserPasswd msg = CALLFLOOR__USER_PASSWD__INIT;
    msg.username = (char *)a->name;
    msg.password = (char *)a->new_password;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_USER_PASSWD;
    req.user_passwd = &msg;
    int rc = ctl_call_ok(x, &req);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json)
        ok_json(x, a->name, -1);
    else
        buf_appendf(&x->out, _("Changed the password of %s; their other sessions were ended.\n"),
                    a->name);
    return CLI_EXIT_OK;
}

static int set_disabled(ctl *x, const char *username, bool disabled) {
    Callfloor__UserSetDisabled msg = CALLFLOOR__USER_SET_DISABLED__INIT;
    msg.username = (char *)username;
    msg.disabled = disabled;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_USER_SET_DISABLED;
    req.user_set_disabled = &msg;
    int rc = ctl_call_ok(x, &req);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json)
        ok_json(x, username, disabled);
    else if (disabled)
        buf_appendf(&x->out, _("Disabled %s; their open sessions were ended.\n"), username);
    else
        buf_appendf(&x->out, _("Enabled %s.\n"), username);
    return CLI_EXIT_OK;
}

static int run_user_disable(ctl *x, const ctl_args *a) {
    return set_disabled(x, a->name, true);
}

static int run_user_enable(ctl *x, const ctl_args *a) {
    return set_disabled(x, a->name, false);
}

static int run_team_add(ctl *x, const ctl_args *a) {
    Callfloor__TeamAdd msg = CALLFLOOR__TEAM_ADD__INIT;
    msg.name = (char *)a->name;
    const char *description = ctl_opt(a, OPT_DESCRIPTION);
    msg.description = (char *)(description ? description : "");
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_TEAM_ADD;
    req.team_add = &msg;
    envelope *reply;
    int rc = ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_TEAM, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (x->json) {
        ctl_json_one(x, "team", json_team, reply->team);
    } else {
        buf_appendf(&x->out, _("Created team %s (id %llu).\n"), a->name,
                    (unsigned long long)reply->team->id);
    }
    envelope_free(reply);
    return CLI_EXIT_OK;
}

static int add_team_row(cli_table *t, const void *item) {
    const Callfloor__Team *team = item;
    char id[24], members[16];
    snprintf(id, sizeof id, "%llu", (unsigned long long)team->id);
    snprintf(members, sizeof members, "%u", team->members);
    const char *row[] = {id, team->name, members, team->description};
    return cli_table_add_row(t, row);
}

static int run_team_list(ctl *x, const ctl_args *a) {
    (void)a;
    char empty[128];
    snprintf(empty, sizeof empty, _("No teams yet; add one with '%s team add NAME'.\n"), PROGRAM);
    const char *header[] = {_("ID"), _("TEAM"), _("MEMBERS"), _("DESCRIPTION")};
    const ctl_list list = {CALLFLOOR__ENVELOPE__BODY_TEAM_LIST,
                           CALLFLOOR__ENVELOPE__BODY_TEAM_LIST_REPLY,
                           &callfloor__team__descriptor,
                           json_team,
                           header,
                           4,
                           add_team_row,
                           empty};
    return ctl_run_list(x, &list);
}

/* ---- main ---- */

static int write_output(ctl *x) {
    if (x->json && buf_append_str(&x->out, "\n") < 0)
        return ctl_report_status(x, CLIENT_E_NOMEM);
    if (cli_write_stdout(&x->out) == 0)
        return CLI_EXIT_OK;
    fprintf(stderr, _("%s: cannot write the output: %s\n"), PROGRAM, strerror(errno));
    return CLI_EXIT_SERVER;
}

/* Everything the user types (passwords included) is read before
 * connecting, so the session never sits idle waiting for a person. */
/* A month of a large floor takes the server seconds, not milliseconds:
 * reports and exports wait this long unless --timeout says otherwise. */
#define REPORT_TIMEOUT_MS 300000

static bool computes_reports(const ctl_command *c) {
    return strncmp(c->words, "report ", 7) == 0 || strcmp(c->words, "calls export") == 0;
}

static int execute(ctl *x, const ctl_command *c, ctl_args *a) {
    char err[CLI_MESSAGE_MAX];
    if (x->conn.timeout_ms == 0 && computes_reports(c))
        x->conn.timeout_ms = REPORT_TIMEOUT_MS;
    if (cli_conn_finish(&x->conn, err, sizeof err) < 0)
        return ctl_usage_error(x, NULL, "%s", err);
    if (c->new_password && cli_read_new_password(a->name, a->new_password, sizeof a->new_password,
                                                 err, sizeof err) < 0)
        return ctl_usage_error(x, NULL, "%s", err);
    int rc = connect_client(x);
    if (rc == CLI_EXIT_OK)
        rc = c->run(x, a);
    pii_wipe(a->new_password, sizeof a->new_password);
    return rc == CLI_EXIT_OK ? write_output(x) : rc;
}

static int ctl_main(ctl *x, int argc, char **argv) {
    int i = 1;
    int rc = parse_global_options(x, argc, argv, &i);
    if (rc != CTL_CONTINUE)
        return rc;
    if (i >= argc)
        return ctl_usage_error(x, "", _("no command given"));
    size_t nwords;
    const ctl_command *c = find_command(argc - i, argv + i, &nwords);
    if (c == NULL)
        return unknown_command(x, argc - i, argv + i);
    if (c->run == NULL)
        return run_help(x, argc - i - 1, argv + i + 1);
    ctl_args a;
    memset(&a, 0, sizeof a);
    rc = parse_command_args(x, c, argc, argv, i + (int)nwords, &a);
    return rc != CTL_CONTINUE ? rc : execute(x, c, &a);
}

static void ctl_cleanup(ctl *x) {
    if (x->client)
        client_destroy(x->client);
    if (x->loop_ready) {
        uv_run(&x->loop, UV_RUN_DEFAULT);
        uv_loop_close(&x->loop);
    }
    cli_conn_wipe(&x->conn);
    buf_free(&x->out);
}

int main(int argc, char **argv) {
    i18n_init();
    cli_setup_process();
    ctl x;
    memset(&x, 0, sizeof x);
    cli_conn_init(&x.conn);
    int rc = ctl_main(&x, argc, argv);
    ctl_cleanup(&x);
    return rc;
}
