# lib.sh: the shared harness of the integration tests, sourced by
# tests/integration/test_*.sh. A test reads like this:
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   . "$(dirname "$0")/lib.sh"
#   cf_setup user_admin                 # work dir, database, certs, config
#   cf_start_daemon                     # the real callfloord, ready to serve
#   cf_add_user ann agent
#   cf_expect_output_contains ann cf_ctl user list
#   cf_as ann cf_expect_exit 1 cf_ctl user list   # agents may not list users
#   cf_done                             # stops the daemon (must exit 0), PASS
#
# Environment (CTest sets it; the defaults suit running a test by hand
# after building into build/ and starting the fixture with
# "tests/integration/pg_fixture.sh start build/tests/pg"):
#   CF_SOURCE          the repository (default: found from this file)
#   CF_BUILD           the build tree (default: $CF_SOURCE/build)
#   CF_PGDIR           the PostgreSQL fixture (default: $CF_BUILD/tests/pg)
#   CF_RECONNECT_GRACE queue.reconnect_grace of the daemon (default 2m)
#   CF_HOPPER_BATCH    queue.hopper_batch of the daemon (default 20)
#   CF_PAUSE_ALERT     board.pause_alert of the daemon (default 15m)
#   CF_RANK_INTERVAL   board.rank_interval of the daemon (default 1s)
#   CF_BOARD_TZ        board.time_zone of the daemon (default: a zone where it
#                      is now about noon, so that the board's day and month
#                      do not end while a test runs; exported)
#   CF_BOARD_INTERVAL  board.interval of the daemon (default 200ms)
#   CF_DAEMON_WRAPPER  a command line that runs the daemon, e.g.
#                      "valgrind --leak-check=full --error-exitcode=99"
#
# After cf_setup a test has: CF_NAME, CF_WORK (its own empty directory),
# CF_DB, CF_PORT, CF_CERTS, CF_LOG (the daemon's log), CF_CONFIG, and
# CALLFLOOR_SERVER / CALLFLOOR_CA / CALLFLOOR_USER / CALLFLOOR_PASSWORD
# exported for the admin. Every user cf_add_user makes has the password
# NAME-password-123.
#
# Assertions end the test with a message on failure, so call them in the
# test's own shell, not inside $(...). A test exits 77 to be reported as
# skipped (cf_skip). cf_setup installs an EXIT trap; register extra
# clean-up with cf_defer instead of a trap of your own.
# shellcheck shell=bash

: "${CF_SOURCE:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${CF_BUILD:=$CF_SOURCE/build}"
: "${CF_PGDIR:=$CF_BUILD/tests/pg}"
export CF_SOURCE CF_BUILD CF_PGDIR

# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=deploy/pg-cluster.sh
. "$CF_SOURCE/deploy/pg-cluster.sh"

CF_PASSWORD_SUFFIX=-password-123
CF_CERTS=$CF_BUILD/tests/certs
CF_NAME=
CF_WORK=
CF_DB=
CF_PORT=
CF_METRICS_PORT=
CF_LOG=
CF_CONFIG=
CF_CONNINFO=
CF_DAEMON_PID=
CF_LAST_OUTPUT=
CF__EXIT_STATUS=
CF_DEFERRED=()

# ---- results ----

# cf_fail MESSAGE: ends the test as failed.
cf_fail() {
    echo "FAIL ${CF_NAME:-${0##*/}}: $*" >&2
    exit 1
}

# cf_skip REASON: ends the test as skipped (CTest's SKIP_RETURN_CODE).
cf_skip() {
    echo "SKIP ${CF_NAME:-${0##*/}}: $*"
    exit 77
}

# cf_done: stops a daemon still running (it must exit 0) and reports the
# test as passed. The last line of a test.
cf_done() {
    [ -z "$CF_DAEMON_PID" ] || cf_stop_daemon
    echo "PASS $CF_NAME"
}

# cf_defer COMMAND [ARG...]: runs the command when the test exits, however
# it exits (latest first), e.g. to stop a client started in the background.
cf_defer() {
    CF_DEFERRED+=("$(printf '%q ' "$@")")
}

# ---- set-up ----

