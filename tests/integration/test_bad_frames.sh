#!/usr/bin/env bash
# test_bad_frames: broken and hostile traffic (tests/tools/cf_rawwire) gets
# the typed answer docs/PROTOCOL.md promises, or is cut off within the
# handshake timeout, and the daemon logs one line saying why. After every
# scenario a new client is served and a session open all along is
# undisturbed. The TLS versions and ALPN protocols accepted are the
# documented ones, and the frame limit before login is smaller than after.
# A client that never reads is cut off at the output cap. Two hundred
# connections that never start TLS are closed by the handshake
# timeout and the daemon's descriptors return to where they were.
# ctest: run-serial (its checks time the daemon's timeouts to a few tenths of a second)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RAWWIRE=$CF_BUILD/tests/cf_rawwire
PROBE=$CF_BUILD/tests/cf_probe
IDLE_CONNECTIONS=200

# Ends a helper started in the background, if it still runs.
stop_quietly() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

daemon_fds() {
    find "/proc/$CF_DAEMON_PID/fd" -mindepth 1 -maxdepth 1 | wc -l
}

# The daemon's log lines since line $1, without the logins and logouts of
# the clients that work normally.
log_since() {
    tail -n +"$(($1 + 1))" "$CF_LOG" | grep -v ' logged \(in\|out\)$' || true
}

# The time in a verdict ("eof 2.0", "closing ... (2.0 s)") in tenths.
verdict_tenths() {
    local t
    t=$(sed -n 's/^eof \([0-9]*\)\.\([0-9]\)$/\1\2/p; s/.*(\([0-9]*\)\.\([0-9]\) s)$/\1\2/p' <<<"$1")
    [ -n "$t" ] || cf_fail "no time in the verdict '$1'"
    echo "$((10#$t))"
}

# The session open throughout must still be there and have seen nothing
# but answers.
expect_probe_undisturbed() {
    kill -0 "$probe_pid" 2>/dev/null || cf_fail "after $1, the long-lived session is gone: $(cat "$CF_WORK/probe.err")"
    [ ! -s "$CF_WORK/probe.err" ] || cf_fail "after $1, the long-lived session saw: $(cat "$CF_WORK/probe.err")"
}

# scenario NAME VERDICT LOG [MIN MAX]: cf_rawwire's verdict must start with
# VERDICT; the daemon must log exactly one line for the connection, and it
# must contain LOG ("" when nothing at all is to be logged, "?" when one
# line is allowed but not required); the verdict's time must lie between
# MIN and MAX tenths of a second. Then callfloorctl status must work and
# the long-lived session must be undisturbed.
scenario() {
    local name=$1 want=$2 log=$3 min=${4:-} max=${5:-}
    local mark verdict lines t
    mark=$(wc -l <"$CF_LOG")
    verdict=$(timeout 90 "$RAWWIRE" "$CALLFLOOR_SERVER" "$CALLFLOOR_CA" "$name" 2>"$CF_WORK/rawwire.err") ||
        cf_fail "cf_rawwire $name failed: $verdict $(cat "$CF_WORK/rawwire.err")"
    [[ $verdict == "$want"* ]] || cf_fail "$name: expected '$want...', got '$verdict'"
    if [ -n "$min" ]; then
        t=$(verdict_tenths "$verdict")
        ((t >= min && t <= max)) ||
            cf_fail "$name: expected the end after $min to $max tenths of a second, got '$verdict'"
    fi
    cf_expect_exit 0 cf_ctl status
    expect_probe_undisturbed "$name"
    # The server may learn that the client hung up just after the client
    # printed its verdict.
    for _ in $(seq 30); do
        [ -z "$log" ] || [ "$log" = "?" ] || log_since "$mark" | grep -qF -- "$log" && break
        sleep 0.1
    done
    lines=$(log_since "$mark")
    case "$log" in
    "") [ -z "$lines" ] || cf_fail "$name: expected no log line, got: $lines" ;;
    "?") [ "$(grep -c . <<<"$lines")" -le 1 ] || cf_fail "$name: more than one log line: $lines" ;;
    *)
        if [ "$(grep -c . <<<"$lines")" != 1 ] || ! grep -qF -- "$log" <<<"$lines"; then
            cf_fail "$name: expected one log line with '$log', got: ${lines:-nothing}"
        fi
        ;;
    esac
}

cf_setup bad_frames
cf_start_daemon --set session.handshake_timeout=2s --set session.output_cap=64k
# The start's own work logs too: the month's scores load once a database
# connection is up. The scenarios below expect only their own lines.
cf_wait_for "$CF_LOG" "scores loaded"
# ... and again when the first load began before the daemon listened for
# other daemons' events (one check a second): the start is over once the
# count stays the same for two seconds.
loads=0
while [ "$loads" != "$(grep -c 'scores loaded' "$CF_LOG")" ]; do
    loads=$(grep -c 'scores loaded' "$CF_LOG")
    sleep 2
done

# A session that stays open through all of it and keeps asking.
"$PROBE" 300 >"$CF_WORK/probe.out" 2>"$CF_WORK/probe.err" &
probe_pid=$!
cf_defer stop_quietly "$probe_pid"
for _ in $(seq 100); do
    grep -q ready "$CF_WORK/probe.out" && break
    sleep 0.1
done
grep -q ready "$CF_WORK/probe.out" || cf_fail "cf_probe never logged in: $(cat "$CF_WORK/probe.err")"
baseline_fds=$(daemon_fds)

