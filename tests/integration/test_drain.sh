#!/usr/bin/env bash
# test_drain: SIGTERM while agents work loses nothing. Eight agents (script
# mode) end calls as fast as they can; the daemon is told to stop in the
# middle. It exits 0 within its bound, every outcome it acknowledged is in
# the database exactly once, and no lead is left leased. After a restart,
# the desks' outboxes deliver what was not acknowledged.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup drain
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_busy_campaign 一组 400
AGENTS=$(seq 1 8)
for i in $AGENTS; do cf_add_user "d$i" agent 一组; done

shift_of() {
    for _ in $(seq 1 40); do
        printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"dial"}' \
            '{"cmd":"outcome","disposition":"NO_ANSWER"}'
    done
}
pids=()
for i in $AGENTS; do
    CALLFLOOR_USER=d$i CALLFLOOR_PASSWORD=d$i$CF_PASSWORD_SUFFIX \
        "$CF_BUILD/bin/callfloor-agent" --script --timeout 10 --outbox "$CF_WORK/outbox-d$i" \
        < <(shift_of) >"$CF_WORK/d$i.out" 2>"$CF_WORK/d$i.err" &
    pids+=($!)
done
# Stop in the middle of the work.
deadline=$((SECONDS + 30))
until [ "$(cat "$CF_WORK"/d*.out 2>/dev/null | grep -c '"event":"outcome_ack"')" -ge 40 ]; do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "the agents did not get going"
    sleep 0.1
done
start=$SECONDS
cf_stop_daemon
echo "drained in $((SECONDS - start)) s"
for pid in "${pids[@]}"; do wait "$pid" || true; done

# acked: every acknowledged call id, once per line.
acked() { cat "$CF_WORK"/d*.out | python3 -c '
import json, sys
for line in sys.stdin:
    ev = json.loads(line)
    if ev.get("event") == "outcome_ack":
        print(ev["call_id"])'; }
acked | sort -n >"$CF_WORK/acked"
n=$(wc -l <"$CF_WORK/acked")
[ "$n" -ge 40 ] || cf_fail "only $n outcomes were acknowledged"
ids=$(paste -sd, "$CF_WORK/acked")
[ "$(cf_psql "SELECT count(*) FROM calls WHERE id IN ($ids) AND disposition IS NOT NULL")" = "$n" ] ||
    cf_fail "an acknowledged outcome is missing from the database"
[ "$(cf_psql "SELECT count(*) FROM score_events WHERE kind = 'dial' AND call_id IN ($ids)")" = "$n" ] ||
    cf_fail "an acknowledged outcome was scored other than once"
[ "$(cf_psql "SELECT count(*) FROM leads WHERE lease_owner IS NOT NULL AND lease_expires_at > now()
              AND id NOT IN (SELECT lead_id FROM calls WHERE disposition IS NULL)")" = 0 ] ||
    cf_fail "the drain left leads leased"

# What the desks kept in their outboxes arrives after a restart, once.
cf_start_daemon
for i in $AGENTS; do
    [ -s "$CF_WORK/outbox-d$i" ] || continue
    CALLFLOOR_USER=d$i CALLFLOOR_PASSWORD=d$i$CF_PASSWORD_SUFFIX \
        "$CF_BUILD/bin/callfloor-agent" --script --timeout 10 --outbox "$CF_WORK/outbox-d$i" \
        < <(printf '%s\n' '{"cmd":"pause","reason":"下班"}') >"$CF_WORK/d$i.resend" 2>&1 ||
        cf_fail "d$i could not resend its outbox: $(cat "$CF_WORK/d$i.resend")"
done
[ "$(cf_psql "SELECT count(*) FROM calls WHERE disposition IS NOT NULL")" -ge "$n" ] ||
    cf_fail "outcomes went missing after the restart"
[ "$(cf_psql "SELECT count(*) FROM (SELECT call_id FROM score_events WHERE kind = 'dial'
              GROUP BY call_id HAVING count(*) > 1) x")" = 0 ] || cf_fail "a resent outcome was scored twice"
cf_done
