#!/usr/bin/env bash
# test_queue: the lead queue under the conditions a floor meets: many agents
# at once never share a lead; an offer not dialled in time goes back and
# pauses the agent; an agent whose connection dies mid-call gets the call
# back; an outcome sent while the daemon dies is kept in the outbox and
# recorded exactly once after a restart; a callback goes to the agent who
# booked it; the per-day cap counts the customer's day; no lead is offered
# once its number is on the do-not-call list or its calling window has
# closed, though the hopper holds it.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup queue
CF_RECONNECT_GRACE=30s
cf__write_config
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_ctl team add 二组 >/dev/null
cf_ctl product add CB01 --name 畅享返现卡 --apr 18.25 >/dev/null
# The campaign's own zone is twelve hours from its leads', so that a call's
# local hour tells which of the two it was worked out in.
cf_ctl campaign add 春季 --product CB01 --team 一组 --offer-timeout 2s \
    --time-zone "$(cf_zone_at 0)" >/dev/null
cf_ctl campaign add 夏季 --product CB01 --team 二组 --max-per-day 1 --retry-no-answer 1s >/dev/null
NOON=$(cf_zone_at 12)
{
    echo name,phone,time_zone,score
    for i in $(seq 1 40); do echo "客户$i,1380000$(printf %04d "$i"),$NOON,$i"; done
} >"$CF_WORK/spring.csv"
cf_expect_exit 0 cf_ctl leads import 春季 "$CF_WORK/spring.csv"
printf 'name,phone,time_zone\n夏一,13900000001,%s\n' "$NOON" >"$CF_WORK/summer.csv"
cf_expect_exit 0 cf_ctl leads import 夏季 "$CF_WORK/summer.csv"
for i in $(seq 1 8); do cf_add_user "a$i" agent 一组; done
cf_add_user zed agent 二组

# Eight agents at once, three calls each: 24 different leads.
cycle='{"cmd":"ready"}
{"cmd":"wait","event":"lead_offer"}
{"cmd":"dial"}
{"cmd":"outcome","disposition":"NO_ANSWER"}'
pids=()
for i in $(seq 1 8); do
    printf '%s\n%s\n%s\n' "$cycle" "$cycle" "$cycle" | cf_agent "a$i" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || cf_fail "an agent of the crowd failed"; done
for i in $(seq 1 8); do
    cf_events "a$i" "len([e for e in ev if e['event'] == 'outcome_ack']) == 3"
done
[ "$(cf_psql "SELECT count(*) || '|' || count(DISTINCT lead_id) FROM calls")" = "24|24" ] ||
    cf_fail "leads were shared: $(cf_psql "SELECT lead_id, count(*) FROM calls GROUP BY 1 HAVING count(*) > 1")"
[ "$(cf_psql "SELECT min(score) FROM leads l WHERE EXISTS (SELECT 1 FROM calls k WHERE k.lead_id = l.id)")" = 17.000 ] ||
    cf_fail "the best-scored leads were not called first"
# Each call keeps the hour and weekday it began at in the customer's time
# zone (the leads', not the campaign's), which reports group by.
[ "$(cf_psql "SELECT count(*) FROM calls k JOIN leads l ON l.id = k.lead_id
              WHERE k.local_hour = extract(hour FROM k.started_at AT TIME ZONE l.time_zone)
                AND k.local_dow = extract(isodow FROM k.started_at AT TIME ZONE l.time_zone)")" = 24 ] ||
    cf_fail "calls did not keep their local hour and weekday: $(cf_psql "SELECT id, local_hour, local_dow FROM calls")"

# An offer left alone goes back, and the agent is paused.
cf_agent a1 <<'IN'
{"cmd":"ready"}
{"cmd":"wait","event":"lead_offer"}
{"cmd":"wait","event":"status"}
IN
cf_events a1 "ev[-1]['event'] == 'status' and ev[-1]['state'] == 'paused' and 'not dialled in time' in ev[-1]['reason']"
offered=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1])][1]["lead_id"])' "$CF_WORK/a1.out")
cf_expect_output_contains "may be dialled now" cf_ctl leads why "$offered"

# The connection dies mid-call: the next session gets the call back. (The
# desk runs without the cf_agent function here so that $! is its own pid.)
CALLFLOOR_USER=a2 CALLFLOOR_PASSWORD=a2$CF_PASSWORD_SUFFIX "$CF_BUILD/bin/callfloor-agent" --script \
    --timeout 30 --outbox "$CF_WORK/outbox-a2" >"$CF_WORK/victim.out" 2>&1 < <(
    printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"dial"}' \
        '{"cmd":"wait","event":"outcome_ack"}'
) &
victim=$!
cf_wait_for "$CF_WORK/victim.out" call_started
call=$(cf_psql "SELECT max(id) FROM calls")
kill -KILL "$victim"
wait "$victim" 2>/dev/null || true
cf_agent a2 <<'IN'
{"cmd":"ready"}
{"cmd":"wait","event":"lead_offer"}
{"cmd":"outcome","disposition":"BUSY"}
IN
cf_events a2 "ev[1]['event'] == 'lead_offer' and ev[1]['call_id'] == $call and ev[2]['event'] == 'outcome_ack' and ev[2]['call_id'] == $call"

# The daemon dies while an outcome is on its way: the outbox keeps it, and
# the next login sends it; it is recorded once.
mkfifo "$CF_WORK/a3.in"
CALLFLOOR_USER=a3 CALLFLOOR_PASSWORD=a3$CF_PASSWORD_SUFFIX "$CF_BUILD/bin/callfloor-agent" --script \
    --timeout 2 --outbox "$CF_WORK/outbox-a3" <"$CF_WORK/a3.in" >"$CF_WORK/a3-crash.out" 2>&1 &
