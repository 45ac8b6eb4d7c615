#!/usr/bin/env bash
# run.sh: every test, in one command (and what CI runs, through .ci/run).
# Installs the dependencies, then builds and tests the source twice: a
# normal build with warnings as errors, and one with AddressSanitizer and
# UndefinedBehaviorSanitizer. Each CTest run holds the unit tests and the
# integration tests (a private PostgreSQL cluster, the real daemon and
# clients). Runs every step it can, prints a summary, and exits non-zero
# when anything failed.
set -euo pipefail

PROGRAM=${0##*/}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    cat <<EOF
Usage: $PROGRAM [--help]

Steps (the build trees are inside the repository):
  dependencies   deploy/install-deps.sh (skipped with CALLFLOOR_SKIP_DEPS=1)
  build          build/: RelWithDebInfo, -DCALLFLOOR_WERROR=ON, installing into
                 /usr (test_package builds and checks the .deb from it); ctest
  build-asan     build-asan/: -DCALLFLOOR_SANITIZE=ON -DCALLFLOOR_WERROR=ON;
                 ctest with leak detection, stopping at the first sanitizer report
  fuzz           build-fuzz/: clang, libFuzzer, ASan and UBSan; each target of
                 tests/fuzz/ for 60 s from its seed corpus

Installing packages needs root or sudo; once they are installed, any user
can run it. Three tests run at a time (CALLFLOOR_TEST_JOBS changes it):
most of a test's time is spent waiting for timers, leases and the clients.
The integration tests share one PostgreSQL cluster; those that restart it,
and those that time the daemon closely, say so with a line
"# ctest: run-serial" and run alone.
EOF
}

RESULTS=()
FAILED=0

# step NAME COMMAND [ARG...]: runs one step and records how it went.
step() {
    local name=$1 start=$SECONDS rc=0
    shift
    echo
    echo "==> $name: $*"
    "$@" || rc=$?
    if [ "$rc" = 0 ]; then
        RESULTS+=("ok       $name ($((SECONDS - start)) s)")
    else
        RESULTS+=("FAILED   $name (exit status $rc after $((SECONDS - start)) s)")
        FAILED=1
    fi
    return "$rc"
}

skipped() {
    RESULTS+=("skipped  $1 (an earlier step failed)")
}

# tree NAME [CMAKE_ARG...]: configures, builds and tests one build tree in
# the repository; test runs get the environment in TEST_ENV.
tree() {
    local name=$1 dir=$REPO/$1
    shift
    if ! step "$name: configure" cmake -S "$REPO" -B "$dir" -DCALLFLOOR_WERROR=ON "$@"; then
        skipped "$name: build"
        skipped "$name: ctest"
        return 0
    fi
    if ! step "$name: build" cmake --build "$dir" -j"$(nproc)"; then
        skipped "$name: ctest"
        return 0
    fi
    step "$name: ctest" env "${TEST_ENV[@]}" ctest --test-dir "$dir" --output-on-failure \
        --no-tests=error -j"${CALLFLOOR_TEST_JOBS:-3}" || true
}

summary() {
    echo
    echo "==== $PROGRAM summary"
    printf '%s\n' "${RESULTS[@]}"
    if [ "$FAILED" = 0 ]; then
        echo "==== all steps passed"
    else
        echo "==== FAILED: see the steps above (search for '==> ')"
    fi
}

main() {
    case "${1:-}" in
    -h | --help)
        usage
        return 0
        ;;
    "") ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
    if ! [[ ${CALLFLOOR_TEST_JOBS:-3} =~ ^[1-9][0-9]*$ ]]; then
        echo "$PROGRAM: CALLFLOOR_TEST_JOBS must be a number of tests to run at a time (1 or more), not '$CALLFLOOR_TEST_JOBS'" >&2
        exit 2
    fi
    # CI runs this without standard input; nothing may wait for a terminal.
    exec </dev/null
    cd "$REPO"

    if step dependencies "$REPO/deploy/install-deps.sh"; then
        TEST_ENV=()
        tree build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr
        TEST_ENV=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
        tree build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCALLFLOOR_SANITIZE=ON
        step "fuzz: 60 s a target" "$REPO/tests/fuzz/run.sh" 60 || true
    else
        skipped "build and build-asan"
    fi
    summary
    return "$FAILED"
}

main "$@"
