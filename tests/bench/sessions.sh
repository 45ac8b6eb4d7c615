#!/usr/bin/env bash
# sessions.sh [SESSIONS] [CONNECT_RATE]: the daemon's memory per idle agent
# session. Starts a private PostgreSQL and the daemon from the build tree
# ($CF_BUILD, default build/), makes SESSIONS agent accounts (default
# 10000; one hashed password shared, so that making them is quick), then
# runs callfloor-sim --idle: every session logs in over TLS at CONNECT_RATE
# a second (default 500) and stays connected for 20 s, sending only the
# heartbeats the server asks for (heartbeat_interval). Prints the
# machine, the simulator's report and the daemon's resident memory before
# the sessions, with all of them in, and the difference per session.
# Needs an open-files limit above SESSIONS (ulimit -n) and what
# tests/run.sh installs.
set -euo pipefail

SESSIONS=${1:-10000}
RATE=${2:-500}
# shellcheck source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
bench_start bench_sessions
cf_start_daemon
cf_ctl team add bench >/dev/null
cf_add_user benchmodel agent bench
cf_psql "INSERT INTO users (username, role, team_id, password_hash)
         SELECT 'idle' || CASE WHEN g < 10000 THEN lpad(g::text, 4, '0') ELSE g::text END,
                'agent', team_id, password_hash
         FROM users, generate_series(1, $SESSIONS) g WHERE username = 'benchmodel'" >/dev/null

bench_machine
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$CF_DAEMON_PID/status"; }
# One login first, so that the daemon's start-up allocations are in the
# baseline.
cf_ctl status >/dev/null
before=$(rss)
echo "== callfloor-sim --idle --agents $SESSIONS --connect-rate $RATE --duration 20"
CALLFLOOR_PASSWORD=benchmodel$CF_PASSWORD_SUFFIX "$CF_BUILD/bin/callfloor-sim" --idle \
    --agents "$SESSIONS" --connect-rate "$RATE" --duration 20 --user-prefix idle --ping-ms 0 \
    --server-pid "$CF_DAEMON_PID" | tee "$CF_WORK/sim.out" || true
# The simulator read the daemon's memory with every session still in.
with=$(awk '/^server:/ { print $2 }' "$CF_WORK/sim.out")
[ -n "$with" ] || cf_fail "the simulator did not report the daemon's memory"
echo "== daemon resident memory: $((before / 1024)) MiB before, $((with / 1024)) MiB with $SESSIONS sessions in"
awk -v d=$((with - before)) -v n="$SESSIONS" \
    'BEGIN { printf "per session: %.1f KiB (%.0f bytes)\n", d / n, d * 1024 / n }'
cf_done
