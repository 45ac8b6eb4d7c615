-- 008_results: what happened after the call. The bank's decision system
-- says when an application was approved or declined, when the card was
-- issued and when it was activated (DOMAIN items 9 and 16); surveys say how
-- satisfied the customer was. Both arrive as files, imported row by row:
-- a row is applied whole or reported with its line, never half.

-- The dates are the bank's, in the business time zone.
ALTER TABLE applications
    ADD COLUMN approved_at  date,
    ADD COLUMN declined_at  date,
    ADD COLUMN issued_at    date,
    ADD COLUMN activated_at date,
    ADD CONSTRAINT applications_dates_check CHECK (
        (approved_at IS NULL OR declined_at IS NULL)
        AND (issued_at IS NULL OR approved_at IS NOT NULL)
        AND (activated_at IS NULL OR issued_at IS NOT NULL));
CREATE INDEX applications_agent_idx ON applications (agent_id, created_at);

-- The shape every import row's answer takes: the file line, what became of
-- it (applied, unchanged, rejected), why it was rejected, and the score
-- event it added, if any, as the daemon folds events into its board.
CREATE TYPE cf_import_answer AS (
    line integer, outcome text, reason text, user_id bigint, username text,
    display_name text, team_id bigint, team text, kind text, points integer,
    talk_seconds integer, at_us bigint, event_id bigint);

CREATE FUNCTION cf_answer(p_line integer, p_outcome text, p_reason text, p_event bigint)
RETURNS cf_import_answer LANGUAGE sql STABLE AS $$
    SELECT ROW(p_line, p_outcome, p_reason, u.id, u.username, u.display_name,
               coalesce(t.id, 0), coalesce(t.name, ''), e.kind, e.points, e.talk_seconds,
               (extract(epoch FROM e.at) * 1000000)::bigint, e.id)::cf_import_answer
    FROM (SELECT 1) one
    LEFT JOIN score_events e ON e.id = p_event
    LEFT JOIN users u ON u.id = e.agent_id
    LEFT JOIN teams t ON t.id = u.team_id
$$;

-- `p_text` as a date no later than today in `p_zone`, or NULL.
CREATE FUNCTION cf_past_date(p_text text, p_zone text) RETURNS date
LANGUAGE plpgsql STABLE AS $$
DECLARE
    d date;
BEGIN
    IF p_text !~ '^\s*\d{4}-\d{2}-\d{2}\s*$' THEN
        RETURN NULL;
    END IF;
    d := btrim(p_text)::date;
    RETURN CASE WHEN d <= (now() AT TIME ZONE p_zone)::date THEN d END;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
    RETURN NULL;
END
$$;

