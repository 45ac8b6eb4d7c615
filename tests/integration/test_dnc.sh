#!/usr/bin/env bash
# test_dnc: the do-not-call list through callfloorctl: numbers in any
# usual form are one entry; answers, the database and the daemon's log
# hold no number in clear (sealed, hashed and masked only); an import of a
# file with good, duplicate, listed and bad lines reports each bad line by
# number and adds the rest; supervisors may add and check, only admins
# remove and import, agents nothing.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup dnc
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_add_user sue supervisor 一组
cf_add_user ann agent 一组

cf_expect_output_contains "138****5678" cf_ctl dnc add 13812345678 --reason 客户要求不再来电
cf_expect_exit 0 cf_ctl --json dnc add "+86 138-1234-5678"
cf_json_check 'doc["dnc"]["listed"] and not doc["dnc"]["added"] and doc["dnc"]["reason"] == "客户要求不再来电" and doc["dnc"]["added_by"] == "admin" and doc["dnc"]["source"] == "admin"' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "the same number in another form is not the same entry: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_ctl --json dnc check 008613812345678
cf_json_check 'doc["dnc"]["listed"] and doc["dnc"]["phone"] == "138****5678"' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "check does not find the number: $CF_LAST_OUTPUT"
cf_expect_output_contains "not on the do-not-call list" cf_ctl dnc check 13900001111
grep -q "13900001111" <<<"$CF_LAST_OUTPUT" && cf_fail "check printed the number in clear"
cf_expect_exit 1 cf_ctl dnc add 12345
grep -q "11 digits" <<<"$CF_LAST_OUTPUT" || cf_fail "a bad number is not explained: $CF_LAST_OUTPUT"
grep -q "12345" <<<"$CF_LAST_OUTPUT" && cf_fail "the refusal repeated the number"
cf_expect_exit 2 cf_ctl dnc add
# "-": the number from standard input, out of the process list.
cf_expect_output_contains "138****5678 is on the do-not-call list" cf_ctl dnc check - <<<'138 1234 5678'
cf_expect_exit 2 cf_ctl dnc add - </dev/null
grep -q "standard input" <<<"$CF_LAST_OUTPUT" || cf_fail "an empty standard input is not explained: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_ctl dnc --help

# Nothing in clear at rest.
[ "$(cf_psql "SELECT count(*) FROM dnc")" = 1 ] || cf_fail "one number made more than one entry"
cf_psql "SELECT encode(phone_hmac, 'hex') || encode(phone_sealed, 'hex') || phone_masked FROM dnc" |
    grep -q "13812345678\|3133383132333435363738" && cf_fail "the number is stored in clear"

# Roles.
cf_as sue cf_expect_exit 0 cf_ctl dnc add 13700001111 --reason 投诉
cf_as sue cf_expect_exit 0 cf_ctl dnc check 13700001111
cf_as sue cf_expect_exit 1 cf_ctl dnc remove 13700001111
cf_as ann cf_expect_exit 1 cf_ctl dnc check 13700001111
cf_as ann cf_expect_exit 1 cf_ctl dnc add 13600001111
cf_expect_exit 0 cf_ctl dnc remove 13700001111
cf_expect_exit 1 cf_ctl dnc remove 13700001111
grep -q "not on the do-not-call list" <<<"$CF_LAST_OUTPUT" || cf_fail "removing an absent number: $CF_LAST_OUTPUT"

# An import: a header, a comment, a blank line, a duplicate, a listed
# number, bad lines, a CSV column, and more than one batch.
{
    echo "phone,name"
    echo "# from the complaints desk"
    echo "13912340001,张三"
    echo ""
    echo "+86 139 1234 0002"
    echo "13912340001"
    echo "13812345678"
    echo "not a number"
    echo "1391234"
    for i in $(seq 1 1500); do printf '15%09d\n' "$i"; done
} >"$CF_WORK/dnc.csv"
cf_expect_exit 0 cf_ctl --json dnc import "$CF_WORK/dnc.csv" --reason 批量导入
cf_json_check 'doc["added"] == 1502 and doc["already"] == 2 and doc["invalid"] == 2 and [r["line"] for r in doc["rejected"]] == [8, 9]' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "the import summary is wrong: $CF_LAST_OUTPUT"
[ "$(cf_psql "SELECT count(*) FROM dnc WHERE source = 'import' AND reason = '批量导入'")" = 1502 ] ||
    cf_fail "the imported rows are not all there"
cf_expect_output_contains "0 added, 1504 listed already, 2 invalid" cf_ctl dnc import "$CF_WORK/dnc.csv"
grep -q "line 8:" <<<"$CF_LAST_OUTPUT" || cf_fail "the text summary does not name the bad line"
cf_as sue cf_expect_exit 1 cf_ctl dnc import "$CF_WORK/dnc.csv"
cf_expect_exit 2 cf_ctl dnc import "$CF_WORK/missing.csv"

# Quoted CSV cells with a BOM, then a broken quote: the lines before it
# are imported, and the error names the line.
printf '\xef\xbb\xbf"phone","note"\r\n"186 0000 0001","说, 明"\r\n"186 0000 0002",x\r\n18600000003,"bad"x\r\n18600000004\r\n' \
    >"$CF_WORK/quoted.csv"
cf_expect_exit 2 cf_ctl dnc import "$CF_WORK/quoted.csv"
grep -q "quoted.csv:4:" <<<"$CF_LAST_OUTPUT" || cf_fail "a CSV error does not name its line: $CF_LAST_OUTPUT"
cf_expect_output_contains "is on the do-not-call list" cf_ctl dnc check 18600000002
cf_expect_output_contains "is not on the do-not-call list" cf_ctl dnc check 18600000004

# No number in clear in the daemon's log.
if grep -E "1[3-9][0-9]{9}" "$CF_LOG"; then
    cf_fail "the daemon logged a phone number in clear"
fi
cf_done
