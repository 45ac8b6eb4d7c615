#!/usr/bin/env bash
# test_sim: callfloor-sim logs in many sessions over real TLS and reports
# latency percentiles: all 20 agents in, numbers in every percentile field,
# pings answered; a wrong password is a failed login (exit 1) with the
# server's reason; missing accounts are named; usage errors exit 2 and an
# unreachable server exits 3. With a campaign and leads the agents work:
# every acknowledged outcome is in the database once, the mix has
# applications, the supervisors see the pushes (150 of them: every board
# shows every last outcome), no call is left open and
# the daemon's memory and CPU are reported. Calls still open when the time
# is up (the wind-down) are timed apart from the rest.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIM=$CF_BUILD/bin/callfloor-sim

cf_setup sim
cf_expect_exit 0 "$SIM" --help
for text in "--agents" "--supervisors" "--talk-ms" "--acks" "--server-pid" "--connect-rate" \
    "--user-prefix" "callfloorctl user add" "Exit status"; do
    grep -qF -- "$text" <<<"$CF_LAST_OUTPUT" || cf_fail "--help does not mention $text"
done
cf_expect_exit 2 "$SIM"
cf_expect_exit 2 "$SIM" --agents 0
cf_expect_exit 2 "$SIM" --agents 5 --user someone
cf_expect_exit 2 "$SIM" --agents 5 --frobnicate
cf_expect_exit 2 "$SIM" --agents 5 --talk-ms -1
cf_expect_exit 2 "$SIM" --agents 5 --acks /nonexistent/dir/acks
CALLFLOOR_SERVER=127.0.0.1:1 CALLFLOOR_PASSWORD=sim-password-1 cf_expect_exit 3 "$SIM" --agents 2 --duration 1 --json --quiet

cf_start_daemon
cf_ctl team add 一组 >/dev/null
for i in $(seq -w 1 20); do
    cf_ctl user add "sim00$i" --role agent --team 一组 <<<'sim-password-1' >/dev/null
done

export CALLFLOOR_PASSWORD=sim-password-1
cf_expect_exit 0 "$SIM" --agents 20 --connect-rate 50 --duration 2 --idle --json --quiet
cf_json_check 'doc["logins_ok"] == 20 and doc["logins_failed"] == 0 and doc["login_ms"]["count"] == 20 and all(isinstance(doc[k][p], (int, float)) for k in ("login_ms", "ping_rtt_ms") for p in ("p50", "p90", "p99", "max")) and doc["ping_rtt_ms"]["count"] >= 20 and doc["login_ms"]["p50"] <= doc["login_ms"]["max"]' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "the report is wrong: $CF_LAST_OUTPUT"
cf_expect_output_contains "20 of 20 sessions logged in" "$SIM" --agents 20 --duration 1 --idle

CALLFLOOR_PASSWORD=wrong-password-1 cf_expect_exit 1 "$SIM" --agents 3 --duration 1 --idle --json --quiet
cf_json_check 'doc["logins_ok"] == 0 and doc["logins_failed"] == 3 and "invalid user name or password" in doc["first_failure"]' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "a wrong password is not reported: $CF_LAST_OUTPUT"
# sim0021 does not exist: 20 logins work, one fails, exit 1.
cf_expect_exit 1 "$SIM" --agents 21 --duration 1 --idle --json --quiet
cf_json_check 'doc["logins_ok"] == 20 and doc["logins_failed"] == 1' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a missing account is not counted: $CF_LAST_OUTPUT"

# A working floor: 20 agents and 3 supervisors for 4 seconds.
export CALLFLOOR_PASSWORD=admin$CF_PASSWORD_SUFFIX
cf_busy_campaign 一组 600
for i in 1 2 3; do
    cf_ctl user add "simsup000$i" --role supervisor --team 一组 <<<'sim-password-1' >/dev/null
done
# The daemon that added the campaign reloads its campaigns at once
# (server/campaign.c); the 2 s run below must find this one loaded.
for _ in $(seq 100); do cf_campaign_loaded 春季 && break; sleep 0.1; done
cf_campaign_loaded 春季 || cf_fail "the daemon did not load the new campaign within 10 s"
# Calls still in progress when the time is up end all at once; that burst
# is reported apart and stays out of the outcome->ack and push figures,
# and offers made while sessions still came in are not timed.
CALLFLOOR_PASSWORD=sim-password-1 cf_expect_exit 0 "$SIM" --agents 5 --supervisors 1 --duration 2 \
    --talk-ms 60000 --json --quiet
