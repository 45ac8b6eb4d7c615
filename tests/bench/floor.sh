#!/usr/bin/env bash
# floor.sh [AGENTS] [SUPERVISORS] [SECONDS] [TALK_MS]: a working floor
# against its peer, pgbench, on the same machine and database in the same
# run.
#
# The database holds 50,000 leads, each called twice in the past month
# (FLOOR_HISTORY=0: no calls, and not analysed by the script, as a
# database just loaded).
#
# 1. callfloor-sim: AGENTS agents (default 200) work the queue for SECONDS
#    (default 20) with conversations of TALK_MS (default 0: as fast as the
#    daemon answers) while SUPERVISORS (default 5) watch the board. Its
#    report: outcomes acknowledged a second, ready->offer, outcome->ack and
#    outcome->push percentiles, the daemon's memory and CPU; then the
#    daemon's own latency histograms, read from its /metrics endpoint.
# 2. pgbench, as many clients as the daemon has database connections and
#    then 32, prepared statements, the transaction an outcome amounts to:
#    insert the ended call, update the lead, insert the score event.
# 3. pgbench with the hopper's own claim statement (server/hopper.c), one
#    lead per transaction against a batch of 20: leads claimed a second.
#
# It also prints the CPU time PostgreSQL's processes used during the
# simulator's run, and with FLOOR_PROFILE=1 the database functions that
# took the most time of their own (track_functions = all), the
# statements, those inside functions too, that took the most time, and
# those that took the most time to plan (pg_stat_statements); profiling
# costs some throughput.
#
# Needs what tests/run.sh installs; run as root or as a user that may
# start PostgreSQL through runuser (see deploy/pg-cluster.sh).
set -euo pipefail

AGENTS=${1:-200}
SUPERVISORS=${2:-5}
SECONDS_RUN=${3:-20}
TALK_MS=${4:-0}
LEADS=50000
if [ "${FLOOR_PROFILE:-0}" = 1 ]; then
    export CF_PG_SETTINGS="shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
pg_stat_statements.track_planning = on"
fi
# shellcheck source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
bench_start bench_floor
bench_busy_floor "$LEADS" "$AGENTS" "$SUPERVISORS"
if [ "${FLOOR_PROFILE:-0}" = 1 ]; then
    cf_psql "CREATE EXTENSION pg_stat_statements" >/dev/null
    cf_psql "ALTER DATABASE $CF_DB SET track_functions = 'all'"
    cf_stop_daemon # its connections take the setting when they open again
    cf_start_daemon
fi
# A floor that has worked before: every lead was called twice in the past
# month (no answer, a dial's score event each), and the statistics are up
# to date. In a database just loaded, with no calls and no statistics,
# PostgreSQL planned the offer's history query again for most offers while
# the calls table filled (docs/BENCHMARKS.md); a database in use has both.
# The leads' attempt counts stay 0: the campaign allows 99. The daemon is
# stopped meanwhile, so that it is not told of 100,000 score events as if
# another daemon had written them, and starts again as after a restart.
if [ "${FLOOR_HISTORY:-1}" = 1 ]; then
    echo "adding a month of call history ($((2 * LEADS)) calls) and analysing..." >&2
    cf_stop_daemon
    bench_call_history
    cf_start_daemon
fi

bench_machine
echo "database: $("$PGC_BIN/postgres" --version), the test cluster's settings (tests/integration/pg_fixture.sh)"

echo "== callfloor-sim --agents $AGENTS --supervisors $SUPERVISORS --duration $SECONDS_RUN --talk-ms $TALK_MS"
sim_args=(--agents "$AGENTS" --supervisors "$SUPERVISORS" --duration "$SECONDS_RUN"
    --talk-ms "$TALK_MS" --user-prefix bench --supervisor-prefix benchsup
    --server-pid "$CF_DAEMON_PID" --connect-rate 400)
pg_before=$(bench_pg_cpu)
if [ "${FLOOR_PROFILE:-0}" = 1 ]; then
    # From here on only: not the history's inserts and their triggers.
    cf_psql "SELECT pg_stat_statements_reset()" >/dev/null
    cf_psql "SELECT pg_stat_reset_single_function_counters(funcid) FROM pg_stat_user_functions" \
        >/dev/null
