#!/usr/bin/env bash
# login.sh [AGENTS] [CONNECT_RATE]: how fast callfloord logs agents in and
# answers them once they are in. Starts a private PostgreSQL and the daemon
# from the build tree ($CF_BUILD, default build/), creates AGENTS accounts
# (default 500, sharing one password hash), then runs callfloor-sim: AGENTS TLS sessions logged in at
# CONNECT_RATE a second (default 200), connected for 10 s with a Ping a
# second each. Prints the machine, the simulator's report (login and
# round-trip percentiles) and the daemon's peak resident memory.
# Needs what tests/run.sh installs; run as root or as a user that may
# start PostgreSQL through runuser (see deploy/pg-cluster.sh).
set -euo pipefail

AGENTS=${1:-500}
RATE=${2:-200}
# shellcheck source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
bench_start bench_login
cf_start_daemon
cf_ctl team add bench >/dev/null

# The accounts share one password hash, made once: creating them one by
# one through callfloorctl would log the admin in AGENTS times, and the
# daemon's login protection (server/guard.h) rightly stops that.
bench_accounts bench bench "$AGENTS"

peak_rss() {
    local peak=0 rss
    while kill -0 "$CF_DAEMON_PID" 2>/dev/null && [ ! -e "$CF_WORK/sim.done" ]; do
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$CF_DAEMON_PID/status")
        [ "$rss" -le "$peak" ] || peak=$rss
        sleep 0.2
    done
    echo "$peak" >"$CF_WORK/peak.kb"
}
idle_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$CF_DAEMON_PID/status")
peak_rss &
watcher=$!

bench_machine
echo "== callfloor-sim --agents $AGENTS --connect-rate $RATE --duration 10"
CALLFLOOR_PASSWORD=benchmodel$CF_PASSWORD_SUFFIX "$CF_BUILD/bin/callfloor-sim" --agents "$AGENTS" \
    --connect-rate "$RATE" --duration 10 --user-prefix bench --idle
touch "$CF_WORK/sim.done"
wait "$watcher"
echo "== daemon resident memory: idle $((idle_kb / 1024)) MiB before, peak $(($(cat "$CF_WORK/peak.kb") / 1024)) MiB with $AGENTS sessions"
cf_done
