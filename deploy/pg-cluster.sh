# pg-cluster.sh: helpers for a private PostgreSQL 15 cluster, sourced (not
# run) by deploy/devstack.sh and tests/integration/pg_fixture.sh.
#
# PostgreSQL refuses to run as root, so when we are root the cluster belongs
# to the "postgres" user and every server command runs as that user. That
# user must be able to reach the cluster's directory; a checkout under
# /root (mode 0700) is out of its reach, and a Unix socket path may not be
# longer than 107 bytes. In those cases the cluster lives in a directory
# made elsewhere and the wanted path becomes a symbolic link to it, so the
# scripts always pass the resolved path to the server.
# shellcheck shell=bash

PGC_BIN=/usr/lib/postgresql/15/bin
PGC_OWNER=postgres
# sun_path holds 108 bytes including the terminating NUL.
PGC_SOCKET_PATH_MAX=107

# Runs a command as the cluster's owner: "postgres" when we are root,
# ourselves otherwise. From / so that an unreachable working directory
# does not matter.
pgc_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u "$PGC_OWNER" -- "$@")
    else
        "$@"
    fi
}

# Fails with a sentence unless the PostgreSQL 15 server is installed.
pgc_check_installed() {
    if [ ! -x "$PGC_BIN/initdb" ] || [ ! -x "$PGC_BIN/pg_ctl" ]; then
        echo "PostgreSQL 15 is not installed ($PGC_BIN/initdb is missing): run deploy/install-deps.sh" >&2
        return 1
    fi
    if [ "$(id -u)" = 0 ] && ! id -u "$PGC_OWNER" >/dev/null 2>&1; then
        echo "there is no '$PGC_OWNER' user to run PostgreSQL as: reinstall postgresql-15 (deploy/install-deps.sh)" >&2
        return 1
    fi
}

# pgc_usable DIR SOCKET_DIR: true when the cluster's owner can write DIR, and
# SOCKET_DIR's socket path fits and has no white space (the paths go
# unquoted into libpq connection strings).
pgc_usable() {
    local dir=$1 socket=$2/.s.PGSQL.5432
    [ "${#socket}" -le "$PGC_SOCKET_PATH_MAX" ] || return 1
    [[ $socket != *[[:space:]\'\\]* ]] || return 1
    pgc_as_owner test -w "$dir" -a -x "$dir" 2>/dev/null
}

# pgc_make_home PATH SOCKET_SUBDIR FALLBACK_PARENT: makes sure a directory
# the cluster's owner can use is at PATH (a directory, or a link to one
# under FALLBACK_PARENT) and prints its resolved path. SOCKET_SUBDIR is
# where the socket will be, relative to it ("." for the directory itself).
pgc_make_home() {
    local path=$1 subdir=$2 parent=$3 home
    # A link whose directory is gone (e.g. /tmp was emptied) starts over.
    if [ -L "$path" ] && [ ! -e "$path" ]; then
        rm -f "$path"
    fi
    if [ -e "$path" ]; then
        readlink -f "$path"
        return 0
    fi
    mkdir -p "$path"
    home=$(readlink -f "$path")
    [ "$(id -u)" != 0 ] || chown "$PGC_OWNER:" "$home"
    if pgc_usable "$home" "$home/$subdir"; then
        echo "$home"
        return 0
    fi
    rmdir "$home"
    mkdir -p "$parent"
    home=$(mktemp -d "$parent/callfloor-pg.XXXXXX")
    [ "$(id -u)" != 0 ] || chown "$PGC_OWNER:" "$home"
    chmod 0700 "$home"
    ln -s "$home" "$path"
    echo "$home"
}

# pgc_initdb DATA SOCKET_DIR LOG [SETTING...]: a new cluster in DATA whose
# superuser is "postgres" with trust authentication over the Unix socket
# only (no TCP), plus the given postgresql.conf lines. initdb's output goes
# to LOG.
pgc_initdb() {
    local data=$1 socket=$2 log=$3
    shift 3
    if ! pgc_as_owner "$PGC_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 >"$log" 2>&1; then
        cat "$log" >&2
        echo "initdb failed (output above)" >&2
        return 1
    fi
    {
        echo
        echo "# Private cluster: Unix socket only."
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$socket'"
        echo "port = 5432"
        printf '%s\n' "$@"
    } | pgc_as_owner tee -a "$data/postgresql.conf" >/dev/null
}

# pgc_ctl DATA ARGS...: pg_ctl on the cluster in DATA, as its owner.
pgc_ctl() {
    local data=$1
    shift
    pgc_as_owner "$PGC_BIN/pg_ctl" -D "$data" "$@"
}

# True when the cluster in DATA has a running server.
pgc_running() {
    [ -f "$1/PG_VERSION" ] && pgc_ctl "$1" status >/dev/null 2>&1
}
