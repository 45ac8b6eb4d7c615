#!/usr/bin/env bash
# test_results: what happens after the call. The bank's results move
# applications along in order, each row applied whole or rejected with its
# line (unknown application, a card activated before it was issued, a
# declined application approved, future and malformed dates, a date before
# the application); importing the same file again changes nothing;
# approvals and activations score and reach the board. Satisfaction
# surveys for calls and agents, checked against the calls they name.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup results
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_ctl product add CB01 --name 畅享返现卡 --apr 18.25 >/dev/null
cf_ctl campaign add 春季 --product CB01 --team 一组 >/dev/null
NOON=$(cf_zone_at 12)
{
    echo name,phone,time_zone,income_band
    for i in $(seq 1 10); do echo "客户$i,1390000$(printf %04d "$i"),$NOON,5"; done
} >"$CF_WORK/leads.csv"
cf_expect_exit 0 cf_ctl leads import 春季 "$CF_WORK/leads.csv"
cf_add_user a1 agent 一组
cf_add_user a2 agent 一组
cf_add_user sue supervisor 一组

cycle() {
    printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"dial"}' \
        "{\"cmd\":\"outcome\",\"disposition\":\"$1\"$2}"
}
APP=',"product":"CB01","identity_stated":true,"recording_consent":true,"annual_fee_stated":true,"apr_stated":true,"no_pressure":true,"income_band":5,"employment":"employed","existing_cards":1'
cf_agent a1 < <(for _ in 1 2 3; do cycle APPLICATION_SUBMITTED "$APP"; done)
[ "$CF_AGENT_RC" = 0 ] || cf_fail "a1's calls failed (see $CF_WORK/a1.out)"
cf_agent a2 < <(cycle NOT_INTERESTED '')
read -r app1 app2 app3 <<<"$(cf_psql "SELECT string_agg(id::text, ' ' ORDER BY id) FROM applications")"
[ -n "$app3" ] || cf_fail "three applications should have been made"

CALLFLOOR_USER=sue CALLFLOOR_PASSWORD=sue$CF_PASSWORD_SUFFIX \
    "$CF_BUILD/bin/callfloor-monitor" --json --interval 60 --period month \
    >"$CF_WORK/board.jsonl" 2>"$CF_WORK/board.err" &
cf_defer kill $!
cf_wait_for "$CF_WORK/board.jsonl" '"event":"board"'

TODAY=$(TZ=$CF_BOARD_TZ date +%F)
YESTERDAY=$(TZ=$CF_BOARD_TZ date -d yesterday +%F)
cat >"$CF_WORK/results.csv" <<CSV
application,result,date
$app1,approved,$TODAY
$app1,issued,$TODAY
$app1,activated,$TODAY
$app2,activated,$TODAY
999999,approved,$TODAY
$app2,approved,2099-01-01
$app2,declined,1.12.2026
$app3,declined,$TODAY
$app3,approved,$TODAY
$app2,maybe,$TODAY
$app2,approved,$YESTERDAY
$app1,issued,$YESTERDAY
$app2,approved
CSV
cf_expect_output_contains "4 results applied, 0 already known, 9 rejected" \
    cf_ctl results import "$CF_WORK/results.csv" --rejects "$CF_WORK/rejects.csv"
for want in \
    "line 5: application $app2 is submitted: a card is activated only after it is issued" \
    "line 6: there is no application 999999" \
    "line 7: '2099-01-01' is not a date like 2026-12-01, today or before" \
    "line 8: '1.12.2026' is not a date" \
    "line 10: application $app3 was declined on $TODAY; it can change no more" \
    "line 11: 'maybe' is not a result: approved, declined, issued or activated" \
    "line 12: $YESTERDAY is before application $app2 was made on $TODAY" \
    "line 13: application $app1 was issued on $TODAY already" \
    "line 14: the row's cell count differs from the header's"; do
    grep -qF -- "$want" <<<"$CF_LAST_OUTPUT" || cf_fail "the import did not report: $want
$CF_LAST_OUTPUT"
done
[ "$(wc -l <"$CF_WORK/rejects.csv")" = 10 ] || cf_fail "the rejects file should hold 9 rows and its header"
# Nothing half-applied: the rejected rows changed nothing.
[ "$(cf_psql "SELECT string_agg(status || ' ' || coalesce(approved_at::text, '-') || ' ' ||
        coalesce(issued_at::text, '-') || ' ' || coalesce(activated_at::text, '-') || ' ' ||
        coalesce(declined_at::text, '-'), ',' ORDER BY id) FROM applications")" = \
    "ACTIVATED $TODAY $TODAY $TODAY -,SUBMITTED - - - -,DECLINED - - - $TODAY" ] ||
    cf_fail "the applications are not as the accepted rows say: $(cf_psql "SELECT * FROM applications")"
