#!/usr/bin/env bash
# test_pg_restart: PostgreSQL restarts (a failover) and a longer outage
# while clients are connected. The daemon survives both in the same
# process; requests during the outage fail with the retryable UNAVAILABLE
# and nothing else; the sessions stay up and are served again afterwards.
# ctest: run-serial (it restarts the shared PostgreSQL)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup pg_restart
cf_start_daemon
daemon_pid=$CF_DAEMON_PID
cf_add_user sue supervisor

PROBE=$CF_BUILD/tests/cf_probe
PROBES=4
for i in $(seq "$PROBES"); do
    if [ "$i" = 1 ]; then
        "$PROBE" 60 >"$CF_WORK/probe$i.out" 2>&1 &
    else
        CALLFLOOR_USER=sue CALLFLOOR_PASSWORD=sue$CF_PASSWORD_SUFFIX "$PROBE" 60 \
            >"$CF_WORK/probe$i.out" 2>&1 &
    fi
    eval "probe_pid_$i=$!"
    cf_defer kill "$!"
done
for i in $(seq "$PROBES"); do
    for _ in $(seq 100); do
        grep -q ready "$CF_WORK/probe$i.out" && break
        sleep 0.1
    done
    grep -q ready "$CF_WORK/probe$i.out" || cf_fail "probe $i never logged in: $(cat "$CF_WORK/probe$i.out")"
done
sleep 1

# A fast restart, as a failover does.
cf_pg_restart
sleep 2

# A longer outage: stopped for three seconds, so the pool backs off and
# requests meanwhile get UNAVAILABLE.
home=$(readlink -f "$CF_PGDIR")
# Whatever happens, the fixture is left running for the other tests.
pg_start() {
    pgc_running "$home/data" || pgc_ctl "$home/data" start -w -t 60 -l "$home/pg.log" >>"$CF_WORK/pg_ctl.log" 2>&1
}
cf_defer pg_start
pgc_ctl "$home/data" stop -m fast -w >>"$CF_WORK/pg_ctl.log" 2>&1 || cf_fail "cannot stop PostgreSQL"
sleep 1
cf_expect_exit 1 cf_ctl team list
grep -q "UNAVAILABLE\|unavailable\|try again" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a request during the outage did not fail as retryable: $CF_LAST_OUTPUT"
sleep 2
pg_start || cf_fail "cannot start PostgreSQL again"

# The pool comes back by itself (its backoff is at most a few seconds).
deadline=$((SECONDS + 30))
until cf_ctl team list >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "the daemon did not recover from the outage within 30 s"
    sleep 0.3
done
sleep 1

for i in $(seq "$PROBES"); do
    pid_var=probe_pid_$i
    kill -TERM "${!pid_var}"
    wait "${!pid_var}" || true
    result=$(tail -n 1 "$CF_WORK/probe$i.out")
    [[ $result == *"other=0 last=ok connected=yes" ]] ||
        cf_fail "probe $i did not come through the outages: $result ($(cat "$CF_WORK/probe$i.out"))"
    [[ $result =~ ok=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 10 ] ||
        cf_fail "probe $i was hardly served: $result"
done
grep -q "unavailable=[1-9]" "$CF_WORK"/probe*.out ||
    cf_fail "no probe saw the outage at all: the test did not test it"

[ "$CF_DAEMON_PID" = "$daemon_pid" ] && kill -0 "$daemon_pid" ||
    cf_fail "the daemon did not survive"
cf_expect_exit 0 cf_ctl status
cf_add_user after agent
cf_done