-- Why application `a` cannot take `result` on `d`, or NULL when it can.
-- The order is: submitted, then approved or declined; approved, then
-- issued; issued, then activated. Each date is on or after the one before.
CREATE FUNCTION cf_result_refusal(a applications, result text, d date, p_zone text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN a.status = 'DECLINED' THEN
            format('application %s was declined on %s; it can change no more', a.id, a.declined_at)
        WHEN result IN ('approved', 'declined') AND a.status <> 'SUBMITTED' THEN
            format('application %s is %s already; it cannot be %s now', a.id, lower(a.status),
                   result)
        WHEN result = 'issued' AND a.status <> 'APPROVED' THEN
            format('application %s is %s: a card is issued only after approval', a.id,
                   lower(a.status))
        WHEN result = 'activated' AND a.status <> 'ISSUED' THEN
            format('application %s is %s: a card is activated only after it is issued', a.id,
                   lower(a.status))
        WHEN d < (a.created_at AT TIME ZONE p_zone)::date THEN
            format('%s is before application %s was made on %s', d, a.id,
                   (a.created_at AT TIME ZONE p_zone)::date)
        WHEN result = 'issued' AND d < a.approved_at THEN
            format('issued on %s, before its approval on %s', d, a.approved_at)
        WHEN result = 'activated' AND d < a.issued_at THEN
            format('activated on %s, before the card was issued on %s', d, a.issued_at)
    END
$$;

-- Applies the bank's results: row i says application p_apps[i] was
-- p_results[i] (approved, declined, issued, activated) on p_dates[i]
-- (YYYY-MM-DD). A result the application has already, with the same date,
-- is unchanged (a file imported twice changes nothing); approvals and
-- activations add score events.
CREATE FUNCTION cf_apply_results(p_lines integer[], p_apps text[], p_results text[],
                                 p_dates text[], p_zone text)
RETURNS SETOF cf_import_answer LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    a applications;
    result text;
    d date;
    had date;
    why text;
    eid bigint;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_lines, 1), 0) LOOP
        result := lower(btrim(p_results[i]));
        d := cf_past_date(p_dates[i], p_zone);
        IF p_apps[i] !~ '^\s*\d{1,18}\s*$' THEN
            why := format('%L is not an application number', p_apps[i]);
        ELSIF result NOT IN ('approved', 'declined', 'issued', 'activated') THEN
            why := format('%L is not a result: approved, declined, issued or activated',
                          p_results[i]);
        ELSIF d IS NULL THEN
            why := format('%L is not a date like 2026-12-01, today or before', p_dates[i]);
        ELSE
            SELECT * INTO a FROM applications WHERE id = btrim(p_apps[i])::bigint FOR UPDATE;
            why := CASE WHEN NOT FOUND THEN format('there is no application %s', btrim(p_apps[i]))
                   END;
        END IF;
        IF why IS NULL THEN
            had := CASE result WHEN 'approved' THEN a.approved_at WHEN 'declined'
                   THEN a.declined_at WHEN 'issued' THEN a.issued_at ELSE a.activated_at END;
            IF had = d THEN
                RETURN NEXT cf_answer(p_lines[i], 'unchanged', '', NULL);
                CONTINUE;
            END IF;
            why := CASE WHEN had IS NOT NULL
                        THEN format('application %s was %s on %s already', a.id, result, had)
                        ELSE cf_result_refusal(a, result, d, p_zone) END;
        END IF;
        IF why IS NOT NULL THEN
            RETURN NEXT cf_answer(p_lines[i], 'rejected', why, NULL);
            CONTINUE;
        END IF;
        UPDATE applications SET status = upper(result),
            approved_at = CASE WHEN result = 'approved' THEN d ELSE approved_at END,
            declined_at = CASE WHEN result = 'declined' THEN d ELSE declined_at END,
            issued_at = CASE WHEN result = 'issued' THEN d ELSE issued_at END,
            activated_at = CASE WHEN result = 'activated' THEN d ELSE activated_at END
            WHERE id = a.id;
        eid := NULL;
        IF result IN ('approved', 'activated') THEN
            INSERT INTO score_events (agent_id, team_id, campaign_id, call_id, kind, points)
                SELECT a.agent_id, u.team_id, k.campaign_id, k.id, result,
                       CASE result WHEN 'approved' THEN (cf_scoring(k.campaign_id)).approved_points
                       ELSE (cf_scoring(k.campaign_id)).activated_points END
                FROM calls k, users u WHERE k.id = a.call_id AND u.id = a.agent_id
                RETURNING id INTO eid;
        END IF;
        RETURN NEXT cf_answer(p_lines[i], 'applied', '', eid);
    END LOOP;
END
$$;

-- Customer satisfaction surveys: a score from 1 (very dissatisfied) to 5
-- (very satisfied) for a call, or for an agent when the survey names no
-- call.
CREATE TABLE csat (
    id          bigserial   PRIMARY KEY,
    call_id     bigint      REFERENCES calls (id),
    lead_id     bigint      REFERENCES leads (id),
    agent_id    bigint      NOT NULL REFERENCES users (id),
    score       smallint    NOT NULL,
    comment     text        NOT NULL DEFAULT '',
    surveyed_on date        NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT csat_score_check CHECK (score BETWEEN 1 AND 5),
    CONSTRAINT csat_comment_check CHECK (char_length(comment) <= 1000)
);
CREATE UNIQUE INDEX csat_call_idx ON csat (call_id) WHERE call_id IS NOT NULL;
CREATE INDEX csat_agent_idx ON csat (agent_id, surveyed_on);

-- Imports surveys: row i is customer (lead number) p_customers[i], call
-- p_calls[i] or agent p_agents[i] (a call names its agent and customer;
-- what the row also says must agree), score p_scores[i], comment
-- p_comments[i], surveyed on p_dates[i] (empty: today). A call surveyed
-- already with the same score, or an agent's survey without a call that
-- is there already word for word, is unchanged.
CREATE FUNCTION cf_import_csat(p_lines integer[], p_customers text[], p_calls text[],
                               p_agents text[], p_scores text[], p_comments text[],
                               p_dates text[], p_zone text)
