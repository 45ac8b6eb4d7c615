/* tui: see tui.h. The screen is redrawn whole after every event (a key, a
 * change of the desk, the one-second tick); curses sends only what
 * changed. Signals are taken by libuv before curses starts, so curses
 * installs no handlers of its own for them, and a resize is applied by
 * this module (resizeterm) rather than inside a signal handler. */
#include "tui.h"

#include <curses.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "cli.h"
#include "i18n.h"
#include "lineedit.h"
#include "pii.h"
#include "role.h"
#include "textfit.h"
#include "work.h"

enum {
    TICK_MS = 1000,
    NOTE_MS = 15000, /* how long a note stays on the screen */
    ESCAPE_DELAY_MS = 25,
    TEXT_CAP = 1024,
    MIN_LINES = 6,
    MIN_COLS = 24,
    BODY_TOP = 5,
    CHAR_CTRL_L = 12,
    CHAR_ESCAPE = 27,
};

enum { PAIR_GOOD = 1, PAIR_WARN, PAIR_BAD };

static const int quit_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NQUIT_SIGNALS (sizeof quit_signals / sizeof quit_signals[0])

typedef enum tui_mode {
    MODE_DESK,
    MODE_ASK_NEW,       /* typing the new password */
    MODE_ASK_REPEAT,    /* typing it again */
    MODE_CHANGING,      /* waiting for the server's answer */
    MODE_ASK_CALLBACK,  /* typing in how many hours to call back */
    MODE_ASK_COMPLAINT, /* typing what the customer complained about */
    MODE_APPLICATION,   /* the checklist and pre-screen of an application */
} tui_mode;

#define NCHECKS   5
#define MAX_CARDS 20
#define MAX_HOURS 720 /* callbacks within 30 days */
static const char *const employments[] = {"employed", "self-employed", "student", "retired",
                                          "unemployed"};
#define NEMPLOYMENTS (sizeof employments / sizeof employments[0])

/* The application form: filled in while the customer is on the line. */
typedef struct app_form {
    bool checks[NCHECKS];
    size_t product; /* index into the offer's products */
    unsigned income_band;
    size_t employment;
    unsigned cards;
} app_form;

typedef struct tui {
    uv_loop_t *loop;
    desk *d;
    SCREEN *screen;
    uv_poll_t input;
    uv_timer_t tick;
    uv_signal_t quit_signal[NQUIT_SIGNALS];
    uv_signal_t winch;
    bool input_open;
    bool stopping;
    int stdin_flags;
    int exit_signal;
    tui_mode mode;
    lineedit entry;
    char first[CLI_PASSWORD_MAX + 1];
    bool note_is_error;
    uint64_t note_until; /* loop time */
    char note[CLI_MESSAGE_MAX];
    work *work;
    app_form app;
} tui;

static void set_note(tui *t, bool is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_note(tui *t, bool is_error, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->note, sizeof t->note, fmt, ap);
    va_end(ap);
    t->note_is_error = is_error;
    t->note_until = uv_now(t->loop) + NOTE_MS;
}

/* ---- drawing ---- */

static attr_t pair_attr(int pair) {
    return has_colors() ? COLOR_PAIR(pair) : 0;
}

/* Draws `s` at (y, x) in at most `max_cols` columns, clipped to the
 * screen. Returns the columns used. */
static int put_text(int y, int x, const char *s, int max_cols) {
    if (y < 0 || y >= LINES || x < 0 || x >= COLS)
        return 0;
    if (max_cols > COLS - x)
        max_cols = COLS - x;
    if (max_cols <= 0)
        return 0;
    wchar_t w[TEXT_CAP];
    int cols = textfit(s, max_cols, w, TEXT_CAP);
    mvaddwstr(y, x, w);
    return cols;
}

static int put_styled(int y, int x, const char *s, int max_cols, attr_t attr) {
    attron(attr);
    int cols = put_text(y, x, s, max_cols);
    attroff(attr);
    return cols;
}

static void draw_bar(int y, const char *left, const char *right) {
    int used = put_text(y, 1, left, COLS - 2);
    int right_cols = right ? (int)cli_display_width(right) : 0;
    if (right && used + right_cols + 4 <= COLS)
        put_text(y, COLS - 1 - right_cols, right, right_cols);
    mvchgat(y, 0, -1, A_REVERSE, 0, NULL);
}