[ "$(cf_psql "SELECT string_agg(kind || ' ' || points, ',' ORDER BY id) FROM score_events
              WHERE kind IN ('approved', 'activated')")" = "approved 20,activated 30" ] ||
    cf_fail "an approval and an activation should have scored once each"

# The same file again changes nothing.
cf_expect_exit 0 cf_ctl --json results import "$CF_WORK/results.csv"
cf_json_check 'doc == {"applied": 0, "unchanged": 4, "rejected": 9}' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a second import of the same file changed something: $CF_LAST_OUTPUT"
[ "$(cf_psql "SELECT count(*) FROM score_events WHERE kind IN ('approved', 'activated')")" = 2 ] ||
    cf_fail "a second import scored again"

# The board shows the approval, the activation and their points.
deadline=$((SECONDS + 15))
until cf_board_rows "$CF_WORK/board.jsonl" | python3 -c '
import json, sys
a1 = json.load(sys.stdin).get("a1", {})
sys.exit(0 if a1.get("approvals") == 1 and a1.get("activations") == 1
         and a1.get("points") == 3 * (1 + 10) + 20 + 30 else 1)'
do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "the board did not show the results: $(tail -3 "$CF_WORK/board.jsonl")"
    sleep 0.2
done

# Wrong files and wrong users.
printf 'application,outcome,date\n1,approved,%s\n' "$TODAY" >"$CF_WORK/badhead.csv"
cf_expect_exit 2 cf_ctl results import "$CF_WORK/badhead.csv"
grep -q "unknown column 'outcome'; the columns are application, result, date" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "an unknown column was not named: $CF_LAST_OUTPUT"
printf 'application,date\n' >"$CF_WORK/nohead.csv"
cf_expect_exit 2 cf_ctl results import "$CF_WORK/nohead.csv"
grep -q "lacks the column result" <<<"$CF_LAST_OUTPUT" || cf_fail "a missing column was not named: $CF_LAST_OUTPUT"
cf_expect_exit 2 cf_ctl results import "$CF_WORK/none.csv"
cf_expect_exit 1 cf_as sue cf_ctl results import "$CF_WORK/results.csv"
grep -q PERMISSION_DENIED <<<"$CF_LAST_OUTPUT" || grep -q "permission" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a supervisor was not refused: $CF_LAST_OUTPUT"

# Satisfaction surveys.
call1=$(cf_psql "SELECT call_id FROM applications WHERE id = $app1")
call2=$(cf_psql "SELECT call_id FROM applications WHERE id = $app2")
lead1=$(cf_psql "SELECT lead_id FROM applications WHERE id = $app1")
cat >"$CF_WORK/csat.csv" <<CSV
call,agent,score,comment,date,customer
$call1,,5,很满意,$TODAY,$lead1
,a1,4,"耐心, 专业",$TODAY,
$call1,,3,,$TODAY,
$call2,a2,4,,$TODAY,
,,5,,$TODAY,
$call2,,6,,$TODAY,
999999,,4,,$TODAY,
$call2,,4,,2099-01-01,
,ghost,4,,$TODAY,
$call2,,4,,$TODAY,$lead1
CSV
cf_expect_output_contains "2 surveys imported, 0 already known, 8 rejected" \
    cf_ctl csat import "$CF_WORK/csat.csv"
for want in \
    "line 4: call $call1 has a survey already, with score 5" \
    "line 5: call $call2 was made by another agent than a2" \
    "line 6: a survey names the call or the agent" \
    "line 7: '6' is not a score from 1 to 5" \
    "line 8: there is no ended call 999999" \
    "line 9: '2099-01-01' is not a date" \
    "line 10: there is no agent ghost" \
    "line 11: call $call2 was with customer"; do
    grep -qF -- "$want" <<<"$CF_LAST_OUTPUT" || cf_fail "the survey import did not report: $want
$CF_LAST_OUTPUT"
done
cf_expect_exit 0 cf_ctl --json csat import "$CF_WORK/csat.csv"
cf_json_check 'doc == {"imported": 0, "unchanged": 2, "rejected": 8}' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a second import of the surveys changed something: $CF_LAST_OUTPUT"
[ "$(cf_psql "SELECT string_agg(score || ' ' || comment, ',' ORDER BY id) FROM csat")" = "5 很满意,4 耐心, 专业" ] ||
    cf_fail "the surveys are not as the file says: $(cf_psql "SELECT * FROM csat")"
cf_done