RETURNS SETOF cf_import_answer LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    k calls;
    agent bigint;
    customer bigint;
    d date;
    prior csat;
    why text;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_lines, 1), 0) LOOP
        why := NULL;
        k := NULL;
        agent := NULL;
        customer := NULL;
        d := CASE WHEN btrim(p_dates[i]) = '' THEN (now() AT TIME ZONE p_zone)::date
                  ELSE cf_past_date(p_dates[i], p_zone) END;
        IF btrim(p_scores[i]) !~ '^[1-5]$' THEN
            why := format('%L is not a score from 1 to 5', p_scores[i]);
        ELSIF d IS NULL THEN
            why := format('%L is not a date like 2026-12-01, today or before', p_dates[i]);
        ELSIF char_length(p_comments[i]) > 1000 THEN
            why := 'the comment is longer than 1000 characters';
        ELSIF btrim(p_calls[i]) = '' AND btrim(p_agents[i]) = '' THEN
            why := 'a survey names the call or the agent';
        ELSIF btrim(p_calls[i]) <> '' AND btrim(p_calls[i]) !~ '^\d{1,18}$' THEN
            why := format('%L is not a call number', p_calls[i]);
        ELSIF btrim(p_customers[i]) <> '' AND btrim(p_customers[i]) !~ '^\d{1,18}$' THEN
            why := format('%L is not a customer (lead) number', p_customers[i]);
        END IF;
        IF why IS NULL AND btrim(p_calls[i]) <> '' THEN
            SELECT * INTO k FROM calls WHERE id = btrim(p_calls[i])::bigint;
            why := CASE WHEN k.id IS NULL OR k.disposition IS NULL
                        THEN format('there is no ended call %s', btrim(p_calls[i])) END;
            agent := k.agent_id;
            customer := k.lead_id;
        END IF;
        IF why IS NULL AND btrim(p_agents[i]) <> '' THEN
            SELECT CASE WHEN agent IS NULL OR agent = u.id THEN NULL
                        ELSE format('call %s was made by another agent than %s', k.id, u.username)
                   END, u.id
                INTO why, agent FROM users u
                WHERE u.username = btrim(p_agents[i]) AND u.role = 'agent';
            why := CASE WHEN agent IS NULL THEN format('there is no agent %s', btrim(p_agents[i]))
                        ELSE why END;
        END IF;
        IF why IS NULL AND btrim(p_customers[i]) <> '' THEN
            why := CASE
                WHEN customer IS NOT NULL AND customer <> btrim(p_customers[i])::bigint
                    THEN format('call %s was with customer %s, not %s', k.id, customer,
                                btrim(p_customers[i]))
                WHEN NOT EXISTS (SELECT 1 FROM leads WHERE id = btrim(p_customers[i])::bigint)
                    THEN format('there is no customer (lead) %s', btrim(p_customers[i]))
                END;
            customer := btrim(p_customers[i])::bigint;
        END IF;
        IF why IS NULL AND k.id IS NOT NULL THEN
            SELECT * INTO prior FROM csat WHERE call_id = k.id;
            IF FOUND AND prior.score = btrim(p_scores[i])::smallint THEN
                RETURN NEXT cf_answer(p_lines[i], 'unchanged', '', NULL);
                CONTINUE;
            END IF;
            why := CASE WHEN FOUND THEN format('call %s has a survey already, with score %s', k.id,
                                               prior.score) END;
        END IF;
        IF why IS NULL AND k.id IS NULL AND EXISTS (SELECT 1 FROM csat s WHERE s.call_id IS NULL
                AND s.agent_id = agent AND s.lead_id IS NOT DISTINCT FROM customer
                AND s.score = btrim(p_scores[i])::smallint AND s.comment = p_comments[i]
                AND s.surveyed_on = d) THEN
            RETURN NEXT cf_answer(p_lines[i], 'unchanged', '', NULL);
            CONTINUE;
        END IF;
        IF why IS NOT NULL THEN
            RETURN NEXT cf_answer(p_lines[i], 'rejected', why, NULL);
            CONTINUE;
        END IF;
        INSERT INTO csat (call_id, lead_id, agent_id, score, comment, surveyed_on)
            VALUES (k.id, customer, agent, btrim(p_scores[i])::smallint, p_comments[i], d);
        RETURN NEXT cf_answer(p_lines[i], 'applied', '', NULL);
    END LOOP;
END
$$;
