-- 007_qa_pass: bonus tiers count only applications whose call passed its
-- quality review (DOMAIN item 12). A passing review of a call that ended in
-- an application adds a qa_pass event (no points): the board counts those
-- toward the tier. A review is final, so that a call cannot pass, then
-- fail, then pass again and count twice or be penalised twice.

ALTER TABLE score_events DROP CONSTRAINT score_events_kind_check,
    ADD CONSTRAINT score_events_kind_check CHECK (kind IN ('dial', 'connect', 'application',
        'approved', 'activated', 'qa_fail', 'qa_pass', 'complaint_upheld'));

CREATE OR REPLACE FUNCTION cf_qa_review(p_call bigint, p_reviewer bigint, p_failed text[],
                                        p_notes text)
RETURNS TABLE (review_id bigint, score integer, passed boolean, user_id bigint, username text,
               display_name text, team_id bigint, team text, kind text, points integer,
               talk_seconds integer, at_us bigint, event_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    k calls;
    prior qa_reviews;
    unknown text;
    s integer;
    ok boolean;
    rid bigint;
    eid bigint;
BEGIN
    -- The lock orders two reviewers of the same call: the second is refused.
    SELECT * INTO k FROM calls WHERE id = p_call FOR UPDATE;
    IF NOT FOUND OR k.disposition IS NULL THEN
        PERFORM cf_refuse('CF404', 'there is no ended call ' || p_call);
    END IF;
    SELECT string_agg(f, ', ') INTO unknown FROM unnest(p_failed) f
        WHERE f NOT IN (SELECT code FROM qa_items);
    IF unknown IS NOT NULL THEN
        PERFORM cf_refuse('CF400', 'unknown scorecard item ' || unknown
            || ' (callfloorctl qa items lists them)');
    END IF;
    SELECT * INTO prior FROM qa_reviews r WHERE r.call_id = p_call ORDER BY r.id LIMIT 1;
    IF FOUND THEN
        PERFORM cf_refuse('CF409', format('call %s was reviewed on %s with %s points (%s);'
            || ' a review is final', p_call, to_char(prior.reviewed_at, 'YYYY-MM-DD'),
            prior.score, CASE WHEN prior.passed THEN 'passed' ELSE 'failed' END));
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
    ELSIF k.disposition = 'APPLICATION_SUBMITTED' THEN
        INSERT INTO score_events (agent_id, team_id, campaign_id, call_id, kind, points)
            SELECT k.agent_id, u.team_id, k.campaign_id, k.id, 'qa_pass', 0
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
