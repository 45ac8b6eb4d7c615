-- 006_scores: points for what agents achieve, as append-only events.

-- Points per campaign. A campaign without a row scores with the defaults
-- of this table (cf_scoring gives them).
CREATE TABLE scoring_rules (
    campaign_id        bigint      PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    connect_points     integer     NOT NULL DEFAULT 1,
    application_points integer     NOT NULL DEFAULT 10,
    approved_points    integer     NOT NULL DEFAULT 20,
    activated_points   integer     NOT NULL DEFAULT 30,
    -- Penalties are stored as negative numbers.
    qa_fail_points     integer     NOT NULL DEFAULT -10,
    complaint_points   integer     NOT NULL DEFAULT -20,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scoring_rules_sign_check CHECK (connect_points >= 0 AND application_points >= 0
        AND approved_points >= 0 AND activated_points >= 0 AND qa_fail_points <= 0
        AND complaint_points <= 0)
);

-- One row per scored thing that happened. Never updated or deleted: a
-- correction is a new event with the opposite points.
CREATE TABLE score_events (
    id           bigserial   PRIMARY KEY,
    agent_id     bigint      NOT NULL REFERENCES users (id),
    -- The agent's team when it happened: moving an agent later does not
    -- move their past results.
    team_id      bigint      REFERENCES teams (id),
    campaign_id  bigint      NOT NULL REFERENCES campaigns (id),
    call_id      bigint      REFERENCES calls (id),
    kind         text        NOT NULL,
    points       integer     NOT NULL,
    talk_seconds integer     NOT NULL DEFAULT 0,
    at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT score_events_kind_check CHECK (kind IN ('dial', 'connect', 'application',
        'approved', 'activated', 'qa_fail', 'complaint_upheld'))
);
CREATE INDEX score_events_at_idx ON score_events (at);
CREATE INDEX score_events_call_idx ON score_events (call_id);

CREATE FUNCTION cf_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'CF403',
        MESSAGE = TG_TABLE_NAME || ' is append-only: add a correcting row instead';
END
$$;
CREATE TRIGGER score_events_append_only BEFORE UPDATE OR DELETE ON score_events
    FOR EACH STATEMENT EXECUTE FUNCTION cf_append_only();

-- The rules campaign `p_campaign` scores with.
CREATE FUNCTION cf_scoring(p_campaign bigint) RETURNS scoring_rules
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT r FROM scoring_rules r WHERE r.campaign_id = p_campaign),
                    ROW(p_campaign, 1, 10, 20, 30, -10, -20, now())::scoring_rules)
$$;

-- When a call gets its outcome: a dial (with the talk time), a connect if
-- someone was spoken to, an application if one was submitted.
CREATE FUNCTION cf_score_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r scoring_rules := cf_scoring(NEW.campaign_id);
    team bigint;
BEGIN
    SELECT team_id INTO team FROM users WHERE id = NEW.agent_id;
    INSERT INTO score_events (agent_id, team_id, campaign_id, call_id, kind, points, talk_seconds)
        VALUES (NEW.agent_id, team, NEW.campaign_id, NEW.id, 'dial', 0, NEW.talk_seconds);
    IF NEW.disposition NOT IN ('NO_ANSWER', 'BUSY', 'VOICEMAIL', 'WRONG_NUMBER') THEN
        INSERT INTO score_events (agent_id, team_id, campaign_id, call_id, kind, points)
            VALUES (NEW.agent_id, team, NEW.campaign_id, NEW.id, 'connect', r.connect_points);
    END IF;
    IF NEW.disposition = 'APPLICATION_SUBMITTED' THEN
        INSERT INTO score_events (agent_id, team_id, campaign_id, call_id, kind, points)
            VALUES (NEW.agent_id, team, NEW.campaign_id, NEW.id, 'application',
                    r.application_points);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER calls_score_outcome AFTER UPDATE OF disposition ON calls
    FOR EACH ROW WHEN (OLD.disposition IS NULL AND NEW.disposition IS NOT NULL)
    EXECUTE FUNCTION cf_score_outcome();

-- Monthly targets (SMART: a number of applications in a month) for one
-- agent or for a whole team.
CREATE TABLE targets (
    id           bigserial PRIMARY KEY,
    agent_id     bigint    REFERENCES users (id) ON DELETE CASCADE,
    team_id      bigint    REFERENCES teams (id) ON DELETE CASCADE,
    month        date      NOT NULL,
    applications integer   NOT NULL,
    CONSTRAINT targets_who_check CHECK ((agent_id IS NULL) <> (team_id IS NULL)),
    CONSTRAINT targets_month_check CHECK (extract(day FROM month) = 1),
    CONSTRAINT targets_applications_check CHECK (applications BETWEEN 1 AND 100000)
);
CREATE UNIQUE INDEX targets_agent_idx ON targets (agent_id, month) WHERE agent_id IS NOT NULL;
CREATE UNIQUE INDEX targets_team_idx ON targets (team_id, month) WHERE team_id IS NOT NULL;

