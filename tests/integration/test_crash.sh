#!/usr/bin/env bash
# test_crash: callfloord killed with SIGKILL at random moments while 200
# simulated agents work the queue and two supervisors watch, and started
# again each time. The sessions come back by themselves and resend the
# outcomes not yet acknowledged under the same keys; a call left open by a
# dial whose answer was lost is handed back to its agent and ended.
# Afterwards the database holds every acknowledged outcome, no call was
# ended or scored twice, no lead was in two calls at once, and no call is
# left open.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIM=$CF_BUILD/bin/callfloor-sim
AGENTS=200
KILLS=3

cf_setup crash
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_busy_campaign 一组 3000
# One account made the usual way; the others share its password hash, which
# saves 200 argon2 hashings.
cf_add_user crashmodel agent 一组
cf_psql "INSERT INTO users (username, display_name, role, team_id, password_hash)
         SELECT 'crash' || lpad(g::text, 4, '0'), '坐席' || g, 'agent', u.team_id, u.password_hash
         FROM users u, generate_series(1, $AGENTS) g WHERE u.username = 'crashmodel'
         UNION ALL
         SELECT 'crashsup' || lpad(g::text, 4, '0'), '主管' || g, 'supervisor', u.team_id,
                u.password_hash
         FROM users u, generate_series(1, 2) g WHERE u.username = 'crashmodel'" >/dev/null

ended() { cf_psql "SELECT count(*) FROM calls WHERE disposition IS NOT NULL"; }

# wait_for_outcomes N WHY: until N calls have ended, or fail saying WHY.
wait_for_outcomes() {
    local deadline=$((SECONDS + 60))
    until [ "$(ended)" -ge "$1" ]; do
        [ "$SECONDS" -lt "$deadline" ] || cf_fail "$2 ($(ended) calls ended, $1 expected)"
        sleep 0.2
    done
}

CALLFLOOR_PASSWORD=crashmodel$CF_PASSWORD_SUFFIX "$SIM" --agents $AGENTS --supervisors 2 \
    --user-prefix crash --supervisor-prefix crashsup --duration 40 --talk-ms 300 \
    --connect-rate 400 --acks "$CF_WORK/acks" --json >"$CF_WORK/sim.json" 2>"$CF_WORK/sim.err" &
sim_pid=$!
# The kills begin once every session is in: a session that never got in
# is a failure the simulator does not retry.
deadline=$((SECONDS + 60))
until grep -q "sessions logged in; working" "$CF_WORK/sim.err"; do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "the simulated sessions did not all log in"
    sleep 0.2
done
wait_for_outcomes 300 "the simulated agents did not get going"

for round in $(seq 1 $KILLS); do
    sleep "$((RANDOM % 3)).$((RANDOM % 10))"
    before=$(ended)
    cf_kill_daemon
    echo "round $round: killed after $before ended calls"
    cf_start_daemon
    wait_for_outcomes $((before + 200)) "the agents did not carry on after restart $round"
done
rc=0
wait "$sim_pid" || rc=$?
report=$(cat "$CF_WORK/sim.json")
echo "callfloor-sim exited $rc: $report"
# Lost sessions make the exit status 1; anything else is wrong.
[ "$rc" = 0 ] || [ "$rc" = 1 ] || cf_fail "callfloor-sim failed: $(cat "$CF_WORK/sim.err")"
cf_json_check "doc['logins_ok'] == $AGENTS + 2 and doc['refused'] == 0
    and doc['sessions_lost'] >= $AGENTS and doc['reconnects'] >= $AGENTS
    and doc['outcomes_acked'] > 0 and doc['left_open'] == 0" <<<"$report" ||
    cf_fail "the sessions did not all come back, or a request was refused: $report"

acked=$(wc -l <"$CF_WORK/acks")
[ "$acked" = "$(sort -u "$CF_WORK/acks" | wc -l)" ] || cf_fail "an outcome was acknowledged twice"
ids=$(paste -sd, "$CF_WORK/acks")
[ "$(cf_psql "SELECT count(*) FROM calls WHERE id IN ($ids) AND disposition IS NOT NULL")" = "$acked" ] ||
    cf_fail "an acknowledged outcome is missing from the database"
[ "$(cf_psql "SELECT count(*) FROM (SELECT call_id FROM score_events WHERE kind = 'dial'
              GROUP BY call_id HAVING count(*) > 1) twice")" = 0 ] ||
    cf_fail "a call was scored twice"
[ "$(cf_psql "SELECT count(*) FROM calls k WHERE disposition IS NOT NULL AND NOT EXISTS
              (SELECT 1 FROM score_events e WHERE e.call_id = k.id AND e.kind = 'dial')")" = 0 ] ||
    cf_fail "an ended call was not scored"
[ "$(cf_psql "SELECT count(*) FROM calls a JOIN calls b ON b.lead_id = a.lead_id AND b.id > a.id
              WHERE b.started_at < coalesce(a.ended_at, 'infinity')")" = 0 ] ||
    cf_fail "a lead was in two calls at once"
open=$(cf_psql "SELECT string_agg(id || ' by ' || agent_id, ', ') FROM calls WHERE disposition IS NULL")
[ -z "$open" ] || cf_fail "calls were left open: $open"
[ "$(cf_psql "SELECT count(*) FROM applications a JOIN calls k ON k.id = a.call_id
              WHERE k.disposition <> 'APPLICATION_SUBMITTED'")" = 0 ] ||
    cf_fail "an application belongs to a call with another outcome"
cf_done