static void draw_title(const tui *t) {
    char version[128];
    const char *v = desk_server_version(t->d);
    if (*v)
        snprintf(version, sizeof version, _("server callfloord %s"), v);
    draw_bar(0, _("callfloor · agent desk"), *v ? version : NULL);
}

/* The agent's own standing, on the identity line's right. */
static void draw_standing(const tui *t, int x) {
    const Callfloor__AgentScore *sc = t->work ? work_standing(t->work) : NULL;
    if (sc == NULL)
        return;
    char line[256], target[64] = "";
    if (sc->target_month)
        snprintf(target, sizeof target, _(" of %u"), sc->target_month);
    if (sc->rank_today)
        snprintf(line, sizeof line,
                 _("Today: rank %u of %u, %lld points · Month: %u%s applications"), sc->rank_today,
                 sc->team_today, (long long)sc->points_today, sc->applications_month, target);
    else
        snprintf(line, sizeof line, _("Today: no results yet · Month: %u%s applications"),
                 sc->applications_month, target);
    put_styled(2, x, line, COLS - x - 1, A_BOLD);
}

static void draw_identity(const tui *t) {
    const desk_user *u = desk_get_user(t->d);
    char rest[512];
    int x = 1;
    if (*u->display_name) {
        x += put_styled(1, x, u->display_name, COLS - x, A_BOLD);
        snprintf(rest, sizeof rest, " (%s)", u->username);
        x += put_text(1, x, rest, COLS - x);
    } else {
        x += put_styled(1, x, u->username, COLS - x, A_BOLD);
    }
    snprintf(rest, sizeof rest, _("   Team: %s   Role: %s"), *u->team ? u->team : _("none"),
             role_name(u->role));
    put_text(1, x, rest, COLS - x);
}

static unsigned seconds_until_retry(const tui *t) {
    uint64_t now = uv_now(t->loop), at = desk_retry_at(t->d);
    return at > now ? (unsigned)((at - now + 999) / 1000) : 0;
}

static void draw_connection(const tui *t) {
    char line[CLI_MESSAGE_MAX];
    int pair = PAIR_WARN;
    switch (desk_get_state(t->d)) {
    case DESK_CONNECTED:
        snprintf(line, sizeof line, _("Connected to %s"), desk_server(t->d));
        pair = PAIR_GOOD;
        break;
    case DESK_CONNECTING:
        snprintf(line, sizeof line, _("Reconnecting to %s…"), desk_server(t->d));
        break;
    case DESK_WAITING:
        snprintf(line, sizeof line, _("Reconnecting in %u s"), seconds_until_retry(t));
        break;
    case DESK_CLOSED:
        snprintf(line, sizeof line, "%s", _("Closed: not reconnecting (press r to try again)"));
        pair = PAIR_BAD;
        break;
    }
    int used = put_styled(2, 1, line, COLS - 2, pair_attr(pair) | A_BOLD);
    draw_standing(t, 1 + used + 4);
}

static void format_clock(time_t when, char *out, size_t cap) {
    struct tm tm;
    if (localtime_r(&when, &tm) == NULL || strftime(out, cap, "%H:%M:%S", &tm) == 0)
        snprintf(out, cap, "--:--:--");
}

/* Draws `s` wrapped at `width` columns from row y, above row `bottom`;
 * the last row cuts what is left with an ellipsis. Returns the rows used. */
static int put_wrapped(int y, int x, const char *s, int width, int bottom, attr_t attr) {
    int rows = 0;
    while (*s && y + rows < bottom) {
        const char *next;
        char line[TEXT_CAP];
        size_t n = textfit_wrap(s, width, &next);
        if (y + rows == bottom - 1 || n >= sizeof line) {
            put_styled(y + rows, x, s, width, attr);
            return rows + 1;
        }
        memcpy(line, s, n);
        line[n] = '\0';
        put_styled(y + rows, x, line, width, attr);
        rows++;
        s = next;
    }
    return rows;
}

typedef struct fact {
    const char *label;
    const char *value;
    attr_t attr;
} fact;

/* Labels in one column, padded by display width (translations differ);
 * long values wrap under themselves. */
static void draw_facts(int y, const fact *facts, size_t n, int bottom) {
    int label_cols = 0;
    for (size_t k = 0; k < n; k++) {
        int w = (int)cli_display_width(facts[k].label);
        label_cols = w > label_cols ? w : label_cols;
    }
    int value_x = 4 + label_cols + 2;
    for (size_t k = 0; k < n && y < bottom; k++) {
        if (*facts[k].value == '\0')
            continue;
        put_text(y, 4, facts[k].label, COLS - 5);
        int rows =
            put_wrapped(y, value_x, facts[k].value, COLS - value_x - 1, bottom, facts[k].attr);
        y += rows > 0 ? rows : 1;
    }
}

