#!/usr/bin/env bash
# test_reports: the KPI, time-slot, trend and export reports over a known
# set of calls, results, reviews, surveys and targets, each figure checked
# against its hand-computed value, zero denominators (NULL) included; CSV,
# JSON and SVG well-formed (the SVG parsed as XML); the monthly HTML
# report; the export paged, masked, complete.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The history below is dated in Shanghai's time, and reports group by the
# board's zone; every date is fixed, so the day's end does not matter here.
export CF_BOARD_TZ=Asia/Shanghai
cf_setup reports
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_ctl team add 二组 >/dev/null
cf_ctl product add CB01 --name 畅享返现卡 --apr 18.25 >/dev/null
cf_ctl product add CB02 --name 旅行白金卡 --apr 18.25 >/dev/null
cf_ctl campaign add 春季 --product CB01 --product CB02 --team 一组 --team 二组 >/dev/null
{
    echo name,phone,time_zone
    for i in $(seq 1 40); do echo "客户$i,1380000$(printf %04d "$i"),Asia/Shanghai"; done
} >"$CF_WORK/leads.csv"
cf_expect_exit 0 cf_ctl leads import 春季 "$CF_WORK/leads.csv"
cf_add_user a1 agent 一组
cf_add_user a2 agent 一组
cf_add_user a3 agent 二组
cf_add_user sue supervisor 一组
cf_expect_exit 0 cf_ctl target set --agent a1 --month 2026-11 --applications 30
cf_expect_exit 0 cf_ctl target set --team 一组 --month 2026-11 --applications 15

# The calls, in Shanghai time: week 1 (2026-11-02, a Monday, to 11-08) for
# the KPIs, week 3 for the time slots, and 2,500 calls on 11-25 for paging.
cf_psql "
CREATE FUNCTION pg_temp.k(agent text, lead int, local text, disp text, talk int, handle int)
RETURNS bigint LANGUAGE sql AS \$\$
    INSERT INTO calls (lead_id, campaign_id, agent_id, started_at, ended_at, disposition,
                       talk_seconds, idempotency_key, outcome_hash)
    SELECT (SELECT min(id) + lead - 1 FROM leads), c.id, u.id,
           local::timestamp AT TIME ZONE 'Asia/Shanghai',
           local::timestamp AT TIME ZONE 'Asia/Shanghai' + handle * interval '1 second',
           disp, talk, md5(random()::text || clock_timestamp()::text), '\\x00'
    FROM campaigns c, users u WHERE c.name = '春季' AND u.username = agent RETURNING id
\$\$;
CREATE FUNCTION pg_temp.app(call bigint, product text, approved text, issued text, activated text)
RETURNS void LANGUAGE sql AS \$\$
    INSERT INTO applications (call_id, lead_id, agent_id, product_id, income_band, employment,
                              existing_cards, status, approved_at, issued_at, activated_at,
                              created_at)
    SELECT k.id, k.lead_id, k.agent_id, p.id, 5, 'employed', 1,
           CASE WHEN activated IS NOT NULL THEN 'ACTIVATED' WHEN issued IS NOT NULL THEN 'ISSUED'
                ELSE 'APPROVED' END,
           approved::date, issued::date, activated::date, k.started_at
    FROM calls k, products p WHERE k.id = call AND p.code = product
