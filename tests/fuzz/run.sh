#!/usr/bin/env bash
# run.sh [SECONDS]: builds the libFuzzer targets with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer in build-fuzz/ and runs each for SECONDS
# (default 60) from its seed corpus (tests/fuzz/corpus/TARGET, copied into
# build-fuzz/corpus so that the repository's seeds stay as they are), as
# many targets at a time as there are CPUs.
# Prints the executions each target reached; exits 1 on a crash, a leak or
# a sanitizer report, whose input is kept in build-fuzz/artifacts/.
set -euo pipefail

SECONDS_EACH=${1:-60}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$REPO/build-fuzz
case "$SECONDS_EACH" in
'' | *[!0-9]*) echo "usage: ${0##*/} [SECONDS]" >&2; exit 2 ;;
esac
command -v clang >/dev/null || { echo "${0##*/}: clang not found (deploy/install-deps.sh installs it)" >&2; exit 1; }

mkdir -p "$BUILD"
cmake -S "$REPO" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCALLFLOOR_FUZZ=ON -DCALLFLOOR_TESTS=OFF >"$BUILD/configure.log" 2>&1 ||
    { cat "$BUILD/configure.log"; exit 1; }
cmake --build "$BUILD" -j"$(nproc)" --target fuzz_wire fuzz_csv fuzz_config fuzz_json fuzz_dispatch \
    >"$BUILD/build.log" 2>&1 || { tail -40 "$BUILD/build.log"; exit 1; }

mkdir -p "$BUILD/artifacts"

# fuzz TARGET: runs one target and writes its verdict to fuzz_TARGET.result.
fuzz() {
    local target=$1 corpus=$BUILD/corpus/$1 log=$BUILD/fuzz_$1.log rc=0 execs
    mkdir -p "$corpus"
    cp -n "$REPO/tests/fuzz/corpus/$target/"* "$corpus/" 2>/dev/null || true
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$BUILD/fuzz/fuzz_$target" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
        -artifact_prefix="$BUILD/artifacts/$target-" -max_len=65536 "$corpus" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ "$rc" = 0 ]; then
        echo "fuzz_$target: ${execs:-?} executions in ${SECONDS_EACH} s, no crash"
    else
        echo "fuzz_$target: FAILED after ${execs:-?} executions (exit $rc); see $log and $BUILD/artifacts"
        grep -m5 -E "ERROR|SUMMARY|runtime error" "$log" || true
    fi >"$BUILD/fuzz_$target.result"
}

# Each target runs on one CPU; as many run at a time as there are CPUs.
targets=(wire csv config json dispatch)
for target in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
    fuzz "$target" &
done
wait
failed=0
for target in "${targets[@]}"; do
    cat "$BUILD/fuzz_$target.result"
    ! grep -q FAILED "$BUILD/fuzz_$target.result" || failed=1
done
exit "$failed"
