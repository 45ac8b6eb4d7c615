#!/usr/bin/env bash
# test_board: the live leaderboard. Agents (script mode) end calls; a
# callfloor-monitor --json subscriber's folded board converges to exactly
# what SQL over score_events gives; a late subscriber's snapshot equals it,
# and so does its board after later changes; a team's board holds only that
# team, and a watcher that never reads holds up nobody; a restarted daemon
# rebuilds the same board; score_events cannot be edited; floor states,
# alerts and notices reach the watchers. A supervisor oversees their own
# team only: its board, its calls to review, its complaints, its desks to
# send notices to; an admin oversees all.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CF_PAUSE_ALERT=2s
cf_setup board
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_ctl team add 二组 >/dev/null
cf_ctl product add CB01 --name 畅享返现卡 --apr 18.25 >/dev/null
cf_ctl campaign add 春季 --product CB01 --team 一组 --team 二组 >/dev/null
NOON=$(cf_zone_at 12)
{
    echo name,phone,time_zone,income_band
    for i in $(seq 1 30); do echo "客户$i,1380000$(printf %04d "$i"),$NOON,5"; done
} >"$CF_WORK/leads.csv"
cf_expect_exit 0 cf_ctl leads import 春季 "$CF_WORK/leads.csv"
cf_add_user a1 agent 一组
cf_add_user a2 agent 一组
cf_add_user a3 agent 二组
cf_add_user sue supervisor 一组

MONITOR=$CF_BUILD/bin/callfloor-monitor
# monitor NAME [ARG...]: a JSON monitor in the background, as the admin (who
# may watch every team) or as $MONITOR_USER, its lines in $CF_WORK/NAME.jsonl.
monitor() {
    local name=$1 user=${MONITOR_USER:-admin}
    shift
    CALLFLOOR_USER=$user CALLFLOOR_PASSWORD=$user$CF_PASSWORD_SUFFIX \
        "$MONITOR" --json --interval 60 "$@" >"$CF_WORK/$name.jsonl" 2>"$CF_WORK/$name.err" &
    MONITOR_PID=$!
    cf_defer kill "$MONITOR_PID"
    cf_wait_for "$CF_WORK/$name.jsonl" '"event":"board"'
}
monitor live
live=$MONITOR_PID
monitor team2 --team 二组
# A watcher that subscribes and then never reads must not hold up anyone.
"$CF_BUILD/tests/cf_rawwire" "$CALLFLOOR_SERVER" "$CALLFLOOR_CA" login-board-stall 25 \
    >"$CF_WORK/stall.out" 2>&1 &
stall=$!
cf_defer kill "$stall"
cf_expect_exit 0 cf_json_check 'doc["event"] == "board" and doc["snapshot"] and doc["rows"] == []' \
    <<<"$(grep '"event":"board"' "$CF_WORK/live.jsonl" | head -1)"

cycle() {
    printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"dial"}' \
        "{\"cmd\":\"outcome\",\"disposition\":\"$1\"$2}"
}
APP=',"product":"CB01","identity_stated":true,"recording_consent":true,"annual_fee_stated":true,"apr_stated":true,"no_pressure":true,"income_band":5,"employment":"employed","existing_cards":1'
{ cycle APPLICATION_SUBMITTED "$APP"; cycle NO_ANSWER ''; cycle NOT_INTERESTED ''; } | cf_agent a1 &
p1=$!
{ cycle NOT_INTERESTED ''; cycle APPLICATION_SUBMITTED "$APP"; } | cf_agent a2 &
p2=$!
{ cycle APPLICATION_SUBMITTED "$APP"; cycle BUSY ''; } | cf_agent a3 &
p3=$!
wait "$p1" "$p2" "$p3" || cf_fail "an agent failed (see $CF_WORK/a*.out)"

