#!/usr/bin/env bash
# test_conn_limit: over session.max_connections the daemon accepts and
# closes at once, keeps serving the connections it has, and logs the
# refusals as a count about once a second rather than a line for each, so
# that a flood of connections cannot flood the log.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup conn_limit
cf_start_daemon --set session.max_connections=5

# Five idle connections fill the places, then a flood.
held=()
for _ in 1 2 3 4 5; do
    exec {fd}<>"/dev/tcp/${CALLFLOOR_SERVER%:*}/${CALLFLOOR_SERVER#*:}"
    held+=("$fd")
done
sleep 0.3
refused=0
for _ in $(seq 300); do
    # In a subshell: a connection that is reset may make the redirection
    # fail, and exec's failure would end the test's own shell.
    (exec 3<>"/dev/tcp/${CALLFLOOR_SERVER%:*}/${CALLFLOOR_SERVER#*:}") 2>/dev/null || true
    refused=$((refused + 1))
done
sleep 1.5
lines=$(grep -c "refused [0-9]* connection" "$CF_LOG" || true)
total=$(grep -o "refused [0-9]* connection" "$CF_LOG" | awk '{ n += $2 } END { print n + 0 }')
[ "$lines" -ge 1 ] && [ "$lines" -le 4 ] ||
    cf_fail "$refused refusals made $lines log lines (wanted 1 to 4, each with a count)"
[ "$total" -ge 290 ] || cf_fail "the log counts $total refusals of about 300"
for fd in "${held[@]}"; do exec {fd}>&-; done
sleep 0.5
cf_expect_exit 0 cf_ctl status
cf_done
