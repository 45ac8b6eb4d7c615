#!/usr/bin/env bash
# pg_fixture.sh: the private PostgreSQL 15 cluster the integration tests
# share. CTest runs "start" before the first integration test and "stop"
# after the last (the FIXTURES_SETUP / FIXTURES_CLEANUP pair in
# tests/CMakeLists.txt).
#
# DIR holds: data/ (the cluster), sock/ (its Unix socket; no TCP), pg.log
# (the server's log) and conninfo (a libpq connection string without a
# dbname). When the postgres user cannot reach DIR (a checkout under /root)
# or the socket path would be too long, DIR is a link to a directory under
# /tmp; scripts should use "$(readlink -f DIR)/data" for the data directory.
set -euo pipefail

PROGRAM=${0##*/}
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=deploy/pg-cluster.sh
. "$SOURCE_DIR/deploy/pg-cluster.sh"

usage() {
    cat <<EOF
Usage: $PROGRAM start|stop DIR

  start DIR   a fresh cluster in DIR (one left from an earlier run is
              stopped and removed first); writes DIR/conninfo
  stop DIR    stops the cluster and removes DIR

The settings trade durability for speed (fsync, synchronous_commit and
full_page_writes are off): the cluster is for tests only.

Environment:
  CF_PG_SETTINGS   more postgresql.conf lines, one a line (a benchmark's
                   profile, e.g. shared_preload_libraries)
EOF
}

die() {
    echo "$PROGRAM: $*" >&2
    exit 1
}

# Stops the cluster in DIR if there is one, and removes DIR (and the
# directory it links to).
remove_cluster() {
    local dir=$1 home
    [ -e "$dir" ] || [ -L "$dir" ] || return 0
    home=$(readlink -f "$dir")
    if pgc_running "$home/data"; then
        pgc_ctl "$home/data" stop -m fast -w -t 60 >/dev/null ||
            die "cannot stop the cluster in $home/data (see $home/pg.log)"
    fi
    rm -rf "$home"
    [ ! -L "$dir" ] || rm -f "$dir"
}

start() {
    local dir=$1 home
    pgc_check_installed || exit 1
    remove_cluster "$dir"
    home=$(pgc_make_home "$dir" sock /tmp)
    pgc_as_owner mkdir -m 0700 "$home/sock"
    local -a extra=()
    [ -z "${CF_PG_SETTINGS:-}" ] || mapfile -t extra <<<"$CF_PG_SETTINGS"
    pgc_initdb "$home/data" "$home/sock" "$home/initdb.log" \
        "fsync = off" "synchronous_commit = off" "full_page_writes = off" \
        "max_connections = 200" "${extra[@]}" || die "cannot create the cluster in $home/data"
    # -l sends the server's output to the log: a server holding CTest's
    # output pipe would make CTest wait for it.
    if ! pgc_ctl "$home/data" start -w -t 120 -l "$home/pg.log" >"$home/pg_ctl.log" 2>&1; then
        cat "$home/pg_ctl.log" "$home/pg.log" >&2 || true
        die "PostgreSQL did not start (output above)"
    fi
    echo "host=$home/sock port=5432 user=postgres" >"$home/conninfo"
    echo "$PROGRAM: PostgreSQL running in $home: $(cat "$home/conninfo")"
}

main() {
    case "${1:-}" in
    -h | --help)
        usage
        return 0
        ;;
    start | stop)
        if [ $# -ne 2 ] || [ -z "$2" ]; then
            usage >&2
            exit 2
        fi
        ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
    if [ "$1" = start ]; then
        start "$2"
    else
        remove_cluster "$2"
    fi
}

main "$@"