\$\$;
DO \$\$
DECLARE c1 bigint; c2 bigint; c3 bigint; c4 bigint; c6 bigint; sue bigint;
BEGIN
    SELECT id INTO sue FROM users WHERE username = 'sue';
    c1 := pg_temp.k('a1', 1, '2026-11-02 10:05', 'NO_ANSWER', 0, 30);
    c2 := pg_temp.k('a1', 2, '2026-11-02 10:20', 'APPLICATION_SUBMITTED', 300, 400);
    c3 := pg_temp.k('a1', 3, '2026-11-02 14:00', 'NOT_INTERESTED', 40, 60);
    c4 := pg_temp.k('a1', 4, '2026-11-03 10:10', 'APPLICATION_SUBMITTED', 200, 260);
    PERFORM pg_temp.k('a2', 5, '2026-11-02 10:30', 'BUSY', 0, 10);
    c6 := pg_temp.k('a2', 6, '2026-11-03 19:00', 'COMPLAINT', 90, 120);
    PERFORM pg_temp.k('a3', 7, '2026-11-04 10:00', 'NO_ANSWER', 0, 20);
    PERFORM pg_temp.k('a3', 8, '2026-11-04 10:40', 'VOICEMAIL', 0, 20);
    PERFORM pg_temp.k('a1', 9, '2026-11-09 10:00', 'APPLICATION_SUBMITTED', 100, 100);
    PERFORM pg_temp.app(c2, 'CB01', '2026-11-04', '2026-11-06', '2026-11-07');
    PERFORM pg_temp.app(c4, 'CB02', '2026-11-05', '2026-11-06', NULL);
    INSERT INTO complaints (call_id, lead_id, agent_id, details)
        SELECT id, lead_id, agent_id, '太频繁' FROM calls WHERE id = c6;
    INSERT INTO qa_reviews (call_id, reviewer_id, score, passed) VALUES (c2, sue, 90, true),
        (c3, sue, 60, false);
    INSERT INTO csat (call_id, lead_id, agent_id, score, surveyed_on)
        SELECT id, lead_id, agent_id, 5, '2026-11-05' FROM calls WHERE id = c2;
    INSERT INTO csat (agent_id, score, surveyed_on)
        SELECT id, 4, date '2026-11-03' FROM users WHERE username = 'a2'
        UNION ALL SELECT id, 2, date '2026-11-20' FROM users WHERE username = 'a2';
    INSERT INTO score_events (agent_id, team_id, campaign_id, call_id, kind, points, at)
        SELECT agent_id, (SELECT team_id FROM users WHERE id = agent_id), campaign_id, id,
               'application', 10, started_at FROM calls WHERE id = c2
        UNION ALL
        SELECT agent_id, (SELECT team_id FROM users WHERE id = agent_id), campaign_id, id,
               'approved', 20, '2026-11-04 12:00+08' FROM calls WHERE id = c2;
    FOR i IN 1..12 LOOP
        PERFORM pg_temp.k('a3', 10 + i, '2026-11-19 11:' || lpad(i::text, 2, '0'),
                          CASE WHEN i <= 9 THEN 'NOT_INTERESTED' ELSE 'NO_ANSWER' END, 30, 40);
    END LOOP;
    FOR i IN 1..10 LOOP
        PERFORM pg_temp.k('a3', 10 + i, '2026-11-19 15:' || lpad(i::text, 2, '0'),
                          CASE WHEN i <= 2 THEN 'NOT_INTERESTED' ELSE 'BUSY' END, 30, 40);
    END LOOP;
    FOR i IN 1..3 LOOP
        PERFORM pg_temp.k('a3', 30 + i, '2026-11-20 09:' || lpad(i::text, 2, '0'),
                          'NOT_INTERESTED', 30, 40);
    END LOOP;
    FOR i IN 1..2500 LOOP
        PERFORM pg_temp.k('a2', 1 + i % 40, ('2026-11-25 08:00'::timestamp + i * interval '10 s')::text,
                          'NO_ANSWER', 0, 5);
    END LOOP;
END
\$\$" >/dev/null

W1=(--from 2026-11-02 --to 2026-11-08)
# kpi BY EXPRESSION: the Python EXPRESSION holds for `rows`, the JSON
# report's rows by key.
kpi() {
    local by=$1
    shift
    cf_expect_exit 0 cf_ctl report kpi "${W1[@]}" --by "$by" --format json
    python3 -c '
import json, sys
doc = json.loads(sys.stdin.read())
rows = {r["key"]: r for r in doc["rows"]}
if not eval("(" + sys.argv[1] + ")"):
    sys.exit("wrong: %s\n%s" % (sys.argv[1], json.dumps(rows, ensure_ascii=False, indent=1)))
' "$1" <<<"$CF_LAST_OUTPUT" || cf_fail "the KPIs by $by are wrong"
}

