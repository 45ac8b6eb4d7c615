/* The monitor's full screen (ncursesw): a header with the server and the
 * connection, the floor's numbers, the leaderboard, the agents and queues,
 * the teams table, and a footer with the keys. A supervisor sends a notice
 * ('n') or reviews a call ('a') through prompts on the bottom rows. Keys
 * are read when the loop sees the terminal readable, so the view stays
 * live; the terminal is restored however the monitor ends. */
#define _XOPEN_SOURCE_EXTENDED 1
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ncurses.h>

#include "cli.h"
#include "i18n.h"
#include "lineedit.h"
#include "monitor.h"
#include "textfit.h"

#define TICK_MS     1000
#define MAX_WIDTH   512
#define NOTICE_MAX  500 /* bytes, as the server accepts */
#define NOTES_MAX   2000
#define MAX_FAILED  32
#define BAR_CELLS   10
#define CHAR_CTRL_L 12

static const int quit_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NQUIT (sizeof quit_signals / sizeof quit_signals[0])

/* What the bottom prompt asks for; BROWSING when there is none. */
typedef enum ask {
    BROWSING,
    ASK_NOTICE_TO,   /* a team, or @agent */
    ASK_NOTICE_TEXT, /* the notice */
    ASK_CALL,        /* the number of the call to review */
    ASK_FAILED,      /* the scorecard items it failed */
    ASK_NOTES,       /* the reviewer's notes */
} ask;

typedef struct screen {
    uv_loop_t *loop;
    monitor m;
    SCREEN *term;
    uv_poll_t input;
    uv_timer_t tick; /* redraws the countdowns and the age of the data */
    uv_signal_t quit_signal[NQUIT];
    uv_signal_t winch;
    int stdin_flags;
    int exit_signal;
    int exit_code;
    bool ended;
    char team[256]; /* the team the board shows, chosen with 't' */
    ask asking;
    lineedit entry;
    char notice_to[LINEEDIT_MAX + 1]; /* the answers of the prompts so far */
    uint64_t call_id;
    char failed[LINEEDIT_MAX + 1];
} screen;

static void put(int y, int x, const char *s, int max_cols) {
    wchar_t wide[MAX_WIDTH];
    if (max_cols <= 0)
        return;
    textfit(s, max_cols, wide, MAX_WIDTH);
    mvaddwstr(y, x, wide);
}

static const char *connection_text(const screen *sc, char *out, size_t cap) {
    redial *r = sc->m.session;
    switch (redial_current(r)) {
    case REDIAL_READY:
        return _("connected");
    case REDIAL_CONNECTING:
        return _("connecting...");
    case REDIAL_WAITING:
        snprintf(out, cap, _("reconnecting in %u s"), redial_seconds_left(r));
        return out;
    default:
        return _("closed");
    }
}

static void draw_header(const screen *sc, int cols) {
    char state[64], title[256];
    const Callfloor__StatusReply *s = sc->m.status ? sc->m.status->status_reply : NULL;
    snprintf(title, sizeof title, _("callfloor monitor  %s %s"), s ? s->instance_id : "",
             s ? s->server_version : "");
    attron(A_REVERSE);
    mvhline(0, 0, ' ', cols);
    put(0, 1, title, cols - 2);
    const char *conn = connection_text(sc, state, sizeof state);
    int width = (int)cli_display_width(conn);
    put(0, cols - width - 1 > 0 ? cols - width - 1 : 0, conn, width);
    attroff(A_REVERSE);
}

static int draw_floor(const screen *sc, int y, int cols) {
    const Callfloor__StatusReply *s = sc->m.status->status_reply;
    char line[256];
    snprintf(line, sizeof line, _("Agents online: %u    Supervisors: %u    Admins: %u"), s->agents,
             s->supervisors, s->admins);
    put(y++, 2, line, cols - 4);
    snprintf(line, sizeof line, _("Connections: %u    Database: %s    Up: %lld min"),
             s->connections, s->db_ok ? _("ok") : _("UNREACHABLE"), (long long)(s->uptime_s / 60));
    put(y++, 2, line, cols - 4);
    snprintf(line, sizeof line,
             _("Database pool: %u of %u connections ready, %u queries waiting    Schema: %u"),
             s->db_connections_ready, s->db_connections, s->db_queued, s->schema_version);
    put(y++, 2, line, cols - 4);
    return y + 1;
}

