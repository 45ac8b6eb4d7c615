-- 005_queue: the lead queue, calls and their outcomes, applications,
-- complaints, and the record of every phone number shown in full.

-- A lead is 'open' while it may still be called and 'closed' once nothing
-- more may be done with it; closed_reason says why, in the words of the
-- disposition that closed it (or 'max_attempts').
ALTER TABLE leads
    ADD COLUMN status           text        NOT NULL DEFAULT 'open',
    ADD COLUMN closed_reason    text,
    ADD COLUMN attempts         integer     NOT NULL DEFAULT 0,
    -- Attempts on attempts_day, a calendar day in the lead's own time zone:
    -- the per-day cap counts the customer's day, not the server's.
    ADD COLUMN attempts_today   integer     NOT NULL DEFAULT 0,
    ADD COLUMN attempts_day     date,
    -- Not offered before this: a retry interval, or a callback's time.
    ADD COLUMN next_eligible_at timestamptz NOT NULL DEFAULT '-infinity',
    -- A callback belongs to the agent who booked it until a grace period
    -- after callback_at; then any agent of the campaign may make it.
    ADD COLUMN callback_at      timestamptz,
    ADD COLUMN callback_owner   bigint      REFERENCES users (id),
    -- Which daemon holds the lead (in its hopper, offered, or on a call)
    -- and until when. An expired lease is free for any daemon, so a daemon
    -- that dies loses no leads.
    ADD COLUMN lease_owner      text,
    ADD COLUMN lease_expires_at timestamptz,
    ADD CONSTRAINT leads_status_check CHECK (status IN ('open', 'closed')),
    ADD CONSTRAINT leads_closed_check CHECK ((status = 'closed') = (closed_reason IS NOT NULL)),
    ADD CONSTRAINT leads_callback_check CHECK ((callback_at IS NULL) = (callback_owner IS NULL));

-- What the hopper's claim scans: the open leads of one campaign by the
-- time they may next be called.
CREATE INDEX leads_queue_idx ON leads (campaign_id, next_eligible_at) WHERE status = 'open';
CREATE INDEX leads_lease_idx ON leads (lease_owner) WHERE lease_owner IS NOT NULL;
-- A customer's history spans campaigns: it is found by the number's hash.
CREATE INDEX leads_phone_idx ON leads (phone_hmac);

-- The pre-screen's second rule: at most this many credit cards already held.
ALTER TABLE campaigns ADD COLUMN max_existing_cards integer NOT NULL DEFAULT 5,
    ADD CONSTRAINT campaigns_cards_check CHECK (max_existing_cards BETWEEN 0 AND 99);

-- One row per dial. The outcome columns stay NULL until the agent sends the
-- disposition; the idempotency key makes a resent outcome return the first
-- result instead of recording a second one.
CREATE TABLE calls (
    id              bigserial   PRIMARY KEY,
    lead_id         bigint      NOT NULL REFERENCES leads (id),
    campaign_id     bigint      NOT NULL REFERENCES campaigns (id),
    agent_id        bigint      NOT NULL REFERENCES users (id),
    started_at      timestamptz NOT NULL DEFAULT now(),
    ended_at        timestamptz,
    disposition     text,
    notes           text        NOT NULL DEFAULT '',
    talk_seconds    integer     NOT NULL DEFAULT 0,
    recording_ref   text        NOT NULL DEFAULT '',
    idempotency_key text        UNIQUE,
    -- SHA-256 of the outcome as first sent: the same key with another
    -- payload is refused rather than silently taken for a resend.
    outcome_hash    bytea,
    CONSTRAINT calls_disposition_check CHECK (disposition IN ('NO_ANSWER', 'BUSY',
        'WRONG_NUMBER', 'VOICEMAIL', 'NOT_INTERESTED', 'CALLBACK', 'APPLICATION_SUBMITTED',
        'INELIGIBLE', 'DNC_REQUEST', 'COMPLAINT')),
    CONSTRAINT calls_outcome_check CHECK ((disposition IS NULL) = (ended_at IS NULL)
        AND (disposition IS NULL) = (idempotency_key IS NULL)),
    CONSTRAINT calls_talk_check CHECK (talk_seconds BETWEEN 0 AND 86400),
    CONSTRAINT calls_notes_check CHECK (char_length(notes) <= 2000),
    CONSTRAINT calls_recording_check CHECK (char_length(recording_ref) <= 256)
);
CREATE INDEX calls_lead_idx ON calls (lead_id);
CREATE INDEX calls_agent_idx ON calls (agent_id, started_at);