# TLS 1.3 preferred, 1.2 accepted, older refused; ALPN callfloor/1, or
# none, but no other protocol.
scenario handshake "established TLSv1.3 alpn=callfloor/1" ""
scenario handshake-tls12 "established TLSv1.2 alpn=callfloor/1" ""
scenario handshake-no-alpn "established TLSv1.3 alpn=none" ""
scenario handshake-tls11 "refused" "TLS handshake failed: no TLS version in common with the peer"
scenario handshake-other-alpn "refused tlsv1 alert no application protocol" \
    "TLS handshake failed: the client offered ALPN protocols but not callfloor/1"

# Not TLS at all: an HTTP request is refused at once, silence waits for
# the handshake timeout, and so does a handshake left half done.
scenario garbage "eof" "TLS handshake failed: the peer sent a plain HTTP request" 0 10
scenario silent "eof" "TLS handshake not finished within 2000 ms" 20 35
scenario half-handshake "eof" "TLS handshake not finished within 2000 ms" 20 35

# Broken frames: a typed Closing, then the end.
scenario zero-length "closing PROTOCOL_ERROR" "closing (PROTOCOL_ERROR): frame declared length 0"
scenario not-envelope "closing PROTOCOL_ERROR" \
    "closing (PROTOCOL_ERROR): a frame of 6 bytes is not a valid callfloor Envelope"
scenario truncated "eof" "the connection ended in the middle of a frame"
scenario stall "closing IDLE_TIMEOUT no login within 2000 ms" "closing (IDLE_TIMEOUT): no login" 20 35

# Frames split into one-byte TLS records, or merged many to a record: each
# request is answered exactly once.
scenario login-split "reply pong" ""
scenario login-burst "answered 500 of 500 once each" ""

# Frame limits: 16 KiB before login, 1 MiB after; nothing is allocated
# for the 2 MiB a header announces.
scenario oversize "closing FRAME_TOO_LARGE a frame of 2097152 bytes exceeds the limit of 16384 bytes" \
    "closing (FRAME_TOO_LARGE): a frame of 2097152 bytes exceeds the limit of 16384 bytes"
scenario big-ping "closing FRAME_TOO_LARGE a frame of 32" "exceeds the limit of 16384 bytes"
scenario login-big-ping "reply pong" ""
scenario login-oversize "closing FRAME_TOO_LARGE a frame of 2097152 bytes exceeds the limit of 1048576 bytes" \
    "closing (FRAME_TOO_LARGE): a frame of 2097152 bytes exceeds the limit of 1048576 bytes"

# The session rules: Hello first, non-zero ids, our version, login first.
scenario no-hello "closing PROTOCOL_ERROR the first message must be Hello" \
    "closing (PROTOCOL_ERROR): the first message must be Hello"
scenario zero-id "closing PROTOCOL_ERROR every request must carry a non-zero id" \
    "closing (PROTOCOL_ERROR): every request must carry a non-zero id"
scenario bad-version "error UNSUPPORTED_VERSION" "closing (UNSUPPORTED_VERSION)"
scenario unauthenticated "error UNAUTHENTICATED" ""

# Clients that hang up with a request in flight (a password being checked,
# a query running) cost nothing; at most the reset is logged.
scenario vanish-login "sent" "?"
scenario login-vanish "sent" "?"
# A last request and the TLS goodbye in one packet: the server reads the
# goodbye before it answers, and closes without an answer or a complaint.
scenario login-goodbye "closed by close_notify" ""

# Nothing above was worth a warning, let alone an error.
if grep -E '^[^ ]+ (ERROR|WARN) ' "$CF_LOG"; then
    cf_fail "the broken clients caused warnings or errors in the log (above)"
fi

# A client that sends and never reads is cut off once its answers pass
# session.output_cap (64 KiB here), with a warning naming it.
scenario login-noread "cut off after" "bytes waiting for a client that does not read; closing"

# Connections that never start TLS are all closed by the handshake
# timeout, and the daemon's descriptors go back to the baseline.
mark=$(wc -l <"$CF_LOG")
fds=()
for _ in $(seq "$IDLE_CONNECTIONS"); do
    exec {fd}<>"/dev/tcp/${CALLFLOOR_SERVER%:*}/${CALLFLOOR_SERVER#*:}"
    fds+=("$fd")
done
for _ in $(seq 20); do
    [ "$(daemon_fds)" -ge $((baseline_fds + IDLE_CONNECTIONS)) ] && break
    sleep 0.1
done
[ "$(daemon_fds)" -ge $((baseline_fds + IDLE_CONNECTIONS)) ] ||
    cf_fail "the daemon did not accept the idle connections (fds: $(daemon_fds), baseline $baseline_fds)"
deadline=$((SECONDS + 15))
until [ "$(daemon_fds)" -le "$baseline_fds" ]; do
    [ "$SECONDS" -lt "$deadline" ] ||
        cf_fail "the daemon still holds $(daemon_fds) descriptors, $baseline_fds before the idle connections"
    sleep 0.2
done
for fd in "${fds[@]}"; do exec {fd}>&-; done
closed=$(log_since "$mark" | grep -c "TLS handshake not finished within 2000 ms" || true)
[ "$closed" = "$IDLE_CONNECTIONS" ] ||
    cf_fail "$closed of $IDLE_CONNECTIONS idle connections were logged as timed out"
cf_expect_exit 0 cf_ctl status
expect_probe_undisturbed "the idle connections"

# The session open all along was never disturbed and was served throughout.
kill -TERM "$probe_pid"
wait "$probe_pid" || cf_fail "cf_probe failed: $(cat "$CF_WORK/probe.err")"
result=$(tail -n 1 "$CF_WORK/probe.out")
[[ $result =~ ^ok=([0-9]+)\ unavailable=0\ other=0\ last=ok\ connected=yes$ ]] ||
    cf_fail "the long-lived session was disturbed: $result"
[ "${BASH_REMATCH[1]}" -ge 50 ] || cf_fail "the long-lived session was hardly served: $result"
cf_done