static int draw_teams(const screen *sc, int y, int rows, int cols) {
    const Callfloor__TeamListReply *list = sc->m.teams->team_list_reply;
    attron(A_BOLD);
    put(y, 2, _("TEAM"), 30);
    put(y++, 34, _("MEMBERS"), cols - 36);
    attroff(A_BOLD);
    for (size_t k = 0; k < list->n_teams && y < rows - 2; k++, y++) {
        char members[16];
        snprintf(members, sizeof members, "%u", list->teams[k]->members);
        put(y, 2, list->teams[k]->name, 30);
        put(y, 34, members, cols - 36);
    }
    if (list->n_teams == 0)
        put(y++, 2, _("No teams yet."), cols - 4);
    return y;
}

/* "[#####.....] 10/20": this period's applications against the month's
 * target; "-" when there is none. */
static void target_bar(const monitor_row *r, char *out, size_t cap) {
    if (r->target == 0) {
        snprintf(out, cap, "-");
        return;
    }
    char bar[BAR_CELLS + 1];
    unsigned full = r->applications >= r->target
                        ? BAR_CELLS
                        : (unsigned)(r->applications * BAR_CELLS / r->target);
    for (unsigned k = 0; k < BAR_CELLS; k++)
        bar[k] = k < full ? '#' : '.';
    bar[BAR_CELLS] = '\0';
    snprintf(out, cap, "[%s] %u/%u", bar, r->applications, r->target);
}

/* The leaderboard: rank, agent, points, applications, the QA-passed ones,
 * progress to the target, connects, dials, tier reached and projected. */
static int draw_board(const screen *sc, int y, int rows, int cols) {
    const monitor *m = &sc->m;
    static const char *const periods[] = {N_("today"), N_("this week"), N_("this month")};
    char title[300];
    snprintf(title, sizeof title, _("Leaderboard, %s, %s"),
             m->team && *m->team ? m->team : _("every team"), _(periods[m->period % 3]));
    put(y++, 2, title, cols - 4);
    static const int x[] = {2, 7, 24, 32, 38, 43, 61, 68, 74};
    enum { NCOLS = sizeof x / sizeof x[0] };
    const char *head[NCOLS] = {_("RANK"),   _("AGENT"), _("POINTS"), _("APPS"), _("QA"),
                               _("TARGET"), _("CONN."), _("DIALS"),  _("TIER")};
    attron(A_BOLD);
    for (size_t k = 0; k < NCOLS && x[k] < cols - 2; k++)
        put(y, x[k], head[k], (k + 1 < NCOLS ? x[k + 1] : cols) - x[k] - 1);
    attroff(A_BOLD);
    y++;
    for (size_t i = 0; i < m->nrows && y < rows - 4; i++, y++) {
        const monitor_row *r = &m->rows[i];
        char cells[NCOLS][160];
        snprintf(cells[0], sizeof cells[0], "%u", r->rank);
        snprintf(cells[1], sizeof cells[1], "%s", *r->display_name ? r->display_name : r->agent);
        snprintf(cells[2], sizeof cells[2], "%lld", (long long)r->points);
        snprintf(cells[3], sizeof cells[3], "%u", r->applications);
        snprintf(cells[4], sizeof cells[4], "%u", r->qa_passed);
        target_bar(r, cells[5], sizeof cells[5]);
        snprintf(cells[6], sizeof cells[6], "%u", r->connects);
        snprintf(cells[7], sizeof cells[7], "%u", r->dials);
        snprintf(cells[8], sizeof cells[8], "%u→%u", r->tier, r->projected_tier);
        for (size_t k = 0; k < NCOLS && x[k] < cols - 2; k++)
            put(y, x[k], cells[k], (k + 1 < NCOLS ? x[k + 1] : cols) - x[k] - 1);
    }
    if (m->nrows == 0)
        put(y++, 2, _("No results yet in this period."), cols - 4);
    return y + 1;
}