kpi agent 'rows["a1"] == {"key": "a1", "name": "", "dials": 4, "connects": 3,
    "connect_rate": 0.75, "conversations": 2, "applications": 2, "conversion_rate": 0.6667,
    "approvals": 2, "cards_issued": 2, "activations": 1, "activation_rate": 0.5,
    "avg_talk_seconds": 180.0, "avg_handle_seconds": 187.5, "complaints": 0,
    "csat_surveys": 1, "csat_average": 5.0, "qa_reviews": 2, "qa_pass_rate": 0.5,
    "points": 30, "target": 7.0, "target_attainment": 0.2857}'
kpi agent 'rows["a2"]["dials"] == 2 and rows["a2"]["connects"] == 1
    and rows["a2"]["conversion_rate"] == 0 and rows["a2"]["activation_rate"] is None
    and rows["a2"]["avg_talk_seconds"] == 90.0 and rows["a2"]["avg_handle_seconds"] == 65.0
    and rows["a2"]["complaints"] == 1 and rows["a2"]["csat_surveys"] == 1
    and rows["a2"]["csat_average"] == 4.0 and rows["a2"]["qa_pass_rate"] is None
    and rows["a2"]["points"] == 0 and rows["a2"]["target"] == 3.5
    and rows["a2"]["target_attainment"] == 0'
kpi agent 'rows["a3"]["dials"] == 2 and rows["a3"]["connects"] == 0
    and rows["a3"]["connect_rate"] == 0 and rows["a3"]["conversion_rate"] is None
    and rows["a3"]["avg_talk_seconds"] is None and rows["a3"]["avg_handle_seconds"] == 20.0
    and rows["a3"]["target"] is None and rows["a3"]["target_attainment"] is None
    and len(rows) == 3'
kpi team 'rows["一组"]["dials"] == 6 and rows["一组"]["connects"] == 4
    and rows["一组"]["connect_rate"] == 0.6667 and rows["一组"]["conversion_rate"] == 0.5
    and rows["一组"]["csat_surveys"] == 2 and rows["一组"]["csat_average"] == 4.5
    and rows["一组"]["target"] == 10.5 and rows["一组"]["target_attainment"] == 0.1905
    and rows["二组"]["dials"] == 2 and rows["二组"]["points"] == 0'
kpi campaign 'rows["春季"]["dials"] == 8 and rows["春季"]["applications"] == 2
    and rows["春季"]["points"] == 30 and rows["春季"]["target"] is None'
kpi product 'rows["CB01"]["name"] == "畅享返现卡" and rows["CB01"]["dials"] is None
    and rows["CB01"]["applications"] == 1 and rows["CB01"]["activation_rate"] == 1
    and rows["CB02"]["cards_issued"] == 1 and rows["CB02"]["activation_rate"] == 0
    and len(rows) == 2'
kpi hour 'rows["10"]["dials"] == 6 and rows["10"]["connects"] == 2
    and rows["10"]["applications"] == 2 and rows["14"]["dials"] == 1
    and rows["19"]["complaints"] == 1 and rows["10"]["name"] == "10:00" and len(rows) == 3'
kpi weekday 'rows["1"]["dials"] == 4 and rows["2"]["dials"] == 2 and rows["3"]["dials"] == 2
    and rows["1"]["name"] == "Mon" and rows["1"]["points"] is None'

# A supervisor's reports cover their own team: sue (一组) sees a1 and a2,
# their calls, surveys, points and targets, and nothing of a3 (二组).
cf_expect_exit 0 cf_as sue cf_ctl --json report kpi "${W1[@]}" --by team
cf_json_check '[(r["key"], r["dials"], r["csat_surveys"], r["points"], r["target"]) for r in doc["rows"]]
    == [("一组", 6, 2, 30, 10.5)]' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a supervisor's KPIs by team are not their team's alone: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_as sue cf_ctl --json report kpi "${W1[@]}" --by agent
