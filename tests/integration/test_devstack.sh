#!/usr/bin/env bash
# test_devstack: deploy/devstack.sh as a developer uses it: start makes a
# private PostgreSQL, certificates, a configuration and an admin password,
# starts the daemon and prints the environment, so that after eval
# callfloorctl works; stop stops both and keeps the data; a second start
# finds it again; status says what runs.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup devstack
DEVSTACK=$CF_SOURCE/deploy/devstack.sh
DIR=$CF_WORK/stack
export CALLFLOOR_BIN=$CF_BUILD/bin CALLFLOOR_PORT=$CF_PORT
unset CALLFLOOR_SERVER CALLFLOOR_CA CALLFLOOR_USER CALLFLOOR_PASSWORD

stack_cleanup() {
    "$DEVSTACK" stop "$DIR" >/dev/null 2>&1 || true
    local pg
    pg=$(readlink -f "$DIR/pg" 2>/dev/null) || return 0
    case "$pg" in "$DIR"/*) ;; *) rm -rf "$pg" ;; esac
}
cf_defer stack_cleanup

cf_expect_exit 0 "$DEVSTACK" --help
cf_expect_exit 2 "$DEVSTACK" frobnicate
cf_expect_exit 1 "$DEVSTACK" status "$DIR"

env_out=$("$DEVSTACK" start "$DIR" 2>"$CF_WORK/start.err") ||
    cf_fail "devstack start failed: $(tail -n 20 "$CF_WORK/start.err")"
grep -q "^export CALLFLOOR_SERVER=" <<<"$env_out" || cf_fail "start printed no environment: $env_out"
eval "$env_out"
cf_expect_output_contains "$CALLFLOOR_SERVER" "$CF_BUILD/bin/callfloorctl" status
cf_expect_exit 0 "$CF_BUILD/bin/callfloorctl" team add 持久组
cf_expect_exit 0 "$DEVSTACK" status "$DIR"
[ "$(stat -c %a "$DIR/admin.password")" = 600 ] || cf_fail "the admin password file is readable by others"

# Started again while running: just the environment.
[ "$("$DEVSTACK" start "$DIR" 2>/dev/null)" = "$env_out" ] || cf_fail "a second start printed something else"

cf_expect_exit 0 "$DEVSTACK" stop "$DIR"
cf_expect_exit 1 "$DEVSTACK" status "$DIR"
cf_expect_exit 3 "$CF_BUILD/bin/callfloorctl" status

env_out=$("$DEVSTACK" start "$DIR" 2>>"$CF_WORK/start.err") ||
    cf_fail "the second devstack start failed: $(tail -n 20 "$CF_WORK/start.err")"
eval "$env_out"
cf_expect_output_contains 持久组 "$CF_BUILD/bin/callfloorctl" team list
cf_expect_exit 0 "$DEVSTACK" stop "$DIR"
cf_done
