#!/usr/bin/env bash
# test_db_pool: the asynchronous PostgreSQL pool (server/db.c) against the
# fixture's PostgreSQL, through tests/tools/db_exercise: every scenario,
# including a fast restart of the server under load, then basic and close
# again under valgrind where the build allows it.
#
# Environment (set by CTest): CF_BUILD, CF_SOURCE, CF_PGDIR. The restart
# scenario restarts the shared server, so this test must not run beside
# other tests that use it.
# ctest: run-serial (it restarts the shared PostgreSQL)
set -euo pipefail

: "${CF_BUILD:?CF_BUILD is not set}" "${CF_SOURCE:?CF_SOURCE is not set}"
: "${CF_PGDIR:?CF_PGDIR is not set}"

PGBIN=/usr/lib/postgresql/15/bin
TOOL="$CF_BUILD/tests/db_exercise"
DB=cf_db_pool
BASE_CONNINFO="$(cat "$CF_PGDIR/conninfo")"
CONNINFO="$BASE_CONNINFO dbname=$DB"
WORK="$(mktemp -d /tmp/cf-db-pool.XXXXXX)"
TOOL_PID=

cleanup() {
    if [ -n "$TOOL_PID" ] && kill -0 "$TOOL_PID" 2>/dev/null; then
        kill "$TOOL_PID" 2>/dev/null || true
        wait "$TOOL_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "test_db_pool: FAIL: $*" >&2
    exit 1
}

# PostgreSQL refuses to run as root; the fixture's server belongs to postgres then.
as_server_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

show_log() {
    echo "--- stderr of $1:" >&2
    cat "$WORK/$1.err" >&2 || true
}

# run_scenario NAME CONNINFO [WRAPPER...]: the scenario's output goes to
# $WORK/NAME.out and .err, shown only when it fails.
run_scenario() {
    local name=$1 conninfo=$2
    shift 2
    if ! timeout 300 "$@" "$TOOL" "$conninfo" "$name" >"$WORK/$name.out" 2>"$WORK/$name.err"; then
        show_log "$name"
        fail "scenario $name"
    fi
    echo "ok: $(tail -n 1 "$WORK/$name.out")"
}

wait_for_ready() {
    for _ in $(seq 600); do
        grep -qx READY "$WORK/restart.out" 2>/dev/null && return 0
        kill -0 "$TOOL_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# The server is restarted while the tool keeps transactions in flight;
# SIGUSR1 tells it the restart is over and it must recover on its own.
# pg_ctl's output (and the restarted server's log) goes to a file so no
# server process holds CTest's output pipe open.
run_restart() {
    "$TOOL" "$CONNINFO" restart >"$WORK/restart.out" 2>"$WORK/restart.err" &
    TOOL_PID=$!
    wait_for_ready || { show_log restart; fail "restart: the tool never printed READY"; }
    as_server_owner "$PGBIN/pg_ctl" -D "$(readlink -f "$CF_PGDIR")/data" -w -t 120 restart -m fast \
        >>"$CF_PGDIR/restart.log" 2>&1 || fail "pg_ctl restart (see $CF_PGDIR/restart.log)"
    kill -USR1 "$TOOL_PID"
    local rc=0
    wait "$TOOL_PID" || rc=$?
    TOOL_PID=
    [ "$rc" = 0 ] || { show_log restart; fail "scenario restart"; }
    echo "ok: $(tail -n 1 "$WORK/restart.out")"
}

[ -x "$TOOL" ] || fail "$TOOL is not built"
"$PGBIN/psql" "$BASE_CONNINFO dbname=postgres" -v ON_ERROR_STOP=1 -q \
    -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null ||
    fail "cannot create database $DB"

run_scenario basic "$CONNINFO"
run_scenario error "$CONNINFO"
run_scenario queue "$CONNINFO"
run_scenario slow "$CONNINFO"
run_scenario catalog "$CONNINFO"
grep -q 'statement "cf_broken" does not prepare: syntax error' "$WORK/catalog.err" ||
    { show_log catalog; fail "catalog: the log does not name the bad statement"; }
mkdir "$WORK/no-server"
run_scenario unavailable "host=$WORK/no-server port=5432 user=postgres dbname=$DB"
run_scenario broken "$CONNINFO"
run_scenario close "$CONNINFO"
run_restart

if grep -q '^CALLFLOOR_SANITIZE:BOOL=ON' "$CF_BUILD/CMakeCache.txt" 2>/dev/null; then
    echo "skipped: valgrind pass (sanitizer build)"
elif ! command -v valgrind >/dev/null; then
    echo "skipped: valgrind pass (valgrind is not installed)"
else
    for name in basic close; do
        run_scenario "$name" "$CONNINFO" valgrind -q --leak-check=full --error-exitcode=1
    done
fi
echo "test_db_pool: all scenarios passed"