# cf_setup NAME: prepares everything a test needs; NAME is lower case
# letters, digits and '_' (it names the database cf_NAME).
cf_setup() {
    [[ ${1:-} =~ ^[a-z0-9_]+$ ]] || cf_fail "cf_setup needs a name of [a-z0-9_], not '${1:-}'"
    CF_NAME=$1
    CF_WORK=$CF_BUILD/tests/work/$CF_NAME
    CF_DB=cf_$CF_NAME
    CF_LOG=$CF_WORK/callfloord.log
    CF_CONFIG=$CF_WORK/callfloord.conf
    trap cf__on_exit EXIT
    # Interrupted (Ctrl-C, CTest's timeout): clean up all the same.
    trap 'exit 130' INT
    trap 'exit 143' TERM
    [ -r "$CF_PGDIR/conninfo" ] ||
        cf_fail "no PostgreSQL fixture in $CF_PGDIR: start it with '$CF_SOURCE/tests/integration/pg_fixture.sh start $CF_PGDIR' (CTest does this itself)"
    CF_CONNINFO=$(cat "$CF_PGDIR/conninfo")
    rm -rf "$CF_WORK"
    mkdir -p "$CF_WORK"
    cf__create_database
    cf_client_cert admin
    (umask 077 && echo "admin$CF_PASSWORD_SUFFIX" >"$CF_WORK/admin.password")
    CF_PORT=$(cf__free_port)
    CF_METRICS_PORT=$(cf__free_port)
    : "${CF_BOARD_TZ:=$(cf_zone_at 12)}"
    export CF_BOARD_TZ
    cf__write_config
    export CALLFLOOR_SERVER=127.0.0.1:$CF_PORT
    export CALLFLOOR_CA=$CF_CERTS/ca.crt
    export CALLFLOOR_USER=admin
    export CALLFLOOR_PASSWORD=admin$CF_PASSWORD_SUFFIX
    # The agent desk's outbox defaults to a file under it.
    export XDG_STATE_HOME=$CF_WORK/state
}

# cf_client_cert USER: makes sure $CF_CERTS has the CA, the server's
# certificate and client-USER.crt/.key. The certificates are shared by
# every test of a build tree; a lock keeps tests running in parallel from
# making them twice.
cf_client_cert() {
    mkdir -p "$CF_BUILD/tests"
    local out
    out=$(flock "$CF_BUILD/tests/certs.lock" sh -c \
        '"$1" "$2" "$3" && "$4" "$2/vault.keys" && "$5" "$2/audit.key"' sh \
        "$CF_SOURCE/deploy/gen-certs.sh" "$CF_CERTS" "$1" "$CF_SOURCE/deploy/gen-vault-key.sh" \
        "$CF_SOURCE/deploy/gen-audit-key.sh" 2>&1) ||
        cf_fail "cannot make certificates and keys in $CF_CERTS: $out"
}

cf__create_database() {
    local out
    out=$("$PGC_BIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$CF_CONNINFO dbname=postgres" \
        -c "DROP DATABASE IF EXISTS \"$CF_DB\" WITH (FORCE)" \
        -c "CREATE DATABASE \"$CF_DB\"" 2>&1) ||
        cf_fail "cannot create database $CF_DB (is the fixture running? $CF_PGDIR/pg.log may say): $out"
}

# A TCP port nothing listens on, below Linux's ephemeral range (32768 and
# up) so that no client's outgoing connection takes it before the daemon.
# Tests run side by side (ctest -j): each port handed out is reserved until
# the test ends (a directory under $CF_BUILD/tests/ports holding the test
# shell's pid), so that no other test takes it before the daemon binds it.
cf__free_port() {
    local port dir owner _
    mkdir -p "$CF_BUILD/tests/ports"
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 12768))
        dir=$CF_BUILD/tests/ports/$port
        if ! mkdir "$dir" 2>/dev/null; then
            # Taken back only from a test that ended without releasing it
            # (killed); one without a pid yet is still being reserved.
            owner=$(cat "$dir/pid" 2>/dev/null || true)
            if [ -z "$owner" ] || kill -0 "$owner" 2>/dev/null; then continue; fi
            rm -rf "$dir"
            mkdir "$dir" 2>/dev/null || continue
        fi
        echo "$$" >"$dir/pid"
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
        rm -rf "$dir"
    done
    cf_fail "no free TCP port found between 20000 and 32767"
}