static void draw_session_facts(const tui *t, int y, int bottom) {
    char since[32], rtt[32];
    int ms = desk_rtt_ms(t->d);
    format_clock(desk_logged_in_at(t->d), since, sizeof since);
    if (ms >= 0)
        snprintf(rtt, sizeof rtt, _("%d ms"), ms);
    else
        snprintf(rtt, sizeof rtt, "%s", _("measuring…"));
    fact facts[] = {
        {_("Logged in since"), since, 0},
        {_("Server round trip"), rtt, 0},
    };
    draw_facts(y, facts, sizeof facts / sizeof facts[0], bottom);
}

static void draw_drop_facts(const tui *t, int y, int bottom) {
    fact facts[] = {
        {_("Reason"), desk_drop_reason(t->d), pair_attr(PAIR_BAD)},
        {_("Last attempt"), desk_attempt_error(t->d), pair_attr(PAIR_BAD)},
    };
    draw_facts(y, facts, sizeof facts / sizeof facts[0], bottom);
}

/* ---- the call cycle ---- */

static const char *disposition_label(size_t k) {
    const char *labels[WORK_NDISPOSITIONS] = {
        _("no answer"), _("busy"),        _("voicemail"),  _("wrong number"), _("not interested"),
        _("call back"), _("application"), _("ineligible"), _("do not call"),  _("complaint"),
    };
    return labels[k];
}

static const char *state_label(const tui *t) {
    switch (work_state(t->work)) {
    case CALLFLOOR__AGENT_STATE__AGENT_READY:
        return _("Ready: waiting for the next lead");
    case CALLFLOOR__AGENT_STATE__AGENT_OFFERED:
        return _("A lead is offered: press d to dial");
    case CALLFLOOR__AGENT_STATE__AGENT_ON_CALL:
        return _("On a call");
    case CALLFLOOR__AGENT_STATE__AGENT_WRAP_UP:
        return _("Wrapping up: press g for the next lead");
    case CALLFLOOR__AGENT_STATE__AGENT_PAUSED:
        return _("Paused: press g to take leads");
    default:
        return _("Not taking leads: press g to start");
    }
}

static void format_segment(const Callfloor__LeadOffer *o, char *out, size_t cap) {
    snprintf(out, cap, _("age %s · income band %u · spending %s%s"),
             *o->age_band ? o->age_band : "-", o->income_band,
             *o->spend_profile ? o->spend_profile : "-", o->travel_interest ? _(" · travels") : "");
}

/* The timer line: the offer's time left, or the call's length. */
static void format_timer(const tui *t, const Callfloor__LeadOffer *o, char *out, size_t cap) {
    int64_t since = work_since(t->work), now = time(NULL);
    if (work_call_id(t->work) != 0) {
        int64_t s = now - since;
        snprintf(out, cap, _("call %llu, %02lld:%02lld"), (unsigned long long)work_call_id(t->work),
                 (long long)(s / 60), (long long)(s % 60));
        return;
    }
    int64_t left = since + o->expires_in_ms / 1000 - now;
    snprintf(out, cap, _("dial within %lld s"), (long long)(left > 0 ? left : 0));
}

static int draw_history(const Callfloor__LeadOffer *o, int y, int bottom) {
    if (o->n_history == 0)
        return y;
    put_text(y, 4, _("Earlier calls"), COLS - 5);
    for (size_t i = 0; i < o->n_history && y < bottom; i++) {
        const Callfloor__CallHistoryEntry *h = o->history[i];
        char when[32], line[TEXT_CAP];
        struct tm tm;
        time_t at = (time_t)h->at;
        if (localtime_r(&at, &tm) == NULL ||
            strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm) == 0)
            snprintf(when, sizeof when, "-");
        snprintf(line, sizeof line, "%s  %s  %s  %s", when, h->agent,
                 *h->disposition ? h->disposition : _("(open)"), h->notes);
        put_text(y++, 20, line, COLS - 21);
    }
    return y;
}