# fold FILE: the rows the subscriber holds (cf_board_rows) in rank order,
# as [rank, agent, points, applications, connects, dials].
fold() {
    cf_board_rows "$1" | python3 -c '
import json, sys
rows = json.load(sys.stdin).values()
print(json.dumps(sorted([r["rank"], r["agent"], r["points"], r["applications"], r["connects"], r["dials"]] for r in rows)))'
}
# rows_hold FILE EXPRESSION: the Python EXPRESSION holds for `rows`, the
# rows a subscriber holds by agent.
rows_hold() {
    cf_board_rows "$1" | python3 -c 'import json, sys; rows = json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$2"
}
expected() {
    cf_psql "SELECT json_agg(json_build_array(rank, agent, points, apps, connects, dials) ORDER BY rank)
             FROM (SELECT row_number() OVER (ORDER BY sum(e.points) DESC,
                       count(*) FILTER (WHERE kind = 'application') DESC,
                       max(e.at) FILTER (WHERE e.points <> 0), u.username) AS rank,
                     u.username AS agent, sum(e.points) AS points,
                     count(*) FILTER (WHERE kind = 'application') AS apps,
                     count(*) FILTER (WHERE kind = 'connect') AS connects,
                     count(*) FILTER (WHERE kind = 'dial') AS dials
                   FROM score_events e JOIN users u ON u.id = e.agent_id
                   WHERE u.team_id IN (SELECT id FROM teams WHERE name LIKE \$\$$1\$\$)
                   GROUP BY u.username) t" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))'
}
# converge NAME WANT WHAT: waits until monitor NAME's folded board is WANT.
converge() {
    local deadline=$((SECONDS + 15))
    until [ "$(fold "$CF_WORK/$1.jsonl")" = "$2" ]; do
        [ "$SECONDS" -lt "$deadline" ] || cf_fail "$3: $(fold "$CF_WORK/$1.jsonl") instead of $2"
        sleep 0.2
    done
}
want=$(expected '%')
[ "$(cf_psql "SELECT count(*) FROM score_events WHERE kind = 'application'")" = 3 ] ||
    cf_fail "three applications should have scored"
converge live "$want" "the pushed board did not converge"
converge team2 "$(expected 二组)" "team 二组's board is wrong"
grep -q '"agent":"a1"' "$CF_WORK/team2.jsonl" && cf_fail "team 二组's board shows an agent of 一组"

# A supervisor watches their own team: sue (一组) sees its rows only, even
# when asking for every team, and another team's board is refused.
MONITOR_USER=sue monitor own
converge own "$(expected 一组)" "sue's board is not her team's"
cf_expect_exit 1 cf_as sue timeout 20 "$MONITOR" --json --team 二组
grep -q "own team" <<<"$CF_LAST_OUTPUT" || cf_fail "another team's board is not refused: $CF_LAST_OUTPUT"

# A late subscriber's snapshot is the same board.
monitor late
[ "$(fold "$CF_WORK/late.jsonl")" = "$want" ] ||
    cf_fail "a new subscriber's snapshot differs: $(fold "$CF_WORK/late.jsonl") instead of $want"
# Its first push is its own: the early subscribers' last board and its
# snapshot are the same here, and after one more call both hold the board.
cf_agent a2 < <(cycle NO_ANSWER '')
[ "$CF_AGENT_RC" = 0 ] || cf_fail "a2's call failed (see $CF_WORK/a2.out)"
want=$(expected '%')
converge late "$want" "a late subscriber's first push did not bring it up to date"
converge live "$want" "the early subscriber missed the call after a late one joined"

# Scoring rules: shown, changed one at a time, checked.
cf_expect_output_contains "application           +10" cf_ctl campaign scoring 春季
cf_expect_exit 0 cf_ctl --json campaign scoring 春季 --application 15
cf_json_check 'doc["application"] == 15 and doc["connect"] == 1 and doc["complaint"] == -20' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "changing one point value changed others: $CF_LAST_OUTPUT"
cf_expect_exit 1 cf_ctl campaign scoring 春季 --qa-fail 5
cf_expect_exit 1 cf_ctl campaign scoring 秋季
cf_expect_exit 2 cf_ctl campaign scoring 春季 --connect lots
cf_expect_exit 1 cf_as sue cf_ctl campaign scoring 春季 --connect 2

# Targets: an agent's own, else the team's, on the board.
MONTH=$(TZ=$CF_BOARD_TZ date +%Y-%m)
cf_expect_output_contains "is 20 applications" cf_as sue cf_ctl target set --agent a1 --month "$MONTH" --applications 20
cf_expect_exit 0 cf_as sue cf_ctl target set --team 二组 --month "$MONTH" --applications 30
cf_expect_exit 2 cf_ctl target set --agent a1 --team 二组 --month "$MONTH" --applications 5
cf_expect_exit 1 cf_ctl target set --agent ghost --month "$MONTH" --applications 5
cf_expect_exit 1 cf_ctl target set --agent a1 --month 2026-13 --applications 5
deadline=$((SECONDS + 15))
until rows_hold "$CF_WORK/live.jsonl" \
    'rows.get("a1", {}).get("target") == 20 and rows.get("a3", {}).get("target") == 30 and rows.get("a2", {}).get("target") == 0'
