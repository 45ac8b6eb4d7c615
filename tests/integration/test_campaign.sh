#!/usr/bin/env bash
# test_campaign: card products and campaigns through callfloorctl: adding
# and listing them with Chinese names, every default and option, refusals
# that name the problem and create nothing (unknown product, team or time
# zone, bad window, duplicate), pause and resume, and who may do what.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup campaign
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_ctl team add 二组 >/dev/null
cf_add_user sue supervisor 一组
cf_add_user ann agent 一组

# Empty lists say so, and how to fill them.
cf_expect_output_contains "No products yet; add one with 'callfloorctl product add CODE'" cf_ctl product list
cf_expect_output_contains "No campaigns yet" cf_ctl campaign list
cf_expect_exit 0 cf_ctl --json campaign list
cf_json_check 'doc == {"campaigns": []}' <<<"$CF_LAST_OUTPUT" || cf_fail "an empty campaign list: $CF_LAST_OUTPUT"

# Products.
cf_expect_exit 0 cf_ctl product add CB01 --name 畅享返现卡 --kind cashback --apr 18.25 \
    --disclosure "年费0元，日利率万分之五" --segment young --segment spender
cf_expect_exit 0 cf_ctl product add TR02 --name 旅行白金卡 --kind travel --annual-fee 300.00 --apr 18.25
cf_expect_exit 1 cf_ctl product add CB01 --name again --apr 1
grep -q "already exists" <<<"$CF_LAST_OUTPUT" || cf_fail "a duplicate product code is not called one: $CF_LAST_OUTPUT"
cf_expect_exit 1 cf_ctl product add BAD1 --name bad --apr 18.2555
grep -q "APR" <<<"$CF_LAST_OUTPUT" || cf_fail "a bad APR is not explained: $CF_LAST_OUTPUT"
cf_expect_exit 1 cf_ctl product add BAD2 --name bad --apr 5 --kind gold
cf_expect_exit 2 cf_ctl product add BAD3 --name bad
grep -q -- "--apr" <<<"$CF_LAST_OUTPUT" || cf_fail "a missing --apr is not named: $CF_LAST_OUTPUT"
cf_expect_exit 2 cf_ctl product add BAD4 --name a --name b --apr 1
cf_expect_exit 0 cf_ctl --json product list
cf_json_check '[p["code"] for p in doc["products"]] == ["CB01", "TR02"]' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "product list: $CF_LAST_OUTPUT"
cf_json_check 'doc["products"][0]["segments"] == ["young", "spender"] and doc["products"][1]["annual_fee"] == "300.00"' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "product fields did not come back: $CF_LAST_OUTPUT"
cf_expect_output_contains 畅享返现卡 cf_ctl product list

# A campaign with every default.
cf_expect_exit 0 cf_ctl --json campaign add 春季 --product CB01 --team 一组
cf_json_check 'doc["campaign"]["window_start"] == "09:00" and doc["campaign"]["window_end"] == "20:00" and doc["campaign"]["days"] == 127 and doc["campaign"]["time_zone"] == "Asia/Shanghai" and doc["campaign"]["max_attempts"] == 6 and doc["campaign"]["max_attempts_per_day"] == 2 and doc["campaign"]["offer_timeout_s"] == 60' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "campaign defaults: $CF_LAST_OUTPUT"

# And one with every option.
cf_expect_exit 0 cf_ctl campaign add 旅行季 --product CB01 --product TR02 --team 一组 --team 二组 \
    --window 10:00-19:30 --days mon-fri --time-zone Asia/Urumqi --max-attempts 4 --max-per-day 1 \
    --retry-no-answer 3h --retry-busy 20m --offer-timeout 45s --min-income-band 3 --priority 5
