#!/usr/bin/env bash
# install-deps.sh: installs the Debian 12 packages callfloor needs to build
# and to run its tests. Idempotent: when everything is already installed it
# touches nothing (and needs neither root nor the network). Quiet unless
# something fails.
set -euo pipefail

PROGRAM=${0##*/}

usage() {
    cat <<EOF
Usage: $PROGRAM [--bench] [--help]

Installs the Debian 12 (bookworm) packages needed to build callfloor and run
its tests: apt-get update, then apt-get install. Runs apt as root, through
sudo when you are not root. Does nothing when every package is installed.

Options:
  --bench   also what the benchmarks compare with and profile by
            (tests/bench/): mosquitto, libmosquitto-dev and heaptrack

Environment:
  CALLFLOOR_SKIP_DEPS=1   do nothing (for machines prepared another way)
EOF
}

# Each group says why it is here; keep it the only list of dependencies.
PACKAGES=(
    # Compiler, build system and library discovery.
    build-essential cmake pkg-config
    # Libraries the programs link: event loop, protocol, PostgreSQL client,
    # TLS, password hashing, terminal UI, systemd notification.
    libuv1-dev libprotobuf-c-dev protobuf-c-compiler libpq-dev libssl-dev
    libargon2-dev libncurses-dev libsystemd-dev
    # Translations (msgfmt compiles po/*.po at build time; the locale
    # sources let the tests build a zh_CN.UTF-8 locale with localedef).
    gettext locales
    # Unit tests.
    libcmocka-dev
    # Integration tests and the dev stack: a private PostgreSQL cluster, the
    # openssl CLI for certificates, python3 for checks of JSON output, ps
    # and ss to watch processes and sockets.
    postgresql-15 postgresql-client-15 openssl python3 procps iproute2
    # Leak checks, and clang with its sanitizer and fuzzer runtimes.
    valgrind clang libclang-rt-14-dev
    # Packaging: man pages from --help, the .deb (dpkg-deb, dpkg-shlibdeps),
    # and systemd-analyze to check the unit.
    help2man dpkg-dev file systemd
)
# With --bench: the MQTT broker tests/bench/fanout.sh measures the board's
# fan-out against, the client library of its subscriber swarm, and the
# heap profiler docs/BENCHMARKS.md counts a session's allocations with.
BENCH_PACKAGES=(mosquitto libmosquitto-dev heaptrack)

die() {
    echo "$PROGRAM: $*" >&2
    exit 1
}

missing_packages() {
    local pkg status
    for pkg in "${PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        [ "$status" = installed ] || echo "$pkg"
    done
}

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    else
        sudo -- "$@"
    fi
}

# Runs an apt-get step with its output kept in a log that is shown only
# when the step fails.
quietly() {
    local log
    log=$(mktemp)
    if ! as_root env DEBIAN_FRONTEND=noninteractive "$@" >"$log" 2>&1 </dev/null; then
        cat "$log" >&2
        rm -f "$log"
        die "'$*' failed (output above). Check the network and the apt sources, then run $PROGRAM again."
    fi
    rm -f "$log"
}

main() {
    case "${1:-}" in
    -h | --help)
        usage
        return 0
        ;;
    "") ;;
    --bench) PACKAGES+=("${BENCH_PACKAGES[@]}") ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
    if [ "${CALLFLOOR_SKIP_DEPS:-}" = 1 ]; then
        return 0
    fi
    command -v apt-get >/dev/null ||
        die "apt-get not found: this script supports Debian 12; install the equivalents of: ${PACKAGES[*]}"

    local missing
    missing=$(missing_packages)
    [ -n "$missing" ] || return 0

    if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
        die "installing packages needs root: run it as root, or install and configure sudo. Missing: $(echo "$missing" | tr '\n' ' ')"
    fi
    local -a lock=(-o DPkg::Lock::Timeout=300)
    quietly apt-get "${lock[@]}" update -q
    # shellcheck disable=SC2086 # one package name per word
    quietly apt-get "${lock[@]}" install -y -q --no-install-recommends $missing

    missing=$(missing_packages)
    [ -z "$missing" ] ||
        die "still not installed after apt-get: $(echo "$missing" | tr '\n' ' '); check that the Debian 12 'main' sources are enabled."
}

main "$@"
