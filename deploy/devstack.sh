#!/usr/bin/env bash
# devstack.sh: a complete callfloor for development on one machine: a
# private PostgreSQL cluster, certificates, a configuration and the daemon,
# all under one directory that keeps its data between stops and starts.
set -euo pipefail

PROGRAM=${0##*/}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=deploy/pg-cluster.sh
. "$REPO/deploy/pg-cluster.sh"

READY_TIMEOUT=30
STOP_TIMEOUT=30

usage() {
    cat <<EOF
Usage: $PROGRAM start|stop|status|env [DIR]

  start   starts PostgreSQL and callfloord (creating whatever is missing:
          cluster, database, certificates, admin password, configuration),
          waits until the daemon answers, then prints the environment for
          callfloorctl and the other clients. Already running: just prints it.
  stop    stops callfloord (SIGTERM, it drains) and then PostgreSQL; the
          data stays in DIR for the next start
  status  says what runs; exits 0 when everything does, 1 otherwise
  env     prints the environment again

Only the environment goes to standard output, so this works:
  eval "\$($PROGRAM start)"
  callfloorctl status

DIR defaults to var/devstack in the repository. It holds pg/ (PostgreSQL's
data, socket and log), certs/, admin.password, vault.keys (the keys that
protect customers' phone numbers), callfloord.conf and callfloord.log. When the postgres user cannot reach DIR (e.g. under /root),
pg/ is a link to a directory under /var/lib/callfloor-devstack. To start
from scratch: stop, then remove DIR and what DIR/pg links to.

Environment:
  CALLFLOOR_BIN   directory with callfloord and callfloorctl (default:
                  $REPO/build/bin)
  CALLFLOOR_PORT  the daemon's TCP port when the configuration is first
                  written (default 7443); later, edit DIR/callfloord.conf
  CALLFLOOR_METRICS_PORT
                  the port of its Prometheus metrics, likewise (default 9464)
EOF
}

die() {
    echo "$PROGRAM: $*" >&2
    exit 1
}

say() {
    echo "$PROGRAM: $*" >&2
}

# ---- paths ----

set_paths() {
    DIR=$(realpath -m -- "$1")
    CERTS=$DIR/certs
    CONF=$DIR/callfloord.conf
    PASSWORD_FILE=$DIR/admin.password
    LOG=$DIR/callfloord.log
    PID_FILE=$DIR/callfloord.pid
    local bin=${CALLFLOOR_BIN:-$REPO/build/bin}
    # Accept the daemon's own path as well as its directory.
    [ ! -f "$bin" ] || bin=$(dirname "$bin")
    DAEMON=$bin/callfloord
    CTL=$bin/callfloorctl
}

# Where PostgreSQL lives: DIR/pg, or the directory DIR/pg links to when the
# postgres user cannot reach DIR (see pg-cluster.sh). Root's fallback is
# under /var/lib so that it outlives reboots and /tmp cleaning.
pg_home() {
    local fallback=/tmp
    [ "$(id -u)" != 0 ] || fallback=/var/lib/callfloor-devstack
    pgc_make_home "$DIR/pg" . "$fallback"
}

pg_conninfo() {
    echo "host=$1 port=5432 user=postgres dbname=$2"
}

# ---- PostgreSQL ----

start_postgres() {
    local home
    pgc_check_installed || exit 1
    home=$(pg_home)
    if [ ! -f "$home/data/PG_VERSION" ]; then
        [ ! -e "$home/data" ] ||
            die "$home/data exists but holds no cluster (an interrupted first start?): remove it and start again"
        say "creating the PostgreSQL cluster in $home/data"
        pgc_initdb "$home/data" "$home" "$home/initdb.log" || die "initdb failed"
    fi
    if ! pgc_running "$home/data"; then
        say "starting PostgreSQL (log: $home/postgres.log)"
        pgc_ctl "$home/data" start -w -t 60 -l "$home/postgres.log" >"$home/pg_ctl.log" 2>&1 || {
            tail -n 20 "$home/postgres.log" >&2 || true
            die "PostgreSQL did not start (log above)"
        }
    fi
    local exists
    exists=$("$PGC_BIN/psql" -XAtq -d "$(pg_conninfo "$home" postgres)" \
        -c "SELECT 1 FROM pg_database WHERE datname = 'callfloor'") ||
        die "cannot query PostgreSQL through $home (see $home/postgres.log)"
    if [ "$exists" != 1 ]; then
        say "creating the database callfloor"
        "$PGC_BIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$(pg_conninfo "$home" postgres)" \
            -c "CREATE DATABASE callfloor" >&2 || die "cannot create the database callfloor"
    fi
}

stop_postgres() {
    [ -e "$DIR/pg" ] || return 0
    local home
    home=$(readlink -f "$DIR/pg")
    if pgc_running "$home/data"; then
        say "stopping PostgreSQL"
        pgc_ctl "$home/data" stop -s -m fast -w -t 60 >&2 || die "pg_ctl stop failed (see $home/postgres.log)"
    fi
}

# ---- configuration ----

make_secrets() {
    "$REPO/deploy/gen-certs.sh" "$CERTS" admin >&2
    "$REPO/deploy/gen-vault-key.sh" "$DIR/vault.keys" 2>/dev/null
    "$REPO/deploy/gen-audit-key.sh" "$DIR/audit.key" 2>/dev/null
    if [ ! -s "$PASSWORD_FILE" ]; then
        (umask 077 && openssl rand -hex 16 >"$PASSWORD_FILE")
        say "made a new admin password in $PASSWORD_FILE"
    fi
}

ini_quote() {
    local v=${1//\\/\\\\}
    printf '"%s"' "${v//\"/\\\"}"
}

# check_port NAME VALUE: dies unless VALUE is a TCP port number.
check_port() {
    if ! [[ $2 =~ ^[0-9]{1,5}$ ]] || [ "$2" -lt 1 ] || [ "$2" -gt 65535 ]; then
        die "$1='$2' is not a TCP port number (1 to 65535)"
    fi
}

write_config() {
    local port=${CALLFLOOR_PORT:-7443} metrics_port=${CALLFLOOR_METRICS_PORT:-9464} home
    if [ -s "$CONF" ]; then
        if [ -n "${CALLFLOOR_PORT:-}" ] && [ "$(listen_address)" != "127.0.0.1:$CALLFLOOR_PORT" ]; then
            say "warning: CALLFLOOR_PORT=$CALLFLOOR_PORT is ignored: $CONF already says listen = $(listen_address) (edit it, or delete it to have it written again)"
        fi
        return 0
    fi
    check_port CALLFLOOR_PORT "$port"
    check_port CALLFLOOR_METRICS_PORT "$metrics_port"
    home=$(readlink -f "$DIR/pg")
    cat >"$CONF" <<EOF
# Written by deploy/devstack.sh; edit freely, it is not written again.
# Every key is explained in deploy/callfloord.conf.example.
[server]
listen = 127.0.0.1:$port
instance_id = devstack
worker_threads = 0

[tls]
cert = $(ini_quote "$CERTS/server.crt")
key = $(ini_quote "$CERTS/server.key")
client_ca = $(ini_quote "$CERTS/ca.crt")
profile = intermediate

[database]
conninfo = $(ini_quote "$(pg_conninfo "$home" callfloor)")
pool_size = 4

[session]
heartbeat_interval = 10s
handshake_timeout = 10s
max_frame = 1m
max_frame_prelogin = 16k
output_cap = 4m
max_connections = 20000

[vault]
key_file = $(ini_quote "$DIR/vault.keys")

[bootstrap]
admin_user = admin
admin_password_file = $(ini_quote "$PASSWORD_FILE")

[log]
level = info

[metrics]
listen = 127.0.0.1:$metrics_port

[audit]
signing_key = $(ini_quote "$DIR/audit.key")
EOF
    say "wrote $CONF"
}

# The [server] listen value of the configuration.
listen_address() {
    awk '/^[[:space:]]*\[/ { s = $0; gsub(/[][[:space:]]/, "", s) }
         s == "server" && /^[[:space:]]*listen[[:space:]]*=/ {
             sub(/^[^=]*=[[:space:]]*/, ""); sub(/[[:space:]]+$/, ""); gsub(/"/, ""); print; exit }' "$CONF"
}

# Where a client on this machine reaches the daemon.
server_address() {
    local listen
    listen=$(listen_address)
    [ -n "$listen" ] || listen=127.0.0.1:7443
    case "$listen" in
    0.0.0.0:*) echo "127.0.0.1:${listen#0.0.0.0:}" ;;
    "[::]:"*) echo "[::1]:${listen#\[::\]:}" ;;
    *) echo "$listen" ;;
    esac
}

print_env() {
    if [ ! -s "$CONF" ] || [ ! -s "$PASSWORD_FILE" ]; then
        die "no dev stack in $DIR yet: run '$PROGRAM start${ARG_DIR:+ $ARG_DIR}'"
    fi
    printf 'export CALLFLOOR_SERVER=%q\n' "$(server_address)"
    printf 'export CALLFLOOR_CA=%q\n' "$CERTS/ca.crt"
    printf 'export CALLFLOOR_USER=%q\n' admin
    printf 'export CALLFLOOR_PASSWORD=%q\n' "$(head -n 1 "$PASSWORD_FILE")"
}

# ---- the daemon ----

# The daemon's pid when it runs, else nothing (a stale pid file, or a pid
# now used by another program, counts as not running).
daemon_pid() {
    local pid stat
    [ -s "$PID_FILE" ] || return 0
    pid=$(cat "$PID_FILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    stat=$(ps -o stat=,comm= -p "$pid" 2>/dev/null) || return 0
    [[ $stat != Z* && $stat == *callfloord* ]] || return 0
    echo "$pid"
}

# "callfloorctl status" as the dev stack's admin, given at most 10 s.
ctl_status() {
    (
        export CALLFLOOR_SERVER CALLFLOOR_CA CALLFLOOR_USER=admin CALLFLOOR_PASSWORD
        CALLFLOOR_SERVER=$(server_address)
        CALLFLOOR_CA=$CERTS/ca.crt
        CALLFLOOR_PASSWORD=$(head -n 1 "$PASSWORD_FILE")
        timeout 10 "$CTL" status
    )
}

start_daemon() {
    say "starting callfloord (log: $LOG)"
    echo "=== $(date '+%F %T') $PROGRAM start" >>"$LOG"
    # Its own session, so closing the terminal does not signal it; no
    # inherited output, so "\$($PROGRAM start)" does not wait for it.
    setsid "$DAEMON" -c "$CONF" >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
}

wait_until_ready() {
    local deadline=$((SECONDS + READY_TIMEOUT)) out=
    until out=$(ctl_status 2>&1); do
        if [ -z "$(daemon_pid)" ]; then
            tail -n 20 "$LOG" >&2
            die "callfloord exited (the last lines of $LOG are above); fix the cause and run '$PROGRAM start${ARG_DIR:+ $ARG_DIR}' again"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -n 20 "$LOG" >&2
            die "callfloord did not answer within $READY_TIMEOUT s (callfloorctl said: $out). The last lines of $LOG are above; '$PROGRAM stop${ARG_DIR:+ $ARG_DIR}' stops it"
        fi
        sleep 0.3
    done
}

stop_daemon() {
    local pid
    pid=$(daemon_pid)
    if [ -z "$pid" ]; then
        rm -f "$PID_FILE"
        return 0
    fi
    say "stopping callfloord (pid $pid)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while [ -n "$(daemon_pid)" ]; do
        [ "$SECONDS" -lt "$deadline" ] ||
            die "callfloord (pid $pid) did not stop within $STOP_TIMEOUT s; see $LOG. 'kill -KILL $pid' ends it at once (its lead leases then expire on their own), then run '$PROGRAM stop' again"
        sleep 0.2
    done
    rm -f "$PID_FILE"
}

# ---- commands ----

cmd_start() {
    if [ ! -x "$DAEMON" ] || [ ! -x "$CTL" ]; then
        die "$DAEMON or $CTL is missing: build first (cmake -B build && cmake --build build -j\$(nproc)), or set CALLFLOOR_BIN"
    fi
    command -v openssl >/dev/null || die "openssl is missing: run deploy/install-deps.sh"
    mkdir -p "$DIR" || die "cannot create $DIR"
    start_postgres
    make_secrets
    write_config
    if [ -n "$(daemon_pid)" ]; then
        say "callfloord already runs (pid $(daemon_pid))"
    else
        start_daemon
    fi
    wait_until_ready
    say "callfloord is ready on $(server_address)"
    print_env
}

cmd_stop() {
    if [ ! -d "$DIR" ]; then
        say "there is no dev stack in $DIR: nothing to stop"
        return 0
    fi
    stop_daemon
    stop_postgres
    say "stopped; the data stays in $DIR"
}

cmd_status() {
    local ok=0 pid home
    pid=$(daemon_pid)
    if [ -z "$pid" ]; then
        echo "callfloord: stopped"
        ok=1
    elif [ -s "$CONF" ] && [ -x "$CTL" ] && ctl_status >/dev/null 2>&1; then
        echo "callfloord: running (pid $pid), answering on $(server_address)"
    else
        echo "callfloord: running (pid $pid) but not answering; see $LOG"
        ok=1
    fi
    if [ -e "$DIR/pg" ] && home=$(readlink -f "$DIR/pg") && pgc_running "$home/data"; then
        echo "PostgreSQL: running (data $home/data, socket in $home)"
    else
        echo "PostgreSQL: stopped"
        ok=1
    fi
    return "$ok"
}

main() {
    local command=${1:-}
    case "$command" in
    -h | --help | help)
        usage
        return 0
        ;;
    start | stop | status | env) ;;
    "")
        usage >&2
        exit 2
        ;;
    *)
        usage >&2
        echo "$PROGRAM: unknown command '$command'" >&2
        exit 2
        ;;
    esac
    ARG_DIR=${2:-}
    set_paths "${ARG_DIR:-$REPO/var/devstack}"
    case "$command" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) print_env ;;
    esac
}

main "$@"