static const char *state_label(Callfloor__AgentState s) {
    switch (s) {
    case CALLFLOOR__AGENT_STATE__AGENT_READY:
        return _("ready");
    case CALLFLOOR__AGENT_STATE__AGENT_OFFERED:
        return _("offered");
    case CALLFLOOR__AGENT_STATE__AGENT_ON_CALL:
        return _("on a call");
    case CALLFLOOR__AGENT_STATE__AGENT_WRAP_UP:
        return _("wrap-up");
    case CALLFLOOR__AGENT_STATE__AGENT_PAUSED:
        return _("paused");
    default:
        return _("offline");
    }
}

/* Who is doing what, and for how long. */
static int draw_floor_agents(const screen *sc, int y, int rows, int cols) {
    const Callfloor__Floor *f = sc->m.floor_last ? sc->m.floor_last->floor : NULL;
    if (f == NULL || f->n_agents == 0)
        return y;
    attron(A_BOLD);
    put(y, 2, _("AGENT"), 20);
    put(y, 24, _("STATE"), 20);
    put(y++, 46, _("FOR"), cols - 48);
    attroff(A_BOLD);
    time_t now = time(NULL);
    for (size_t i = 0; i < f->n_agents && y < rows - 4; i++, y++) {
        const Callfloor__FloorAgent *a = f->agents[i];
        char state[160], since[32];
        snprintf(state, sizeof state, "%s%s%s", state_label(a->state), *a->reason ? " · " : "",
                 a->reason);
        long long s = now > a->since ? (long long)(now - a->since) : 0;
        snprintf(since, sizeof since, "%02lld:%02lld", s / 60, s % 60);
        put(y, 2, *a->display_name ? a->display_name : a->agent, 20);
        put(y, 24, state, 20);
        put(y, 46, since, cols - 48);
    }
    return y + 1;
}

/* Each campaign's queue: leads held here ready, and eligible in the
 * database. */
static int draw_queues(const screen *sc, int y, int rows, int cols) {
    const Callfloor__Floor *f = sc->m.floor_last ? sc->m.floor_last->floor : NULL;
    if (f == NULL || f->n_queues == 0)
        return y;
    attron(A_BOLD);
    put(y, 2, _("CAMPAIGN"), 20);
    put(y, 24, _("READY HERE"), 20);
    put(y++, 46, _("ELIGIBLE"), cols - 48);
    attroff(A_BOLD);
    for (size_t i = 0; i < f->n_queues && y < rows - 4; i++, y++) {
        const Callfloor__FloorQueue *q = f->queues[i];
        char hopper[16], eligible[32];
        snprintf(hopper, sizeof hopper, "%u", q->hopper);
        if (q->eligible < 0)
            snprintf(eligible, sizeof eligible, "%s", _("not counted"));
        else
            snprintf(eligible, sizeof eligible, "%lld", (long long)q->eligible);
        put(y, 2, q->campaign, 20);
        put(y, 24, hopper, 20);
        put(y, 46, eligible, cols - 48);
    }
    return y + 1;
}