cf_json_check 'sorted(r["key"] for r in doc["rows"]) == ["a1", "a2"]' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a supervisor sees other teams' agents: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_as sue cf_ctl --json report kpi "${W1[@]}" --by campaign
cf_json_check 'doc["rows"][0]["dials"] == 6 and len(doc["rows"]) == 1' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a supervisor's KPIs by campaign count other teams' calls: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_as sue cf_ctl --json report trend "${W1[@]}"
cf_json_check '[r["dials"] for r in doc["rows"]] == [4, 2, 0, 0, 0, 0, 0]' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a supervisor's trend counts other teams' calls: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_as sue cf_ctl --json report slots --from 2026-11-16 --to 2026-11-22
cf_json_check 'doc["rows"] == []' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a supervisor's time slots count other teams' calls: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_as sue cf_ctl --json calls export "${W1[@]}"
cf_json_check 'len(doc["rows"]) == 6 and {r["team"] for r in doc["rows"]} == {"一组"}' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "a supervisor exports other teams' calls: $CF_LAST_OUTPUT"
cf_add_user lone supervisor
cf_expect_exit 0 cf_as lone cf_ctl --json calls export "${W1[@]}"
cf_json_check 'doc["rows"] == []' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a supervisor in no team exports calls: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_as lone cf_ctl --json report kpi "${W1[@]}" --by team
cf_json_check 'doc["rows"] == []' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a supervisor in no team sees KPIs: $CF_LAST_OUTPUT"
# What counts without a call of the period is scoped too: in December, a3
# (二组) has a survey without a call, points and a team target.
cf_psql "
INSERT INTO csat (agent_id, score, surveyed_on)
    SELECT id, 3, date '2026-12-02' FROM users WHERE username = 'a3';
INSERT INTO score_events (agent_id, team_id, campaign_id, kind, points, at)
    SELECT u.id, u.team_id, c.id, 'application', 10, '2026-12-02 12:00+08'
    FROM users u, campaigns c WHERE u.username = 'a3' AND c.name = '春季';
INSERT INTO targets (team_id, month, applications)
    SELECT id, date '2026-12-01', 20 FROM teams WHERE name = '二组';
" >/dev/null
W4=(--from 2026-12-01 --to 2026-12-07)
cf_expect_exit 0 cf_ctl --json report kpi "${W4[@]}" --by agent
cf_json_check '[(r["key"], r["csat_surveys"], r["points"], r["target"]) for r in doc["rows"]]
    == [("a3", 1, 10, 4.5)]' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "December's KPIs for the admin are wrong: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_as sue cf_ctl --json report kpi "${W4[@]}" --by agent
cf_json_check 'doc["rows"] == []' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a supervisor sees another team's surveys, points or targets: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_as sue cf_ctl --json report kpi "${W4[@]}" --by team
cf_json_check 'doc["rows"] == []' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "a supervisor sees another team's figures by team: $CF_LAST_OUTPUT"

# One campaign only: the targets and the surveys without a call do not apply.
cf_expect_exit 0 cf_ctl --json report kpi "${W1[@]}" --by team --campaign 春季
cf_json_check 'all(r["target"] is None for r in doc["rows"]) and doc["rows"][0]["csat_surveys"] == 1' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "a campaign's KPIs count targets or surveys without a call: $CF_LAST_OUTPUT"

# The same figures as CSV with a header row, and as a table.
cf_expect_exit 0 cf_ctl report kpi "${W1[@]}" --format csv
python3 - "$CF_LAST_OUTPUT" <<'PY' || cf_fail "the CSV is wrong: $CF_LAST_OUTPUT"
import csv, io, sys
rows = list(csv.DictReader(io.StringIO(sys.argv[1])))
a = {r["key"]: r for r in rows}
assert list(rows[0].keys())[:5] == ["key", "name", "dials", "connects", "connect_rate"], rows[0].keys()
assert a["a1"]["conversion_rate"] == "0.6667" and a["a3"]["conversion_rate"] == "", a
PY
cf_expect_output_contains "66.7%" cf_ctl report kpi "${W1[@]}"
cf_expect_exit 1 cf_ctl report kpi "${W1[@]}" --by colour
cf_expect_exit 2 cf_ctl report kpi "${W1[@]}" --format svg
cf_expect_exit 1 cf_ctl report kpi --from 2026-11-08 --to 2026-11-02
grep -q "a report covers 1 to 400 days" <<<"$CF_LAST_OUTPUT" || cf_fail "a reversed period was not explained: $CF_LAST_OUTPUT"
cf_expect_exit 1 cf_ctl report kpi --from 2026-02-30 --to 2026-03-02
cf_expect_exit 1 cf_as a1 cf_ctl report kpi "${W1[@]}"
cf_expect_output_contains "Nothing happened in that period." cf_ctl report kpi --from 2025-01-01 --to 2025-01-31

