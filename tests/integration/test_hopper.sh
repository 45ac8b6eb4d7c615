#!/usr/bin/env bash
# test_hopper: a campaign's claims grow while its agents wait for leads and
# never past the agents logged in. With queue.hopper_batch 2 and twelve
# agents working without talk time, the daemon's claims grow above the
# batch (callfloor_hopper_claim_size) but not past the twelve, no more
# leads are leased than the agents and the hopper can use, and no lead is
# dialled twice at once; with three agents back a claim is cut to three.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENTS=12
cf_setup hopper
CF_HOPPER_BATCH=2
cf__write_config
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_busy_campaign 一组 3000
for i in $(seq -w 1 $AGENTS); do
    cf_ctl user add "sim00$i" --role agent --team 一组 <<<'sim-password-1' >/dev/null
done
for _ in $(seq 100); do cf_campaign_loaded 春季 && break; sleep 0.1; done
cf_campaign_loaded 春季 || cf_fail "the daemon did not load the new campaign within 10 s"

claim_size() {
    cf_metrics | awk -F' ' '/^callfloor_hopper_claim_size\{campaign="春季"\}/ { print $2 }'
}
[ "$(claim_size)" = 2 ] || cf_fail "a claim before any agent waited is not one batch: $(claim_size)"

CALLFLOOR_PASSWORD=sim-password-1 "$CF_BUILD/bin/callfloor-sim" --agents $AGENTS --duration 4 \
    --talk-ms 0 --json --quiet >"$CF_WORK/report.json" &
sim=$!
largest=0
most_leased=0
while kill -0 "$sim" 2>/dev/null; do
    size=$(claim_size)
    [ "${size:-0}" -le "$largest" ] || largest=$size
    leased=$(cf_psql "SELECT count(*) FROM leads WHERE lease_owner IS NOT NULL")
    [ "$leased" -le "$most_leased" ] || most_leased=$leased
    sleep 0.1
done
echo "largest claim: $largest leads; most leased at once: $most_leased"
wait "$sim" || cf_fail "callfloor-sim failed: $(cat "$CF_WORK/report.json")"
cf_json_check "doc['outcomes_acked'] >= 50 and doc['refused'] == 0" <"$CF_WORK/report.json" ||
    cf_fail "the agents did not work the queue: $(cat "$CF_WORK/report.json")"
[ "$largest" -gt 2 ] || cf_fail "the claims did not grow while agents waited (largest: $largest)"
[ "$largest" -le $AGENTS ] || cf_fail "a claim grew past the $AGENTS agents logged in: $largest"
# The hopper holds at most a claim's worth; the rest are offered or in calls.
[ "$most_leased" -le $((2 * AGENTS)) ] ||
    cf_fail "$most_leased leads were leased for $AGENTS agents"
[ "$(cf_psql "SELECT count(*) FROM calls a JOIN calls b ON b.lead_id = a.lead_id AND b.id > a.id
             WHERE a.ended_at IS NULL OR b.started_at < a.ended_at")" = 0 ] ||
    cf_fail "a lead was dialled again while a call on it was open"
# Three of the twelve back, talking: the next claim is cut to the agents
# logged in who work the campaign.
CALLFLOOR_PASSWORD=sim-password-1 cf_expect_exit 0 "$CF_BUILD/bin/callfloor-sim" --agents 3 \
    --duration 3 --talk-ms 300 --json --quiet
cf_json_check "doc['outcomes_acked'] >= 6" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "the three agents did not work the queue: $CF_LAST_OUTPUT"
[ "$(claim_size)" -le 3 ] || cf_fail "with three agents a claim is still $(claim_size) leads"
cf_done
