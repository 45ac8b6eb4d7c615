-- 012_open_calls: a lead whose call is still open belongs to that call;
-- and the claim walks an index in the queue's order.
--
-- A lead whose call is still open belongs to that call.
-- A daemon that died between opening a call and telling the desk leaves
-- the call open with nobody holding its lead; the lease lapses, and
-- without this rule the lead could be offered to a second agent while the
-- first one's call on it is still open. Now no one else is offered or may
-- dial it, and the agent's next session on any daemon is handed the call
-- back to end it (server/floor.c).

CREATE INDEX calls_open_lead_idx ON calls (lead_id) WHERE disposition IS NULL;
CREATE INDEX calls_open_agent_idx ON calls (agent_id) WHERE disposition IS NULL;

ALTER FUNCTION cf_lead_blockers(bigint, text, bigint, interval)
    RENAME TO cf_lead_blockers_without_calls;

-- Every reason why lead `p_lead` may not be dialled now (see 005_queue.sql),
-- and the calls on it still open. cf_dial locks the lead before asking, so
-- two dials of one lead cannot both find it free. PL/pgSQL rather than SQL:
-- it runs for every offer and dial, and only PL/pgSQL keeps its plans.
CREATE FUNCTION cf_lead_blockers(p_lead bigint, p_owner text, p_agent bigint,
                                 p_grace interval)
RETURNS text[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    open_calls text[];
BEGIN
    SELECT array_agg(format('call %s on it by %s, opened %s, is still open', k.id, u.username,
                            to_char(k.started_at, 'YYYY-MM-DD HH24:MI')) ORDER BY k.id)
        INTO open_calls
        FROM calls k JOIN users u ON u.id = k.agent_id
        WHERE k.lead_id = p_lead AND k.disposition IS NULL;
    RETURN cf_lead_blockers_without_calls(p_lead, p_owner, p_agent, p_grace)
        || coalesce(open_calls, '{}');
END
$$;

-- The hopper's claim takes a campaign's open leads in this order and stops
-- after a batch (server/hopper.c, hopper_claim).
CREATE INDEX leads_claim_order_idx ON leads (campaign_id, (callback_owner IS NOT NULL) DESC,
    (tier = 'vip') DESC, score DESC, created_at, id) WHERE status = 'open';

-- A dial sent again after its answer was lost (the connection to the
-- database broke after the commit) finds the call it opened: the same call
-- comes back, with the lease renewed for this daemon, instead of a refusal
-- that would leave the call open with nobody to end it.
ALTER FUNCTION cf_dial(bigint, bigint, text, interval, interval) RENAME TO cf_dial_new_call;

CREATE FUNCTION cf_dial(p_lead bigint, p_agent bigint, p_owner text, p_grace interval,
                        p_ttl interval)
RETURNS TABLE (call_id bigint, phone_sealed bytea, blockers text[])
LANGUAGE plpgsql AS $$
DECLARE
    k bigint;
BEGIN
    PERFORM 1 FROM leads WHERE id = p_lead FOR UPDATE;
    SELECT c.id INTO k FROM calls c
        WHERE c.lead_id = p_lead AND c.agent_id = p_agent AND c.disposition IS NULL;
    IF NOT FOUND THEN
        RETURN QUERY SELECT * FROM cf_dial_new_call(p_lead, p_agent, p_owner, p_grace, p_ttl);
        RETURN;
    END IF;
    RETURN QUERY UPDATE leads l SET lease_owner = p_owner, lease_expires_at = now() + p_ttl
        WHERE l.id = p_lead RETURNING k, l.phone_sealed, '{}'::text[];
END
$$;
