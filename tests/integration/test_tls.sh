#!/usr/bin/env bash
# test_tls: mutual TLS and the TLS profiles. A client certificate signed by
# tls.client_ca logs its CN's account in without a password; a certificate
# naming no account, a disabled account, another CA or an expired one is
# refused; no certificate still allows a password login. The modern profile
# refuses TLS 1.2, the intermediate one accepts it. A reload puts a new
# server certificate in place without dropping a connected session.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup tls
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_add_user sue supervisor 一组
cf_add_user zed supervisor 一组
for who in sue zed ghost; do cf_client_cert "$who"; done
C=$CF_CERTS
# as_cert NAME CTL-ARGS...: callfloorctl with NAME's certificate and no user.
as_cert() {
    local name=$1
    shift
    CALLFLOOR_USER= CALLFLOOR_PASSWORD= "$CF_BUILD/bin/callfloorctl" --cert "$C/client-$name.crt" \
        --key "$C/client-$name.key" "$@"
}

cf_expect_output_contains "一组" as_cert sue team list
grep -q "supervisor sue logged in" "$CF_LOG" || cf_fail "the certificate login was not logged"
cf_expect_exit 1 as_cert ghost team list
grep -q "names 'ghost', which is no active account" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a certificate of no account was not explained: $CF_LAST_OUTPUT"
cf_ctl user disable zed >/dev/null
cf_expect_exit 1 as_cert zed team list
cf_expect_output_contains "一组" cf_as sue cf_ctl team list   # a password, no certificate

# A certificate from another CA, and an expired one from the right CA.
other=$CF_WORK/other
mkdir -p "$other"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=OtherCA \
    -keyout "$other/ca.key" -out "$other/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=sue \
    -keyout "$other/sue.key" -out "$other/sue.csr" 2>/dev/null
openssl x509 -req -in "$other/sue.csr" -CA "$other/ca.crt" -CAkey "$other/ca.key" -days 30 \
    -set_serial 7 -out "$other/sue.crt" 2>/dev/null
CALLFLOOR_USER= CALLFLOOR_PASSWORD= cf_expect_exit 3 "$CF_BUILD/bin/callfloorctl" \
    --cert "$other/sue.crt" --key "$other/sue.key" team list
mkdir -p "$other/db"
: >"$other/db/index.txt"
cat >"$other/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $other/db/index.txt
new_certs_dir = $other/db
serial = $other/db/serial
default_md = sha256
policy = anything
[anything]
commonName = supplied
CNF
echo 1000 >"$other/db/serial"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=sue \
    -keyout "$other/old.key" -out "$other/old.csr" 2>/dev/null
openssl ca -batch -config "$other/ca.cnf" -cert "$C/ca.crt" -keyfile "$C/ca.key" -in "$other/old.csr" \
    -startdate 240101000000Z -enddate 240201000000Z -out "$other/old.crt" >/dev/null 2>&1 ||
    cf_fail "cannot make an expired certificate"
CALLFLOOR_USER= CALLFLOOR_PASSWORD= cf_expect_exit 3 "$CF_BUILD/bin/callfloorctl" \
    --cert "$other/old.crt" --key "$other/old.key" team list
grep -q "certificate has expired\|certificate verify failed\|expired" "$CF_LOG" ||
    cf_fail "the expired certificate's refusal is not in the log"

# A new server certificate on reload; the connected session stays.
CALLFLOOR_USER=sue CALLFLOOR_PASSWORD=sue$CF_PASSWORD_SUFFIX \
    "$CF_BUILD/bin/callfloor-monitor" --json --interval 1 >"$CF_WORK/monitor.jsonl" 2>&1 &
monitor=$!
cf_defer kill "$monitor"
cf_wait_for "$CF_WORK/monitor.jsonl" '"event":"status"'
serial() {
    openssl s_client -connect "127.0.0.1:$CF_PORT" -CAfile "$C/ca.crt" </dev/null 2>/dev/null |
        openssl x509 -noout -serial
}
before=$(serial)
mkdir -p "$CF_WORK/newcert"
cp "$C/ca.crt" "$C/ca.key" "$CF_WORK/newcert/"
"$CF_SOURCE/deploy/gen-certs.sh" "$CF_WORK/newcert" admin >/dev/null 2>&1 ||
    cf_fail "cannot make a new server certificate"