static int draw_products(const Callfloor__LeadOffer *o, int y, int bottom) {
    for (size_t i = 0; i < o->n_products && y < bottom; i++) {
        const Callfloor__OfferedProduct *p = o->products[i];
        char line[TEXT_CAP];
        snprintf(line, sizeof line, _("%s %s %s  APR %s%%  annual fee %s"),
                 p->recommended ? "★" : " ", p->code, p->name, p->apr, p->annual_fee);
        if (i == 0)
            put_text(y, 4, _("Products"), COLS - 5);
        put_styled(y++, 20, line, COLS - 21, p->recommended ? A_BOLD : 0);
    }
    return y;
}

static void draw_outcome_keys(int y, int bottom) {
    char line[TEXT_CAP];
    size_t len = 0;
    for (size_t k = 0; k < WORK_NDISPOSITIONS && len < sizeof line; k++)
        len += (size_t)snprintf(line + len, sizeof line - len, "%zu %s   ", (k + 1) % 10,
                                disposition_label(k));
    put_styled(y, 4, _("End the call:"), COLS - 5, A_BOLD);
    put_wrapped(y + 1, 4, line, COLS - 5, bottom, 0);
}

static void draw_offer(const tui *t, const Callfloor__LeadOffer *o, int y, int bottom) {
    char name[TEXT_CAP], segment[TEXT_CAP], timer[128];
    bool on_call = work_call_id(t->work) != 0;
    snprintf(name, sizeof name, "%s%s", o->name, strcmp(o->tier, "vip") == 0 ? "  (VIP)" : "");
    format_segment(o, segment, sizeof segment);
    format_timer(t, o, timer, sizeof timer);
    const char *phone = *work_phone(t->work) ? work_phone(t->work) : o->phone_masked;
    fact facts[] = {
        {_("Customer"), name, A_BOLD},
        {_("Phone"), phone, on_call ? (A_BOLD | pair_attr(PAIR_GOOD)) : 0},
        {_("Campaign"), o->campaign, 0},
        {_("Segment"), segment, 0},
        {_("Time"), timer, 0},
    };
    draw_facts(y, facts, sizeof facts / sizeof facts[0], bottom);
    y += (int)(sizeof facts / sizeof facts[0]);
    y = draw_history(o, y, bottom);
    y = draw_products(o, y, bottom);
    if (on_call && y + 1 < bottom)
        draw_outcome_keys(y + 1, bottom);
}

static void draw_application(const tui *t, int y, int bottom) {
    const Callfloor__LeadOffer *o = work_offer(t->work);
    const char *items[NCHECKS] = {_("identity stated"), _("consent to record"),
                                  _("annual fee stated"), _("APR, interest and penalties stated"),
                                  _("no pressure put on the customer")};
    char line[TEXT_CAP];
    put_styled(y++, 4, _("Application: confirm each item with the customer"), COLS - 5, A_BOLD);
    for (size_t k = 0; k < NCHECKS && y < bottom; k++) {
        snprintf(line, sizeof line, "[%s] %zu %s", t->app.checks[k] ? "x" : " ", k + 1, items[k]);
        put_styled(y++, 4, line, COLS - 5, t->app.checks[k] ? pair_attr(PAIR_GOOD) : 0);
    }
    const Callfloor__OfferedProduct *p =
        o && o->n_products ? o->products[t->app.product % o->n_products] : NULL;
    char product[TEXT_CAP], income[16], cards[16];
    snprintf(product, sizeof product, "%s %s", p ? p->code : "-", p ? p->name : "");
    snprintf(income, sizeof income, "%u", t->app.income_band);
    snprintf(cards, sizeof cards, "%u", t->app.cards);
    fact facts[] = {
        {_("Product (Tab)"), product, A_BOLD},
        {_("Income band (+ -)"), income, 0},
        {_("Employment (e)"), employments[t->app.employment], 0},
        {_("Cards held (c)"), cards, 0},
    };
    draw_facts(y + 1, facts, sizeof facts / sizeof facts[0], bottom);
}

static void draw_work_area(const tui *t, int bottom) {
    desk_state state = desk_get_state(t->d);
    if (state != DESK_CONNECTED) {
        put_styled(BODY_TOP, 2,
                   state == DESK_CLOSED ? _("Not connected") : _("Waiting for the connection"),
                   COLS - 3, A_BOLD);
        draw_drop_facts(t, BODY_TOP + 2, bottom);
        return;
    }
    if (t->mode == MODE_APPLICATION) {
        draw_application(t, BODY_TOP, bottom);
        return;
    }
    char title[CLI_MESSAGE_MAX];
    const char *reason = work_pause_reason(t->work);
    snprintf(title, sizeof title, "%s%s%s", state_label(t), *reason ? " · " : "", reason);
    put_styled(BODY_TOP, 2, title, COLS - 3, A_BOLD);
    const Callfloor__LeadOffer *o = work_offer(t->work);
    if (o != NULL)
        draw_offer(t, o, BODY_TOP + 2, bottom);
    else
        draw_session_facts(t, BODY_TOP + 2, bottom);
}

