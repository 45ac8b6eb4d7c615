#!/usr/bin/env bash
# test_agent: callfloor-agent as an agent and a script use it. In --script
# mode: whoami with a Chinese display name and team, changing one's own
# password (the old one then fails, the new one works), every exit status
# (0 done, 1 login refused, 2 wrong usage, 3 no connection or connection
# lost). On a pseudo terminal: the desk draws the Chinese name, survives a
# resize, reconnects after the daemon restarts and shows the server's
# reason meanwhile, changes the password inside the screen, shows why an
# administrator ended the session, and restores the terminal on q and on
# SIGTERM.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENT=$CF_BUILD/bin/callfloor-agent
# The agent's password; the administrator's stays in the environment for
# callfloorctl and the harness.
ZW_PASSWORD=zhangwei-password-1

# agent ARG...: callfloor-agent as zhangwei, with $ZW_PASSWORD.
agent() {
    CALLFLOOR_USER=zhangwei CALLFLOOR_PASSWORD=$ZW_PASSWORD "$AGENT" "$@"
}

# Reads JSON lines on standard input; line N (from 1) must satisfy a Python
# expression on `doc`, e.g. json_line 1 'doc["ok"]'.
json_line() {
    python3 -c '
import json, sys
lines = sys.stdin.read().splitlines()
n = int(sys.argv[1])
if len(lines) < n:
    sys.exit("only %d output lines, wanted line %d: %r" % (len(lines), n, lines))
doc = json.loads(lines[n - 1])
if not eval("(" + sys.argv[2] + ")"):
    sys.exit("assertion failed on line %d: %s\n%s" % (n, sys.argv[2], lines[n - 1]))
' "$1" "$2"
}

expect_json_line() {
    json_line "$1" "$2" <<<"$CF_LAST_OUTPUT" || cf_fail "unexpected --script output:
$CF_LAST_OUTPUT"
}

# ---- the desk on a pseudo terminal ----


# desk_start NAME [AGENT ARG...]: the desk as zhangwei on a pseudo
# terminal (cf_pty_start); desk COMMAND and desk_exit drive it.
desk_start() {
    local name=$1
    shift
    cf_pty_start "desk-$name" env CALLFLOOR_USER=zhangwei CALLFLOOR_PASSWORD="$ZW_PASSWORD" \
        "$AGENT" "$@"
}

desk() {
    cf_pty "$@"
}

desk_exit() {
    cf_pty_exit
}

cf_setup agent

# ---- no server needed ----
cf_expect_exit 0 agent --help
for text in "Usage:" "--script" "CALLFLOOR_SERVER" "CALLFLOOR_PASSWORD" "Exit status"; do
    grep -qF -- "$text" <<<"$CF_LAST_OUTPUT" || cf_fail "--help does not mention $text"
done
cf_expect_exit 0 agent -V
grep -q "callfloor-agent" <<<"$CF_LAST_OUTPUT" || cf_fail "--version does not name the program"
cf_expect_exit 2 agent --frobnicate
grep -q -- "--help" <<<"$CF_LAST_OUTPUT" || cf_fail "an unknown option does not point at --help"
cf_expect_exit 2 agent --script stray-argument
cf_expect_exit 2 agent --script --server
# The desk needs a terminal; without one it says to use --script.
cf_expect_exit 2 agent </dev/null
grep -q -- "--script" <<<"$CF_LAST_OUTPUT" || cf_fail "no terminal and no hint at --script"
CALLFLOOR_SERVER=127.0.0.1:1 cf_expect_exit 3 agent --script <<<whoami
expect_json_line 1 'doc["ok"] is False and doc["code"] == "CONNECT_FAILED"'

cf_start_daemon
cf_expect_exit 0 cf_ctl team add 一组
cf_expect_exit 0 cf_ctl user add zhangwei --role agent --team 一组 --display-name 张伟 \
    <<<'zhangwei-password-1'

# ---- script mode ----
cf_expect_exit 0 agent --script <<<$'whoami\nping\nfrobnicate\n\nquit\nwhoami'
expect_json_line 1 'doc == {"ok": True, "username": "zhangwei", "display_name": "张伟",
                           "role": "agent", "team": "一组"}'
expect_json_line 2 'doc["ok"] is True and isinstance(doc["rtt_ms"], int) and doc["rtt_ms"] >= 0'
expect_json_line 3 'doc["ok"] is False and doc["code"] == "USAGE" and "frobnicate" in doc["error"]
                    and "whoami, passwd, ping, quit" in doc["error"]'
[ "$(wc -l <<<"$CF_LAST_OUTPUT")" = 3 ] || cf_fail "commands after quit ran: $CF_LAST_OUTPUT"
# The end of the input ends the run like quit; so does an empty input.
cf_expect_exit 0 agent --script <<<"whoami"
expect_json_line 1 'doc["username"] == "zhangwei"'
cf_expect_exit 0 agent --script </dev/null
[ -z "$CF_LAST_OUTPUT" ] || cf_fail "an empty script printed: $CF_LAST_OUTPUT"
# Commands from a regular file work as from a pipe.
printf 'whoami\r\nquit\r\n' >"$CF_WORK/commands"
cf_expect_exit 0 agent --script <"$CF_WORK/commands"
expect_json_line 1 'doc["display_name"] == "张伟"'

# Wrong password: exit 1, and the refusal as JSON.
ZW_PASSWORD=not-his-password cf_expect_exit 1 agent --script <<<whoami
expect_json_line 1 'doc["ok"] is False and doc["code"] == "INVALID_CREDENTIALS"'
# The password file and the user flag work like callfloorctl's.
echo zhangwei-password-1 >"$CF_WORK/zw.password"
cf_expect_exit 0 env -u CALLFLOOR_PASSWORD -u CALLFLOOR_USER "$AGENT" --script --user zhangwei \
    --password-file "$CF_WORK/zw.password" <<<whoami
