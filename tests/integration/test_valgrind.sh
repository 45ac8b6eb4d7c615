#!/usr/bin/env bash
# test_valgrind: the daemon under valgrind's memcheck through a whole
# working life: logins (good, bad, unknown), admin commands, a disabled
# user's live session closed, broken frames and clients that vanish with a
# request in flight, a connection left to the handshake timeout, a
# PostgreSQL restart under a connected session, and a drain that tells
# the connected clients why. Memcheck must report no error and no
# definitely or indirectly lost block, and the daemon must exit 0.
# Skipped in the sanitizer build, which valgrind cannot run.
# ctest: run-serial (it restarts the shared PostgreSQL)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_sanitized_build && cf_skip "valgrind cannot run an AddressSanitizer build"
command -v valgrind >/dev/null || cf_skip "valgrind is not installed (deploy/install-deps.sh installs it)"

RAWWIRE=$CF_BUILD/tests/cf_rawwire
PROBE=$CF_BUILD/tests/cf_probe

# Ends a helper started in the background, if it still runs.
stop_quietly() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# wait_ready FILE: until a cf_probe writing to FILE has logged in.
wait_ready() {
    for _ in $(seq 300); do
        grep -q ready "$1" && return 0
        sleep 0.1
    done
    cf_fail "cf_probe never logged in: $(cat "${1%.out}.err")"
}

rawwire() {
    local verdict
    verdict=$(timeout 120 "$RAWWIRE" "$CALLFLOOR_SERVER" "$CALLFLOOR_CA" "$1" 2>&1) ||
        cf_fail "cf_rawwire $1 failed: $verdict"
    [[ $verdict == "$2"* ]] || cf_fail "cf_rawwire $1: expected '$2...', got '$verdict'"
}

cf_setup valgrind
VG_LOG=$CF_WORK/valgrind.log
export CF_DAEMON_WRAPPER="valgrind --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30 --log-file=$VG_LOG"
# Under valgrind a login's argon2 check takes seconds on a busy machine, and
# the handshake timeout bounds the login too: it is long enough for that.
cf_start_daemon --set session.handshake_timeout=8s

# Logins and admin work, including a failed login for a known and an
# unknown user, and a disabled user whose open session is closed.
cf_ctl team add 一组 >/dev/null
cf_add_user sue supervisor 一组
CALLFLOOR_USER=sue CALLFLOOR_PASSWORD=wrong-password-1 cf_expect_exit 1 cf_ctl status
CALLFLOOR_USER=ghost CALLFLOOR_PASSWORD=wrong-password-1 cf_expect_exit 1 cf_ctl status
CALLFLOOR_USER=sue CALLFLOOR_PASSWORD=sue$CF_PASSWORD_SUFFIX \
    "$PROBE" 120 >"$CF_WORK/sue.out" 2>"$CF_WORK/sue.err" &
sue_pid=$!
cf_defer stop_quietly "$sue_pid"
wait_ready "$CF_WORK/sue.out"
cf_expect_exit 0 cf_ctl user disable sue
for _ in $(seq 100); do
    grep -q "connection closed" "$CF_WORK/sue.err" && break
    sleep 0.1
done
grep -q "connection closed: .*ACCOUNT_DISABLED" "$CF_WORK/sue.err" ||
    cf_fail "the disabled user's session was not closed with ACCOUNT_DISABLED: $(cat "$CF_WORK/sue.err")"
cf_expect_exit 0 cf_ctl user enable sue
cf_expect_output_contains sue cf_ctl user list

# Broken traffic and clients that vanish mid-request.
rawwire garbage eof
rawwire half-handshake eof
rawwire handshake-other-alpn refused
rawwire handshake-tls11 refused
rawwire zero-length "closing PROTOCOL_ERROR"
rawwire oversize "closing FRAME_TOO_LARGE"
rawwire big-ping "closing FRAME_TOO_LARGE"
rawwire not-envelope "closing PROTOCOL_ERROR"
rawwire truncated eof
rawwire no-hello "closing PROTOCOL_ERROR"
rawwire zero-id "closing PROTOCOL_ERROR"
rawwire bad-version "error UNSUPPORTED_VERSION"
rawwire unauthenticated "error UNAUTHENTICATED"
rawwire login-oversize "closing FRAME_TOO_LARGE"
rawwire login-big-ping "reply pong"
rawwire login-split "reply pong"
rawwire login-burst "answered 500 of 500 once each"
rawwire vanish-login sent
rawwire login-vanish sent