/* The prompt on the row above the footer, with what was typed so far. */
static void draw_prompt(const screen *sc, int y, int cols) {
    const char *label = "";
    char with_team[300];
    switch (sc->asking) {
    case ASK_NOTICE_TO:
        if (sc->m.team && *sc->m.team) {
            snprintf(with_team, sizeof with_team,
                     _("Notice to which team, or @agent (Enter: %s; Esc cancels): "), sc->m.team);
            label = with_team;
        } else {
            label = _("Notice to which team, or @agent (Esc cancels): ");
        }
        break;
    case ASK_NOTICE_TEXT:
        label = _("Notice text (Enter sends): ");
        break;
    case ASK_CALL:
        label = _("Review which call (its number; Esc cancels): ");
        break;
    case ASK_FAILED:
        label = _("Failed scorecard items, separated by spaces (Enter: none; see callfloorctl qa "
                  "items): ");
        break;
    case ASK_NOTES:
        label = _("Reviewer's notes (Enter: none): ");
        break;
    case BROWSING:
        return;
    }
    int width = (int)cli_display_width(label);
    put(y, 2, label, cols - 4);
    if (2 + width < cols - 2)
        put(y, 2 + width, sc->entry.text, cols - 4 - width);
}

static void draw(screen *sc) {
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    erase();
    draw_header(sc, cols);
    int y = 2;
    if (sc->m.status != NULL) {
        y = draw_floor(sc, y, cols);
        y = draw_board(sc, y, rows, cols);
        y = draw_floor_agents(sc, y, rows, cols);
        y = draw_queues(sc, y, rows, cols);
        draw_teams(sc, y, rows, cols);
    } else if (redial_current(sc->m.session) != REDIAL_GAVE_UP) {
        put(y, 2, _("Waiting for the first snapshot..."), cols - 4);
    }
    if (sc->m.alert_line[0])
        put(rows - 4, 2, sc->m.alert_line, cols - 4);
    if (sc->m.answer[0]) {
        attron(sc->m.answer_is_error ? A_BOLD : A_NORMAL);
        put(rows - 3, 2, sc->m.answer, cols - 4);
        attroff(A_BOLD);
    }
    const char *problem = sc->m.problem[0] ? sc->m.problem : redial_reason(sc->m.session);
    if (sc->asking != BROWSING)
        draw_prompt(sc, rows - 2, cols);
    else if (problem[0] && redial_current(sc->m.session) != REDIAL_READY)
        put(rows - 2, 2, problem, cols - 4);
    else if (sc->m.problem[0])
        put(rows - 2, 2, sc->m.problem, cols - 4);
    attron(A_REVERSE);
    mvhline(rows - 1, 0, ' ', cols);
    put(rows - 1, 1, _("p period   t team   n notice   a review a call   r refresh   q quit"),
        cols - 2);
    attroff(A_REVERSE);
    refresh();
}

static void on_handle_closed(uv_handle_t *h) {
    (void)h;
}

static void end_screen(screen *sc, int exit_code, int signum) {
    if (sc->ended)
        return;
    sc->ended = true;
    sc->exit_code = exit_code;
    sc->exit_signal = signum;
    endwin();
    delscreen(sc->term);
    uv_close((uv_handle_t *)&sc->input, on_handle_closed);
    uv_close((uv_handle_t *)&sc->tick, on_handle_closed);
    uv_close((uv_handle_t *)&sc->winch, on_handle_closed);
    for (size_t k = 0; k < NQUIT; k++)
        uv_close((uv_handle_t *)&sc->quit_signal[k], on_handle_closed);
    monitor_stop(&sc->m);
    fcntl(STDIN_FILENO, F_SETFL, sc->stdin_flags);
}

/* Cycles the board through every team, then all of them. */
static void next_team(screen *sc) {
    const Callfloor__TeamListReply *list = sc->m.teams ? sc->m.teams->team_list_reply : NULL;
    const char *team = sc->m.team ? sc->m.team : "";
    size_t next = 0;
    for (size_t k = 0; list != NULL && k < list->n_teams; k++)
        if (strcmp(list->teams[k]->name, team) == 0)
            next = k + 1;
    snprintf(sc->team, sizeof sc->team, "%s",
             list != NULL && next < list->n_teams ? list->teams[next]->name : "");
    monitor_watch_board(&sc->m, sc->team, sc->m.period);
}

/* ---- prompts ---- */

static void start_asking(screen *sc, ask what, size_t max) {
    sc->asking = what;
    lineedit_reset(&sc->entry, max);
}

