-- 016_hot_path: less database work for every dial and outcome, found by
-- profiling a working floor (tests/bench/floor.sh with FLOOR_PROFILE=1).
-- Nothing a query returns changes.

-- 004 and 005 both indexed leads (phone_hmac). Every insert into leads and
-- every update that cannot stay on its page (a claim, a dial and an
-- outcome each move the lease) kept both.
DROP INDEX leads_phone_idx;

-- A SQL function is inlined into the statement that calls it only when its
-- body is no more volatile than it is declared. cf_audit_hash calls
-- json_build_array and convert_to, which are stable, so declared immutable
-- it ran as a separate function, its body planned again for each audit
-- row. Declared stable it is inlined; its value is the same.
ALTER FUNCTION cf_audit_hash(bigint, timestamptz, text, text, text, text, text, text, bytea)
    STABLE;

-- cf_scoring's sub-select keeps it from being inlined, so as SQL its body
-- was planned again for every outcome. PL/pgSQL keeps the plan for the
-- session.
CREATE OR REPLACE FUNCTION cf_scoring(p_campaign bigint) RETURNS scoring_rules
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r scoring_rules;
BEGIN
    SELECT * INTO r FROM scoring_rules WHERE campaign_id = p_campaign;
    IF NOT FOUND THEN
        r := ROW(p_campaign, 1, 10, 20, 30, -10, -20, now())::scoring_rules;
    END IF;
    RETURN r;
END
$$;
