#!/usr/bin/env bash
# cycle.sh [USERS] [SECONDS] [ROUNDS]: the database's side of one lead's
# dial and outcome, without the daemon, the simulator and the network
# sharing the CPUs with it.
#
# The database holds a campaign of 30,000 leads, each called twice in the
# past month (bench_call_history), and USERS agents (default 1,000).
# pgbench, from one client with prepared statements, opens a call on the
# next fresh lead with cf_dial and records its outcome with
# cf_record_outcome_scored (no answer, busy or not interested by the
# lead's id, the last a connect), as the last agent account made, for SECONDS
# (default 10), ROUNDS times (default 3). Each round prints the cycles a
# second and PostgreSQL's CPU time a cycle. With CYCLE_PROFILE=1 the
# statements, those inside functions too, that took the most time follow
# (pg_stat_statements; profiling costs some throughput).
#
# Two builds compared: run the script with CF_BUILD set to each, one
# after the other, more than once; a virtual machine's speed drifts.
#
# Needs what tests/run.sh installs; run as root or as a user that may
# start PostgreSQL through runuser (see deploy/pg-cluster.sh).
set -euo pipefail

USERS=${1:-1000}
SECONDS_RUN=${2:-10}
ROUNDS=${3:-3}
# A fresh lead for every cycle, at up to 2,000 cycles a second.
LEADS=$((SECONDS_RUN * ROUNDS * 2000))
if [ "${CYCLE_PROFILE:-0}" = 1 ]; then
    export CF_PG_SETTINGS="shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all"
fi
# shellcheck source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
bench_start bench_cycle
bench_busy_floor "$LEADS" "$USERS"
cf_stop_daemon
bench_call_history
# The daemon's hopper claimed leads before it stopped; pgbench dials as
# another daemon, which a live lease would refuse.
cf_psql "UPDATE leads SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner IS NOT NULL"
[ "${CYCLE_PROFILE:-0}" != 1 ] || cf_psql "CREATE EXTENSION pg_stat_statements" >/dev/null
agent=$(cf_psql "SELECT max(id) FROM users WHERE role = 'agent'")
first=$(cf_psql "SELECT min(id) FROM leads")
cf_psql "CREATE SEQUENCE bench_next_lead START $first" >/dev/null
last=$(cf_psql "SELECT max(id) FROM leads")
# A refused dial (no leads left, or a rule) leaves call 0, which the
# outcome then reports as "you have no call 0".
cat >"$CF_WORK/cycle.sql" <<EOF
SELECT nextval('bench_next_lead') AS lead \gset
\set outcome :lead % 3 + 1
SELECT coalesce(call_id, 0) AS call_id
    FROM cf_dial(:lead, $agent, 'bench-cycle', '15 minutes', '5 minutes') \gset
SELECT count(*) FROM cf_record_outcome_scored('cycle-' || :call_id, '\x01'::bytea, $agent,
    :call_id, (ARRAY['NO_ANSWER', 'BUSY', 'NOT_INTERESTED'])[:outcome], '', 30, '', NULL, '',
    0::smallint, '', 0);
EOF

bench_machine
echo "database: $("$PGC_BIN/postgres" --version), the test cluster's settings (tests/integration/pg_fixture.sh)"
echo "== one client, dial and outcome of a fresh lead as agent $agent of $USERS, $ROUNDS rounds of $SECONDS_RUN s"
[ "${CYCLE_PROFILE:-0}" != 1 ] || cf_psql "SELECT pg_stat_statements_reset()" >/dev/null
for round in $(seq 1 "$ROUNDS"); do
    before=$(bench_pg_cpu)
    report=$("$PGC_BIN/pgbench" -n -M prepared -c 1 -j 1 -T "$SECONDS_RUN" -f "$CF_WORK/cycle.sql" \
        "$CF_CONNINFO dbname=$CF_DB" 2>&1) || {
        echo "$report" >&2
        cf_fail "pgbench failed (\"you have no call 0\": a dial was refused; see above)"
    }
    # pgbench's session ends after it returns; its CPU counts once the
    # postmaster has collected it.
    for _ in $(seq 1 50); do
        [ "$(cf_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench'")" = 0 ] &&
            break
        sleep 0.1
    done
    sleep 0.2
    after=$(bench_pg_cpu)
    cycles=$(awk '/actually processed/ { print $NF }' <<<"$report")
    [ "${cycles:-0}" -gt 0 ] || cf_fail "pgbench reported no cycles: $report"
    [ "$(cf_psql "SELECT last_value FROM bench_next_lead")" -lt "$last" ] ||
        cf_fail "the leads ran out in round $round: make SECONDS or ROUNDS smaller"
    awk -v n="$cycles" -v s="$SECONDS_RUN" -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" \
        -v r="$round" 'BEGIN { printf "round %d: %d cycles, %.1f a second, PostgreSQL CPU %.3f ms a cycle\n",
                               r, n, n / s, t * 1000 / hz / n }'
done
open=$(cf_psql "SELECT count(*) FROM calls WHERE disposition IS NULL")
[ "$open" = 0 ] || cf_fail "$open calls were left open: a dial or an outcome was refused"
if [ "${CYCLE_PROFILE:-0}" = 1 ]; then
    echo "== statements by total time (ms), those run inside functions too"
    cf_psql "SELECT calls, round(total_exec_time::numeric) AS total_ms,
                    round(mean_exec_time::numeric, 3) AS ms_a_call,
                    left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
             FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25"
fi
cf_done