crashed=$!
exec 7>"$CF_WORK/a3.in"
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"dial"}' >&7
cf_wait_for "$CF_WORK/a3-crash.out" call_started
call=$(cf_psql "SELECT max(id) FROM calls")
kill -STOP "$CF_DAEMON_PID"
printf '{"cmd":"outcome","disposition":"NOT_INTERESTED","key":"a3-crash-outcome"}\n' >&7
exec 7>&-
rc=0
wait "$crashed" || rc=$?
[ "$rc" = 3 ] || cf_fail "the desk did not give up on the stopped daemon with exit status 3 (got $rc)"
[ -s "$CF_WORK/outbox-a3" ] || cf_fail "the outcome is not in the outbox while the daemon is stopped"
cf_kill_daemon
cf_start_daemon
cf_agent a3 <<'IN'
{"cmd":"wait","event":"outcome_ack"}
IN
cf_events a3 "ev[-1]['event'] == 'outcome_ack' and ev[-1]['key'] == 'a3-crash-outcome' and ev[-1]['call_id'] == $call"
[ ! -s "$CF_WORK/outbox-a3" ] || cf_fail "the acknowledged outcome stayed in the outbox"
[ "$(cf_psql "SELECT disposition FROM calls WHERE id = $call")" = NOT_INTERESTED ] ||
    cf_fail "the outcome from the outbox was not recorded"

# A callback belongs to the agent who booked it.
due=$(($(date +%s) + 3))
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"dial"}' \
    "{\"cmd\":\"outcome\",\"disposition\":\"CALLBACK\",\"callback_at\":$due}" | cf_agent a4
callback=$(cf_psql "SELECT lead_id FROM calls WHERE disposition = 'CALLBACK'")
[ -n "$callback" ] || cf_fail "the callback was not recorded"
sleep 4
cf_expect_output_contains "callback booked by a4" cf_ctl leads why "$callback"
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"pause","reason":"meeting"}' | cf_agent a5
cf_events a5 "ev[1]['lead_id'] != $callback"
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"pause","reason":"meeting"}' | cf_agent a4
cf_events a4 "ev[1]['lead_id'] == $callback and ev[1]['callback_at'] == $due and ev[1]['history'][0]['disposition'] == 'CALLBACK'"

# At most one call a day: after a no-answer and its one-second rest, the
# lead waits for the customer's next day.
summer=$(cf_psql "SELECT l.id FROM leads l JOIN campaigns c ON c.id = l.campaign_id WHERE c.name = '夏季'")
printf '%s\n' "$cycle" | cf_agent zed
cf_events zed "ev[1]['lead_id'] == $summer and ev[-1]['event'] == 'outcome_ack'"
sleep 2
cf_expect_output_contains "attempts today" cf_ctl leads why "$summer"
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"pause","reason":"lunch"}' | cf_agent zed
cf_events zed "[e['event'] for e in ev] == ['status', 'status']"

# A number put on the do-not-call list while its lead waits in the hopper,
# with the card read at its claim, is not offered: the daemon hears of the
# listing, even one made through itself.
# A campaign of its own for one scenario: campaign $1 worked by team $2 and
# its agent $3, and three leads in calling hours, $4一 to $4三 with the
# numbers $5 followed by 1 to 3 and the scores 3 to 1.
three_leads() {
    cf_ctl team add "$2" >/dev/null
    cf_ctl campaign add "$1" --product CB01 --team "$2" >/dev/null
    printf 'name,phone,time_zone,score\n%s一,%s1,%s,3\n%s二,%s2,%s,2\n%s三,%s3,%s,1\n' \
        "$4" "$5" "$NOON" "$4" "$5" "$NOON" "$4" "$5" "$NOON" >"$CF_WORK/$1.csv"
    cf_expect_exit 0 cf_ctl leads import "$1" "$CF_WORK/$1.csv"
    cf_add_user "$3" agent "$2"
}
three_leads 冬季 四组 kim 冬 1360000000
printf '%s\n' "$cycle" | cf_agent kim
cf_events kim "ev[1]['name'] == '冬一' and ev[-1]['event'] == 'outcome_ack'"
cf_expect_exit 0 cf_ctl dnc add 13600000002
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"pause","reason":"meeting"}' | cf_agent kim
cf_events kim "ev[1]['event'] == 'lead_offer' and ev[1]['name'] == '冬三'"

# An offer shows the card read with the lead's claim only while the lead's
# calling window is open: once it has closed, the leads left in the hopper
# are read and checked again, and not offered.
three_leads 秋季 三组 win 秋 1370000000
closes=$(cf_psql "UPDATE campaigns SET window_start = '00:00',
                  window_end = (now() AT TIME ZONE '$NOON' + interval '15 seconds')::time
                  WHERE name = '秋季' RETURNING extract(epoch FROM now())::bigint + 15")
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"pause","reason":"meeting"}' | cf_agent win
cf_events win "ev[1]['event'] == 'lead_offer' and ev[1]['name'] == '秋一'"
[ "$(date +%s)" -lt "$closes" ] || cf_fail "the first offer came after the window closed; the check below would prove nothing"
sleep $((closes - $(date +%s) + 1))
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"pause","reason":"lunch"}' | cf_agent win
cf_events win "[e['event'] for e in ev] == ['status', 'status']"

cf_done