sed -i "s|^cert = .*|cert = \"$CF_WORK/newcert/server.crt\"|; s|^key = \"$C/server.key\"|key = \"$CF_WORK/newcert/server.key\"|" "$CF_CONFIG"
kill -HUP "$CF_DAEMON_PID"
cf_wait_for "$CF_LOG" "configuration and certificates reloaded"
after=$(serial)
[ -n "$after" ] && [ "$after" != "$before" ] || cf_fail "the reload did not serve the new certificate ($before, $after)"
lines=$(wc -l <"$CF_WORK/monitor.jsonl")
sleep 2
kill -0 "$monitor" 2>/dev/null || cf_fail "the reload dropped the monitor's session"
[ "$(wc -l <"$CF_WORK/monitor.jsonl")" -gt "$lines" ] || cf_fail "the monitor stopped hearing after the reload"
! grep -q '"state":"reconnecting"\|connection lost' "$CF_WORK/monitor.jsonl" ||
    cf_fail "the monitor had to reconnect: $(tail -3 "$CF_WORK/monitor.jsonl")"

# The profiles.
tls12() { openssl s_client -tls1_2 -connect "127.0.0.1:$CF_PORT" -CAfile "$C/ca.crt" </dev/null >/dev/null 2>&1; }
tls12 || cf_fail "the intermediate profile refused TLS 1.2"

# No session is resumed: the server issues no tickets and caches no
# sessions (clients never resume one). A TLS 1.2 server that cached
# sessions would name the session, one with tickets would send one; a
# TLS 1.3 session a client kept must not be taken up again.
# Input open for a second, so that s_client reads what the server sends
# after the handshake (TLS 1.3 tickets) before it leaves.
s_client_session() { # VERSION SESSION_OPTION FILE OUTPUT
    sleep 1 | openssl s_client "$1" -connect "127.0.0.1:$CF_PORT" -CAfile "$C/ca.crt" "$2" "$3" \
        >"$4" 2>&1 || true
}
s_client_session -tls1_2 -sess_out "$CF_WORK/session12" "$CF_WORK/session12.out"
grep -q "^New, TLSv1.2" "$CF_WORK/session12.out" ||
    cf_fail "openssl s_client -tls1_2 failed: $(tail -3 "$CF_WORK/session12.out")"
grep -q "^ *Session-ID: *$" "$CF_WORK/session12.out" ||
    cf_fail "the server named a TLS 1.2 session: $(grep 'Session-ID:' "$CF_WORK/session12.out")"
! grep -qi "session ticket" "$CF_WORK/session12.out" || cf_fail "the server sent a TLS 1.2 session ticket"
rm -f "$CF_WORK/session13"
s_client_session -tls1_3 -sess_out "$CF_WORK/session13" "$CF_WORK/session13.out"
grep -q "^New, TLSv1.3" "$CF_WORK/session13.out" ||
    cf_fail "openssl s_client -tls1_3 failed: $(tail -3 "$CF_WORK/session13.out")"
! grep -qi "new session ticket" "$CF_WORK/session13.out" || cf_fail "the server sent a TLS 1.3 ticket"
if [ -s "$CF_WORK/session13" ]; then
    s_client_session -tls1_3 -sess_in "$CF_WORK/session13" "$CF_WORK/again13.out"
    ! grep -q "^Reused" "$CF_WORK/again13.out" || cf_fail "the server resumed a TLS 1.3 session"
fi

cf_stop_daemon
cf_start_daemon --set tls.profile=modern
if tls12; then cf_fail "the modern profile accepted TLS 1.2"; fi
openssl s_client -tls1_3 -connect "127.0.0.1:$CF_PORT" -CAfile "$C/ca.crt" </dev/null >/dev/null 2>&1 ||
    cf_fail "the modern profile refused TLS 1.3"
cf_done