-- Every time a full number was shown, to whom and for which call.
CREATE TABLE phone_reveals (
    id          bigserial   PRIMARY KEY,
    lead_id     bigint      NOT NULL REFERENCES leads (id),
    call_id     bigint      NOT NULL REFERENCES calls (id),
    agent_id    bigint      NOT NULL REFERENCES users (id),
    revealed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE applications (
    id             bigserial   PRIMARY KEY,
    call_id        bigint      NOT NULL UNIQUE REFERENCES calls (id),
    lead_id        bigint      NOT NULL REFERENCES leads (id),
    agent_id       bigint      NOT NULL REFERENCES users (id),
    product_id     bigint      NOT NULL REFERENCES products (id),
    status         text        NOT NULL DEFAULT 'SUBMITTED',
    -- The pre-screen answers as the customer gave them.
    income_band    smallint    NOT NULL,
    employment     text        NOT NULL,
    existing_cards integer     NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT applications_status_check
        CHECK (status IN ('SUBMITTED', 'APPROVED', 'DECLINED', 'ISSUED', 'ACTIVATED'))
);

-- A complaint must be answered within 24 hours (DOMAIN item 15).
CREATE TABLE complaints (
    id          bigserial   PRIMARY KEY,
    call_id     bigint      NOT NULL UNIQUE REFERENCES calls (id),
    lead_id     bigint      NOT NULL REFERENCES leads (id),
    agent_id    bigint      NOT NULL REFERENCES users (id),
    details     text        NOT NULL,
    opened_at   timestamptz NOT NULL DEFAULT now(),
    due_at      timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    resolved_at timestamptz,
    resolved_by bigint      REFERENCES users (id),
    resolution  text,
    CONSTRAINT complaints_resolved_check
        CHECK ((resolved_at IS NULL) = (resolution IS NULL) AND (resolved_at IS NULL) = (resolved_by IS NULL))
);
CREATE INDEX complaints_open_idx ON complaints (due_at) WHERE resolved_at IS NULL;

-- True when `at` falls inside the calling window and on a calling day in
-- `zone`. Plain SQL so that the planner inlines it into the claim.
CREATE FUNCTION cf_in_window(zone text, w_start time, w_end time, days smallint, at timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT (at AT TIME ZONE zone)::time >= w_start AND (at AT TIME ZONE zone)::time < w_end
       AND (days::integer >> (extract(isodow FROM at AT TIME ZONE zone)::integer - 1)) & 1 = 1
$$;

-- Every reason, in words, why lead `p_lead` may not be dialled now by agent
-- `p_agent` (0: by no agent in particular) of daemon `p_owner`. Empty when
-- it may. With `p_owner` NULL a lease is not a reason: a lead queued in a
-- daemon's hopper is on its way to an agent. The queue's claim applies the
-- same rules inline; `callfloorctl leads why` and the checks at offer and
-- dial time use this.
CREATE FUNCTION cf_lead_blockers(p_lead bigint, p_owner text, p_agent bigint,
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
    RETURN why;
END
$$;

-- Records the outcome of call `p_call` for agent `p_agent` in one
-- transaction: the call's disposition, what happens to the lead (rest,
-- callback, closed), an application, a complaint, a do-not-call entry.
-- A resend under the same idempotency key returns the first result with
-- replayed = true; anything else wrong raises a CFnnn error whose message
-- is meant for the agent.
CREATE FUNCTION cf_record_outcome(p_key text, p_hash bytea, p_agent bigint, p_call bigint,
                                  p_disposition text, p_notes text, p_talk integer,
                                  p_recording text, p_callback_at timestamptz,
                                  p_product text, p_income smallint, p_employment text,
                                  p_cards integer)
RETURNS TABLE (call_id bigint, lead_id bigint, application_id bigint, complaint_id bigint,
               replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    k calls;
    first calls;
    l leads;
    c campaigns;
    product bigint;
    app bigint;
    compl bigint;
    retry interval;
    closing text;
BEGIN
    -- The call is locked first: a resend racing its first send then waits
    -- for it and finds its key below.
    SELECT * INTO k FROM calls WHERE id = p_call FOR UPDATE;
    IF NOT FOUND OR k.agent_id <> p_agent THEN
        -- Someone else's call is reported as missing: an agent learns
        -- nothing about calls that are not theirs.
        PERFORM cf_refuse('CF404', 'you have no call ' || p_call);
    END IF;
    SELECT * INTO first FROM calls WHERE idempotency_key = p_key;
    IF FOUND THEN
        IF first.agent_id <> p_agent OR first.outcome_hash <> p_hash THEN
            PERFORM cf_refuse('CF409', 'idempotency key ' || p_key
                || ' was already used for a different outcome; make a new key for a new outcome');
        END IF;
        RETURN QUERY SELECT first.id, first.lead_id,
            (SELECT a.id FROM applications a WHERE a.call_id = first.id),
            (SELECT x.id FROM complaints x WHERE x.call_id = first.id), true;
        RETURN;
    END IF;
    IF k.disposition IS NOT NULL THEN
        PERFORM cf_refuse('CF409', format('call %s already has the outcome %s', p_call, k.disposition));
    END IF;
    SELECT * INTO l FROM leads WHERE id = k.lead_id FOR UPDATE;
    SELECT * INTO c FROM campaigns WHERE id = k.campaign_id;

    IF p_disposition = 'CALLBACK' AND (p_callback_at IS NULL OR p_callback_at <= now()
            OR p_callback_at > now() + interval '30 days') THEN
        PERFORM cf_refuse('CF400', 'a callback needs a time in the next 30 days');
    END IF;
    IF p_disposition = 'CALLBACK' AND l.attempts >= c.max_attempts THEN
        PERFORM cf_refuse('CF422', format('this was call %s of the %s the campaign allows to one '
            || 'customer, so no callback can be made; end it with another outcome',
            l.attempts, c.max_attempts));
    END IF;
    IF p_disposition = 'APPLICATION_SUBMITTED' THEN
        SELECT p.id INTO product FROM products p JOIN campaign_products cp ON cp.product_id = p.id
            WHERE cp.campaign_id = c.id AND p.code = p_product;
        IF product IS NULL THEN
            PERFORM cf_refuse('CF400', format('product %s is not offered by campaign %s',
                                              coalesce(nullif(p_product, ''), '(none)'), c.name));
        END IF;
        IF p_income < c.min_income_band THEN
            PERFORM cf_refuse('CF422', format('pre-screen failed: income band %s is below the campaign''s minimum %s',
                                              p_income, c.min_income_band));
        END IF;
        IF p_cards > c.max_existing_cards THEN
            PERFORM cf_refuse('CF422', format('pre-screen failed: %s existing cards, the campaign allows at most %s',
                                              p_cards, c.max_existing_cards));
        END IF;
        IF p_employment = 'unemployed' THEN
            PERFORM cf_refuse('CF422', 'pre-screen failed: the applicant has no income from employment');
        END IF;
    END IF;

    UPDATE calls SET ended_at = now(), disposition = p_disposition, notes = p_notes,
        talk_seconds = p_talk, recording_ref = p_recording, idempotency_key = p_key,
        outcome_hash = p_hash
        WHERE id = k.id;

    retry := CASE p_disposition WHEN 'NO_ANSWER' THEN c.retry_no_answer
                                WHEN 'VOICEMAIL' THEN c.retry_no_answer
                                WHEN 'BUSY' THEN c.retry_busy END;
    closing := CASE WHEN p_disposition IN ('WRONG_NUMBER', 'NOT_INTERESTED', 'APPLICATION_SUBMITTED',
                                           'INELIGIBLE', 'DNC_REQUEST', 'COMPLAINT')
                    THEN lower(p_disposition)
                    WHEN retry IS NOT NULL AND l.attempts >= c.max_attempts THEN 'max_attempts' END;
    -- A late outcome (sent from an outbox after the lead was called again)
    -- is recorded on its call but leaves the lead to the newer call.
    UPDATE leads SET lease_owner = NULL, lease_expires_at = NULL,
        status = CASE WHEN closing IS NULL THEN 'open' ELSE 'closed' END,
        closed_reason = closing,
        next_eligible_at = CASE WHEN p_disposition = 'CALLBACK' THEN p_callback_at
                                WHEN retry IS NOT NULL THEN now() + retry
                                ELSE next_eligible_at END,
        callback_at = CASE WHEN p_disposition = 'CALLBACK' THEN p_callback_at END,
        callback_owner = CASE WHEN p_disposition = 'CALLBACK' THEN p_agent END
        WHERE id = l.id AND NOT EXISTS (SELECT 1 FROM calls o WHERE o.lead_id = l.id AND o.id > k.id);

    IF p_disposition = 'APPLICATION_SUBMITTED' THEN
        INSERT INTO applications (call_id, lead_id, agent_id, product_id, income_band, employment,
                                  existing_cards)
            VALUES (k.id, l.id, p_agent, product, p_income, p_employment, p_cards)
            RETURNING id INTO app;
    END IF;
    IF p_disposition = 'COMPLAINT' THEN
        INSERT INTO complaints (call_id, lead_id, agent_id, details)
            VALUES (k.id, l.id, p_agent, p_notes) RETURNING id INTO compl;
    END IF;
    IF p_disposition IN ('DNC_REQUEST', 'COMPLAINT') THEN
        INSERT INTO dnc (phone_hmac, phone_sealed, phone_masked, reason, source, added_by)
            VALUES (l.phone_hmac, l.phone_sealed, l.phone_masked,
                    CASE p_disposition WHEN 'COMPLAINT' THEN 'complaint on call ' || k.id
                                       ELSE 'asked on call ' || k.id END,
                    CASE p_disposition WHEN 'COMPLAINT' THEN 'complaint' ELSE 'customer' END,
                    p_agent)
            ON CONFLICT (phone_hmac) DO NOTHING;
    END IF;
    RETURN QUERY SELECT k.id, l.id, app, compl, false;
END
$$;

-- Opens a call on lead `p_lead` for agent `p_agent` of daemon `p_owner`
-- if nothing forbids it now: counts the attempt (per day in the lead's own
-- time zone), keeps the lease for `p_ttl`, and records that the full
-- number is shown to the agent. Otherwise returns only the blockers.
CREATE FUNCTION cf_dial(p_lead bigint, p_agent bigint, p_owner text, p_grace interval,
                        p_ttl interval)
RETURNS TABLE (call_id bigint, phone_sealed bytea, blockers text[])
LANGUAGE plpgsql AS $$
DECLARE
    l leads;
    why text[];
    today date;
    k bigint;
BEGIN
    SELECT * INTO l FROM leads WHERE id = p_lead FOR UPDATE;
    why := cf_lead_blockers(p_lead, p_owner, p_agent, p_grace);
    IF cardinality(why) > 0 THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bytea, why;
        RETURN;
    END IF;
    SELECT (now() AT TIME ZONE coalesce(l.time_zone, c.time_zone))::date INTO today
        FROM campaigns c WHERE c.id = l.campaign_id;
    UPDATE leads SET attempts = attempts + 1,
        attempts_today = CASE WHEN attempts_day = today THEN attempts_today + 1 ELSE 1 END,
        attempts_day = today, lease_owner = p_owner, lease_expires_at = now() + p_ttl
        WHERE id = p_lead;
    INSERT INTO calls (lead_id, campaign_id, agent_id) VALUES (p_lead, l.campaign_id, p_agent)
        RETURNING id INTO k;
    INSERT INTO phone_reveals (lead_id, call_id, agent_id) VALUES (p_lead, k, p_agent);
    RETURN QUERY SELECT k, l.phone_sealed, '{}'::text[];
END
$$;
