#!/usr/bin/env bash
# reports.sh [CALLS] [AGENTS]: how long the reports take over a month of a
# large floor. Starts a private PostgreSQL and the daemon from the build
# tree ($CF_BUILD, default build/), fills November 2026 with CALLS (default
# 3000000) calls of AGENTS (default 1000) agents in 20 teams over 100,000
# leads (a realistic outcome mix, applications with bank results, quality
# reviews, surveys, score events, targets), then times each report through
# callfloorctl as an admin runs it over the whole floor (and a few as
# the supervisor of one team, whose reports cover their team), and prints the machine, the
# table sizes and the seconds each report took. Needs what tests/run.sh
# installs.
set -euo pipefail

CALLS=${1:-3000000}
AGENTS=${2:-1000}
# shellcheck source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
bench_start bench_reports
cf_start_daemon
cf_ctl product add CB01 --name 畅享返现卡 --apr 18.25 >/dev/null
cf_ctl product add CB02 --name 旅行白金卡 --apr 18.25 >/dev/null
for t in $(seq 1 20); do cf_ctl team add "team$t" >/dev/null; done
cf_ctl campaign add 春季 --product CB01 --product CB02 --team team1 >/dev/null
cf_ctl campaign add 秋季 --product CB01 --team team2 >/dev/null
cf_add_user sue supervisor team1

echo "seeding $CALLS calls of $AGENTS agents..." >&2
seed_start=$(date +%s)
cf_psql "
INSERT INTO users (username, role, team_id, password_hash)
    SELECT 'agent' || i, 'agent', (SELECT id FROM teams WHERE name = 'team' || (1 + i % 20)),
           (SELECT password_hash FROM users WHERE username = 'admin')
    FROM generate_series(1, $AGENTS) i;
INSERT INTO leads (campaign_id, name, phone_hmac, phone_sealed, phone_masked, time_zone)
    SELECT (SELECT id FROM campaigns WHERE name = CASE WHEN i % 4 = 0 THEN '秋季' ELSE '春季' END),
           '客户' || i, sha256(int8send(i)), '\\x00', '138****' || lpad((i % 10000)::text, 4, '0'),
           CASE WHEN i % 10 = 0 THEN 'Asia/Urumqi' ELSE 'Asia/Shanghai' END
    FROM generate_series(1, 100000) i;
CREATE TEMP TABLE agent_ids AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id
    FROM users WHERE role = 'agent' AND username LIKE 'agent%';
CREATE TEMP TABLE lead_ids AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, campaign_id
    FROM leads;
-- Calls in the working hours of November's days; 35% connect, 4% of the
-- connects apply, 1 in 2000 complains.
INSERT INTO calls (lead_id, campaign_id, agent_id, started_at, ended_at, disposition,
                   talk_seconds, idempotency_key, outcome_hash)
    SELECT l.id, l.campaign_id, a.id, s.at, s.at + (30 + i % 400) * interval '1 second',
           CASE WHEN i % 2000 = 7 THEN 'COMPLAINT'
                WHEN i % 100 < 65 THEN (ARRAY['NO_ANSWER', 'BUSY', 'VOICEMAIL', 'WRONG_NUMBER'])[1 + i % 4]
                WHEN i % 100 < 67 THEN 'APPLICATION_SUBMITTED'
                WHEN i % 100 < 75 THEN 'CALLBACK'
                ELSE 'NOT_INTERESTED' END,
           CASE WHEN i % 100 < 65 THEN 0 ELSE 20 + i % 600 END, 'k' || i, '\\x00'
    FROM generate_series(1, $CALLS) i
    JOIN agent_ids a ON a.n = i % $AGENTS
    JOIN lead_ids l ON l.n = i % 100000
    CROSS JOIN LATERAL (SELECT timestamptz '2026-11-01 09:00+08' + (i % 30) * interval '1 day'
                               + (i % 39600) * interval '1 second' AS at) s;
INSERT INTO applications (call_id, lead_id, agent_id, product_id, income_band, employment,
                          existing_cards, status, approved_at, issued_at, activated_at, created_at)
    SELECT k.id, k.lead_id, k.agent_id, (SELECT id FROM products WHERE code = CASE WHEN k.id % 3 = 0 THEN 'CB02' ELSE 'CB01' END),
           5, 'employed', 1,
           CASE WHEN k.id % 10 < 5 THEN 'ACTIVATED' WHEN k.id % 10 < 7 THEN 'ISSUED'
                WHEN k.id % 10 < 8 THEN 'APPROVED' ELSE 'SUBMITTED' END,
           CASE WHEN k.id % 10 < 8 THEN (k.started_at + interval '2 days')::date END,
           CASE WHEN k.id % 10 < 7 THEN (k.started_at + interval '5 days')::date END,
           CASE WHEN k.id % 10 < 5 THEN (k.started_at + interval '9 days')::date END, k.started_at
    FROM calls k WHERE k.disposition = 'APPLICATION_SUBMITTED';