expect_json_line 1 'doc["username"] == "zhangwei"'
# No password and no terminal to ask on: a usage error.
cf_expect_exit 2 env -u CALLFLOOR_PASSWORD "$AGENT" --script </dev/null
grep -q "CALLFLOOR_PASSWORD" <<<"$CF_LAST_OUTPUT" || cf_fail "a missing password is not explained"

# passwd: the new password is the next line; a refused one changes nothing.
cf_expect_exit 0 agent --script <<<$'passwd\nshort\npasswd\nzhangwei-password-2\nwhoami'
expect_json_line 1 'doc["ok"] is False and doc["code"] == "INVALID_ARGUMENT"'
expect_json_line 2 'doc == {"ok": True}'
expect_json_line 3 'doc["ok"] is True'
cf_expect_exit 1 agent --script <<<whoami
expect_json_line 1 'doc["code"] == "INVALID_CREDENTIALS" and "password" in doc["error"]'
ZW_PASSWORD=zhangwei-password-2 cf_expect_exit 0 agent --script <<<whoami
expect_json_line 1 'doc["username"] == "zhangwei"'
ZW_PASSWORD=zhangwei-password-2 cf_expect_exit 2 agent --script <<<passwd
expect_json_line 1 'doc["code"] == "USAGE" and "next line" in doc["error"]'
! grep -qF "zhangwei-password" "$CF_LOG" || cf_fail "a password reached the daemon's log"
ZW_PASSWORD=zhangwei-password-2

# A session the server ends: CLOSED with its reason, exit 3.
mkfifo "$CF_WORK/script.in"
agent --script <"$CF_WORK/script.in" >"$CF_WORK/script.out" 2>&1 &
script_pid=$!
exec 7>"$CF_WORK/script.in"
echo whoami >&7
for _ in $(seq 100); do
    [ -s "$CF_WORK/script.out" ] && break
    sleep 0.1
done
cf_expect_exit 0 cf_ctl user disable zhangwei
rc=0
wait "$script_pid" || rc=$?
exec 7>&-
[ "$rc" = 3 ] ||
    cf_fail "a session ended by the server exited $rc, not 3: $(cat "$CF_WORK/script.out")"
CF_LAST_OUTPUT=$(cat "$CF_WORK/script.out")
expect_json_line 2 'doc["ok"] is False and doc["code"] == "CLOSED" and "disabled" in doc["error"]'
cf_expect_exit 1 agent --script <<<whoami
expect_json_line 1 'doc["code"] == "ACCOUNT_DISABLED"'
cf_expect_exit 0 cf_ctl user enable zhangwei

# ---- the desk on a terminal ----

desk_start main
desk expect "张伟"
desk expect "Team: 一组"
desk expect "press g to start"
desk expect "Connected to $CALLFLOOR_SERVER"
desk expect "p change my password"
desk resize 30 100
desk expect "张伟 (zhangwei)"
desk resize 10 30
desk expect "张伟"

# The daemon restarts: the desk shows why and counts down, then is back.
desk resize 24 120
cf_stop_daemon
desk expect "shutting down"
desk expect "Reconnecting in"
cf_start_daemon
desk expect "Connected to $CALLFLOOR_SERVER"

# The password, changed inside the desk; a mistyped repeat changes nothing.
desk type "p"
desk expect "New password"
desk type 'zhangwei-password-3\r'
desk expect "Repeat the new password"
desk type 'zhangwei-password-4\r'
desk expect "The two passwords differ"
desk type "p"
desk type 'zhangwei-password-3\r'
desk type 'zhangwei-password-3\r'
desk expect "Your password was changed"
! grep -qF "zhangwei-password-3" "$CF_WORK/desk-main.out" || cf_fail "the desk showed the password"
cf_expect_exit 1 agent --script <<<whoami
ZW_PASSWORD=zhangwei-password-3 cf_expect_exit 0 agent --script <<<whoami

# Disabled by an administrator: the desk says so and stops retrying.
cf_expect_exit 0 cf_ctl user disable zhangwei
desk expect "Closed: not reconnecting"
desk expect "your account was disabled"
desk expect "r reconnect now"
cf_expect_exit 0 cf_ctl user enable zhangwei
# The reconnection uses the password changed in the desk.
desk type "r"
desk expect "Connected to $CALLFLOOR_SERVER"
desk type "q"
desk_exit
[ "$CF_PTY_REPLY" = "ok exit=0 restored=1" ] || cf_fail "q did not end the desk cleanly: $CF_PTY_REPLY"

# SIGTERM ends the desk and restores the terminal, and it dies of it.
ZW_PASSWORD=zhangwei-password-3 desk_start sigterm
desk expect "张伟"
desk signal 15
desk_exit
[ "$CF_PTY_REPLY" = "ok signal=15 restored=1" ] ||
    cf_fail "SIGTERM did not end the desk cleanly: $CF_PTY_REPLY"

# A wrong password on the terminal: exit 1 before any screen.
ZW_PASSWORD=wrong-password-1 desk_start wrong
desk_exit
[ "$CF_PTY_REPLY" = "ok exit=1 restored=0" ] || cf_fail "a refused login on a terminal: $CF_PTY_REPLY"
grep -q "invalid user name or password" "$CF_WORK/desk-wrong.out" ||
    cf_fail "a refused login on a terminal did not say why"

cf_done
