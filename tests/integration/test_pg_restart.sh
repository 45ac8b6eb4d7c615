#!/usr/bin/env bash
# test_pg_restart: PostgreSQL restarts (a failover) and then stays down for
# a few seconds while clients are connected. The daemon survives both in
# the same process; requests meanwhile fail with the retryable UNAVAILABLE
# (with a retry hint) and nothing else; the pool reconnects with backoff
# rather than in a tight loop; the sessions stay up and are served again
# afterwards, and new logins work. Thirty simulated agents work the queue
# through both outages, resending what the daemon asked them to retry:
# every outcome acknowledged is in the database, scored once, and no call
# is left open.
# ctest: run-serial (it restarts the shared PostgreSQL)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROBE=$CF_BUILD/tests/cf_probe
PROBES=4

# Ends a helper started in the background, if it still runs.
stop_quietly() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# Whatever happens, the fixture is left running for the other tests.
pg_start() {
    pgc_running "$pg_home/data" ||
        pgc_ctl "$pg_home/data" start -w -t 60 -l "$pg_home/pg.log" >>"$CF_WORK/pg_ctl.log" 2>&1
}

# until_served SECONDS: waits until a new login and a database request
# work again; prints how many seconds that took.
until_served() {
    local started=$SECONDS
    until cf_ctl team list >/dev/null 2>&1; do
        [ $((SECONDS - started)) -lt "$1" ] || cf_fail "the daemon was not serving again within $1 s"
        sleep 0.2
    done
    echo $((SECONDS - started))
}

# The connection attempts one pool connection made while PostgreSQL was
# down (the first failure is a warning, the repeats are debug lines).
attempts_of() {
    log_since_stop | grep -c "database connection $1 cannot connect" || true
}

log_since_stop() {
    tail -n +"$((stop_mark + 1))" "$CF_LOG"
}

cf_setup pg_restart
pg_home=$(readlink -f "$CF_PGDIR")
cf_defer pg_start
cf_start_daemon --set log.level=debug
daemon_pid=$CF_DAEMON_PID
cf_add_user sue supervisor

# Agents at work all along.
cf_ctl team add 一组 >/dev/null
cf_busy_campaign 一组 2000
cf_add_user loadmodel agent 一组
cf_psql "INSERT INTO users (username, role, team_id, password_hash)
         SELECT 'load' || lpad(g::text, 4, '0'), 'agent', team_id, password_hash
         FROM users, generate_series(1, 30) g WHERE username = 'loadmodel'" >/dev/null
CALLFLOOR_PASSWORD=loadmodel$CF_PASSWORD_SUFFIX "$CF_BUILD/bin/callfloor-sim" --agents 30 \
    --user-prefix load --duration 25 --talk-ms 100 --acks "$CF_WORK/acks" --json \
    >"$CF_WORK/sim.json" 2>"$CF_WORK/sim.err" &
sim_pid=$!
cf_defer stop_quietly "$sim_pid"
deadline=$((SECONDS + 60))
until grep -q "sessions logged in; working" "$CF_WORK/sim.err"; do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "the simulated agents did not log in: $(cat "$CF_WORK/sim.err")"
    sleep 0.2
done

# Sessions of two users, asking ten times a second all along.
for i in $(seq "$PROBES"); do
    user="admin"
    [ "$i" = 1 ] || user=sue
    CALLFLOOR_USER=$user CALLFLOOR_PASSWORD=$user$CF_PASSWORD_SUFFIX \
        "$PROBE" 120 >"$CF_WORK/probe$i.out" 2>"$CF_WORK/probe$i.err" &
    probe_pids[i]=$!
    cf_defer stop_quietly "$!"
done
for i in $(seq "$PROBES"); do
    for _ in $(seq 100); do
        grep -q ready "$CF_WORK/probe$i.out" && break
        sleep 0.1
    done
    grep -q ready "$CF_WORK/probe$i.out" || cf_fail "probe $i never logged in: $(cat "$CF_WORK/probe$i.err")"
done
sleep 1

# A fast restart, as a failover does.
cf_pg_restart
served_after=$(until_served 30)
echo "serving again $served_after s after the fast restart"