static void send_notice(screen *sc) {
    const char *to = sc->notice_to[0] ? sc->notice_to : (sc->m.team ? sc->m.team : "");
    bool to_agent = to[0] == '@';
    monitor_send_notice(&sc->m, to_agent ? "" : to, to_agent ? to + 1 : "", sc->entry.text);
}

/* Splits the failed items at spaces and commas, and sends the review. */
static void send_review(screen *sc) {
    char *items[MAX_FAILED];
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(sc->failed, " ,", &save); tok != NULL && n < MAX_FAILED;
         tok = strtok_r(NULL, " ,", &save))
        items[n++] = tok;
    monitor_review(&sc->m, sc->call_id, items, n, sc->entry.text);
}

/* Enter on a prompt: keeps the answer and asks the next question, or
 * sends. A wrong answer is said and asked again. */
static void answer(screen *sc) {
    char *end;
    switch (sc->asking) {
    case ASK_NOTICE_TO:
        if (sc->entry.len == 0 && !(sc->m.team && *sc->m.team)) {
            snprintf(sc->m.answer, sizeof sc->m.answer, "%s",
                     _("Name a team, or an agent after @, e.g. @wang.li."));
            sc->m.answer_is_error = true;
            return;
        }
        snprintf(sc->notice_to, sizeof sc->notice_to, "%s", sc->entry.text);
        start_asking(sc, ASK_NOTICE_TEXT, NOTICE_MAX);
        return;
    case ASK_NOTICE_TEXT:
        if (sc->entry.len == 0)
            return;
        send_notice(sc);
        break;
    case ASK_CALL:
        sc->call_id = strtoull(sc->entry.text, &end, 10);
        if (sc->entry.len == 0 || *end != '\0' || sc->call_id == 0) {
            snprintf(sc->m.answer, sizeof sc->m.answer, "%s",
                     _("Type the call's number, e.g. 42."));
            sc->m.answer_is_error = true;
            lineedit_reset(&sc->entry, 20);
            return;
        }
        start_asking(sc, ASK_FAILED, LINEEDIT_MAX);
        return;
    case ASK_FAILED:
        snprintf(sc->failed, sizeof sc->failed, "%s", sc->entry.text);
        start_asking(sc, ASK_NOTES, NOTES_MAX);
        return;
    case ASK_NOTES:
        send_review(sc);
        break;
    case BROWSING:
        break;
    }
    sc->asking = BROWSING;
    lineedit_reset(&sc->entry, 0);
}

static void prompt_key(screen *sc, bool is_key_code, wint_t ch) {
    switch (lineedit_key(&sc->entry, is_key_code, ch)) {
    case LINEEDIT_SUBMIT:
        answer(sc);
        break;
    case LINEEDIT_CANCEL:
        sc->asking = BROWSING;
        lineedit_reset(&sc->entry, 0);
        snprintf(sc->m.answer, sizeof sc->m.answer, "%s", _("Cancelled."));
        sc->m.answer_is_error = false;
        break;
    case LINEEDIT_TOO_LONG:
    case LINEEDIT_EDITED:
        break;
    }
}

static void browse_key(screen *sc, wint_t ch) {
    switch (ch) {
    case L'q':
    case L'Q':
        end_screen(sc, CLI_EXIT_OK, 0);
        break;
    case L'r':
    case L'R':
        monitor_refresh(&sc->m);
        break;
    case L'p':
    case L'P':
        monitor_watch_board(&sc->m, sc->m.team, (sc->m.period + 1) % 3);
        break;
    case L't':
    case L'T':
        next_team(sc);
        break;
    case L'n':
    case L'N':
        start_asking(sc, ASK_NOTICE_TO, 128);
        break;
    case L'a':
    case L'A':
        start_asking(sc, ASK_CALL, 20);
        break;
    default:
        break;
    }
}

