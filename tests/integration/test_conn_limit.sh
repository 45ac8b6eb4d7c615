#!/usr/bin/env bash
# test_conn_limit: over session.max_connections the daemon accepts and
# closes at once, keeps serving the connections it has, and logs the
# refusals as a count about once a second rather than a line for each, so
# that a flood of connections cannot flood the log. Over
# session.max_per_address from one address it refuses that address's next
# connections while another address is still served.
# ctest: run-serial (its flood must fit in the few seconds the refusal log lines cover)
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
cf_stop_daemon

# Three connections at most from one address: 127.0.0.1 holds three idle
# ones, its fourth is closed at once, and 127.0.0.2 still gets TLS.
cf_start_daemon --set session.max_per_address=3
python3 - "${CALLFLOOR_SERVER#*:}" "$CALLFLOOR_CA" <<'PY' || cf_fail "the per-address limit does not hold"
import socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
def connect(source):
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    return s
held = [connect("127.0.0.1") for _ in range(3)]
time.sleep(0.3)
fourth = connect("127.0.0.1")
fourth.settimeout(5)
try:
    data = fourth.recv(1)  # closed by the daemon: end of stream, or a reset
except ConnectionResetError:
    data = b""
if data != b"":
    sys.exit("a fourth connection from 127.0.0.1 was kept")
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
ctx.set_alpn_protocols(["callfloor/1"])
other = ctx.wrap_socket(connect("127.0.0.2"), server_hostname="localhost")
if other.selected_alpn_protocol() != "callfloor/1":
    sys.exit("127.0.0.2 was not served")
other.close()
for s in held:
    s.close()
PY
deadline=$((SECONDS + 5))
until grep -q "more than 3 open from one address (session.max_per_address)" "$CF_LOG"; do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "the refusal over the per-address limit is not logged"
    sleep 0.2
done
cf_expect_exit 0 cf_ctl status
cf_done