static bool asking(const tui *t) {
    return t->mode == MODE_ASK_NEW || t->mode == MODE_ASK_REPEAT || t->mode == MODE_ASK_CALLBACK ||
           t->mode == MODE_ASK_COMPLAINT;
}

/* The prompt or the last note (two rows, above the footer); returns the
 * cursor column for a prompt. A note fades after NOTE_MS, except the one
 * that says a password change is on its way. */
static int draw_note(const tui *t, int y) {
    if (t->mode == MODE_ASK_NEW)
        return 1 + put_text(y, 1, _("New password (not shown; Enter confirms, Esc cancels): "),
                            COLS - 2);
    if (t->mode == MODE_ASK_REPEAT)
        return 1 + put_text(y, 1, _("Repeat the new password: "), COLS - 2);
    if (t->mode == MODE_ASK_CALLBACK || t->mode == MODE_ASK_COMPLAINT) {
        int x = 1 + put_text(y, 1,
                             t->mode == MODE_ASK_CALLBACK
                                 ? _("Call back in how many hours (1-720; Esc cancels): ")
                                 : _("What did the customer complain about (Esc cancels)? "),
                             COLS - 2);
        return x + put_text(y, x, t->entry.text, COLS - x - 1);
    }
    if (t->mode == MODE_CHANGING || uv_now(t->loop) < t->note_until)
        put_wrapped(y, 1, t->note, COLS - 2, y + 2,
                    pair_attr(t->note_is_error ? PAIR_BAD : PAIR_GOOD));
    return 0;
}

static void draw_footer(const tui *t) {
    char keys[256];
    desk_state state = desk_get_state(t->d);
    if (asking(t))
        snprintf(keys, sizeof keys, "%s", _("Enter confirm   Esc cancel"));
    else if (t->mode == MODE_APPLICATION)
        snprintf(keys, sizeof keys, "%s", _("1-5 tick   Enter submit   Esc back to the call"));
    else if (state == DESK_CONNECTED)
        snprintf(keys, sizeof keys, "%s   %s   %s   %s   %s", _("g take leads"), _("d dial"),
                 _("b break"), _("p change my password"), _("q quit"));
    else if (state == DESK_WAITING || state == DESK_CLOSED)
        snprintf(keys, sizeof keys, "%s   %s   %s", _("p change my password"), _("r reconnect now"),
                 _("q quit"));
    else
        snprintf(keys, sizeof keys, "%s   %s", _("p change my password"), _("q quit"));
    draw_bar(LINES - 1, keys, NULL);
}

static void draw(tui *t) {
    if (t->stopping)
        return;
    erase();
    if (LINES < MIN_LINES || COLS < MIN_COLS) {
        put_text(0, 0, _("Make the terminal larger."), COLS);
        curs_set(0);
        refresh();
        return;
    }
    draw_title(t);
    draw_identity(t);
    draw_connection(t);
    mvhline(3, 0, ACS_HLINE, COLS);
    draw_work_area(t, LINES - 3);
    int cursor = draw_note(t, LINES - 3);
    draw_footer(t);
    if (asking(t)) {
        move(LINES - 3, cursor < COLS ? cursor : COLS - 1);
        curs_set(1);
    } else {
        curs_set(0);
    }
    refresh();
}

/* ---- leaving ---- */

static void forget_entries(tui *t) {
    lineedit_reset(&t->entry, CLI_PASSWORD_MAX);
    pii_wipe(t->first, sizeof t->first);
}

static void end_screen(tui *t) {
    if (t->screen == NULL)
        return;
    endwin();
    delscreen(t->screen);
    t->screen = NULL;
    fcntl(STDIN_FILENO, F_SETFL, t->stdin_flags);
}

static void close_handles(tui *t) {
    if (t->input_open)
        uv_close((uv_handle_t *)&t->input, NULL);
    uv_close((uv_handle_t *)&t->tick, NULL);
    uv_close((uv_handle_t *)&t->winch, NULL);
    for (size_t k = 0; k < NQUIT_SIGNALS; k++)
        uv_close((uv_handle_t *)&t->quit_signal[k], NULL);
}