# When customers answer: week 3's best slots, ranked among those with 10
# dials or more.
W3=(--from 2026-11-16 --to 2026-11-22)
cf_expect_exit 0 cf_ctl report slots "${W3[@]}" --format json
cf_json_check '[(b["weekday"], b["hour"], b["connect_rank"]) for b in doc["best"]] == [(4, "11", 1), (4, "15", 2)]
    and [r["connect_rank"] for r in doc["rows"] if r["hour"] == "09"] == [None]
    and [r["connect_rate"] for r in doc["rows"] if r["hour"] == "11"] == [0.75]' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "the best slots are wrong: $CF_LAST_OUTPUT"
cf_expect_output_contains "1. Thu 11:00, 75.0% of 12 dials answered" cf_ctl report slots "${W3[@]}"
cf_expect_exit 0 cf_ctl report slots "${W3[@]}" --format svg
printf '%s\n' "$CF_LAST_OUTPUT" >"$CF_WORK/slots.svg"
python3 - "$CF_WORK/slots.svg" <<'PY' || cf_fail "the heat map is not well-formed SVG"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
assert any("9 of 12 dials answered (75%)" in t for t in titles), titles
PY

# Day by day.
cf_expect_exit 0 cf_ctl report trend "${W1[@]}" --format json
cf_json_check '[(r["period"], r["dials"]) for r in doc["rows"]] == [("2026-11-02", 4), ("2026-11-03", 2),
    ("2026-11-04", 2), ("2026-11-05", 0), ("2026-11-06", 0), ("2026-11-07", 0), ("2026-11-08", 0)]
    and doc["rows"][4]["connect_rate"] is None and doc["rows"][1]["applications"] == 1' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "the trend is wrong: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_ctl report trend --from 2026-11-01 --to 2026-11-30 --by week --format svg
printf '%s\n' "$CF_LAST_OUTPUT" >"$CF_WORK/trend.svg"
python3 -c 'import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])' "$CF_WORK/trend.svg" ||
    cf_fail "the trend chart is not well-formed SVG"

# The month for the team meeting.
cf_expect_output_contains "callfloor-2026-11.html" cf_ctl report monthly --month 2026-11 --out "$CF_WORK/monthly"
python3 - "$CF_WORK/monthly/callfloor-2026-11.html" <<'PY' || cf_fail "the monthly report is incomplete"
import re, sys, xml.etree.ElementTree as ET
html = open(sys.argv[1], encoding="utf-8").read()
svgs = re.findall(r"<svg.*?</svg>", html, re.S)
assert len(svgs) == 2, len(svgs)
for s in svgs:
    ET.fromstring(s)
for word in ("一组", "畅享返现卡", "a1", "target_attainment"):
    assert word in html, word
PY
cf_expect_exit 2 cf_ctl report monthly --month 2026-13 --out "$CF_WORK/monthly"

# The export: every call once, page after page, the numbers masked.
cf_expect_exit 0 cf_ctl calls export --from 2026-11-25 --to 2026-11-25
printf '%s\n' "$CF_LAST_OUTPUT" >"$CF_WORK/calls.csv"
python3 - "$CF_WORK/calls.csv" <<'PY' || cf_fail "the export is wrong"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
ids = [int(r["call_id"]) for r in rows]
assert len(rows) == 2500 and len(set(ids)) == 2500 and ids == sorted(ids), len(rows)
assert all("****" in r["phone"] for r in rows), rows[0]
PY
grep -qE '1380000[0-9]{4}' "$CF_WORK/calls.csv" && cf_fail "the export shows a full phone number"
cf_expect_exit 0 cf_ctl --json calls export "${W1[@]}"
cf_json_check 'len(doc["rows"]) == 8 and doc["rows"][5]["complaint"] is True
    and doc["rows"][1]["application_status"] == "ACTIVATED"' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "the JSON export is wrong: $CF_LAST_OUTPUT"
cf_done
