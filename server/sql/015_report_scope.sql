-- 015_report_scope: reports show a supervisor their own team. The report
-- functions of 009 take one more argument, p_team: NULL for the whole
-- floor, else the team whose agents' figures, calls and masked numbers they
-- cover. The server asks cf_report_team which team its user may see, then
-- runs the report with it as a constant, so that each report is planned
-- for the team it covers. The bodies are 009's with that filter added; the
-- definitions of the figures are unchanged.

DROP FUNCTION cf_report_kpi(date, date, text, text, text);
DROP FUNCTION cf_report_slots(date, date, text, text);
DROP FUNCTION cf_report_trend(date, date, text, text, text);
DROP FUNCTION cf_report_calls_export(date, date, text, text, bigint, integer);
DROP FUNCTION cf_report_calls(date, date, text, text);
DROP FUNCTION cf_report_targets(date, date);

-- The team whose figures user p_staff may see in reports: NULL (every team)
-- for an admin, their own team for a supervisor (013_oversight), and 0,
-- which is no team's id, for a supervisor in no team and anyone else.
CREATE FUNCTION cf_report_team(p_staff bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN u.role = 'admin' THEN NULL
                WHEN u.role = 'supervisor' THEN coalesce(u.team_id, 0)
                ELSE 0 END
    FROM (VALUES (p_staff)) staff (id) LEFT JOIN users u ON u.id = staff.id
$$;

-- The ended calls of a period (of campaign p_campaign, or all with '') made
-- by the agents of team p_team (NULL: every team), with what reports
-- group them by. The hour and weekday are the
-- customer's own, since they say when customers answer.
CREATE FUNCTION cf_report_calls(p_from date, p_to date, p_campaign text, p_zone text,
                                 p_team bigint)
RETURNS TABLE (call_id bigint, started_at timestamptz, campaign text, hour text,
               weekday integer, connected boolean, disposition text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT k.id, k.started_at, c.name, lpad(k.local_hour::text, 2, '0'), k.local_dow::integer,
           cf_connected(k.disposition), k.disposition
    FROM calls k
    JOIN campaigns c ON c.id = k.campaign_id
    WHERE k.started_at >= p_from::timestamp AT TIME ZONE p_zone
      AND k.started_at < (p_to + 1)::timestamp AT TIME ZONE p_zone
      AND k.disposition IS NOT NULL
      AND (p_campaign = '' OR c.name = p_campaign)
      AND (p_team IS NULL OR k.agent_id IN (SELECT id FROM users WHERE team_id = p_team))
$$;

-- Each agent's target of applications for the period (of team p_team's
-- agents, or all): the month's target (their own, else their team's) in
-- proportion to the month's days the period covers.
CREATE FUNCTION cf_report_targets(p_from date, p_to date, p_team bigint)
RETURNS TABLE (agent text, team text, target numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH months AS (
        SELECT m::date AS month, greatest(m::date, p_from) AS first_day,
               least((m + interval '1 month')::date - 1, p_to) AS last_day,
               (m + interval '1 month')::date - m::date AS days
        FROM generate_series(date_trunc('month', p_from), date_trunc('month', p_to),
                             interval '1 month') m)
    SELECT u.username, coalesce(t.name, ''),
           sum(coalesce(mine.applications, ours.applications, 0)
               * (mo.last_day - mo.first_day + 1)::numeric / mo.days)
    FROM users u
    LEFT JOIN teams t ON t.id = u.team_id
    CROSS JOIN months mo
    LEFT JOIN targets mine ON mine.agent_id = u.id AND mine.month = mo.month
    LEFT JOIN targets ours ON ours.team_id = u.team_id AND ours.month = mo.month
    WHERE u.role = 'agent' AND NOT u.disabled AND (p_team IS NULL OR u.team_id = p_team)
    GROUP BY u.username, t.name
$$;

-- The KPIs of a period, of team p_team's agents or all, grouped by p_by:
-- agent, team, campaign, product, hour or weekday. Definitions (docs/REPORTS.md):
--   dials            ended calls
--   connects         calls where somebody was spoken to
--   conversations    connects with at least 60 seconds of talk
--   applications     calls that ended with an application
--   approvals, cards_issued, activations: of those applications, the ones
--                    the bank approved, issued a card for, saw activated
--   connect_rate     connects / dials (接通率)
--   conversion_rate  applications / connects (转化率)
--   activation_rate  activations / cards_issued (活卡率)
--   avg_talk_seconds talk per connect; avg_handle_seconds: from the call's
--                    start to its outcome, per dial
--   complaints, qa_reviews and qa_pass_rate: of the period's calls;
--   csat: surveys of the period's calls, and for agents and teams also the
--         surveys without a call dated in the period
--   points           score events of the period (agent, team, campaign)
--   target           the period's share of the monthly targets (agent, team)
--   target_attainment applications / target
-- By product, only the application figures apply; the others are NULL.
CREATE FUNCTION cf_report_kpi(p_from date, p_to date, p_by text, p_campaign text, p_zone text,
                              p_team bigint)
RETURNS TABLE (key text, name text, dials bigint, connects bigint, connect_rate numeric,
               conversations bigint, applications bigint, conversion_rate numeric,
               approvals bigint, cards_issued bigint, activations bigint,
               activation_rate numeric, avg_talk_seconds numeric, avg_handle_seconds numeric,
               complaints bigint, csat_surveys bigint, csat_average numeric, qa_reviews bigint,
               qa_pass_rate numeric, points bigint, target numeric, target_attainment numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    -- One pass over the period's calls, each joined to what became of it
    -- (at most one application, complaint and survey; its reviews counted
    -- first), grouped by the key.
    WITH reviews AS (
        SELECT call_id, count(*) AS n, count(*) FILTER (WHERE passed) AS passed
        FROM qa_reviews GROUP BY call_id),
    per_call AS (
        SELECT g, min(gname) AS gname, count(*) AS dials,
               count(*) FILTER (WHERE cf_connected(k.disposition)) AS connects,
               count(*) FILTER (WHERE cf_connected(k.disposition) AND k.talk_seconds >= 60)
                   AS conversations,
               count(a.id) AS applications, count(a.approved_at) AS approvals,
               count(a.issued_at) AS issued, count(a.activated_at) AS activations,
               sum(k.talk_seconds) FILTER (WHERE cf_connected(k.disposition)) AS talk,
               avg(extract(epoch FROM k.ended_at - k.started_at)) AS handle,
               count(x.id) AS complaints, coalesce(sum(rv.n), 0) AS reviews,
               coalesce(sum(rv.passed), 0) AS passed, count(s.id) AS surveys,
               sum(s.score) AS survey_points
        FROM calls k
        JOIN users u ON u.id = k.agent_id
        LEFT JOIN teams t ON t.id = u.team_id
        JOIN campaigns c ON c.id = k.campaign_id
        LEFT JOIN applications a ON a.call_id = k.id
        LEFT JOIN products p ON p.id = a.product_id
        LEFT JOIN complaints x ON x.call_id = k.id
        LEFT JOIN reviews rv ON rv.call_id = k.id
        LEFT JOIN csat s ON s.call_id = k.id
        CROSS JOIN LATERAL (SELECT
            CASE p_by WHEN 'agent' THEN u.username WHEN 'team' THEN coalesce(t.name, '')
                      WHEN 'campaign' THEN c.name WHEN 'product' THEN p.code
                      WHEN 'hour' THEN lpad(k.local_hour::text, 2, '0')
                      ELSE k.local_dow::text END AS g,
            CASE p_by WHEN 'agent' THEN u.display_name WHEN 'product' THEN p.name
                      ELSE '' END AS gname) key
        WHERE k.started_at >= p_from::timestamp AT TIME ZONE p_zone
          AND k.started_at < (p_to + 1)::timestamp AT TIME ZONE p_zone
          AND k.disposition IS NOT NULL
          AND (p_campaign = '' OR c.name = p_campaign)
          AND (p_team IS NULL OR u.team_id = p_team)
        GROUP BY g),
    -- Surveys without a call count for their agent and team.
    surveyed AS (
        SELECT CASE p_by WHEN 'agent' THEN u.username ELSE coalesce(t.name, '') END AS g,
               count(*) AS n, sum(s.score) AS points
        FROM csat s JOIN users u ON u.id = s.agent_id LEFT JOIN teams t ON t.id = u.team_id
        WHERE s.call_id IS NULL AND p_by IN ('agent', 'team') AND p_campaign = ''
          AND s.surveyed_on BETWEEN p_from AND p_to
          AND (p_team IS NULL OR u.team_id = p_team)
        GROUP BY 1),
    scored AS (
        SELECT CASE p_by WHEN 'agent' THEN u.username WHEN 'team' THEN coalesce(t.name, '')
                         ELSE c.name END AS g,
               sum(e.points) AS points
        FROM score_events e
        JOIN users u ON u.id = e.agent_id
        LEFT JOIN teams t ON t.id = u.team_id
        JOIN campaigns c ON c.id = e.campaign_id
        WHERE p_by IN ('agent', 'team', 'campaign')
          AND e.at >= p_from::timestamp AT TIME ZONE p_zone
          AND e.at < (p_to + 1)::timestamp AT TIME ZONE p_zone
          AND (p_campaign = '' OR c.name = p_campaign)
          AND (p_team IS NULL OR u.team_id = p_team)
        GROUP BY 1),
    targeted AS (
        SELECT CASE p_by WHEN 'agent' THEN agent ELSE team END AS g, sum(target) AS target
        FROM cf_report_targets(p_from, p_to, p_team)
        WHERE p_by IN ('agent', 'team') AND p_campaign = ''
        GROUP BY 1 HAVING sum(target) > 0),
    keys AS (
        SELECT g FROM per_call WHERE g IS NOT NULL UNION SELECT g FROM surveyed
        UNION SELECT g FROM scored UNION SELECT g FROM targeted)
    SELECT keys.g,
           CASE p_by WHEN 'agent' THEN coalesce(pc.gname, (SELECT display_name FROM users
                                                           WHERE username = keys.g))
                     WHEN 'product' THEN pc.gname
                     WHEN 'hour' THEN keys.g || ':00'
                     WHEN 'weekday' THEN (ARRAY['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat',
                                                'Sun'])[keys.g::integer]
                     ELSE '' END,
           d.dials, d.connects, cf_rate(d.connects, d.dials), d.conversations,
           coalesce(pc.applications, 0), cf_rate(pc.applications, d.connects),
           coalesce(pc.approvals, 0), coalesce(pc.issued, 0), coalesce(pc.activations, 0),
           cf_rate(pc.activations, pc.issued), round(d.talk::numeric / nullif(d.connects, 0), 1),
           round(d.handle, 1), coalesce(pc.complaints, 0),
           coalesce(pc.surveys, 0) + coalesce(sv.n, 0),
           round((coalesce(pc.survey_points, 0) + coalesce(sv.points, 0))::numeric
                 / nullif(coalesce(pc.surveys, 0) + coalesce(sv.n, 0), 0), 2),
           coalesce(pc.reviews, 0), cf_rate(pc.passed, pc.reviews),
           CASE WHEN p_by IN ('agent', 'team', 'campaign') THEN coalesce(sc.points, 0) END,
           round(tg.target, 1), cf_rate(coalesce(pc.applications, 0), tg.target)
    FROM keys
    LEFT JOIN per_call pc ON pc.g = keys.g
    LEFT JOIN surveyed sv ON sv.g = keys.g
    LEFT JOIN scored sc ON sc.g = keys.g
    LEFT JOIN targeted tg ON tg.g = keys.g
    -- By product the call figures do not apply: a call sells no product
    -- until it ends in an application.
    CROSS JOIN LATERAL (SELECT
        CASE WHEN p_by <> 'product' THEN coalesce(pc.dials, 0) END AS dials,
        CASE WHEN p_by <> 'product' THEN coalesce(pc.connects, 0) END AS connects,
        CASE WHEN p_by <> 'product' THEN coalesce(pc.conversations, 0) END AS conversations,
        CASE WHEN p_by <> 'product' THEN pc.talk END AS talk,
        CASE WHEN p_by <> 'product' THEN pc.handle END AS handle) d
    ORDER BY CASE WHEN p_by IN ('hour', 'weekday') THEN lpad(keys.g, 2, '0') ELSE keys.g END
$$;

-- Connects and applications by the customer's weekday and hour, per
-- campaign: when do customers answer, and when do they buy (DOMAIN
-- item 8). `connect_rank` orders a campaign's weekday-and-hour slots with
-- at least 10 dials by connect rate, 1 the best.
CREATE FUNCTION cf_report_slots(p_from date, p_to date, p_campaign text, p_zone text,
                                p_team bigint)
RETURNS TABLE (campaign text, weekday integer, hour text, dials bigint, connects bigint,
               connect_rate numeric, applications bigint, conversion_rate numeric,
               connect_rank bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH slots AS (
        SELECT campaign, weekday, hour, count(*) AS dials,
               count(*) FILTER (WHERE connected) AS connects,
               count(*) FILTER (WHERE disposition = 'APPLICATION_SUBMITTED') AS applications
        FROM cf_report_calls(p_from, p_to, p_campaign, p_zone, p_team)
        GROUP BY campaign, weekday, hour)
    SELECT campaign, weekday, hour, dials, connects, cf_rate(connects, dials), applications,
           cf_rate(applications, connects),
           CASE WHEN dials >= 10 THEN rank() OVER (
               PARTITION BY campaign, dials >= 10
               ORDER BY connects::numeric / dials DESC, dials DESC) END
    FROM slots
    ORDER BY campaign, weekday, hour
$$;

-- The period day by day (p_by day), week by week (week, from Monday) or
-- month by month: dials, connects, applications and what became of them.
CREATE FUNCTION cf_report_trend(p_from date, p_to date, p_by text, p_campaign text, p_zone text,
                                p_team bigint)
RETURNS TABLE (period date, dials bigint, connects bigint, connect_rate numeric,
               applications bigint, conversion_rate numeric, approvals bigint,
               cards_issued bigint, activations bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH buckets AS (
        SELECT b::date AS period
        FROM generate_series(date_trunc(p_by, p_from::timestamp), p_to::timestamp,
                             ('1 ' || p_by)::interval) b),
    per AS (
        SELECT date_trunc(p_by, (r.started_at AT TIME ZONE p_zone))::date AS period,
               count(*) AS dials, count(*) FILTER (WHERE r.connected) AS connects,
               count(a.id) AS applications, count(a.approved_at) AS approvals,
               count(a.issued_at) AS issued, count(a.activated_at) AS activations
        FROM cf_report_calls(p_from, p_to, p_campaign, p_zone, p_team) r
        LEFT JOIN applications a ON a.call_id = r.call_id
        GROUP BY 1)
    SELECT b.period, coalesce(p.dials, 0), coalesce(p.connects, 0),
           cf_rate(p.connects, p.dials), coalesce(p.applications, 0),
           cf_rate(p.applications, p.connects), coalesce(p.approvals, 0),
           coalesce(p.issued, 0), coalesce(p.activations, 0)
    FROM buckets b LEFT JOIN per p ON p.period = b.period
    ORDER BY b.period
$$;

-- The calls of team p_team's agents (or all) for audit, page by page
-- after call p_after: who called whom (masked number) when, and how it
-- ended; never the full number.
CREATE FUNCTION cf_report_calls_export(p_from date, p_to date, p_campaign text, p_zone text,
                                       p_team bigint, p_after bigint, p_limit integer)
RETURNS TABLE (call_id bigint, started_at text, ended_at text, agent text, team text,
               campaign text, lead_id bigint, phone text, disposition text,
               talk_seconds integer, recording_ref text, application_id bigint,
               application_status text, complaint boolean)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT k.id, to_char(k.started_at AT TIME ZONE p_zone, 'YYYY-MM-DD"T"HH24:MI:SS'),
           to_char(k.ended_at AT TIME ZONE p_zone, 'YYYY-MM-DD"T"HH24:MI:SS'), u.username,
           coalesce(t.name, ''), c.name, l.id, l.phone_masked, k.disposition, k.talk_seconds,
           k.recording_ref, a.id, a.status, x.id IS NOT NULL
    FROM calls k
    JOIN users u ON u.id = k.agent_id
    LEFT JOIN teams t ON t.id = u.team_id
    JOIN campaigns c ON c.id = k.campaign_id
    JOIN leads l ON l.id = k.lead_id
    LEFT JOIN applications a ON a.call_id = k.id
    LEFT JOIN complaints x ON x.call_id = k.id
    WHERE k.id > p_after
      AND k.started_at >= p_from::timestamp AT TIME ZONE p_zone
      AND k.started_at < (p_to + 1)::timestamp AT TIME ZONE p_zone
      AND k.disposition IS NOT NULL
      AND (p_campaign = '' OR c.name = p_campaign)
      AND (p_team IS NULL OR u.team_id = p_team)
    ORDER BY k.id
    LIMIT p_limit
$$;
