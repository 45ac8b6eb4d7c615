#!/usr/bin/env bash
# test_sim: callfloor-sim logs in many sessions over real TLS and reports
# latency percentiles: all 20 agents in, numbers in every percentile field,
# pings answered; a wrong password is a failed login (exit 1) with the
# server's reason; missing accounts are named; usage errors exit 2 and an
# unreachable server exits 3.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIM=$CF_BUILD/bin/callfloor-sim

cf_setup sim
cf_expect_exit 0 "$SIM" --help
for text in "--agents" "--connect-rate" "--user-prefix" "callfloorctl user add" "Exit status"; do
    grep -qF -- "$text" <<<"$CF_LAST_OUTPUT" || cf_fail "--help does not mention $text"
done
cf_expect_exit 2 "$SIM"
cf_expect_exit 2 "$SIM" --agents 0
cf_expect_exit 2 "$SIM" --agents 5 --user someone
cf_expect_exit 2 "$SIM" --agents 5 --frobnicate
CALLFLOOR_SERVER=127.0.0.1:1 CALLFLOOR_PASSWORD=sim-password-1 cf_expect_exit 3 "$SIM" --agents 2 --duration 1 --json

cf_start_daemon
cf_ctl team add 一组 >/dev/null
for i in $(seq -w 1 20); do
    cf_ctl user add "sim00$i" --role agent --team 一组 <<<'sim-password-1' >/dev/null
done

export CALLFLOOR_PASSWORD=sim-password-1
cf_expect_exit 0 "$SIM" --agents 20 --connect-rate 50 --duration 2 --json
cf_json_check 'doc["logins_ok"] == 20 and doc["logins_failed"] == 0 and doc["login_ms"]["count"] == 20 and all(isinstance(doc[k][p], (int, float)) for k in ("login_ms", "ping_rtt_ms") for p in ("p50", "p90", "p99", "max")) and doc["ping_rtt_ms"]["count"] >= 20 and doc["login_ms"]["p50"] <= doc["login_ms"]["max"]' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "the report is wrong: $CF_LAST_OUTPUT"
cf_expect_output_contains "20 of 20 sessions logged in" "$SIM" --agents 20 --duration 1

CALLFLOOR_PASSWORD=wrong-password-1 cf_expect_exit 1 "$SIM" --agents 3 --duration 1 --json
cf_json_check 'doc["logins_ok"] == 0 and doc["logins_failed"] == 3 and "invalid user name or password" in doc["first_failure"]' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "a wrong password is not reported: $CF_LAST_OUTPUT"
# sim0021 does not exist: 20 logins work, one fails, exit 1.
cf_expect_exit 1 "$SIM" --agents 21 --duration 1 --json
cf_json_check 'doc["logins_ok"] == 20 and doc["logins_failed"] == 1' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a missing account is not counted: $CF_LAST_OUTPUT"
cf_done