fi
CALLFLOOR_PASSWORD=benchmodel$CF_PASSWORD_SUFFIX "$CF_BUILD/bin/callfloor-sim" "${sim_args[@]}" || true
pg_after=$(bench_pg_cpu)
bench_server_latency # the logins and the wind-down included
awk -v t=$((pg_after - pg_before)) -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "PostgreSQL: %.2f s of CPU during the run (logins and the whole duration)\n", t / hz }'
if [ "${FLOOR_PROFILE:-0}" = 1 ]; then
    echo "== database functions by time of their own (ms)"
    cf_psql "SELECT funcname, calls, round(self_time::numeric) AS self_ms,
                    round((self_time / calls)::numeric, 3) AS ms_a_call
             FROM pg_stat_user_functions WHERE calls > 0 ORDER BY self_time DESC LIMIT 10"
    echo "== statements by total time (ms), those run inside functions too"
    cf_psql "SELECT calls, round(total_exec_time::numeric) AS total_ms,
                    round(mean_exec_time::numeric, 3) AS ms_a_call,
                    round(max_exec_time::numeric, 1) AS max_ms,
                    left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
             FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25"
    echo "== statements by time spent planning them (ms): plans, executions, total, per plan"
    cf_psql "SELECT plans, calls, round(total_plan_time::numeric) AS plan_ms,
                    round(mean_plan_time::numeric, 3) AS ms_a_plan,
                    left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
             FROM pg_stat_statements WHERE plans > 0 ORDER BY total_plan_time DESC LIMIT 15"
fi

campaign=$(cf_psql "SELECT id FROM campaigns WHERE name = '春季'")
team=$(cf_psql "SELECT id FROM teams WHERE name = 'bench'")
agent=$(cf_psql "SELECT id FROM users WHERE username = 'benchmodel'")
cf_stop_daemon
dbconn="$CF_CONNINFO dbname=$CF_DB"

first=$(cf_psql "SELECT min(id) FROM leads WHERE campaign_id = $campaign")
cat >"$CF_WORK/outcome.sql" <<EOF
\set lead random($first, $first + $LEADS - 1)
BEGIN;
INSERT INTO calls (lead_id, campaign_id, agent_id, ended_at, disposition, idempotency_key)
    VALUES (:lead, $campaign, $agent, now(), 'NO_ANSWER', gen_random_uuid()::text);
UPDATE leads SET attempts = attempts + 1, next_eligible_at = now() + interval '1 second'
    WHERE id = :lead;
INSERT INTO score_events (agent_id, team_id, campaign_id, call_id, kind, points)
    VALUES ($agent, $team, $campaign, currval('calls_id_seq'), 'dial', 0);
END;
EOF
pool=$(awk -F' *= *' '$1 == "pool_size" { print $2 }' "$CF_CONFIG")
for clients in "$pool" 32; do
    echo "== pgbench: the outcome transaction, $clients clients, prepared, $SECONDS_RUN s"
    "$PGC_BIN/pgbench" -n -M prepared -c "$clients" -j 2 -T "$SECONDS_RUN" -f "$CF_WORK/outcome.sql" \
        "$dbconn" 2>&1 | grep -E '^(tps|latency average|number of transactions actually)'
done

# The claim of server/hopper.c (hopper_walk_in_order, then hopper_claim
# with the rules of ELIGIBLE_LEAD and ELIGIBLE_LOCALLY, the same rules in
# another order; keep the two alike), but with a zero lease, which puts every lead back at
# once so that the queue never runs out during the run.
for limit in 1 20; do
    cat >"$CF_WORK/claim$limit.sql" <<EOF
BEGIN;
SELECT set_config('enable_sort', 'off', true);
UPDATE leads l SET lease_owner = 'pgbench', lease_expires_at = now()
 WHERE l.id IN (SELECT q.id FROM leads q JOIN campaigns c ON c.id = q.campaign_id
 WHERE q.campaign_id = $campaign AND q.status = 'open' AND NOT c.paused AND q.next_eligible_at <= now()
 AND (q.lease_expires_at IS NULL OR q.lease_expires_at < now())
 AND q.attempts < c.max_attempts
 AND (q.attempts_day IS DISTINCT FROM (now() AT TIME ZONE coalesce(q.time_zone, c.time_zone))::date
      OR q.attempts_today < c.max_attempts_per_day)
 AND cf_in_window(coalesce(q.time_zone, c.time_zone), c.window_start, c.window_end, c.days, now())
 AND NOT EXISTS (SELECT 1 FROM dnc d WHERE d.phone_hmac = q.phone_hmac)
 AND NOT EXISTS (SELECT 1 FROM calls k WHERE k.lead_id = q.id AND k.disposition IS NULL)
 ORDER BY (q.callback_owner IS NOT NULL) DESC, (q.tier = 'vip') DESC, q.score DESC, q.created_at, q.id
 LIMIT $limit FOR UPDATE OF q SKIP LOCKED) RETURNING l.id;
END;
EOF
    echo "== pgbench: the hopper's claim, $limit lead(s) per transaction, $pool clients, $SECONDS_RUN s"
    tps=$("$PGC_BIN/pgbench" -n -M prepared -c "$pool" -j 2 -T "$SECONDS_RUN" -f "$CF_WORK/claim$limit.sql" \
        "$dbconn" 2>&1 | awk '/^tps/ { print $3 }')
    awk -v t="$tps" -v n="$limit" 'BEGIN { printf "%.0f transactions a second = %.0f leads a second\n", t, t * n }'
done
cf_done
