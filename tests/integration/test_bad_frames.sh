#!/usr/bin/env bash
# test_bad_frames: broken and hostile traffic gets a typed answer or a
# bounded wait, then the connection is closed; the daemon keeps serving a
# session that was open all along and new clients, and holds nothing for
# the closed connections (its descriptor count returns to where it was).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup bad_frames
# Short limits, so that the slow scenarios finish quickly.
sed -i 's/^handshake_timeout = .*/handshake_timeout = 2s/' "$CF_CONFIG"
cf_start_daemon

RAWWIRE=$CF_BUILD/tests/cf_rawwire
PROBE=$CF_BUILD/tests/cf_probe

# rawwire SCENARIO EXPECTED: the tool's one-line verdict must start with
# EXPECTED; after it, a new client must still be served.
rawwire() {
    local got
    got=$(timeout 30 "$RAWWIRE" "$CALLFLOOR_SERVER" "$CALLFLOOR_CA" "$1" 2>&1) ||
        cf_fail "cf_rawwire $1 failed: $got"
    [[ $got == "$2"* ]] || cf_fail "scenario $1: expected '$2...', got '$got'"
    cf_expect_exit 0 cf_ctl status
}

# A session that stays open through all of it and keeps asking.
"$PROBE" 40 >"$CF_WORK/probe.out" 2>&1 &
probe_pid=$!
cf_defer kill "$probe_pid"
for _ in $(seq 100); do
    grep -q ready "$CF_WORK/probe.out" && break
    sleep 0.1
done
grep -q ready "$CF_WORK/probe.out" || cf_fail "cf_probe never logged in: $(cat "$CF_WORK/probe.out")"

daemon_fds() {
    find "/proc/$CF_DAEMON_PID/fd" -mindepth 1 -maxdepth 1 | wc -l
}
baseline_fds=$(daemon_fds)

rawwire garbage "eof"
rawwire silent "eof"
rawwire zero-length "closing PROTOCOL_ERROR"
rawwire oversize "closing FRAME_TOO_LARGE"
grep -q "16384" <<<"$CF_LAST_OUTPUT$(tail -n 20 "$CF_LOG")" ||
    cf_fail "the pre-login frame limit (16 KiB) is not the one applied"
rawwire not-envelope "closing PROTOCOL_ERROR"
rawwire truncated "sent"
rawwire stall "closing IDLE_TIMEOUT"
rawwire no-hello "closing PROTOCOL_ERROR"
rawwire zero-id "closing PROTOCOL_ERROR"
rawwire bad-version "error UNSUPPORTED_VERSION"
rawwire unauthenticated "error UNAUTHENTICATED"

# The log names the reasons, once per connection, without a cascade.
grep -q "plain HTTP request" "$CF_LOG" || cf_fail "the log does not say why the plain-text client was closed"
grep -q "handshake not finished within 2000 ms" "$CF_LOG" ||
    cf_fail "the log does not name the handshake timeout"
[ "$(grep -c "frame declared length 0" "$CF_LOG")" = 1 ] ||
    cf_fail "the zero-length frame is not logged exactly once"

# Two hundred connections that never start TLS are all closed by the
# handshake timeout, and the daemon's descriptors go back to the baseline.
fds=()
for _ in $(seq 200); do
    exec {fd}<>"/dev/tcp/${CALLFLOOR_SERVER%:*}/${CALLFLOOR_SERVER#*:}"
    fds+=("$fd")
done
[ "$(daemon_fds)" -ge $((baseline_fds + 150)) ] ||
    cf_fail "the daemon did not accept the idle connections (fds: $(daemon_fds))"
deadline=$((SECONDS + 15))
until [ "$(daemon_fds)" -le "$baseline_fds" ]; do
    [ "$SECONDS" -lt "$deadline" ] ||
        cf_fail "the daemon still holds $(daemon_fds) descriptors, $baseline_fds before the idle connections"
    sleep 0.2
done
for fd in "${fds[@]}"; do exec {fd}>&-; done
cf_expect_exit 0 cf_ctl status

# The session open all along was never disturbed.
kill -TERM "$probe_pid"
wait "$probe_pid" || true
result=$(tail -n 1 "$CF_WORK/probe.out")
[[ $result == *"unavailable=0 other=0"*"connected=yes"* ]] ||
    cf_fail "the long-lived session was disturbed: $result"
cf_done
