#!/usr/bin/env bash
# test_devstack: deploy/devstack.sh as a developer uses it: start makes a
# private PostgreSQL, certificates, a configuration and an admin password,
# starts the daemon and prints the environment, so that after eval
# callfloorctl works; stop stops the daemon and PostgreSQL and keeps the
# data; a second start finds it again; status and env say what runs. The
# stack's own PostgreSQL is stopped however the test ends.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup devstack
DEVSTACK=$CF_SOURCE/deploy/devstack.sh
CTL=$CF_BUILD/bin/callfloorctl
DIR=$CF_WORK/stack
export CALLFLOOR_BIN=$CF_BUILD/bin CALLFLOOR_PORT=$CF_PORT CALLFLOOR_METRICS_PORT=$CF_METRICS_PORT
unset CALLFLOOR_SERVER CALLFLOOR_CA CALLFLOOR_USER CALLFLOOR_PASSWORD

# Whatever happens, the stack's daemon and PostgreSQL do not outlive the
# test, and a cluster kept outside DIR (see pg-cluster.sh) goes too.
stack_cleanup() {
    "$DEVSTACK" stop "$DIR" >/dev/null 2>&1 || true
    local pid
    pid=$(cat "$DIR/callfloord.pid" 2>/dev/null) &&
        [[ $(ps -o comm= -p "$pid" 2>/dev/null) == callfloord* ]] && kill -KILL "$pid"
    [ -z "${PG_HOME:-}" ] || pgc_ctl "$PG_HOME/data" stop -m immediate >/dev/null 2>&1 || true
    case "${PG_HOME:-}" in "" | "$DIR"/*) ;; *) rm -rf "$PG_HOME" ;; esac
}
cf_defer stack_cleanup

# True while a postgres server runs on the cluster in $PG_HOME/data.
postgres_runs() {
    pgrep -f -- "postgres -D $PG_HOME/data" >/dev/null
}

# True while PID runs; an exited daemon waiting to be reaped by whoever
# inherited it does not count.
runs() {
    local stat
    stat=$(ps -o stat= -p "$1") && [[ $stat != Z* ]]
}

expect_in_output() {
    grep -qF -- "$1" <<<"$CF_LAST_OUTPUT" || cf_fail "$2: $CF_LAST_OUTPUT"
}

# ---- the command line ----
cf_expect_exit 0 "$DEVSTACK" --help
expect_in_output "eval" "--help does not show how to use the environment"
cf_expect_exit 2 "$DEVSTACK"
cf_expect_exit 2 "$DEVSTACK" frobnicate
expect_in_output "frobnicate" "an unknown command is not named"
cf_expect_exit 1 "$DEVSTACK" status "$DIR"
cf_expect_exit 1 "$DEVSTACK" env "$DIR"
expect_in_output "start" "env before start does not say to start"

# ---- start, then callfloorctl through the printed environment ----
env_out=$("$DEVSTACK" start "$DIR" 2>"$CF_WORK/start.err") ||
    cf_fail "devstack start failed: $(tail -n 20 "$CF_WORK/start.err")"
PG_HOME=$(readlink -f "$DIR/pg")
for var in CALLFLOOR_SERVER CALLFLOOR_CA CALLFLOOR_USER CALLFLOOR_PASSWORD; do
    grep -q "^export $var=" <<<"$env_out" || cf_fail "start printed no $var: $env_out"
done
[ "$(grep -cv '^export ' <<<"$env_out")" = 0 ] || cf_fail "start printed more than the environment: $env_out"
eval "$env_out"
[ "$CALLFLOOR_SERVER" = "127.0.0.1:$CF_PORT" ] || cf_fail "CALLFLOOR_SERVER is $CALLFLOOR_SERVER, not the port asked for"
[ "$CALLFLOOR_PASSWORD" = "$(head -n 1 "$DIR/admin.password")" ] ||
    cf_fail "CALLFLOOR_PASSWORD is not the password in admin.password"
[ "$(stat -c %a "$DIR/admin.password")" = 600 ] || cf_fail "the admin password file is readable by others"
postgres_runs || cf_fail "no PostgreSQL runs on $PG_HOME/data after start"
cf_expect_output_contains "$CALLFLOOR_SERVER" "$CTL" status
cf_metrics | grep -q '^callfloor_' || cf_fail "no metrics on the port CALLFLOOR_METRICS_PORT asked for"
cf_expect_exit 0 "$CTL" team add 持久组
cf_expect_output_contains "callfloord: running" "$DEVSTACK" status "$DIR"
expect_in_output "PostgreSQL: running" "status does not report PostgreSQL running"
[ "$("$DEVSTACK" env "$DIR")" = "$env_out" ] || cf_fail "env prints something else than start did"
# Started again while running: just the environment, the same daemon.
pid=$(cat "$DIR/callfloord.pid")
[ "$("$DEVSTACK" start "$DIR" 2>/dev/null)" = "$env_out" ] || cf_fail "a second start printed something else"
[ "$(cat "$DIR/callfloord.pid")" = "$pid" ] || cf_fail "a second start started another daemon"

# ---- stop: the daemon and PostgreSQL both go ----
cf_expect_exit 0 "$DEVSTACK" stop "$DIR"
! runs "$pid" || cf_fail "callfloord (pid $pid) still runs after stop"
! postgres_runs || cf_fail "PostgreSQL still runs after stop"
cf_expect_exit 1 "$DEVSTACK" status "$DIR"
expect_in_output "callfloord: stopped" "status does not report the daemon stopped"
expect_in_output "PostgreSQL: stopped" "status does not report PostgreSQL stopped"
cf_expect_exit 3 "$CTL" status
cf_expect_exit 0 "$DEVSTACK" stop "$DIR"

# ---- start again: the data is still there, the password the same ----
env_again=$("$DEVSTACK" start "$DIR" 2>>"$CF_WORK/start.err") ||
    cf_fail "the second devstack start failed: $(tail -n 20 "$CF_WORK/start.err")"
[ "$env_again" = "$env_out" ] || cf_fail "the environment changed across a restart"
cf_expect_output_contains 持久组 "$CTL" team list
! grep -qF -- "$CALLFLOOR_PASSWORD" "$DIR/callfloord.log" || cf_fail "the daemon logged the admin password"
cf_expect_exit 0 "$DEVSTACK" stop "$DIR"
! postgres_runs || cf_fail "PostgreSQL still runs after the second stop"
cf_done