/* Restores the terminal first: whatever happens next, the shell gets a
 * usable terminal back. */
static void quit(tui *t, int signum) {
    if (t->stopping)
        return;
    t->stopping = true;
    t->exit_signal = signum;
    forget_entries(t);
    end_screen(t);
    close_handles(t);
    work_destroy(t->work);
    t->work = NULL;
    desk_on_event(t->d, NULL, NULL);
    desk_destroy(t->d);
}

/* ---- changing the password ---- */

static void end_password_entry(tui *t) {
    forget_entries(t);
    t->mode = MODE_DESK;
}

static void ask_password(tui *t) {
    if (t->mode == MODE_CHANGING) {
        set_note(t, false, "%s", _("The password change is on its way; wait for the answer."));
        return;
    }
    if (desk_get_state(t->d) != DESK_CONNECTED) {
        set_note(t, true, "%s",
                 _("Not connected: the password can be changed once the desk is connected."));
        return;
    }
    forget_entries(t);
    t->mode = MODE_ASK_NEW;
}

static void on_passwd_answer(desk *d, int status, const envelope *reply, void *arg) {
    tui *t = arg;
    (void)d;
    t->mode = MODE_DESK;
    if (status < 0) {
        set_note(t, true, "%s",
                 _("The connection broke before the server answered, so the password may or may "
                   "not have changed."));
    } else if (reply->body_case == CALLFLOOR__ENVELOPE__BODY_ERROR) {
        cli_failure f;
        cli_failure_from_error(&f, reply->error);
        set_note(t, true, _("The password was not changed: %s"), f.message);
    } else {
        set_note(t, false, "%s",
                 _("Your password was changed; any other session of yours was ended."));
    }
    draw(t);
}

static void send_new_password(tui *t) {
    int rc = desk_change_password(t->d, t->first, on_passwd_answer, t);
    end_password_entry(t);
    if (rc == 0) {
        t->mode = MODE_CHANGING;
        set_note(t, false, "%s", _("Changing your password…"));
        return;
    }
    cli_failure f;
    cli_failure_from_status(&f, rc, NULL, CALLFLOOR__ERROR_CODE__ERROR_CODE_UNSPECIFIED);
    set_note(t, true, _("The password was not changed: %s"), f.message);
}

/* ---- ending a call ---- */

static void start_outcome(tui *t, size_t k) {
    const char *disposition = work_dispositions[k];
    if (work_call_id(t->work) == 0) {
        set_note(t, true, "%s", _("There is no call to end: dial first."));
    } else if (strcmp(disposition, "CALLBACK") == 0) {
        forget_entries(t);
        t->mode = MODE_ASK_CALLBACK;
    } else if (strcmp(disposition, "COMPLAINT") == 0) {
        forget_entries(t);
        t->mode = MODE_ASK_COMPLAINT;
    } else if (strcmp(disposition, "APPLICATION_SUBMITTED") == 0) {
        memset(&t->app, 0, sizeof t->app);
        const Callfloor__LeadOffer *o = work_offer(t->work);
        t->app.income_band = o ? o->income_band : 0;
        t->mode = MODE_APPLICATION;
    } else {
        work_outcome(t->work, disposition, 0, "", NULL);
    }
}

static void submit_callback(tui *t) {
    char *end;
    long hours = strtol(t->entry.text, &end, 10);
    if (*end != '\0' || hours < 1 || hours > MAX_HOURS) {
        set_note(t, true, "%s", _("Type a whole number of hours from 1 to 720."));
        return;
    }
    t->mode = MODE_DESK;
    work_outcome(t->work, "CALLBACK", (int64_t)time(NULL) + hours * 3600, "", NULL);
    forget_entries(t);
}

static void submit_complaint(tui *t) {
    if (t->entry.len == 0) {
        set_note(t, true, "%s", _("Say in a few words what the customer complained about."));
        return;
    }
    t->mode = MODE_DESK;
    work_outcome(t->work, "COMPLAINT", 0, t->entry.text, NULL);
    forget_entries(t);
}

