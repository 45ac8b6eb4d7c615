-- 020_outcome_path: less work for the database in every dial and outcome,
-- found by profiling a working floor (tests/bench/floor.sh). What each
-- function returns is unchanged.
--
-- cf_record_outcome_scored returned the outcome's score events joined
-- with users and teams. All of them are the calling agent's, but the
-- generic plan that PL/pgSQL settled on merge-joined the events with users
-- in id order, reading every user up to the agent: the later an agent's
-- account was made, the more users every one of their outcomes read. The
-- agent is now read once, by key.

CREATE OR REPLACE FUNCTION cf_record_outcome_scored(p_key text, p_hash bytea, p_agent bigint,
                                                    p_call bigint, p_disposition text,
                                                    p_notes text, p_talk integer,
                                                    p_recording text, p_callback_at timestamptz,
                                                    p_product text, p_income smallint,
                                                    p_employment text, p_cards integer)
RETURNS TABLE (call_id bigint, lead_id bigint, application_id bigint, complaint_id bigint,
               replayed boolean, user_id bigint, username text, display_name text,
               team_id bigint, team text, kind text, points integer, talk_seconds integer,
               at_us bigint, event_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    u record;
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
    SELECT a.id, a.username, a.display_name, coalesce(t.id, 0) AS team_id,
           coalesce(t.name, '') AS team
        INTO u FROM users a LEFT JOIN teams t ON t.id = a.team_id WHERE a.id = p_agent;
    RETURN QUERY SELECT r.call_id, r.lead_id, r.application_id, r.complaint_id, false,
        u.id, u.username, u.display_name, u.team_id, u.team, e.kind,
        e.points, e.talk_seconds, (extract(epoch FROM e.at) * 1000000)::bigint, e.id
        FROM score_events e WHERE e.call_id = r.call_id ORDER BY e.id;
END
$$;

-- An outcome's score events (the dial, a connect, an application) go in
-- as one statement, so score_events_notify (014) sends one notification
-- an outcome where it sent up to three.
CREATE OR REPLACE FUNCTION cf_score_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r scoring_rules := cf_scoring(NEW.campaign_id);
BEGIN
    INSERT INTO score_events (agent_id, team_id, campaign_id, call_id, kind, points, talk_seconds)
        SELECT NEW.agent_id, (SELECT u.team_id FROM users u WHERE u.id = NEW.agent_id),
               NEW.campaign_id, NEW.id, e.kind, e.points, e.talk
        FROM (VALUES (1, 'dial', 0, NEW.talk_seconds, true),
                     (2, 'connect', r.connect_points, 0,
                      NEW.disposition NOT IN ('NO_ANSWER', 'BUSY', 'VOICEMAIL', 'WRONG_NUMBER')),
                     (3, 'application', r.application_points, 0,
                      NEW.disposition = 'APPLICATION_SUBMITTED')) e (n, kind, points, talk, scored)
        WHERE e.scored ORDER BY e.n;
    RETURN NULL;
END
$$;


-- cf_lead_blockers (019) wrapped the rules of 005, renamed
-- cf_lead_blockers_without_calls, in a second PL/pgSQL call at every offer
-- and dial; one function now checks both, in the same order.
CREATE OR REPLACE FUNCTION cf_lead_blockers(p_lead bigint, p_owner text, p_agent bigint,
                                            p_grace interval)
RETURNS text[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    l leads;
    c campaigns;
    zone text;
    local_now timestamp;
    today date;
    why text[] := '{}';
    booked_by text;
    open_calls text[];
BEGIN
    SELECT * INTO l FROM leads WHERE id = p_lead;
    IF NOT FOUND THEN
        RETURN ARRAY['there is no lead ' || p_lead];
    END IF;
    SELECT * INTO c FROM campaigns WHERE id = l.campaign_id;
    zone := coalesce(l.time_zone, c.time_zone);
    local_now := now() AT TIME ZONE zone;
    today := local_now::date;
    IF l.status = 'closed' THEN
        why := why || ('the lead is closed (' || l.closed_reason || ')');
    END IF;
    IF c.paused THEN
        why := why || ('campaign ' || c.name || ' is paused');
    END IF;
    IF EXISTS (SELECT 1 FROM dnc WHERE phone_hmac = l.phone_hmac) THEN
        why := why || 'the number is on the do-not-call list'::text;
    END IF;
    IF l.attempts >= c.max_attempts THEN
        why := why || format('it has had %s of %s attempts', l.attempts, c.max_attempts);
    END IF;
    IF l.attempts_day = today AND l.attempts_today >= c.max_attempts_per_day THEN
        why := why || format('it has had %s attempts today (%s), the daily cap is %s',
                             l.attempts_today, today, c.max_attempts_per_day);
    END IF;
    IF local_now::time < c.window_start OR local_now::time >= c.window_end THEN
        why := why || format('it is %s in %s, outside the calling window %s-%s',
                             to_char(local_now, 'HH24:MI'), zone,
                             to_char(c.window_start, 'HH24:MI'), to_char(c.window_end, 'HH24:MI'));
    END IF;
    IF (c.days::integer >> (extract(isodow FROM local_now)::integer - 1)) & 1 = 0 THEN
        why := why || format('%s is not a calling day of the campaign in %s',
                             trim(to_char(local_now, 'Day')), zone);
    END IF;
    IF l.callback_owner IS NOT NULL AND l.callback_owner <> p_agent
       AND now() < l.callback_at + p_grace THEN
        SELECT username INTO booked_by FROM users WHERE id = l.callback_owner;
        why := why || format('it is a callback booked by %s for %s; other agents may call it from %s',
                             booked_by, to_char(l.callback_at AT TIME ZONE zone, 'YYYY-MM-DD HH24:MI'),
                             to_char((l.callback_at + p_grace) AT TIME ZONE zone, 'HH24:MI'));
    ELSIF l.next_eligible_at > now() THEN
        why := why || format('it rests until %s (%s) after its last call',
                             to_char(l.next_eligible_at AT TIME ZONE zone, 'YYYY-MM-DD HH24:MI'), zone);
    END IF;
    IF p_owner IS NOT NULL AND l.lease_expires_at > now() AND l.lease_owner <> p_owner THEN
        why := why || format('daemon %s holds it (queued, offered or on a call) until %s',
                             l.lease_owner, to_char(l.lease_expires_at AT TIME ZONE zone, 'HH24:MI:SS'));
    END IF;
    SELECT array_agg(format('call %s on it by %s, opened %s, is still open', k.id,
                            (SELECT u.username FROM users u WHERE u.id = k.agent_id),
                            to_char(k.started_at, 'YYYY-MM-DD HH24:MI')) ORDER BY k.id)
        INTO open_calls
        FROM calls k
        WHERE k.lead_id = p_lead AND k.disposition IS NULL;
    RETURN why || coalesce(open_calls, '{}');
END
$$;
DROP FUNCTION cf_lead_blockers_without_calls(bigint, text, bigint, interval);

-- cf_dial (012) locked the lead and then called cf_dial_new_call (005),
-- which read the lead again, and the calls_local_time trigger (009) read
-- the lead and its campaign a third time for the local time whose date
-- the dial had already worked out. One function now does the dial and
-- stores the local hour and weekday itself; the trigger still fills them
-- in for calls inserted without either (a value given is kept).
DROP TRIGGER calls_local_time ON calls;
CREATE TRIGGER calls_local_time BEFORE INSERT ON calls
    FOR EACH ROW WHEN (NEW.local_hour IS NULL OR NEW.local_dow IS NULL)
    EXECUTE FUNCTION cf_call_local_time();

CREATE OR REPLACE FUNCTION cf_dial(p_lead bigint, p_agent bigint, p_owner text, p_grace interval,
                                   p_ttl interval)
RETURNS TABLE (call_id bigint, phone_sealed bytea, blockers text[])
LANGUAGE plpgsql AS $$
DECLARE
    l leads;
    k bigint;
    why text[];
    local_now timestamp;
BEGIN
    SELECT * INTO l FROM leads WHERE id = p_lead FOR UPDATE;
    SELECT c.id INTO k FROM calls c
        WHERE c.lead_id = p_lead AND c.agent_id = p_agent AND c.disposition IS NULL;
    IF FOUND THEN
        UPDATE leads SET lease_owner = p_owner, lease_expires_at = now() + p_ttl WHERE id = p_lead;
        RETURN QUERY SELECT k, l.phone_sealed, '{}'::text[];
        RETURN;
    END IF;
    why := cf_lead_blockers(p_lead, p_owner, p_agent, p_grace);
    IF cardinality(why) > 0 THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bytea, why;
        RETURN;
    END IF;
    SELECT now() AT TIME ZONE coalesce(l.time_zone, c.time_zone) INTO local_now
        FROM campaigns c WHERE c.id = l.campaign_id;
    UPDATE leads SET attempts = attempts + 1,
        attempts_today = CASE WHEN attempts_day = local_now::date THEN attempts_today + 1 ELSE 1 END,
        attempts_day = local_now::date, lease_owner = p_owner, lease_expires_at = now() + p_ttl
        WHERE id = p_lead;
    INSERT INTO calls (lead_id, campaign_id, agent_id, local_hour, local_dow)
        VALUES (p_lead, l.campaign_id, p_agent, extract(hour FROM local_now),
                extract(isodow FROM local_now))
        RETURNING id INTO k;
    INSERT INTO phone_reveals (lead_id, call_id, agent_id) VALUES (p_lead, k, p_agent);
    RETURN QUERY SELECT k, l.phone_sealed, '{}'::text[];
END
$$;
DROP FUNCTION cf_dial_new_call(bigint, bigint, text, interval, interval);
