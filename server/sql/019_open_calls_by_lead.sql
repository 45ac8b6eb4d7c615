-- 019_open_calls_by_lead: the open calls on one lead are found through
-- calls_open_lead_idx, never by reading every open call.
--
-- Both partial indexes of 012 cover the same rows (the open calls), and
-- after an ANALYZE taken while few calls were open the planner costs them
-- alike. For the open calls on a lead (cf_lead_blockers, run at every
-- offer and dial) it then walked all of calls_open_agent_idx and filtered
-- on the lead: at 1,000 agents on calls that was 1,000 index entries and
-- 0.75 ms a look-up, against 0.05 ms at 200 agents (docs/BENCHMARKS.md).
--
-- A partial index serves a query only when the query's own conditions
-- imply its predicate, and PostgreSQL 15 does not take NOT NULL columns
-- into account for that. With "agent_id IS NOT NULL" added to its
-- predicate, the agent index serves queries that name an agent
-- (agent_id = $1 implies it) and no others. The look-up below names no
-- agent: the agent's name comes from a sub-select, run only for an open
-- call found, where a join would have named k.agent_id.

DROP INDEX calls_open_agent_idx;
CREATE INDEX calls_open_agent_idx ON calls (agent_id)
    WHERE disposition IS NULL AND agent_id IS NOT NULL;

CREATE OR REPLACE FUNCTION cf_lead_blockers(p_lead bigint, p_owner text, p_agent bigint,
                                            p_grace interval)
RETURNS text[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    open_calls text[];
BEGIN
    SELECT array_agg(format('call %s on it by %s, opened %s, is still open', k.id,
                            (SELECT u.username FROM users u WHERE u.id = k.agent_id),
                            to_char(k.started_at, 'YYYY-MM-DD HH24:MI')) ORDER BY k.id)
        INTO open_calls
        FROM calls k
        WHERE k.lead_id = p_lead AND k.disposition IS NULL;
    RETURN cf_lead_blockers_without_calls(p_lead, p_owner, p_agent, p_grace)
        || coalesce(open_calls, '{}');
END
$$;