do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "the targets did not reach the board"
    sleep 0.2
done
# An agent's first result of the month brings their team's target with it,
# without loading the month's scores again.
cf_add_user a4 agent 二组
loads=$(grep -c "scores loaded" "$CF_LOG")
cf_agent a4 < <(cycle NO_ANSWER '')
[ "$CF_AGENT_RC" = 0 ] || cf_fail "a4's call failed (see $CF_WORK/a4.out)"
deadline=$((SECONDS + 15))
until rows_hold "$CF_WORK/live.jsonl" 'rows.get("a4", {}).get("target") == 30'; do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "a new agent's target did not reach the board"
    sleep 0.2
done
[ "$(grep -c "scores loaded" "$CF_LOG")" = "$loads" ] ||
    cf_fail "a new agent's first result loaded the month's scores again"

# Bonus tiers: the team's own, else the ones for teams without their own.
cf_expect_output_contains "tier 1 at 1 applications" cf_ctl tier set 1 --applications 1
cf_expect_exit 0 cf_ctl tier set 2 --applications 2 --team 一组
cf_expect_exit 2 cf_ctl tier set 0 --applications 2
cf_expect_exit 1 cf_ctl tier set 3 --applications 2 --team 无此组
cf_expect_exit 1 cf_as sue cf_ctl tier set 3 --applications 9
# Tiers count only applications whose call passed its quality review: none
# yet, until a3's application call passes.
sleep 1
rows_hold "$CF_WORK/live.jsonl" 'all(r["tier"] == 0 and r["qa_passed"] == 0 for r in rows.values())' ||
    cf_fail "an application counted toward a tier before its review: $(cf_board_rows "$CF_WORK/live.jsonl")"
call_of() {
    cf_psql "SELECT min(k.id) FROM calls k JOIN users u ON u.id = k.agent_id
             WHERE u.username = '$1' AND k.disposition = '$2'"
}
cf_expect_exit 1 cf_as sue cf_ctl qa review "$(call_of a3 APPLICATION_SUBMITTED)"
grep -q "not in your team" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "sue reviewed a call of another team: $CF_LAST_OUTPUT"
cf_expect_output_contains "passed its review with 100 points" \
    cf_ctl qa review "$(call_of a3 APPLICATION_SUBMITTED)"
deadline=$((SECONDS + 15))
until rows_hold "$CF_WORK/live.jsonl" \
    'rows.get("a3", {}).get("tier") == 1 and rows["a3"]["qa_passed"] == 1 and rows.get("a1", {}).get("tier") == 0 and all(r["projected_tier"] >= r["tier"] for r in rows.values())'
do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "the bonus tiers did not reach the board"
    sleep 0.2
done

# Quality review: a pass costs nothing; a fail costs the agent points; a
# review is final.
cf_expect_output_contains "disclosure" cf_as sue cf_ctl qa items
cf_expect_exit 0 cf_as sue cf_ctl --json qa items
cf_json_check '"disclosure" in [i["code"] for i in doc["items"]]' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "--json qa items: $CF_LAST_OUTPUT"
a1_call=$(call_of a1 APPLICATION_SUBMITTED)
cf_expect_output_contains "passed its review with 90 points" cf_as sue cf_ctl qa review "$a1_call" --fail greeting
cf_expect_exit 1 cf_as sue cf_ctl qa review "$a1_call" --fail disclosure
grep -q "reviewed on .* with 90 points (passed); a review is final" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a second review of a call was not refused clearly: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_as sue cf_ctl --json qa review "$(call_of a1 NOT_INTERESTED)" --fail disclosure --notes 未说明年费
cf_json_check 'not doc["passed"] and doc["score"] == 75 and doc["points"] == -10' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a review failing an instant-fail item passed: $CF_LAST_OUTPUT"
[ "$(cf_psql "SELECT count(*) FROM score_events WHERE kind = 'qa_pass'")" = 2 ] ||
    cf_fail "each passed application call should count once toward the tier"