static void submit_application(tui *t) {
    const Callfloor__LeadOffer *o = work_offer(t->work);
    work_application app;
    callfloor__disclosure__init(&app.disclosure);
    callfloor__pre_screen__init(&app.prescreen);
    app.disclosure.identity_stated = t->app.checks[0];
    app.disclosure.recording_consent = t->app.checks[1];
    app.disclosure.annual_fee_stated = t->app.checks[2];
    app.disclosure.apr_stated = t->app.checks[3];
    app.disclosure.no_pressure = t->app.checks[4];
    app.prescreen.income_band = t->app.income_band;
    app.prescreen.employment = (char *)employments[t->app.employment];
    app.prescreen.existing_cards = t->app.cards;
    app.product_code = o && o->n_products ? o->products[t->app.product % o->n_products]->code : "";
    t->mode = MODE_DESK;
    work_outcome(t->work, "APPLICATION_SUBMITTED", 0, "", &app);
}

static void app_key(tui *t, wint_t ch) {
    if (ch >= L'1' && ch <= L'5')
        t->app.checks[ch - L'1'] = !t->app.checks[ch - L'1'];
    else if (ch == L'\t')
        t->app.product++;
    else if (ch == L'+' && t->app.income_band < 9)
        t->app.income_band++;
    else if (ch == L'-' && t->app.income_band > 0)
        t->app.income_band--;
    else if (ch == L'e' || ch == L'E')
        t->app.employment = (t->app.employment + 1) % NEMPLOYMENTS;
    else if (ch == L'c' || ch == L'C')
        t->app.cards = (t->app.cards + 1) % (MAX_CARDS + 1);
    else if (ch == L'\n' || ch == L'\r')
        submit_application(t);
    else if (ch == CHAR_ESCAPE)
        t->mode = MODE_DESK;
}

static void submit_entry(tui *t) {
    if (t->mode == MODE_ASK_CALLBACK) {
        submit_callback(t);
        return;
    }
    if (t->mode == MODE_ASK_COMPLAINT) {
        submit_complaint(t);
        return;
    }
    if (t->entry.len == 0) {
        end_password_entry(t);
        set_note(t, true, "%s", _("No password entered; nothing was changed."));
    } else if (t->mode == MODE_ASK_NEW) {
        memcpy(t->first, t->entry.text, t->entry.len + 1);
        lineedit_reset(&t->entry, CLI_PASSWORD_MAX);
        t->mode = MODE_ASK_REPEAT;
    } else if (strcmp(t->first, t->entry.text) != 0) {
        end_password_entry(t);
        set_note(t, true, "%s",
                 _("The two passwords differ; nothing was changed (press p to try again)."));
    } else {
        send_new_password(t);
    }
}

static void password_key(tui *t, bool is_key_code, wint_t ch) {
    switch (lineedit_key(&t->entry, is_key_code, ch)) {
    case LINEEDIT_SUBMIT:
        submit_entry(t);
        break;
    case LINEEDIT_CANCEL: {
        bool password = t->mode == MODE_ASK_NEW || t->mode == MODE_ASK_REPEAT;
        end_password_entry(t);
        set_note(t, false, "%s", password ? _("Password change cancelled.") : _("Cancelled."));
        break;
    }
    case LINEEDIT_TOO_LONG:
        if (t->mode == MODE_ASK_NEW || t->mode == MODE_ASK_REPEAT)
            set_note(t, true, _("The password cannot be longer than %d bytes."), CLI_PASSWORD_MAX);
        break;
    case LINEEDIT_EDITED:
        break;
    }
}

/* ---- keys ---- */

static void desk_key(tui *t, wint_t ch) {
    switch (ch) {
    case L'q':
    case L'Q':
        quit(t, 0);
        break;
    case L'p':
    case L'P':
        ask_password(t);
        break;
    case L'r':
    case L'R':
        desk_retry(t->d);
        break;
    case L'g':
    case L'G':
        work_ready(t->work);
        break;
    case L'b':
    case L'B':
        work_pause(t->work, _("break"));
        break;
    case L'd':
    case L'D':
        work_dial(t->work);
        break;
    default:
        if (ch >= L'0' && ch <= L'9')
            start_outcome(t, ch == L'0' ? 9 : (size_t)(ch - L'1'));
        break;
    }
}

static void read_keys(tui *t) {
    wint_t ch;
    int kind;
    while (!t->stopping && (kind = get_wch(&ch)) != ERR) {
        bool is_key_code = kind == KEY_CODE_YES;
        if (is_key_code && ch == KEY_RESIZE)
            continue;
        if (!is_key_code && ch == CHAR_CTRL_L)
            clearok(curscr, TRUE);
        else if (asking(t))
            password_key(t, is_key_code, ch);
        else if (t->mode == MODE_APPLICATION && !is_key_code)
            app_key(t, ch);
        else if (!is_key_code)
            desk_key(t, ch);
    }
}