static void on_input(uv_poll_t *p, int status, int events) {
    screen *sc = p->data;
    wint_t ch;
    (void)events;
    if (status < 0) {
        end_screen(sc, CLI_EXIT_OK, 0);
        return;
    }
    int kind;
    while (!sc->ended && (kind = get_wch(&ch)) != ERR) {
        if (kind == KEY_CODE_YES && ch == KEY_RESIZE)
            draw(sc);
        else if (kind == OK && ch == CHAR_CTRL_L)
            clearok(stdscr, TRUE);
        else if (sc->asking != BROWSING)
            prompt_key(sc, kind == KEY_CODE_YES, ch);
        else if (kind == OK)
            browse_key(sc, ch);
    }
    if (!sc->ended)
        draw(sc);
}

static void on_tick(uv_timer_t *t) {
    draw(t->data);
}

static void on_quit_signal(uv_signal_t *s, int signum) {
    end_screen(s->data, CLI_EXIT_OK, signum);
}

static void on_winch(uv_signal_t *s, int signum) {
    screen *sc = s->data;
    (void)signum;
    endwin();
    refresh();
    draw(sc);
}

/* A refusal (an agent's account, a wrong password) ends the monitor: it
 * is shown on the way out, since waiting cannot change it. */
static void on_monitor_change(monitor *m, void *arg) {
    screen *sc = arg;
    if (m->refused || redial_current(m->session) == REDIAL_GAVE_UP) {
        char reason[sizeof m->problem];
        snprintf(reason, sizeof reason, "%s", m->refused ? m->problem : redial_reason(m->session));
        end_screen(sc, CLI_EXIT_SERVER, 0);
        fprintf(stderr, "%s: %s\n", MONITOR_PROGRAM, reason);
        return;
    }
    draw(sc);
}

static void start_signals(screen *sc) {
    for (size_t k = 0; k < NQUIT; k++) {
        uv_signal_init(sc->loop, &sc->quit_signal[k]);
        sc->quit_signal[k].data = sc;
        uv_signal_start(&sc->quit_signal[k], on_quit_signal, quit_signals[k]);
    }
    uv_signal_init(sc->loop, &sc->winch);
    sc->winch.data = sc;
    uv_signal_start(&sc->winch, on_winch, SIGWINCH);
}

int screen_run(uv_loop_t *loop, const client_options *opts, unsigned interval_ms, const char *team,
               Callfloor__Period period) {
    screen *sc = calloc(1, sizeof *sc);
    if (sc == NULL)
        return CLI_EXIT_SERVER;
    sc->loop = loop;
    sc->term = newterm(NULL, stdout, stdin);
    if (sc->term == NULL ||
        monitor_start(&sc->m, loop, opts, interval_ms, on_monitor_change, sc) < 0) {
        if (sc->term) {
            endwin();
            delscreen(sc->term);
        }
        free(sc);
        fprintf(stderr, _("%s: cannot start the screen\n"), MONITOR_PROGRAM);
        return CLI_EXIT_USAGE;
    }
    monitor_watch_board(&sc->m, team, period);
    set_term(sc->term);
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    start_signals(sc);
    uv_timer_init(loop, &sc->tick);
    sc->tick.data = sc;
    uv_timer_start(&sc->tick, on_tick, TICK_MS, TICK_MS);
    /* uv_poll_init makes the terminal non-blocking; curses' writes share
     * it, so the flags are put back (readiness is all the loop needs). */
    sc->stdin_flags = fcntl(STDIN_FILENO, F_GETFL);
    uv_poll_init(loop, &sc->input, STDIN_FILENO);
    fcntl(STDIN_FILENO, F_SETFL, sc->stdin_flags);
    sc->input.data = sc;
    uv_poll_start(&sc->input, UV_READABLE | UV_DISCONNECT, on_input);
    draw(sc);
    uv_run(loop, UV_RUN_DEFAULT);
    int rc = sc->exit_code, signum = sc->exit_signal;
    free(sc);
    if (signum != 0) {
        signal(signum, SIG_DFL);
        raise(signum);
    }
    return rc;
}