cf_expect_exit 1 cf_as sue cf_ctl qa review "$a1_call" --fail nonsense
grep -q "unknown scorecard item nonsense" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "an unknown item was not named: $CF_LAST_OUTPUT"
cf_expect_exit 1 cf_as sue cf_ctl qa review 999999
cf_expect_exit 1 cf_as a1 cf_ctl qa review "$a1_call"
want=$(expected '%')
converge live "$want" "the failed review did not reach the board"
# The early and the late subscriber share each push from the first one
# after the late one's snapshot (server/board.c): both hold the same board.
converge late "$want" "a subscriber that joined late missed a change"
# Nothing asks for the scores to be loaded again: they are not, though the
# board's timer ticks every second.
loads=$(grep -c "scores loaded" "$CF_LOG")
sleep 3
[ "$(grep -c "scores loaded" "$CF_LOG")" = "$loads" ] ||
    cf_fail "the scores were loaded again every second with nothing new to load"

# After a restart the board is rebuilt from the events, identical.
cf_stop_daemon
cf_start_daemon
monitor rebuilt
converge rebuilt "$want" "the rebuilt board differs"

# The floor: agents' states (coalesced: the state at each push) and the
# queues reach the board's watchers; a team's watcher sees only its team.
cf_wait_for "$CF_WORK/rebuilt.jsonl" '"event":"floor"'
grep -q '"agent":"a1","display_name":"","team":"一组","state":"offline"' "$CF_WORK/live.jsonl" ||
    cf_fail "the floor did not show a1 gone offline"
grep -q '"queues":\[{"campaign":"春季"' "$CF_WORK/live.jsonl" || cf_fail "the floor does not show the queue"
grep '"event":"floor"' "$CF_WORK/team2.jsonl" | grep -q '"agent":"a1"' &&
    cf_fail "team 二组's floor shows an agent of 一组"

# Alerts: a long pause, a complaint, an application refused; a notice
# reaches the agent's desk and the monitor.
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"pause","reason":"午饭"}' '{"cmd":"wait","event":"notice"}' |
    cf_agent a1 &
paused=$!
cf_wait_for "$CF_WORK/rebuilt.jsonl" '"kind":"long_pause"'
cf_expect_output_contains "Sent to a1" cf_as sue cf_ctl notice send 下午三点开会 --agent a1
wait "$paused" || cf_fail "a1's desk did not get the notice"
cf_events a1 "ev[-1]['event'] == 'notice' and ev[-1]['text'] == '下午三点开会' and ev[-1]['sender'] == 'sue'"
cf_wait_for "$CF_WORK/rebuilt.jsonl" '"text":"下午三点开会"'
cf_expect_exit 1 cf_as sue cf_ctl notice send 没人 --team 二组
grep -q "not in your team" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "sue sent a notice to another team: $CF_LAST_OUTPUT"
cf_expect_exit 1 cf_as sue cf_ctl notice send 没人 --agent a3
grep -q "not in your team" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "sue sent a notice to another team's agent: $CF_LAST_OUTPUT"
cf_expect_exit 1 cf_ctl notice send 没人 --team 二组
grep -q "no desk open" <<<"$CF_LAST_OUTPUT" || cf_fail "the admin's notice was refused: $CF_LAST_OUTPUT"
{ cycle COMPLAINT ',"notes":"嫌电话太多"'; } | cf_agent a2
cf_wait_for "$CF_WORK/rebuilt.jsonl" '"kind":"complaint"'
# Complaints: sue lists and resolves her own team's only.
{ cycle COMPLAINT ',"notes":"晚上打电话"'; } | cf_agent a3
cf_expect_exit 0 cf_as sue cf_ctl --json complaint list
cf_json_check '[c["agent"] for c in doc["complaints"]] == ["a2"]' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "sue sees complaints of another team: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_ctl --json complaint list
cf_json_check 'sorted(c["agent"] for c in doc["complaints"]) == ["a2", "a3"]' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "the admin does not see every complaint: $CF_LAST_OUTPUT"
a3_complaint=$(cf_psql "SELECT x.id FROM complaints x JOIN users u ON u.id = x.agent_id
                        WHERE u.username = 'a3'")
cf_expect_exit 1 cf_as sue cf_ctl complaint resolve "$a3_complaint" --resolution 已致歉
grep -q "not in your team" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "sue resolved a complaint of another team: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_ctl complaint resolve "$a3_complaint" --resolution 已致歉
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"dial"}' \
    '{"cmd":"outcome","disposition":"APPLICATION_SUBMITTED","product":"CB01"}' | cf_agent a3