# Gives back the ports this test reserved.
cf__release_ports() {
    local pidfile
    for pidfile in "$CF_BUILD"/tests/ports/*/pid; do
        [ "$(cat "$pidfile" 2>/dev/null)" != "$$" ] || rm -rf "${pidfile%/pid}"
    done
}

# A double-quoted INI value (the config parser knows \" and \\).
cf__ini_quote() {
    local v=${1//\\/\\\\}
    printf '"%s"' "${v//\"/\\\"}"
}

cf__write_config() {
    cat >"$CF_CONFIG" <<EOF
# Written by tests/integration/lib.sh for test $CF_NAME.
[server]
listen = 127.0.0.1:$CF_PORT
instance_id = cf-$CF_NAME
worker_threads = 0

[tls]
cert = $(cf__ini_quote "$CF_CERTS/server.crt")
key = $(cf__ini_quote "$CF_CERTS/server.key")
client_ca = $(cf__ini_quote "$CF_CERTS/ca.crt")
profile = intermediate

[database]
conninfo = $(cf__ini_quote "$CF_CONNINFO dbname=$CF_DB")
pool_size = 4

[session]
heartbeat_interval = 10s
handshake_timeout = 10s
max_frame = 1m
max_frame_prelogin = 16k
output_cap = 4m
max_connections = 20000
max_per_address = 0

[queue]
hopper_batch = ${CF_HOPPER_BATCH:-20}
lease_ttl = 5m
reconnect_grace = ${CF_RECONNECT_GRACE:-2m}
callback_grace = 15m

[board]
time_zone = $(cf__ini_quote "$CF_BOARD_TZ")
interval = ${CF_BOARD_INTERVAL:-200ms}
pause_alert = ${CF_PAUSE_ALERT:-15m}
rank_interval = ${CF_RANK_INTERVAL:-1s}

[vault]
key_file = $(cf__ini_quote "$CF_CERTS/vault.keys")

[bootstrap]
admin_user = admin
admin_password_file = $(cf__ini_quote "$CF_WORK/admin.password")

[log]
level = info

[metrics]
listen = 127.0.0.1:$CF_METRICS_PORT

[audit]
signing_key = $(cf__ini_quote "$CF_CERTS/audit.key")
checkpoint_interval = ${CF_AUDIT_CHECKPOINT:-1h}

[privacy]
retention_days = 0
EOF
}

# ---- the daemon ----

# True while PID runs (an exited child waiting to be reaped does not count).
cf__alive() {
    local stat
    stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $stat != Z* ]]
}

cf__log_tail() {
    [ -s "$CF_LOG" ] || return 0
    echo "--- last 50 lines of $CF_LOG:" >&2
    tail -n 50 "$CF_LOG" >&2
    echo "---" >&2
}

cf__wrapped() {
    [ -n "${CF_DAEMON_WRAPPER:-}" ]
}

# cf_start_daemon [CALLFLOORD ARG...]: starts callfloord with the test's
# configuration (and the extra arguments, e.g. --set log.level=debug) and
# waits until "callfloorctl status" answers: 30 s, or 120 s under
# CF_DAEMON_WRAPPER. Its output is appended to $CF_LOG; its pid is
# $CF_DAEMON_PID.
cf_start_daemon() {
    [ -z "$CF_DAEMON_PID" ] || cf_fail "cf_start_daemon: callfloord already runs (pid $CF_DAEMON_PID)"
    local daemon=$CF_BUILD/bin/callfloord ctl=$CF_BUILD/bin/callfloorctl
    if [ ! -x "$daemon" ] || [ ! -x "$ctl" ]; then
        cf_fail "$daemon or $ctl is not built: cmake --build $CF_BUILD"
    fi
    local -a wrapper=()
    if cf__wrapped; then read -r -a wrapper <<<"$CF_DAEMON_WRAPPER"; fi
    echo "=== $(date '+%F %T') starting: ${wrapper[*]:+${wrapper[*]} }callfloord -c $CF_CONFIG $*" >>"$CF_LOG"
    "${wrapper[@]}" "$daemon" -c "$CF_CONFIG" "$@" >>"$CF_LOG" 2>&1 </dev/null &
    CF_DAEMON_PID=$!

    local limit=30 rc
    if cf__wrapped; then limit=120; fi
    local deadline=$((SECONDS + limit))
    until CF_LAST_OUTPUT=$(timeout 10 "$ctl" status 2>&1); do
        if ! cf__alive "$CF_DAEMON_PID"; then
            rc=0
            wait "$CF_DAEMON_PID" || rc=$?
            CF_DAEMON_PID=
            cf_fail "callfloord exited with status $rc before it was ready"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            cf_fail "callfloord was not ready after $limit s; the last 'callfloorctl status' said: $CF_LAST_OUTPUT"
        fi
        sleep 0.2
    done
}

# Sends SIGTERM to the daemon and waits up to LIMIT seconds; sets
# CF__EXIT_STATUS to its exit status, or to "timeout" (after a SIGKILL)
# when it did not exit. Runs in the test's shell: only the parent of the
# daemon can collect its status.
cf__terminate() {
    local limit=$1 deadline=$((SECONDS + $1))
    CF__EXIT_STATUS=0
    kill -TERM "$CF_DAEMON_PID" 2>/dev/null || true
    while cf__alive "$CF_DAEMON_PID" && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.1
    done
    if cf__alive "$CF_DAEMON_PID"; then
        kill -KILL "$CF_DAEMON_PID" 2>/dev/null || true
        wait "$CF_DAEMON_PID" 2>/dev/null || true
        CF__EXIT_STATUS=timeout
    else
        wait "$CF_DAEMON_PID" 2>/dev/null || CF__EXIT_STATUS=$?
    fi
    CF_DAEMON_PID=
}

# cf_stop_daemon: SIGTERM, then the daemon must drain and exit with status
# 0 within 20 s (60 s under CF_DAEMON_WRAPPER, e.g. valgrind's leak check).
cf_stop_daemon() {
    [ -n "$CF_DAEMON_PID" ] || cf_fail "cf_stop_daemon: callfloord is not running"
    local limit=20
    if cf__wrapped; then limit=60; fi
    cf__terminate "$limit"
    case "$CF__EXIT_STATUS" in
    0) ;;
    timeout)
        cf_fail "callfloord did not exit within $limit s of SIGTERM (killed)"
        ;;
    *)
        cf_fail "callfloord exited with status $CF__EXIT_STATUS after SIGTERM (expected 0)"
        ;;
    esac
}

# cf_kill_daemon: SIGKILL, as a crash would end it.
cf_kill_daemon() {
    [ -n "$CF_DAEMON_PID" ] || cf_fail "cf_kill_daemon: callfloord is not running"
    kill -KILL "$CF_DAEMON_PID" 2>/dev/null || true
    wait "$CF_DAEMON_PID" 2>/dev/null || true
    CF_DAEMON_PID=
}

cf__on_exit() {
    local rc=$? i
    for ((i = ${#CF_DEFERRED[@]} - 1; i >= 0; i--)); do
        eval "${CF_DEFERRED[i]}" || true
    done
    if [ -n "$CF_DAEMON_PID" ]; then cf__terminate 20; fi
    cf__release_ports
    if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
        echo "test $CF_NAME failed (exit status $rc); its files are in $CF_WORK" >&2
        cf__log_tail
    fi
    exit "$rc"
}

# ---- clients and the database ----

# cf_ctl ARG...: the built callfloorctl (as $CALLFLOOR_USER).
cf_ctl() {
    "$CF_BUILD/bin/callfloorctl" "$@"
}

# cf_as USER COMMAND [ARG...]: runs a command (or harness function) logged
# in as USER, whose password cf_add_user set.
cf_as() {
    local user=$1
    shift
    CALLFLOOR_USER=$user CALLFLOOR_PASSWORD=$user$CF_PASSWORD_SUFFIX "$@"
}

# cf_add_user NAME ROLE [TEAM]: an account with the password
# NAME-password-123 (given on standard input, as an operator would).
cf_add_user() {
    local -a team=()
    [ $# -lt 3 ] || team=(--team "$3")
    local out
    out=$(printf '%s\n' "$1$CF_PASSWORD_SUFFIX" | cf_ctl user add "$1" --role "$2" "${team[@]}" 2>&1) ||
        cf_fail "cf_add_user $*: callfloorctl user add failed: $out"
}

# cf_board_rows FILE: the board rows a callfloor-monitor --json subscriber
# holds after the lines of FILE (a snapshot replaces them, each change
# replaces its agents' rows), as a JSON object by agent.
cf_board_rows() {
    python3 - "$1" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1], encoding="utf-8"):
    ev = json.loads(line)
    if ev.get("event") == "board":
        if ev["snapshot"]:
            rows = {}
        for r in ev["rows"]:
            rows[r["agent"]] = r
print(json.dumps(rows, ensure_ascii=False))
PY
}

# cf_busy_campaign TEAM COUNT: campaign 春季 of product CB01 for team TEAM
# (which must exist), with COUNT leads (13900000001...) in a time zone
# where it is noon, that may be called again a second after a no-answer:
# a queue for agents that work as fast as they can.
cf_busy_campaign() {
    cf_ctl product add CB01 --name 畅享返现卡 --apr 18.25 >/dev/null
    cf_ctl campaign add 春季 --product CB01 --team "$1" --max-attempts 99 --max-per-day 99 \
        --retry-no-answer 1s --retry-busy 1s >/dev/null
    # awk, not a shell loop: a command substitution a lead forked 50,000
    # times for the benchmarks' floor, minutes on a small machine.
    local zone
    zone=$(cf_zone_at 12)
    awk -v n="$2" -v zone="$zone" 'BEGIN {
        print "name,phone,time_zone"
        for (i = 1; i <= n; i++) printf "客户%d,139%08d,%s\n", i, i, zone
    }' >"$CF_WORK/busy-leads.csv"
    cf_ctl leads import 春季 "$CF_WORK/busy-leads.csv" >/dev/null
}

# cf_metrics [PATH [PORT]]: the daemon's metrics endpoint at PATH (default
# /metrics) on PORT (default the first daemon's), one sample a line; fails
# on a line that is not Prometheus text. An HTTP error prints "HTTP CODE".
cf_metrics() {
    python3 - "http://127.0.0.1:${2:-$CF_METRICS_PORT}${1:-/metrics}" <<'PY'
import re, sys, urllib.request, urllib.error
try:
    body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
except urllib.error.HTTPError as e:
    print("HTTP", e.code)
    sys.exit(0)
line_re = re.compile(r'^[a-z_:][a-z0-9_:]*(\{[a-z_]+="(?:[^"\\]|\\.)*"(,[a-z_]+="(?:[^"\\]|\\.)*")*\})? -?[0-9.e+-]+$|^[a-z_:][a-z0-9_:]*\{le="\+Inf"\} [0-9]+$', re.I)
for line in body.splitlines():
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        continue
    if not line_re.match(line):
        sys.exit("not Prometheus text: %r" % line)
    print(line)
PY
}

# cf_campaign_loaded NAME [PORT]: whether the daemon whose metrics are on
# PORT has loaded campaign NAME (it lists the campaign's hopper).
cf_campaign_loaded() {
    # Not grep -q: its early exit would fail the writer, and the pipeline.
    cf_metrics /metrics "${2:-}" | grep -F "callfloor_hopper_depth{campaign=\"$1\"}" >/dev/null
}

# cf_psql SQL: runs SQL on the test's database; prints the rows unaligned,
# '|' between columns, without headers.
cf_psql() {
    "$PGC_BIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$CF_CONNINFO dbname=$CF_DB" -c "$1"
}

# cf_pg_restart: a fast restart of the fixture's PostgreSQL (every test's
# connections break), as a database failover would do.
cf_pg_restart() {
    local home
    home=$(readlink -f "$CF_PGDIR")
    pgc_ctl "$home/data" restart -m fast -w -t 120 -l "$home/pg.log" >>"$CF_WORK/pg_ctl.log" 2>&1 ||
        cf_fail "cannot restart PostgreSQL (see $CF_WORK/pg_ctl.log and $home/pg.log)"
}

# True when the build tree has AddressSanitizer (valgrind cannot run it).
cf_sanitized_build() {
    grep -q '^CALLFLOOR_SANITIZE:BOOL=ON' "$CF_BUILD/CMakeCache.txt" 2>/dev/null
}

# ---- the agent desk in script mode ----

# cf_agent USER [ARG...]: runs callfloor-agent --script as USER on standard
# input, with its outbox in $CF_WORK/outbox-USER. The JSON lines it printed
# are in $CF_WORK/USER.out, its standard error in USER.err, its exit status
# in CF_AGENT_RC.
cf_agent() {
    local user=$1
    shift
    CF_AGENT_RC=0
    CALLFLOOR_USER=$user CALLFLOOR_PASSWORD=$user$CF_PASSWORD_SUFFIX \
        "$CF_BUILD/bin/callfloor-agent" --script --timeout 10 --outbox "$CF_WORK/outbox-$user" "$@" \
        >"$CF_WORK/$user.out" 2>"$CF_WORK/$user.err" || CF_AGENT_RC=$?
}

# cf_events USER EXPRESSION: the Python EXPRESSION must hold for `ev`, the
# list of USER's last output lines (cf_agent) as objects.
cf_events() {
    python3 - "$CF_WORK/$1.out" "$2" <<'PY' || cf_fail "agent $1's output does not match: $2 (see $CF_WORK/$1.out)"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
if not eval(sys.argv[2]):
    print(json.dumps(ev, ensure_ascii=False, indent=1), file=sys.stderr)
    sys.exit(1)
PY
}

# cf_wait_for FILE TEXT [SECONDS]: waits until FILE contains TEXT.
cf_wait_for() {
    local deadline=$((SECONDS + ${3:-15}))
    until grep -qF -- "$2" "$1" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || cf_fail "'$2' did not appear in $1 within ${3:-15} s"
        sleep 0.1
    done
}

# cf_zone_at HOUR: an Etc/GMT time zone in which it is now HOUR o'clock
# (give or take the minutes), so that tests do not depend on the time of day.
cf_zone_at() {
    python3 - "$1" <<'PY'
import sys, datetime
want = int(sys.argv[1]); now = datetime.datetime.now(datetime.timezone.utc).hour
off = (want - now + 12) % 24 - 12  # -12..11 hours east of UTC
print("Etc/GMT" if off == 0 else "Etc/GMT%+d" % -off)
PY
}

# ---- programs on a pseudo terminal ----

CF_PTY_PID=
CF_PTY_REPLY=

# cf_pty_start NAME COMMAND [ARG...]: runs a terminal program on a new
# pseudo terminal through tests/integration/pty_driver.py (which lists the
# commands cf_pty takes); the raw output goes to $CF_WORK/NAME.out.
cf_pty_start() {
    local name=$1
    shift
    rm -f "$CF_WORK/pty.in" "$CF_WORK/pty.reply"
    mkfifo "$CF_WORK/pty.in" "$CF_WORK/pty.reply"
    python3 "$CF_SOURCE/tests/integration/pty_driver.py" "$CF_WORK/$name.out" "$@" \
        <"$CF_WORK/pty.in" >"$CF_WORK/pty.reply" &
    CF_PTY_PID=$!
    cf_defer cf__pty_kill
    exec 8>"$CF_WORK/pty.in" 9<"$CF_WORK/pty.reply"
}

# cf_pty COMMAND: one driver command ("expect 张伟", "type q", ...); the
# test fails unless the driver answers ok. The answer is in CF_PTY_REPLY.
cf_pty() {
    printf '%s\n' "$*" >&8
    read -r CF_PTY_REPLY <&9 || cf_fail "the pseudo-terminal driver ended during '$*'"
    [[ $CF_PTY_REPLY == ok* ]] || cf_fail "on the terminal: '$*': $CF_PTY_REPLY"
}

# cf_pty_exit: waits for the program to end; CF_PTY_REPLY says how
# ("ok exit=0 restored=1", "ok signal=15 restored=1").
cf_pty_exit() {
    cf_pty exit
    exec 8>&- 9<&-
    wait "$CF_PTY_PID" || true
    CF_PTY_PID=
}

cf__pty_kill() {
    [ -z "$CF_PTY_PID" ] || kill "$CF_PTY_PID" 2>/dev/null || true
}

# ---- assertions ----

# cf_json_check EXPRESSION: standard input must be one JSON document for
# which the Python EXPRESSION (on `doc`) is true, e.g.
#   cf_json_check 'doc["teams"][0]["name"] == "一组"' <<<"$CF_LAST_OUTPUT"
# Prints the document and the expression when it is not.
cf_json_check() {
    python3 -c '
import json, sys
doc = json.loads(sys.stdin.read())
if not eval("(" + sys.argv[1] + ")"):
    sys.exit("assertion failed: %s\n%s" % (sys.argv[1], json.dumps(doc, ensure_ascii=False)))
' "$1"
}

# cf_expect_exit CODE COMMAND [ARG...]: the command must exit with CODE.
# Its output (standard output and error together) is kept in
# CF_LAST_OUTPUT, and shown when the status is wrong.
cf_expect_exit() {
    local want=$1 rc=0
    shift
    CF_LAST_OUTPUT=$("$@" 2>&1) || rc=$?
    [ "$rc" = "$want" ] ||
        cf_fail "expected exit status $want, got $rc from: $*
--- its output:
$CF_LAST_OUTPUT
---"
}

# cf_expect_output_contains TEXT COMMAND [ARG...]: the command must succeed
# and print TEXT (on standard output or error).
cf_expect_output_contains() {
    local text=$1
    shift
    cf_expect_exit 0 "$@"
    grep -qF -- "$text" <<<"$CF_LAST_OUTPUT" ||
        cf_fail "expected '$text' in the output of: $*
--- its output:
$CF_LAST_OUTPUT
---"
}
