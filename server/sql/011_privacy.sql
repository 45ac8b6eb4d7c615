-- 011_privacy: personal data is kept no longer than it is needed (PIPL
-- art. 19; docs/PRIVACY.md). A customer nobody has called for the
-- retention period is made anonymous: name, number, segment and the free
-- text about them are erased; what remains (calls, outcomes, applications,
-- scores) still counts in reports but points at no one. The do-not-call
-- list is kept: honouring a refusal needs it.

ALTER TABLE leads ADD COLUMN purged_at timestamptz;

-- Anonymises the leads last touched (created, or called) before p_before
-- and not held by anyone now; with p_dry only counts them. Returns how
-- many leads, calls and surveys were (or would be) erased.
CREATE FUNCTION cf_purge(p_before timestamptz, p_dry boolean)
RETURNS TABLE (leads bigint, calls bigint, surveys bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n_leads bigint;
    n_calls bigint;
    n_surveys bigint;
BEGIN
    -- Locked, and skipping what is locked: a hopper claiming a lead at this
    -- moment either gets it first (and the purge leaves it) or finds it
    -- closed.
    CREATE TEMP TABLE purging ON COMMIT DROP AS
        SELECT l.id FROM leads l
        WHERE l.purged_at IS NULL
          AND l.created_at < p_before
          AND (l.lease_expires_at IS NULL OR l.lease_expires_at < now())
          AND NOT EXISTS (SELECT 1 FROM calls k WHERE k.lead_id = l.id
                          AND (k.started_at >= p_before OR k.disposition IS NULL))
        FOR UPDATE OF l SKIP LOCKED;
    SELECT count(*) INTO n_leads FROM purging;
    SELECT count(*) INTO n_calls FROM calls k JOIN purging p ON p.id = k.lead_id;
    SELECT count(*) INTO n_surveys FROM csat s JOIN purging p ON p.id = s.lead_id
        OR s.call_id IN (SELECT k.id FROM calls k WHERE k.lead_id = p.id);
    IF NOT p_dry AND n_leads > 0 THEN
        UPDATE leads l SET name = '已清除', phone_hmac = sha256(int8send(l.id)),
            phone_sealed = '\x'::bytea, phone_masked = '***********', external_id = '',
            time_zone = NULL, age_band = '', income_band = 0, spend_profile = '',
            travel_interest = false, status = 'closed', closed_reason = 'personal data purged',
            callback_at = NULL, callback_owner = NULL, purged_at = now()
            FROM purging p WHERE l.id = p.id;
        UPDATE calls k SET notes = '', recording_ref = '' FROM purging p WHERE k.lead_id = p.id;
        UPDATE applications a SET income_band = 0, existing_cards = 0, employment = 'erased'
            FROM purging p WHERE a.lead_id = p.id;
        UPDATE complaints x SET details = '(erased)',
            resolution = CASE WHEN x.resolution IS NULL THEN NULL ELSE '(erased)' END
            FROM purging p WHERE x.lead_id = p.id;
        UPDATE qa_reviews r SET notes = '' FROM calls k, purging p
            WHERE r.call_id = k.id AND k.lead_id = p.id;
        UPDATE csat s SET comment = '', lead_id = NULL
            FROM purging p WHERE s.lead_id = p.id
               OR s.call_id IN (SELECT k.id FROM calls k WHERE k.lead_id = p.id);
        PERFORM cf_audit('privacy.purge', 'customers untouched since ' || p_before::date,
                         format('%s leads, %s calls, %s surveys', n_leads, n_calls, n_surveys));
    END IF;
    RETURN QUERY SELECT n_leads, n_calls, n_surveys;
END
$$;
