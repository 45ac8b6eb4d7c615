#!/usr/bin/env bash
# test_log_scan: no log shows a customer's phone number in clear. Runs
# after every other integration test (it cleans up after the shared
# PostgreSQL fixture) and reads what they all left: each daemon's log and
# each client's standard error. A mainland mobile number is eleven digits
# starting 13-19; masked ones (138****5678) do not match.
set -euo pipefail

BUILD=${CF_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
WORK=$BUILD/tests/work
[ -d "$WORK" ] || { echo "nothing to scan: no $WORK"; exit 0; }
pattern='(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)'
files=$(find "$WORK" -type f \( -name '*.log' -o -name '*.err' \) | wc -l)
if hits=$(grep -rnE "$pattern" --include='*.log' --include='*.err' "$WORK"); then
    echo "FAIL log_scan: unmasked phone numbers in the logs:" >&2
    printf '%s\n' "$hits" | head -20 >&2
    exit 1
fi
echo "PASS log_scan: $files logs, no phone number in clear"