cf_events a3 "ev[-1]['event'] == 'error'"
cf_wait_for "$CF_WORK/rebuilt.jsonl" '"kind":"application_refused"'

# The queue shows the leads in the database that could be offered now, by
# every rule of `leads why`: of three leads added, the two at 3 a.m. in
# their own zone are open, and not counted; the one at noon is, so that a
# push from before the import cannot pass for one after it.
NIGHT=$(cf_zone_at 3)
printf 'name,phone,time_zone\n夜一,13900000091,%s\n夜二,13900000092,%s\n午一,13900000093,%s\n' \
    "$NIGHT" "$NIGHT" "$NOON" >"$CF_WORK/night.csv"
cf_expect_exit 0 cf_ctl leads import 春季 "$CF_WORK/night.csv"
# The count runs every 10 s (on a 1 s tick), and a floor push follows a
# count that changed: after 13 s the last push holds a count made after
# the import. An empty owner makes any daemon's lease a reason, as it is
# for the count.
sleep 13
deadline=$((SECONDS + 35))
until
    want=$(cf_psql "SELECT count(*) FROM leads l WHERE cardinality(cf_lead_blockers(l.id, '', 0, '0')) = 0")
    grep '"event":"floor"' "$CF_WORK/rebuilt.jsonl" | tail -1 | python3 -c '
import json, sys
want = int(sys.argv[1])
sys.exit(0 if [q["eligible"] for l in sys.stdin for q in json.loads(l)["queues"]] == [want] else 1)' "$want"
do
    [ "$SECONDS" -lt "$deadline" ] ||
        cf_fail "the eligible leads were not counted as leads why has them ($want): $(grep '"event":"floor"' "$CF_WORK/rebuilt.jsonl" | tail -1)"
    sleep 0.5
done

# From the monitor's screen: the month's board with the QA column and the
# target bars, the queues; a notice to one agent; a call reviewed, and a
# second review of it refused.
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"pause","reason":"培训"}' '{"cmd":"wait","event":"notice"}' |
    cf_agent a2 &
notified=$!
cf_pty_start screen env CALLFLOOR_USER=sue CALLFLOOR_PASSWORD=sue$CF_PASSWORD_SUFFIX \
    "$MONITOR" --period month
cf_pty resize 40 110
cf_pty expect "Leaderboard, every team, this month"
cf_pty expect "[..........] 1/20"
cf_pty expect "READY HERE"
cf_wait_for "$CF_WORK/a2.out" '"reason":"培训"'
cf_pty type n
cf_pty type '@a2\r'
cf_pty type '请回电客户\r'
cf_pty expect "Notice sent."
wait "$notified" || cf_fail "a2's desk did not get the notice from the monitor"
cf_events a2 "ev[-1]['event'] == 'notice' and ev[-1]['text'] == '请回电客户'"
review_call=$(call_of a2 APPLICATION_SUBMITTED)
cf_pty type a
cf_pty type "x\\r"
cf_pty expect "Type the call's number"
cf_pty type "\x15${review_call}\\r"
cf_pty type 'greeting courtesy\r'
cf_pty type '语速太快\r'
cf_pty expect "80 points, passed."
cf_pty type a
cf_pty type "${review_call}\\r"
cf_pty type '\r'
cf_pty type '\r'
cf_pty expect "a review is final"
cf_pty type q
cf_pty_exit
[ "$(cf_psql "SELECT score || ' ' || passed || ' ' || notes FROM qa_reviews WHERE call_id = $review_call")" = "80 true 语速太快" ] ||
    cf_fail "the review from the monitor was not recorded as typed"

# Points are never edited in place.
if cf_psql "UPDATE score_events SET points = 1000" 2>"$CF_WORK/update.err"; then
    cf_fail "score_events could be updated"
fi
grep -q "append-only" "$CF_WORK/update.err" || cf_fail "the refusal does not say why: $(cat "$CF_WORK/update.err")"

# Agents do not watch the board.
CALLFLOOR_USER=a1 CALLFLOOR_PASSWORD=a1$CF_PASSWORD_SUFFIX cf_expect_exit 1 "$MONITOR" --json --interval 60
grep -q PERMISSION_DENIED <<<"$CF_LAST_OUTPUT" || cf_fail "an agent was not refused the board: $CF_LAST_OUTPUT"
kill "$live" 2>/dev/null || true
cf_done