-- cf_record_outcome with what it scored: one row per score event (the
-- agent, the event), the outcome's columns repeated on each; a single row
-- without an event for a resend, which scores nothing again. The daemon
-- folds the events into its leaderboard.
CREATE FUNCTION cf_record_outcome_scored(p_key text, p_hash bytea, p_agent bigint, p_call bigint,
                                         p_disposition text, p_notes text, p_talk integer,
                                         p_recording text, p_callback_at timestamptz,
                                         p_product text, p_income smallint, p_employment text,
                                         p_cards integer)
RETURNS TABLE (call_id bigint, lead_id bigint, application_id bigint, complaint_id bigint,
               replayed boolean, user_id bigint, username text, display_name text,
               team_id bigint, team text, kind text, points integer, talk_seconds integer,
               at_us bigint, event_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM cf_record_outcome(p_key, p_hash, p_agent, p_call, p_disposition, p_notes,
                                           p_talk, p_recording, p_callback_at, p_product,
                                           p_income, p_employment, p_cards);
    IF r.replayed THEN
        RETURN QUERY SELECT r.call_id, r.lead_id, r.application_id, r.complaint_id, true,
            NULL::bigint, NULL::text, NULL::text, NULL::bigint, NULL::text, NULL::text,
            NULL::integer, NULL::integer, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    RETURN QUERY SELECT r.call_id, r.lead_id, r.application_id, r.complaint_id, false,
        u.id, u.username, u.display_name, coalesce(t.id, 0), coalesce(t.name, ''), e.kind,
        e.points, e.talk_seconds, (extract(epoch FROM e.at) * 1000000)::bigint, e.id
        FROM score_events e JOIN users u ON u.id = e.agent_id LEFT JOIN teams t ON t.id = u.team_id
        WHERE e.call_id = r.call_id ORDER BY e.id;
END
$$;

-- Bonus tiers (DOMAIN item 10): reaching `applications` in a month earns
-- `tier`. Per team; a row without a team applies to teams that have none.
CREATE TABLE bonus_tiers (
    team_id      bigint   REFERENCES teams (id) ON DELETE CASCADE,
    tier         smallint NOT NULL,
    applications integer  NOT NULL,
    CONSTRAINT bonus_tiers_unique UNIQUE NULLS NOT DISTINCT (team_id, tier),
    CONSTRAINT bonus_tiers_tier_check CHECK (tier BETWEEN 1 AND 9),
    CONSTRAINT bonus_tiers_applications_check CHECK (applications BETWEEN 1 AND 100000)
);

-- Quality review (DOMAIN item 12): a supervisor scores a recorded call
-- against the scorecard. A review passes with 80 points or more and no
-- instant-fail item failed; a failed review costs the agent the campaign's
-- qa_fail_points.
CREATE TABLE qa_items (
    code         text     PRIMARY KEY,
    label        text     NOT NULL,
    weight       smallint NOT NULL,
    instant_fail boolean  NOT NULL DEFAULT false,
    CONSTRAINT qa_items_code_check CHECK (code ~ '^[a-z_]{1,32}$'),
    CONSTRAINT qa_items_weight_check CHECK (weight BETWEEN 0 AND 100)
);
INSERT INTO qa_items (code, label, weight, instant_fail) VALUES
    ('greeting', 'greeting and identity of the bank', 10, false),
    ('identity', 'the customer''s identity checked', 15, true),
    ('disclosure', 'fees, interest and risks disclosed truthfully', 25, true),
    ('needs', 'needs understood before recommending', 20, false),
    ('accuracy', 'product facts accurate, no promises beyond terms', 20, false),
    ('courtesy', 'courtesy, no pressure', 10, false);

CREATE TABLE qa_reviews (
    id           bigserial   PRIMARY KEY,
    call_id      bigint      NOT NULL REFERENCES calls (id),
    reviewer_id  bigint      NOT NULL REFERENCES users (id),
    score        smallint    NOT NULL,
    passed       boolean     NOT NULL,
    failed_items text[]      NOT NULL DEFAULT '{}',
    notes        text        NOT NULL DEFAULT '',
    reviewed_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT qa_reviews_notes_check CHECK (char_length(notes) <= 2000)
);
CREATE INDEX qa_reviews_call_idx ON qa_reviews (call_id);

-- Records a review of call `p_call` by `p_reviewer` failing `p_failed`
-- (item codes); the score is 100 less the failed items' weights. A failed
-- review adds a qa_fail score event. Returns the review and, when one was
-- added, the event in the shape the daemon folds into its board.
CREATE FUNCTION cf_qa_review(p_call bigint, p_reviewer bigint, p_failed text[], p_notes text)
RETURNS TABLE (review_id bigint, score integer, passed boolean, user_id bigint, username text,
               display_name text, team_id bigint, team text, kind text, points integer,
               talk_seconds integer, at_us bigint, event_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    k calls;
    unknown text;
    s integer;
    ok boolean;
    rid bigint;
    eid bigint;
BEGIN
    SELECT * INTO k FROM calls WHERE id = p_call;
    IF NOT FOUND OR k.disposition IS NULL THEN
        PERFORM cf_refuse('CF404', 'there is no ended call ' || p_call);
    END IF;
    SELECT string_agg(f, ', ') INTO unknown FROM unnest(p_failed) f
        WHERE f NOT IN (SELECT code FROM qa_items);
    IF unknown IS NOT NULL THEN
        PERFORM cf_refuse('CF400', 'unknown scorecard item ' || unknown
            || ' (callfloorctl qa items lists them)');
    END IF;
    SELECT 100 - coalesce(sum(weight), 0),
           NOT coalesce(bool_or(instant_fail), false)
        INTO s, ok FROM qa_items WHERE code = ANY (p_failed);
    ok := ok AND s >= 80;
    INSERT INTO qa_reviews (call_id, reviewer_id, score, passed, failed_items, notes)
        VALUES (p_call, p_reviewer, s, ok, p_failed, p_notes) RETURNING id INTO rid;
    IF NOT ok THEN
        INSERT INTO score_events (agent_id, team_id, campaign_id, call_id, kind, points)
            SELECT k.agent_id, u.team_id, k.campaign_id, k.id, 'qa_fail',
                   (cf_scoring(k.campaign_id)).qa_fail_points
            FROM users u WHERE u.id = k.agent_id
            RETURNING id INTO eid;
    END IF;
    RETURN QUERY SELECT rid, s, ok, u.id, u.username, u.display_name, coalesce(t.id, 0),
        coalesce(t.name, ''), e.kind, e.points, e.talk_seconds,
        (extract(epoch FROM e.at) * 1000000)::bigint, e.id
        FROM score_events e JOIN users u ON u.id = e.agent_id LEFT JOIN teams t ON t.id = u.team_id
        WHERE e.id = eid
        UNION ALL SELECT rid, s, ok, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        WHERE eid IS NULL;
END
$$;

-- Whether a resolved complaint was upheld (the agent was at fault): an
-- upheld one costs the agent the campaign's complaint points.
ALTER TABLE complaints ADD COLUMN upheld boolean,
    ADD CONSTRAINT complaints_upheld_check CHECK ((upheld IS NULL) = (resolved_at IS NULL));

-- Resolves complaint `p_id`. `found`: it exists; `resolved`: this call
-- resolved it (false: it was resolved already). An upheld complaint adds a
-- complaint_upheld score event, returned in the shape the daemon folds
-- into its board.
CREATE FUNCTION cf_resolve_complaint(p_id bigint, p_by bigint, p_resolution text,
                                     p_upheld boolean)
RETURNS TABLE (found boolean, resolved boolean, user_id bigint, username text,
               display_name text, team_id bigint, team text, kind text, points integer,
               talk_seconds integer, at_us bigint, event_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    x complaints;
    k calls;
    eid bigint;
BEGIN
    SELECT * INTO x FROM complaints WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR x.resolved_at IS NOT NULL THEN
        RETURN QUERY SELECT x.id IS NOT NULL, false, NULL::bigint, NULL::text, NULL::text,
            NULL::bigint, NULL::text, NULL::text, NULL::integer, NULL::integer, NULL::bigint,
            NULL::bigint;
        RETURN;
    END IF;
    UPDATE complaints SET resolved_at = now(), resolved_by = p_by, resolution = p_resolution,
        upheld = p_upheld WHERE id = p_id;
    IF p_upheld THEN
        SELECT * INTO k FROM calls WHERE id = x.call_id;
        INSERT INTO score_events (agent_id, team_id, campaign_id, call_id, kind, points)
            SELECT k.agent_id, u.team_id, k.campaign_id, k.id, 'complaint_upheld',
                   (cf_scoring(k.campaign_id)).complaint_points
            FROM users u WHERE u.id = k.agent_id RETURNING id INTO eid;
    END IF;
    RETURN QUERY SELECT true, true, u.id, u.username, u.display_name, coalesce(t.id, 0),
        coalesce(t.name, ''), e.kind, e.points, e.talk_seconds,
        (extract(epoch FROM e.at) * 1000000)::bigint, e.id
        FROM score_events e JOIN users u ON u.id = e.agent_id LEFT JOIN teams t ON t.id = u.team_id
        WHERE e.id = eid
        UNION ALL SELECT true, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        WHERE eid IS NULL;
END
$$;
