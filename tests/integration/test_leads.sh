#!/usr/bin/env bash
# test_leads: importing a lead list into a campaign with callfloorctl: a
# CSV with a BOM, CRLF, quoted cells with commas and line breaks and
# Chinese names; numbers in any usual form; duplicates within the file and
# against the campaign; numbers on the do-not-call list suppressed; bad
# rows (phone, name, tier, income band, cell count, unknown time zone)
# reported by line, in the summary and in --rejects; more than one batch;
# the --json summary's integer keys; no number in clear at rest or in the
# log; who may import.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup leads
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_ctl product add CB01 --name 畅享返现卡 --apr 18.25 >/dev/null
cf_ctl campaign add 春季 --product CB01 --team 一组 >/dev/null
cf_add_user sue supervisor 一组
cf_ctl dnc add 13900000009 >/dev/null

{
    printf '\xef\xbb\xbfName,Phone,time_zone,tier,income_band,travel_interest,score,external_id\r\n'
    printf '张伟,13800000001,Asia/Shanghai,VIP,5,是,87.5,X1\r\n'
    printf '"王, 芳","+86 138-0000-0002",Asia/Urumqi,normal,3,no,10,X2\r\n'
    printf '"李\n娜",0086 13800000003,,,,,,X3\r\n'
    printf '重复,13800000001,,,,,,X4\r\n'
    printf '拒绝,139 0000 0009,,,,,,X5\r\n'
    printf '坏号,12345,,,,,,X6\r\n'
    printf '坏级,13800000007,,gold,,,,X7\r\n'
    printf '坏收入,13800000008,,,12,,,X8\r\n'
    printf '坏时区,13800000010,Mars/Olympus,,,,,X9\r\n'
    printf '少列,13800000011\r\n'
    printf '坏编码\xff,13800000012,,,,,,X10\r\n'
    for i in $(seq 1 1200); do printf '客户%d,15%09d,,,,,%d.5,Y%d\r\n' "$i" "$i" "$((i % 100))" "$i"; done
} >"$CF_WORK/leads.csv"

cf_expect_exit 0 cf_ctl --json leads import 春季 "$CF_WORK/leads.csv" --rejects "$CF_WORK/rejects.csv"
cf_json_check 'doc == {"imported": 1202, "duplicates": 1, "suppressed": 1, "invalid": 7}' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "the import summary is wrong: $CF_LAST_OUTPUT"
python3 - "$CF_WORK/rejects.csv" <<'PY' || cf_fail "the rejects file is wrong: $(cat "$CF_WORK/rejects.csv")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
lines = sorted(int(r["line"]) for r in rows)
assert lines == [4, 8, 9, 10, 11, 12, 13], lines
assert all(r["reason"] for r in rows), rows
PY
[ "$(cf_psql "SELECT count(*) FROM leads")" = 1202 ] || cf_fail "the leads are not all stored"
[ "$(cf_psql "SELECT tier || '|' || income_band || '|' || travel_interest || '|' || score || '|' || time_zone FROM leads WHERE external_id = 'X1'")" = "vip|5|true|87.500|Asia/Shanghai" ] ||
    cf_fail "the first row's fields are not stored as given"
# The quoted name with a line break spans lines 4-5, so the lines after it
# are counted on; a name with a control character is refused.
grep -q '^4,"the name' "$CF_WORK/rejects.csv" || cf_fail "a name with a line break was not refused"
[ "$(cf_psql "SELECT phone_masked FROM leads WHERE external_id = 'X2'")" = "138****0002" ] ||
    cf_fail "the number is not stored masked"
[ "$(cf_psql "SELECT time_zone IS NULL FROM leads WHERE external_id = 'Y1'")" = t ] ||
    cf_fail "an empty time zone is not the campaign's"

# Again: everything is a duplicate now.
cf_expect_output_contains "0 imported, 1203 duplicates, 1 on the do-not-call list, 7 invalid" \
    cf_ctl leads import 春季 "$CF_WORK/leads.csv"
grep -q "line 8:" <<<"$CF_LAST_OUTPUT" || cf_fail "the text summary does not name the bad lines"

# Refusals.
cf_expect_exit 1 cf_ctl leads import 夏季 "$CF_WORK/leads.csv"
grep -q "夏季" <<<"$CF_LAST_OUTPUT" || cf_fail "an unknown campaign is not named: $CF_LAST_OUTPUT"
printf 'name,mobile\n张三,13800000001\n' >"$CF_WORK/badhead.csv"
cf_expect_exit 2 cf_ctl leads import 春季 "$CF_WORK/badhead.csv"
grep -q "mobile" <<<"$CF_LAST_OUTPUT" || cf_fail "an unknown column is not named: $CF_LAST_OUTPUT"
printf 'name,phone\n张三,13800000021\n"坏,13800000022\n' >"$CF_WORK/badquote.csv"
cf_expect_exit 2 cf_ctl leads import 春季 "$CF_WORK/badquote.csv"
grep -q "badquote.csv:3:" <<<"$CF_LAST_OUTPUT" || cf_fail "a CSV error does not name its line: $CF_LAST_OUTPUT"
[ "$(cf_psql "SELECT count(*) FROM leads WHERE name = '张三'")" = 1 ] ||
    cf_fail "the rows before a CSV error were not imported"
cf_expect_exit 2 cf_ctl leads import 春季
cf_as sue cf_expect_exit 1 cf_ctl leads import 春季 "$CF_WORK/leads.csv"

# Nothing in clear at rest or in the log.
cf_psql "SELECT encode(phone_hmac, 'hex') || encode(phone_sealed, 'hex') || phone_masked FROM leads" |
    grep -q "13800000001\|3133383030303030303031" && cf_fail "a number is stored in clear"
if grep -E "1[3-9][0-9]{9}" "$CF_LOG"; then
    cf_fail "the daemon logged a phone number in clear"
fi
cf_done
