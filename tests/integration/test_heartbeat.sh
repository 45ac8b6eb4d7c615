#!/usr/bin/env bash
# test_heartbeat: with a one-second heartbeat, a logged-in client that goes
# silent is closed with Closing{IDLE_TIMEOUT} after about three intervals,
# whether it stopped between frames or in the middle of one; a client that
# only pings (a raw one, or the client library left idle) stays as long as
# it likes; the library gives up on a server that stopped answering. Then
# SIGTERM: the daemon tells the clients still connected
# Closing{SHUTTING_DOWN} and exits 0 promptly.
# ctest: run-serial (its checks time the heartbeat and the drain to a few seconds)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RAWWIRE=$CF_BUILD/tests/cf_rawwire
PROBE=$CF_BUILD/tests/cf_probe

# Ends a helper started in the background, if it still runs.
stop_quietly() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# Lets a stopped process run again, if it still exists.
resume_quietly() {
    kill -CONT "$1" 2>/dev/null || true
}

# rawwire SCENARIO [SECONDS]: the tool's verdict line, in $verdict.
rawwire() {
    verdict=$(timeout 90 "$RAWWIRE" "$CALLFLOOR_SERVER" "$CALLFLOOR_CA" "$@" 2>&1) ||
        cf_fail "cf_rawwire $* failed: $verdict"
}

# The "(N.N s)" at the end of a verdict, as tenths of a second.
verdict_tenths() {
    local t
    t=$(sed -n 's/.*(\([0-9]*\)\.\([0-9]\) s)$/\1\2/p' <<<"$verdict")
    [ -n "$t" ] || cf_fail "no time in the verdict '$verdict'"
    echo "$((10#$t))"
}

# expect_idle_close SCENARIO: closed for silence after three one-second
# intervals (the sweep runs twice a second; the login itself takes a
# little), not sooner and not much later.
expect_idle_close() {
    rawwire "$1"
    [[ $verdict == "closing IDLE_TIMEOUT "* ]] || cf_fail "$1: expected Closing{IDLE_TIMEOUT}, got '$verdict'"
    local t
    t=$(verdict_tenths)
    ((t >= 30 && t <= 60)) ||
        cf_fail "$1: closed after $((t / 10)).$((t % 10)) s, expected 3 to 6 s: $verdict"
}

cf_setup heartbeat
cf_start_daemon --set session.heartbeat_interval=1s

# Only the scenarios' lines count: on a loaded machine a readiness probe
# of cf_start_daemon can itself stay silent too long and be closed.
logged_before=$(wc -l <"$CF_LOG")
expect_idle_close login-idle
expect_idle_close login-stall
[ "$(tail -n +$((logged_before + 1)) "$CF_LOG" | grep -c 'closing (IDLE_TIMEOUT): no message for [0-9]* ms')" = 2 ] ||
    cf_fail "the log does not name each silent session once: $(grep IDLE_TIMEOUT "$CF_LOG")"

# Pings alone keep a session: twice the idle limit and more. Both a raw
# client pinging and the client library left idle, whose own heartbeat
# follows the interval the server announced in HelloReply.
"$PROBE" 7 idle >"$CF_WORK/idle.out" 2>"$CF_WORK/idle.err" &
idle_pid=$!
cf_defer stop_quietly "$idle_pid"
rawwire login-ping 7
[[ $verdict =~ ^alive\ pongs=([0-9]+)$ ]] || cf_fail "the pinging client was not kept: '$verdict'"
[ "${BASH_REMATCH[1]}" -ge 15 ] || cf_fail "too few pongs in 7 s: $verdict"
wait "$idle_pid" || cf_fail "cf_probe idle failed: $(cat "$CF_WORK/idle.err")"
[ "$(tail -n 1 "$CF_WORK/idle.out")" = "ok=0 unavailable=0 other=0 last=none connected=yes" ] ||
    cf_fail "the idle library client was not kept: $(cat "$CF_WORK/idle.out" "$CF_WORK/idle.err")"

# The other way round: the client library gives up on a server that
# stopped answering, after three unanswered pings.
"$PROBE" 30 idle >"$CF_WORK/frozen.out" 2>"$CF_WORK/frozen.err" &
frozen_pid=$!
cf_defer stop_quietly "$frozen_pid"
for _ in $(seq 100); do
    grep -q ready "$CF_WORK/frozen.out" && break
    sleep 0.1
done
kill -STOP "$CF_DAEMON_PID"
cf_defer resume_quietly "$CF_DAEMON_PID"
for _ in $(seq 80); do
    grep -q "connection closed" "$CF_WORK/frozen.err" && break
    sleep 0.1
done
kill -CONT "$CF_DAEMON_PID"
grep -q "connection closed: .* stopped answering (3 pings unanswered)" "$CF_WORK/frozen.err" ||
    cf_fail "the client library did not give up on a frozen server: $(cat "$CF_WORK/frozen.err")"
stop_quietly "$frozen_pid"
cf_expect_exit 0 cf_ctl status

# SIGTERM while a library client and a pinging client are connected.
"$PROBE" 60 >"$CF_WORK/probe.out" 2>"$CF_WORK/probe.err" &
probe_pid=$!
cf_defer stop_quietly "$probe_pid"
timeout 90 "$RAWWIRE" "$CALLFLOOR_SERVER" "$CALLFLOOR_CA" login-ping 60 >"$CF_WORK/pinger.out" 2>&1 &
pinger_pid=$!
cf_defer stop_quietly "$pinger_pid"
for _ in $(seq 100); do
    grep -q ready "$CF_WORK/probe.out" && grep -q "admin admin logged in" <(tail -n 5 "$CF_LOG") && break
    sleep 0.1
done
grep -q ready "$CF_WORK/probe.out" || cf_fail "cf_probe never logged in: $(cat "$CF_WORK/probe.err")"
sleep 1
started=$SECONDS
cf_stop_daemon
[ $((SECONDS - started)) -le 5 ] || cf_fail "the drain took $((SECONDS - started)) s"
wait "$pinger_pid" || cf_fail "cf_rawwire login-ping failed: $(cat "$CF_WORK/pinger.out")"
# cf_probe keeps counting after its connection closed, until told to stop.
kill -TERM "$probe_pid"
wait "$probe_pid" || cf_fail "cf_probe failed: $(cat "$CF_WORK/probe.err")"
grep -q "^closing SHUTTING_DOWN " "$CF_WORK/pinger.out" ||
    cf_fail "the pinging client was not told SHUTTING_DOWN: $(cat "$CF_WORK/pinger.out")"
grep -q "connection closed: .* is shutting down" "$CF_WORK/probe.err" ||
    cf_fail "the library client was not told the server is shutting down: $(cat "$CF_WORK/probe.err")"
grep -q "connected=no" "$CF_WORK/probe.out" || cf_fail "cf_probe still connected: $(cat "$CF_WORK/probe.out")"
grep -q "NOTICE stopped" "$CF_LOG" || cf_fail "the daemon did not log its stop"
cf_done