INSERT INTO complaints (call_id, lead_id, agent_id, details, opened_at)
    SELECT id, lead_id, agent_id, '投诉', started_at FROM calls WHERE disposition = 'COMPLAINT';
INSERT INTO qa_reviews (call_id, reviewer_id, score, passed, reviewed_at)
    SELECT id, (SELECT id FROM users WHERE username = 'sue'), 70 + id % 31, id % 31 >= 10, ended_at
    FROM calls WHERE id % 100 = 3;
INSERT INTO csat (call_id, lead_id, agent_id, score, surveyed_on)
    SELECT id, lead_id, agent_id, 1 + id % 5, (ended_at + interval '1 day')::date
    FROM calls WHERE id % 150 = 5;
INSERT INTO score_events (agent_id, team_id, campaign_id, call_id, kind, points, talk_seconds, at)
    SELECT k.agent_id, u.team_id, k.campaign_id, k.id, e.kind, e.points, e.talk, k.ended_at
    FROM calls k JOIN users u ON u.id = k.agent_id
    CROSS JOIN LATERAL (VALUES ('dial', 0, k.talk_seconds, true),
                               ('connect', 1, 0, cf_connected(k.disposition)),
                               ('application', 10, 0, k.disposition = 'APPLICATION_SUBMITTED')) e (kind, points, talk, happened)
    WHERE e.happened;
INSERT INTO targets (team_id, month, applications)
    SELECT id, date '2026-11-01', 20 FROM teams;
ANALYZE;
" >/dev/null
seed_end=$(date +%s)

# timed NAME COMMAND...: runs a report and prints its wall time.
timed() {
    local name=$1 start end
    shift
    start=$(date +%s.%N)
    "$@" >"$CF_WORK/$name.out"
    end=$(date +%s.%N)
    python3 -c "import sys; print('%-40s %6.2f s  %s rows' % (sys.argv[1], float(sys.argv[3]) - float(sys.argv[2]), sys.argv[4]))" \
        "$name" "$start" "$end" "$(($(wc -l <"$CF_WORK/$name.out") - 1))"
}

bench_machine
echo "== data (seeded in $((seed_end - seed_start)) s)"
cf_psql "SELECT format('calls %s, applications %s, score events %s, reviews %s, surveys %s, agents %s',
    (SELECT count(*) FROM calls), (SELECT count(*) FROM applications),
    (SELECT count(*) FROM score_events), (SELECT count(*) FROM qa_reviews),
    (SELECT count(*) FROM csat), (SELECT count(*) FROM users WHERE role = 'agent'))"
M=(--from 2026-11-01 --to 2026-11-30 --format csv)
if [ -n "${BENCH_EXPLAIN:-}" ]; then
    cf_psql "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM cf_report_kpi('2026-11-01', '2026-11-30',
             '$BENCH_EXPLAIN', '', 'Asia/Shanghai', NULL)"
fi
echo "== reports over November (callfloorctl, wall time, rows)"
timed "kpi --by agent" cf_ctl report kpi "${M[@]}" --by agent
timed "kpi --by team" cf_ctl report kpi "${M[@]}" --by team
timed "kpi --by campaign" cf_ctl report kpi "${M[@]}" --by campaign
timed "kpi --by product" cf_ctl report kpi "${M[@]}" --by product
timed "kpi --by hour" cf_ctl report kpi "${M[@]}" --by hour
timed "kpi --by agent --campaign 秋季" cf_ctl report kpi "${M[@]}" --by agent --campaign 秋季
timed "kpi one week --by team" cf_ctl report kpi --from 2026-11-09 --to 2026-11-15 --format csv --by team
timed "slots" cf_ctl report slots "${M[@]}"
timed "trend --by day" cf_ctl report trend "${M[@]}"
timed "calls export (one day)" cf_ctl calls export --from 2026-11-10 --to 2026-11-10
timed "kpi --by agent, one team's supervisor" cf_as sue cf_ctl report kpi "${M[@]}" --by agent
timed "calls export (one day), supervisor" cf_as sue cf_ctl calls export --from 2026-11-10 --to 2026-11-10
start=$(date +%s.%N)
cf_ctl report monthly --month 2026-11 --out "$CF_WORK/monthly" >/dev/null
end=$(date +%s.%N)
python3 -c "import sys; print('%-40s %6.2f s' % ('monthly (HTML, 6 sections)', float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$end"
cf_done