# A PostgreSQL restart under a connected session.
"$PROBE" 120 >"$CF_WORK/probe.out" 2>"$CF_WORK/probe.err" &
probe_pid=$!
cf_defer stop_quietly "$probe_pid"
wait_ready "$CF_WORK/probe.out"
cf_pg_restart
deadline=$((SECONDS + 60))
until cf_ctl team list >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "the daemon did not recover from the restart"
    sleep 0.5
done

# The call cycle: an import, an offer, a dial and an outcome; a lead left
# offered and a call left open by a desk that vanished, both still held
# when the drain comes.
cf_ctl product add CB01 --name 畅享返现卡 --apr 18.25 >/dev/null
cf_ctl campaign add 春季 --product CB01 --team 一组 >/dev/null
printf 'name,phone,time_zone\n张伟,13800000001,%s\n王芳,13800000002,%s\n李娜,13800000003,%s\n' \
    "$(cf_zone_at 12)" "$(cf_zone_at 12)" "$(cf_zone_at 12)" >"$CF_WORK/leads.csv"
cf_expect_exit 0 cf_ctl leads import 春季 "$CF_WORK/leads.csv"
cf_add_user ann agent 一组
cf_add_user bob agent 一组
# A supervisor watches the board through it all, drain included.
CALLFLOOR_USER=sue CALLFLOOR_PASSWORD=sue$CF_PASSWORD_SUFFIX "$CF_BUILD/bin/callfloor-monitor" \
    --json --interval 60 >"$CF_WORK/monitor.jsonl" 2>&1 &
monitor_pid=$!
cf_defer stop_quietly "$monitor_pid"
cf_wait_for "$CF_WORK/monitor.jsonl" '"event":"board"' 60
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"dial"}' \
    "{\"cmd\":\"outcome\",\"disposition\":\"CALLBACK\",\"callback_at\":$(($(date +%s) + 86400))}" '{"cmd":"ready"}' \
    '{"cmd":"wait","event":"lead_offer"}' | cf_agent ann --timeout 60
cf_events ann "[e['event'] for e in ev] == ['status', 'lead_offer', 'call_started', 'outcome_ack', 'status', 'lead_offer']"
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"dial"}' |
    cf_agent bob --timeout 60
cf_events bob "[e['event'] for e in ev] == ['status', 'lead_offer', 'call_started']"
cf_wait_for "$CF_WORK/monitor.jsonl" '"agent":"ann"' 60

# The drain, with a client logged in, one mid-login and one mid-handshake.
timeout 120 "$RAWWIRE" "$CALLFLOOR_SERVER" "$CALLFLOOR_CA" login-ping 120 >"$CF_WORK/pinger.out" 2>&1 &
pinger_pid=$!
cf_defer stop_quietly "$pinger_pid"
exec {idle}<>"/dev/tcp/${CALLFLOOR_SERVER%:*}/${CALLFLOOR_SERVER#*:}"
for _ in $(seq 300); do
    grep -q "admin admin logged in" <(tail -n 3 "$CF_LOG") && break
    sleep 0.1
done
sleep 1
cf_stop_daemon
exec {idle}>&-
wait "$pinger_pid" || true
grep -q "^closing SHUTTING_DOWN" "$CF_WORK/pinger.out" ||
    cf_fail "the connected client was not told about the drain: $(cat "$CF_WORK/pinger.out")"
kill -TERM "$probe_pid"
wait "$probe_pid" || true
grep -q "is shutting down" "$CF_WORK/probe.err" ||
    cf_fail "the library client was not told about the drain: $(cat "$CF_WORK/probe.err")"

[ -s "$VG_LOG" ] || cf_fail "valgrind wrote no log"
grep -q "ERROR SUMMARY: 0 errors" "$VG_LOG" || cf_fail "valgrind found errors in the daemon: $(cat "$VG_LOG")"
grep -q "definitely lost: 0 bytes\|All heap blocks were freed" "$VG_LOG" ||
    cf_fail "valgrind found definitely lost memory: $(cat "$VG_LOG")"
if grep -q "indirectly lost: [1-9]" "$VG_LOG"; then
    cf_fail "valgrind found indirectly lost memory: $(cat "$VG_LOG")"
fi
cf_done
