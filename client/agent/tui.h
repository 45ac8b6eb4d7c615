/* tui: the agent desk on the terminal, with ncursesw. It shows whose desk
 * it is (display name, team, role), the server and the state of the
 * connection (connected, reconnecting with a countdown, or closed with the
 * server's reason), the work area and the session's facts, and a footer
 * with the keys: p changes one's own password (asked twice inside the
 * screen, never shown), r reconnects at once, Ctrl-L redraws, q quits.
 *
 * Keys are read when the loop sees standard input readable, so the screen
 * stays live while the desk waits for the server. The terminal is restored
 * however the desk ends: q, SIGINT, SIGTERM or SIGHUP. */
#ifndef CALLFLOOR_AGENT_TUI_H
#define CALLFLOOR_AGENT_TUI_H

#include <stddef.h>

#include <uv.h>

#include "desk.h"

/* Runs the desk over a logged-in desk (desk_open succeeded). Takes the desk
 * and destroys it; returns when the loop has nothing left to do, with the
 * exit status. When a signal ended the desk, *exit_signal is set to it (the
 * caller re-raises it once everything is released), otherwise to 0. */
int tui_run(uv_loop_t *loop, desk *d, int *exit_signal);

#endif
