#!/usr/bin/env bash
# test_valgrind: the daemon under valgrind's memcheck through a whole
# working life: logins (good and bad), admin commands, broken frames, a
# PostgreSQL restart, a drain that tells a connected client why, and a
# clean exit. Memcheck must report no error and no definitely or
# indirectly lost block. Skipped in the sanitizer build, which valgrind
# cannot run.
# ctest: run-serial (it restarts the shared PostgreSQL)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_sanitized_build && cf_skip "valgrind cannot run an AddressSanitizer build"
command -v valgrind >/dev/null || cf_skip "valgrind is not installed (deploy/install-deps.sh installs it)"

cf_setup valgrind
sed -i 's/^handshake_timeout = .*/handshake_timeout = 2s/' "$CF_CONFIG"
VG_LOG=$CF_WORK/valgrind.log
export CF_DAEMON_WRAPPER="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file=$VG_LOG"
cf_start_daemon

cf_ctl team add 一组 >/dev/null
cf_add_user ann agent 一组
cf_add_user sue supervisor 一组
cf_as sue cf_expect_exit 0 cf_ctl status
CALLFLOOR_USER=ann CALLFLOOR_PASSWORD=wrong-password-1 cf_expect_exit 1 cf_ctl status
CALLFLOOR_USER=ghost CALLFLOOR_PASSWORD=wrong-password-1 cf_expect_exit 1 cf_ctl status
cf_as ann cf_expect_exit 1 cf_ctl user list
cf_expect_exit 0 cf_ctl user disable ann
cf_expect_exit 0 cf_ctl user enable ann
for scenario in garbage zero-length oversize not-envelope truncated no-hello zero-id unauthenticated; do
    timeout 60 "$CF_BUILD/tests/cf_rawwire" "$CALLFLOOR_SERVER" "$CALLFLOOR_CA" "$scenario" >/dev/null 2>&1 ||
        cf_fail "cf_rawwire $scenario failed"
done
# A connection that never starts TLS, left to the handshake timeout.
exec {idle}<>"/dev/tcp/${CALLFLOOR_SERVER%:*}/${CALLFLOOR_SERVER#*:}"
sleep 3
exec {idle}>&-

cf_pg_restart
deadline=$((SECONDS + 60))
until cf_ctl team list >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "the daemon did not recover from the restart"
    sleep 0.5
done

# A client connected at the drain is told the server is shutting down.
"$CF_BUILD/tests/cf_probe" 120 >"$CF_WORK/probe.out" 2>&1 &
probe_pid=$!
cf_defer kill "$probe_pid"
for _ in $(seq 200); do
    grep -q ready "$CF_WORK/probe.out" && break
    sleep 0.1
done
cf_stop_daemon
kill -TERM "$probe_pid"
wait "$probe_pid" 2>/dev/null || true
grep -q "shutting down\|SHUTTING_DOWN" "$CF_WORK/probe.out" ||
    cf_fail "the connected client was not told about the drain: $(cat "$CF_WORK/probe.out")"

[ -f "$VG_LOG" ] || cf_fail "valgrind wrote no log"
if grep -q "ERROR SUMMARY: [1-9]\|definitely lost\|indirectly lost\|Invalid \|uninitialised" "$VG_LOG"; then
    cf_fail "valgrind found problems in the daemon: $(cat "$VG_LOG")"
fi
cf_done