/* ---- loop callbacks ---- */

static void on_input(uv_poll_t *p, int status, int events) {
    tui *t = p->data;
    if (status < 0 || (events & UV_DISCONNECT)) {
        quit(t, SIGHUP);
        return;
    }
    read_keys(t);
    draw(t);
}

static void on_tick(uv_timer_t *timer) {
    draw(timer->data);
}

static void on_quit_signal(uv_signal_t *s, int signum) {
    quit(s->data, signum);
}

static void on_winch(uv_signal_t *s, int signum) {
    tui *t = s->data;
    struct winsize ws;
    (void)signum;
    if (t->stopping)
        return;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
    read_keys(t);
    draw(t);
}

static void on_desk_event(desk *d, void *arg) {
    (void)d;
    draw(arg);
}

static void on_work_change(work *w, const char *note, bool is_error, void *arg) {
    tui *t = arg;
    (void)w;
    if (note != NULL && *note != '\0')
        set_note(t, is_error, "%s", note);
    draw(t);
}

/* ---- start ---- */

static void start_signals(tui *t) {
    for (size_t k = 0; k < NQUIT_SIGNALS; k++) {
        uv_signal_init(t->loop, &t->quit_signal[k]);
        t->quit_signal[k].data = t;
        uv_signal_start(&t->quit_signal[k], on_quit_signal, quit_signals[k]);
    }
    uv_signal_init(t->loop, &t->winch);
    t->winch.data = t;
    uv_signal_start(&t->winch, on_winch, SIGWINCH);
}

static void start_colors(void) {
    if (!has_colors() || start_color() == ERR)
        return;
    short background = use_default_colors() == OK ? -1 : COLOR_BLACK;
    init_pair(PAIR_GOOD, COLOR_GREEN, background);
    init_pair(PAIR_WARN, COLOR_YELLOW, background);
    init_pair(PAIR_BAD, COLOR_RED, background);
}

static int start_screen(tui *t) {
    t->screen = newterm(NULL, stdout, stdin);
    if (t->screen == NULL)
        return -1;
    set_term(t->screen);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(ESCAPE_DELAY_MS);
    start_colors();
    return 0;
}

/* uv_poll_init makes the descriptor non-blocking, and the terminal's file
 * description is shared with standard output: curses' writes must not
 * fail with EAGAIN, so the flags are put back. Readiness is all the loop
 * needs; curses reads only what is there. */
static int start_input(tui *t) {
    t->stdin_flags = fcntl(STDIN_FILENO, F_GETFL);
    int rc = uv_poll_init(t->loop, &t->input, STDIN_FILENO);
    fcntl(STDIN_FILENO, F_SETFL, t->stdin_flags);
    if (rc < 0)
        return rc;
    t->input_open = true;
    t->input.data = t;
    return uv_poll_start(&t->input, UV_READABLE | UV_DISCONNECT, on_input);
}

int tui_run(uv_loop_t *loop, desk *d, int *exit_signal) {
    tui t;
    memset(&t, 0, sizeof t);
    *exit_signal = 0;
    t.loop = loop;
    t.d = d;
    lineedit_reset(&t.entry, CLI_PASSWORD_MAX);
    t.work = work_create(d, on_work_change, &t);
    if (t.work == NULL) {
        desk_destroy(d);
        fprintf(stderr, "%s", _("callfloor-agent: out of memory\n"));
        return CLI_EXIT_SERVER;
    }
    start_signals(&t);
    uv_timer_init(loop, &t.tick);
    t.tick.data = &t;
    int rc = start_screen(&t) < 0 ? UV_ENOTTY : start_input(&t);
    if (rc < 0) {
        quit(&t, 0);
        uv_run(loop, UV_RUN_DEFAULT);
        fprintf(stderr, _("callfloor-agent: cannot start the screen: %s\n"), uv_strerror(rc));
        return CLI_EXIT_USAGE;
    }
    uv_timer_start(&t.tick, on_tick, TICK_MS, TICK_MS);
    desk_on_event(d, on_desk_event, &t);
    draw(&t);
    uv_run(loop, UV_RUN_DEFAULT);
    *exit_signal = t.exit_signal;
    return CLI_EXIT_OK;
}
