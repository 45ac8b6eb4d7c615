/* script: the agent desk without a screen, for tests and automation.
 * Commands come one per line on standard input and each is answered with
 * one JSON object on a line of standard output, in order:
 *
 *   whoami  {"ok":true,"username":..,"display_name":..,"role":..,"team":..}
 *   passwd  the new password is the next input line (never an argument);
 *           {"ok":true} or {"ok":false,"code":..,"error":..}
 *   ping    {"ok":true,"rtt_ms":N}
 *   quit    ends with exit status 0, as does the end of the input
 *
 * A lost connection is reported as {"ok":false,"code":"CLOSED",
 * "error":REASON} and ends with CLI_EXIT_CONNECT. */
#ifndef CALLFLOOR_AGENT_SCRIPT_H
#define CALLFLOOR_AGENT_SCRIPT_H

#include <uv.h>

#include "cli.h"
#include "desk.h"

/* Runs the commands over a logged-in desk (desk_open succeeded). Takes the
 * desk and destroys it; returns when the loop has nothing left to do, with
 * the exit status. `timeout_ms` bounds the wait for each answer. */
int script_run(uv_loop_t *loop, desk *d, unsigned timeout_ms);
/* Prints a failure as one line {"ok":false,"code":..,"error":..}. */
void script_print_failure(const cli_failure *f);

#endif