cf_json_check 'doc["outcomes_acked"] == 5 and doc["wind_down_ack_ms"]["count"] == 5
    and doc["ack_ms"]["count"] == 0 and doc["push_ms"]["count"] == 0
    and doc["offer_ms"]["count"] == 0' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "the wind-down's outcomes were not kept apart: $CF_LAST_OUTPUT"
applications_before=$(cf_psql "SELECT count(*) FROM applications") # the wind-down run's
CALLFLOOR_PASSWORD=sim-password-1 cf_expect_exit 0 "$SIM" --agents 20 --supervisors 3 --duration 4 --talk-ms 50 \
    --acks "$CF_WORK/acks" --server-pid "$CF_DAEMON_PID" --json --quiet
report=$CF_LAST_OUTPUT
printf "%s\n" "$report" >"$CF_WORK/report.json"
cf_json_check 'doc["logins_ok"] == 23 and doc["offers"] >= 40 and doc["dials"] >= 40
    and doc["outcomes_acked"] >= 40 and doc["refused"] == 0 and doc["applications"] >= 1
    and doc["ack_ms"]["count"] >= 30
    and doc["ack_ms"]["count"] + doc["wind_down_ack_ms"]["count"] <= doc["outcomes_acked"]
    and doc["offer_ms"]["count"] >= 30
    and doc["push_ms"]["count"] >= 3 and doc["outcomes_per_s"] > 0
    and doc["server"]["rss_kb"] > 0 and doc["server"]["cpu_s"] >= 0 and doc["sim_cpu_s"] > 0' <<<"$report" ||
    cf_fail "the working run's report is wrong: $report"
acked=$(wc -l <"$CF_WORK/acks")
[ "$acked" = "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["outcomes_acked"])' <<<"$report")" ] ||
    cf_fail "the acks file and the report disagree"
ids=$(paste -sd, "$CF_WORK/acks")
[ "$(cf_psql "SELECT count(DISTINCT id) FROM calls WHERE id IN ($ids) AND disposition IS NOT NULL")" = "$acked" ] ||
    cf_fail "an acknowledged outcome is not in the database"
[ "$(cf_psql "SELECT count(*) FROM score_events WHERE kind = 'dial' AND call_id IN ($ids)")" = "$acked" ] ||
    cf_fail "an acknowledged outcome was scored other than once"
[ "$(cf_psql "SELECT count(*) FROM calls WHERE disposition IS NULL")" = 0 ] ||
    cf_fail "the run left a call open"
[ "$(cf_psql "SELECT count(*) - $applications_before FROM applications")" = "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["applications"])' <<<"$report")" ] ||
    cf_fail "the applications in the database are not the ones reported"
# More supervisors than the daemon sends to in one turn of its loop (64,
# server/board.c): changes that come while a push is on its way still
# reach every board.
cf_psql "INSERT INTO users (username, role, team_id, password_hash)
         SELECT 'simsup' || lpad(g::text, 4, '0'), 'supervisor', team_id, password_hash
         FROM users, generate_series(4, 150) g WHERE username = 'simsup0001'" >/dev/null
CALLFLOOR_PASSWORD=sim-password-1 cf_expect_exit 0 "$SIM" --agents 5 --supervisors 150 --duration 3 \
    --talk-ms 100 --connect-rate 400 --json --quiet
cf_json_check 'doc["logins_ok"] == 155 and doc["outcomes_acked"] >= 10 and doc["boards_behind"] == 0
    and doc["fanout_ms"]["count"] >= 150 and doc["supervisor_pushes"] >= 300' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a supervisor's board was left behind: $CF_LAST_OUTPUT"
CALLFLOOR_PASSWORD=sim-password-1 cf_expect_output_contains "outcome->ack" "$SIM" --agents 5 --duration 1 --talk-ms 0
grep -Eq 'outcome->ack +[1-9][0-9]* samples +p50' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "the text report has no acknowledgement percentiles: $CF_LAST_OUTPUT"
cf_done