cf_expect_exit 0 cf_ctl --json campaign show 旅行季
cf_json_check 'doc["campaign"]["products"] == ["CB01", "TR02"] and sorted(doc["campaign"]["teams"]) == ["一组", "二组"] and doc["campaign"]["days"] == 31 and doc["campaign"]["retry_no_answer_s"] == 10800 and doc["campaign"]["retry_busy_s"] == 1200 and doc["campaign"]["offer_timeout_s"] == 45 and doc["campaign"]["min_income_band"] == 3 and doc["campaign"]["priority"] == 5 and doc["campaign"]["time_zone"] == "Asia/Urumqi"' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "campaign options: $CF_LAST_OUTPUT"
cf_expect_output_contains "10:00-19:30" cf_ctl campaign show 旅行季
cf_expect_exit 0 cf_ctl --json campaign list
cf_json_check '[c["name"] for c in doc["campaigns"]] == ["旅行季", "春季"]' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "campaign list is not by priority: $CF_LAST_OUTPUT"

# Refusals name the problem and create nothing.
cf_expect_exit 1 cf_ctl campaign add x1 --product NOPE --product TR02 --team 一组
grep -q "NOPE" <<<"$CF_LAST_OUTPUT" && grep -q "product add" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "an unknown product is not named: $CF_LAST_OUTPUT"
cf_expect_exit 1 cf_ctl campaign add x2 --product CB01 --team 三组
grep -q "三组" <<<"$CF_LAST_OUTPUT" || cf_fail "an unknown team is not named: $CF_LAST_OUTPUT"
cf_expect_exit 1 cf_ctl campaign add x3 --product CB01 --team 一组 --time-zone Mars/Olympus
grep -q "time zone" <<<"$CF_LAST_OUTPUT" || cf_fail "an unknown time zone is not named: $CF_LAST_OUTPUT"
cf_expect_exit 1 cf_ctl campaign add x4 --product CB01 --team 一组 --window 20:00-09:00
cf_expect_exit 1 cf_ctl campaign add x5 --product CB01 --team 一组 --max-attempts 2 --max-per-day 3
cf_expect_exit 1 cf_ctl campaign add 春季 --product CB01 --team 一组
grep -q "already exists" <<<"$CF_LAST_OUTPUT" || cf_fail "a duplicate campaign is not called one: $CF_LAST_OUTPUT"
cf_expect_exit 2 cf_ctl campaign add x6 --product CB01 --team 一组 --days someday
cf_expect_exit 2 cf_ctl campaign add x7 --product CB01 --team 一组 --window 9-17
cf_expect_exit 2 cf_ctl campaign add x8 --product CB01 --team 一组 --retry-busy soon
cf_expect_exit 2 cf_ctl campaign add x9 --team 一组
[ "$(cf_psql "SELECT count(*) FROM campaigns")" = 2 ] || cf_fail "a refused campaign add left rows behind"
[ "$(cf_psql "SELECT count(*) FROM campaign_products")" = 3 ] || cf_fail "a refused campaign add left product links"

# Pause and resume; supervisors may, agents may not; only admins create.
cf_as sue cf_expect_exit 0 cf_ctl campaign pause 春季
[ "$(cf_psql "SELECT paused FROM campaigns WHERE name = '春季'")" = t ] || cf_fail "pause did not pause"
cf_expect_output_contains paused cf_ctl campaign list
cf_expect_exit 0 cf_ctl campaign resume 春季
[ "$(cf_psql "SELECT paused FROM campaigns WHERE name = '春季'")" = f ] || cf_fail "resume did not resume"
cf_expect_exit 1 cf_ctl campaign pause 夏季
grep -q "夏季" <<<"$CF_LAST_OUTPUT" || cf_fail "an unknown campaign is not named: $CF_LAST_OUTPUT"
cf_as sue cf_expect_exit 1 cf_ctl product add SV01 --name x --apr 1
cf_as ann cf_expect_exit 1 cf_ctl campaign list
cf_as ann cf_expect_exit 1 cf_ctl campaign pause 春季
cf_as sue cf_expect_exit 0 cf_ctl campaign show 春季
cf_done
