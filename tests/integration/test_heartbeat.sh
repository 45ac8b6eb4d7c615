#!/usr/bin/env bash
# test_heartbeat: a logged-in client that falls silent is closed with
# IDLE_TIMEOUT after three heartbeat intervals; one that keeps sending
# Pings (the client library does) stays connected. After login the larger
# frame limit applies and is enforced too.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup heartbeat
sed -i 's/^heartbeat_interval = .*/heartbeat_interval = 1s/' "$CF_CONFIG"
cf_start_daemon
RAWWIRE=$CF_BUILD/tests/cf_rawwire

# The library's client pings at the announced interval: still there after
# more than three intervals.
"$CF_BUILD/tests/cf_probe" 6 >"$CF_WORK/probe.out" 2>&1 &
probe_pid=$!
cf_defer kill "$probe_pid"

started=$SECONDS
got=$(timeout 30 "$RAWWIRE" "$CALLFLOOR_SERVER" "$CALLFLOOR_CA" idle-after-login 2>&1) ||
    cf_fail "cf_rawwire idle-after-login failed: $got"
elapsed=$((SECONDS - started))
[[ $got == "closing IDLE_TIMEOUT"* ]] || cf_fail "a silent session was not closed for idleness: $got"
[ "$elapsed" -ge 2 ] && [ "$elapsed" -le 10 ] ||
    cf_fail "the silent session was closed after $elapsed s, not about three 1 s heartbeats"

got=$(timeout 30 "$RAWWIRE" "$CALLFLOOR_SERVER" "$CALLFLOOR_CA" oversize-after-login 2>&1) ||
    cf_fail "cf_rawwire oversize-after-login failed: $got"
[[ $got == "closing FRAME_TOO_LARGE"*"1048576"* ]] ||
    cf_fail "after login, the 1 MiB frame limit was not the one applied: $got"

wait "$probe_pid" || cf_fail "cf_probe failed: $(cat "$CF_WORK/probe.out")"
result=$(tail -n 1 "$CF_WORK/probe.out")
[[ $result == *"other=0"*"connected=yes" ]] || cf_fail "a pinging client was dropped: $result"
cf_done
