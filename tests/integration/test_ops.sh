#!/usr/bin/env bash
# test_ops: what operators rely on. The systemd notify protocol, seen by a
# fake NOTIFY_SOCKET: READY=1 once listening, STATUS= and WATCHDOG=1 from
# the loop, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on SIGTERM.
# Reload with a good configuration (a reloadable key takes effect) and a
# bad one (kept the old, said why with file:line). The Prometheus endpoint
# parsed, its counters moving with a call; callfloorctl status shows the
# same figures.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup ops
# The fake systemd: every datagram on the socket, one per paragraph.
python3 - "$CF_WORK/notify.sock" "$CF_WORK/notify.log" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode() + "\n--\n")
PY
notifier=$!
cf_defer kill "$notifier"
cf_wait_for_socket() { for _ in $(seq 50); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }
cf_wait_for_socket "$CF_WORK/notify.sock" || cf_fail "the fake notify socket did not appear"
NOTIFY_SOCKET=$CF_WORK/notify.sock WATCHDOG_USEC=1000000 cf_start_daemon
unset NOTIFY_SOCKET WATCHDOG_USEC
cf_wait_for "$CF_WORK/notify.log" "READY=1"
cf_wait_for "$CF_WORK/notify.log" "WATCHDOG=1"
cf_wait_for "$CF_WORK/notify.log" "STATUS=0 agents"

# A reloadable key takes effect on SIGHUP.
sed -i 's/^level = info$/level = debug/' "$CF_CONFIG"
kill -HUP "$CF_DAEMON_PID"
cf_wait_for "$CF_LOG" "configuration and certificates reloaded"
cf_ctl status >/dev/null
cf_wait_for "$CF_LOG" "DEBUG"
python3 - "$CF_WORK/notify.log" <<'PY' || cf_fail "the reload was not announced as RELOADING=1 then READY=1: $(cat "$CF_WORK/notify.log")"
import sys
msgs = [m.strip() for m in open(sys.argv[1]).read().split("\n--\n") if m.strip()]
i = msgs.index("RELOADING=1")
assert msgs[0] == "READY=1" and "READY=1" in msgs[i + 1:], msgs
PY
# A bad file keeps the running settings and says where it is wrong.
cp "$CF_CONFIG" "$CF_WORK/good.conf"
printf '\n[board]\nno_such_key = 1\n' >>"$CF_CONFIG"
kill -HUP "$CF_DAEMON_PID"
cf_wait_for "$CF_LOG" "reload failed; keeping the current settings"
grep -q "callfloord.conf:[0-9]*.*no_such_key" "$CF_LOG" ||
    cf_fail "the bad line was not named: $(tail -5 "$CF_LOG")"
cf_expect_exit 0 cf_ctl status
cp "$CF_WORK/good.conf" "$CF_CONFIG"

# The endpoint, parsed; a call moves its counters.
metric() { cf_metrics | awk -v m="$1" '$1 == m { print $2 }'; }
before=$(metric callfloor_tls_handshakes_total)
[ -n "$before" ] || cf_fail "no TLS handshake counter: $(cf_metrics | head -20)"
[ "$(cf_metrics /other)" = "HTTP 404" ] || cf_fail "a wrong path was not answered 404"
cf_ctl team add 一组 >/dev/null
cf_ctl product add CB01 --name 畅享返现卡 --apr 18.25 >/dev/null
cf_ctl campaign add 春季 --product CB01 --team 一组 >/dev/null
printf 'name,phone,time_zone\n客户1,13800000001,%s\n' "$(cf_zone_at 12)" >"$CF_WORK/leads.csv"
cf_ctl leads import 春季 "$CF_WORK/leads.csv" >/dev/null
cf_add_user a1 agent 一组
cf_agent a1 < <(printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' \
    '{"cmd":"dial"}' '{"cmd":"outcome","disposition":"NO_ANSWER"}')
[ "$CF_AGENT_RC" = 0 ] || cf_fail "the call failed (see $CF_WORK/a1.out)"
[ "$(metric callfloor_leads_offered_total)" = 1 ] || cf_fail "the offer was not counted: $(cf_metrics)"
[ "$(metric 'callfloor_outcomes_total{disposition="NO_ANSWER"}')" = 1 ] ||
    cf_fail "the outcome was not counted: $(cf_metrics | grep outcomes)"
[ "$(metric callfloor_offer_latency_seconds_count)" = 1 ] || cf_fail "the offer latency was not measured"
[ "$(metric callfloor_outcome_latency_seconds_count)" = 1 ] || cf_fail "the outcome latency was not measured"
[ "$(metric callfloor_tls_handshakes_total)" -gt "$before" ] || cf_fail "handshakes were not counted"
[ "$(metric callfloor_db_roundtrip_seconds_count)" -gt 10 ] || cf_fail "database round trips were not measured"
metric 'callfloor_hopper_depth{campaign="春季"}' | grep -qE '^[0-9]+$' || cf_fail "no hopper depth for 春季"
cf_expect_output_contains "1 leads offered, 1 outcomes" cf_ctl status
cf_expect_exit 0 cf_ctl --json status
cf_json_check 'doc["leads_offered"] == 1 and doc["outcomes"] == 1 and doc["db_p99_ms"] > 0' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "status --json lacks the figures: $CF_LAST_OUTPUT"

cf_stop_daemon
grep -q "STOPPING=1" "$CF_WORK/notify.log" || cf_fail "the drain was not announced: $(cat "$CF_WORK/notify.log")"
cf_done
