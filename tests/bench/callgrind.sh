#!/usr/bin/env bash
# callgrind.sh [AGENTS] [SECONDS]: instructions the daemon spends on its
# hot paths, counted by valgrind's callgrind rather than timed, so that a
# rerun after a change shows a regression without timing noise. Starts a
# private PostgreSQL and callfloord under callgrind, lets AGENTS simulated
# agents (default 20) work the queue with no talk time for SECONDS (default
# 60), stops the daemon and prints, per acknowledged outcome, the
# instructions (inclusive) of: decoding frames, unpacking envelopes,
# dispatching requests, taking a lead and sending its offer, building the
# cards of claimed leads, building offers from the database (a card missing
# or stale), dialling and recording outcomes, and of the whole event loop.
# Needs valgrind (deploy/install-deps.sh installs it) and a build with
# symbols (RelWithDebInfo: cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo).
set -euo pipefail

AGENTS=${1:-20}
SECONDS_RUN=${2:-60}
command -v callgrind_annotate >/dev/null || {
    echo "callgrind.sh: valgrind is not installed (deploy/install-deps.sh installs it)" >&2
    exit 2
}
# shellcheck source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
bench_start bench_callgrind
export CF_DAEMON_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$CF_WORK/callgrind.out"
cf_start_daemon
cf_ctl team add bench >/dev/null
cf_busy_campaign bench 5000
bench_accounts bench cg "$AGENTS"

echo "== callfloor-sim --agents $AGENTS --duration $SECONDS_RUN --talk-ms 0 (daemon under callgrind)"
CALLFLOOR_PASSWORD=benchmodel$CF_PASSWORD_SUFFIX "$CF_BUILD/bin/callfloor-sim" --agents "$AGENTS" \
    --duration "$SECONDS_RUN" --talk-ms 0 --user-prefix cg --json --quiet >"$CF_WORK/sim.json" || true
outcomes=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["outcomes_acked"])' "$CF_WORK/sim.json")
cf_stop_daemon
[ "$outcomes" -gt 0 ] || cf_fail "no outcome was acknowledged: $(cat "$CF_WORK/sim.json")"

callgrind_annotate --inclusive=yes --threshold=100 "$CF_WORK/callgrind.out" >"$CF_WORK/annotate.txt"
echo "== instructions per acknowledged outcome ($outcomes outcomes)"
python3 - "$CF_WORK/annotate.txt" "$outcomes" <<'PY'
import re, sys
wanted = ["uv_run", "frame_decoder_feed", "envelope_unpack", "dispatch_request", "floor_on_ready",
          "on_cards", "on_offer_built", "floor_on_dial", "outcome_on_outcome"]
seen = {}
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+\S*?:(\w+)\b", line)
    if m and m.group(2) in wanted and m.group(2) not in seen:
        seen[m.group(2)] = int(m.group(1).replace(",", ""))
for fn in wanted:
    print(f"{fn:22} {seen[fn] / int(sys.argv[2]):14,.0f}" if fn in seen else f"{fn:22} {'(not seen)':>14}")
PY
cf_done
