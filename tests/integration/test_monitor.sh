#!/usr/bin/env bash
# test_monitor: callfloor-monitor as a supervisor uses it. --json --once:
# one snapshot of the floor (sessions by role with an agent online, the
# database, the teams with Chinese names); --json streaming: a snapshot
# per interval, an error line while the daemon is down, snapshots again
# after it is back; an agent is refused (exit 1) with the server's reason;
# every exit status; the full screen on a pseudo terminal shows the floor,
# survives a resize and quits on q or SIGTERM with the terminal restored.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MONITOR=$CF_BUILD/bin/callfloor-monitor

cf_setup monitor
cf_expect_exit 0 "$MONITOR" --help
for text in "Usage:" "--json" "--interval" "CALLFLOOR_SERVER" "Exit status"; do
    grep -qF -- "$text" <<<"$CF_LAST_OUTPUT" || cf_fail "--help does not mention $text"
done
cf_expect_exit 0 "$MONITOR" --version
cf_expect_exit 2 "$MONITOR" --frobnicate
cf_expect_exit 2 "$MONITOR" --interval 0 --json
cf_expect_exit 2 "$MONITOR" --once
cf_expect_exit 2 "$MONITOR" </dev/null
grep -q -- "--json" <<<"$CF_LAST_OUTPUT" || cf_fail "no terminal and no hint at --json: $CF_LAST_OUTPUT"
CALLFLOOR_SERVER=127.0.0.1:1 cf_expect_exit 3 "$MONITOR" --json --once
cf_json_check 'doc["error"]["code"] == "CONNECT_FAILED"' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "an unreachable server is not one JSON error: $CF_LAST_OUTPUT"

cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_ctl team add 二组 >/dev/null
cf_add_user sue supervisor 一组
cf_add_user ann agent 一组
cf_add_user bob agent 二组

# An agent online while the supervisor looks: the sessions by role count it.
cf_as bob "$CF_BUILD/tests/cf_probe" 30 idle >"$CF_WORK/probe.out" 2>"$CF_WORK/probe.err" &
probe_pid=$!
cf_defer kill "$probe_pid"
for _ in $(seq 100); do
    grep -q ready "$CF_WORK/probe.out" && break
    sleep 0.1
done
grep -q ready "$CF_WORK/probe.out" || cf_fail "cf_probe never logged in: $(cat "$CF_WORK/probe.err")"
cf_as sue cf_expect_exit 0 "$MONITOR" --json --once
cf_json_check 'doc["status"]["supervisors"] == 1 and doc["status"]["agents"] == 1 and doc["status"]["admins"] == 0 and doc["status"]["sessions"] == 2 and doc["status"]["db_ok"] and doc["status"]["db_connections_ready"] >= 1 and doc["status"]["schema_version"] >= 1 and doc["status"]["server_version"] != "" and sorted(t["name"] for t in doc["teams"]) == ["一组", "二组"] and {t["name"]: t["members"] for t in doc["teams"]}["一组"] == 2' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "the snapshot is wrong: $CF_LAST_OUTPUT"
kill "$probe_pid"
wait "$probe_pid" || true
cf_as ann cf_expect_exit 1 "$MONITOR" --json --once
cf_json_check 'doc["error"]["code"] == "PERMISSION_DENIED" and "supervisor or admin" in doc["error"]["message"]' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "an agent was not refused: $CF_LAST_OUTPUT"
CALLFLOOR_USER=sue CALLFLOOR_PASSWORD=wrong-password-1 cf_expect_exit 1 "$MONITOR" --json --once

# Streaming: snapshots, an error while the daemon is down, then snapshots
# again after it is back.
CALLFLOOR_USER=sue CALLFLOOR_PASSWORD=sue$CF_PASSWORD_SUFFIX "$MONITOR" --json --interval 1 \
    >"$CF_WORK/stream.out" 2>&1 &
stream_pid=$!
cf_defer kill "$stream_pid"
sleep 2.5
cf_stop_daemon
sleep 1.5
cf_start_daemon
sleep 4
kill -TERM "$stream_pid"
wait "$stream_pid" || true
python3 - "$CF_WORK/stream.out" <<'PY' || cf_fail "the stream did not go through the restart: $(cat "$CF_WORK/stream.out")"
import json, sys
kinds = []
for line in open(sys.argv[1], encoding="utf-8"):
    doc = json.loads(line)
    kinds.append("error" if "error" in doc else "snapshot")
first_error = kinds.index("error")
assert kinds[0] == "snapshot" and "snapshot" in kinds[first_error:], kinds
# One line per failure, not one per second of the wait.
assert kinds.count("error") <= 4, kinds
PY

# The full screen.
cf_pty_start screen env CALLFLOOR_USER=sue CALLFLOOR_PASSWORD=sue$CF_PASSWORD_SUFFIX "$MONITOR" --interval 1
cf_pty expect "二组"
cf_pty expect "connected"
cf_pty expect "Database pool:"
cf_pty resize 30 100
cf_pty expect "一组"
cf_pty type r
cf_pty expect "Leaderboard, every team, today"
cf_pty type p
cf_pty expect "Leaderboard, every team, this week"
cf_pty type t
cf_pty expect "Leaderboard, 一组, this week"
cf_pty type q
cf_pty_exit
[ "$CF_PTY_REPLY" = "ok exit=0 restored=1" ] || cf_fail "q did not end the monitor cleanly: $CF_PTY_REPLY"
cf_pty_start screen2 env CALLFLOOR_USER=sue CALLFLOOR_PASSWORD=sue$CF_PASSWORD_SUFFIX "$MONITOR"
cf_pty expect "一组"
cf_pty signal 15
cf_pty_exit
[ "$CF_PTY_REPLY" = "ok signal=15 restored=1" ] || cf_fail "SIGTERM did not end the monitor cleanly: $CF_PTY_REPLY"
cf_pty_start screen3 env CALLFLOOR_USER=ann CALLFLOOR_PASSWORD=ann$CF_PASSWORD_SUFFIX "$MONITOR"
cf_pty_exit
[[ $CF_PTY_REPLY == "ok exit=1 restored="* ]] || cf_fail "an agent's monitor did not exit 1: $CF_PTY_REPLY"
grep -q "needs the supervisor or admin role" "$CF_WORK/screen3.out" ||
    cf_fail "the agent was not told why"
cf_done