# A longer outage: stopped for three seconds.
stop_mark=$(wc -l <"$CF_LOG")
pgc_ctl "$pg_home/data" stop -m fast -w >>"$CF_WORK/pg_ctl.log" 2>&1 || cf_fail "cannot stop PostgreSQL"
stopped_at=$SECONDS
sleep 1
# A new login needs the database: refused as retryable, exit status 1.
cf_expect_exit 1 cf_ctl team list
grep -qi "unavailable" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a login during the outage did not fail as UNAVAILABLE: $CF_LAST_OUTPUT"
sleep 2
kill -0 "$daemon_pid" || cf_fail "the daemon died during the outage"
pg_start || cf_fail "cannot start PostgreSQL again"
outage=$((SECONDS - stopped_at))
served_after=$(until_served 30)
echo "serving again $served_after s after a $outage s outage"

# Backoff: a handful of attempts per connection in those seconds (100 ms
# doubling), not one every few milliseconds, and each came back.
for n in 1 2 3 4; do
    attempts=$(attempts_of "$n")
    ((attempts >= 2 && attempts <= 12)) ||
        cf_fail "pool connection $n tried $attempts times in a $outage s outage; expected a backoff"
    # Each waits out its own jittered backoff (at most 5 s) before it does.
    deadline=$((SECONDS + 10))
    until log_since_stop | grep "database connection $n is up" >/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || cf_fail "pool connection $n did not come back"
        sleep 0.2
    done
done
[ "$(log_since_stop | grep -c "WARN database connection [0-9]* cannot connect")" -le 4 ] ||
    cf_fail "the outage was logged as a warning more than once per connection"
sleep 1

# Every session came through both, served before, during and after.
for i in $(seq "$PROBES"); do
    kill -TERM "${probe_pids[i]}"
    wait "${probe_pids[i]}" || cf_fail "probe $i failed: $(cat "$CF_WORK/probe$i.err")"
    result=$(tail -n 1 "$CF_WORK/probe$i.out")
    [[ $result =~ ^ok=([0-9]+)\ unavailable=([0-9]+)\ other=0\ last=ok\ connected=yes$ ]] ||
        cf_fail "probe $i did not come through the outages: $result $(cat "$CF_WORK/probe$i.err")"
    [ "${BASH_REMATCH[1]}" -ge 20 ] || cf_fail "probe $i was hardly served: $result"
    [ "${BASH_REMATCH[2]}" -ge 1 ] || cf_fail "probe $i never saw the outage: $result"
done

wait "$sim_pid" || cf_fail "the simulated agents did not come through: $(cat "$CF_WORK/sim.json" "$CF_WORK/sim.err")"
cf_json_check 'doc["refused"] == 0 and doc["left_open"] == 0 and doc["outcomes_acked"] > 0' \
    <"$CF_WORK/sim.json" || cf_fail "the agents' work was refused: $(cat "$CF_WORK/sim.json")"
acked=$(wc -l <"$CF_WORK/acks")
ids=$(paste -sd, "$CF_WORK/acks")
[ "$(cf_psql "SELECT count(*) FROM calls WHERE id IN ($ids) AND disposition IS NOT NULL")" = "$acked" ] ||
    cf_fail "an acknowledged outcome is missing from the database"
[ "$(cf_psql "SELECT count(*) FROM score_events WHERE kind = 'dial' AND call_id IN ($ids)")" = "$acked" ] ||
    cf_fail "an acknowledged outcome was scored other than once"
[ "$(cf_psql "SELECT count(*) FROM calls WHERE disposition IS NULL")" = 0 ] ||
    cf_fail "a call was left open"

if [ "$CF_DAEMON_PID" != "$daemon_pid" ] || ! kill -0 "$daemon_pid"; then
    cf_fail "the daemon did not survive"
fi
cf_expect_exit 0 cf_ctl status
cf_add_user after supervisor
cf_as after cf_expect_exit 0 cf_ctl team list
if grep -E '^[^ ]+ ERROR ' "$CF_LOG"; then
    cf_fail "the outages caused errors in the log (above)"
fi
cf_done
