-- 010_audit: who did what, in a log that shows any tampering (DOMAIN item
-- 12; PIPL accountability). Every admin action, import, permission change,
-- do-not-call change, phone reveal and login is a row; each row's hash
-- covers the row and the previous row's hash, so that editing, deleting
-- or reordering a row breaks the chain from there on. Signed checkpoints
-- of the chain's head (server/audit.c) also show rows cut off the end.

CREATE TABLE audit_log (
    id        bigint      PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor     text        NOT NULL, -- the user name, or callfloord for the daemon itself
    role      text        NOT NULL DEFAULT '',
    peer      text        NOT NULL DEFAULT '', -- the client's address
    action    text        NOT NULL,
    target    text        NOT NULL DEFAULT '',
    detail    text        NOT NULL DEFAULT '',
    prev_hash bytea       NOT NULL,
    hash      bytea       NOT NULL
);
CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION cf_append_only();

-- The hash of one row: SHA-256 over a domain tag, the previous row's hash
-- and the row's fields as a JSON array (unambiguous however the text
-- looks). The time goes in as integer microseconds.
CREATE FUNCTION cf_audit_hash(p_id bigint, p_at timestamptz, p_actor text, p_role text,
                              p_peer text, p_action text, p_target text, p_detail text,
                              p_prev bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(convert_to('callfloor-audit-v1', 'UTF8') || '\x00'::bytea || p_prev
                  || convert_to(json_build_array(p_id,
                         (extract(epoch FROM p_at) * 1000000)::bigint, p_actor, p_role, p_peer,
                         p_action, p_target, p_detail)::text, 'UTF8'))
$$;

-- Adds a row for the current transaction's actor (callfloor.actor,
-- callfloor.role and callfloor.peer, which the daemon sets for every
-- request; callfloord when unset). One writer at a time keeps the chain a
-- line: the lock is held until the transaction ends.
CREATE FUNCTION cf_audit(p_action text, p_target text, p_detail text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    prev bytea;
    rid bigint;
    now_at timestamptz := clock_timestamp();
    -- Unset (or reset to empty once a transaction that set it ended): the
    -- daemon's own work.
    who text := coalesce(nullif(current_setting('callfloor.actor', true), ''), 'callfloord');
    how text := coalesce(current_setting('callfloor.role', true), '');
    peer text := coalesce(current_setting('callfloor.peer', true), '');
BEGIN
    PERFORM pg_advisory_xact_lock(7243561, 1);
    SELECT hash INTO prev FROM audit_log ORDER BY id DESC LIMIT 1;
    prev := coalesce(prev, ''::bytea);
    rid := nextval('audit_log_id_seq');
    INSERT INTO audit_log (id, at, actor, role, peer, action, target, detail, prev_hash, hash)
        VALUES (rid, now_at, who, how, peer, p_action, coalesce(p_target, ''),
                coalesce(p_detail, ''), prev,
                cf_audit_hash(rid, now_at, who, how, peer, p_action, coalesce(p_target, ''),
                              coalesce(p_detail, ''), prev));
END
$$;

-- What the tables record becomes audit rows through triggers, so that no
-- code path can change them unrecorded.
CREATE FUNCTION cf_audit_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM cf_audit('user.add', NEW.username, format('role %s, team %s', NEW.role,
            coalesce((SELECT name FROM teams WHERE id = NEW.team_id), 'none')));
    ELSE
        IF NEW.role IS DISTINCT FROM OLD.role OR NEW.team_id IS DISTINCT FROM OLD.team_id THEN
            PERFORM cf_audit('user.permissions', NEW.username, format('role %s -> %s, team %s -> %s',
                OLD.role, NEW.role, coalesce((SELECT name FROM teams WHERE id = OLD.team_id), 'none'),
                coalesce((SELECT name FROM teams WHERE id = NEW.team_id), 'none')));
        END IF;
        IF NEW.disabled IS DISTINCT FROM OLD.disabled THEN
            PERFORM cf_audit(CASE WHEN NEW.disabled THEN 'user.disable' ELSE 'user.enable' END,
                             NEW.username, '');
        END IF;
        IF NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN
            PERFORM cf_audit('user.password', NEW.username, '');
        END IF;
        IF NEW.last_login_at IS DISTINCT FROM OLD.last_login_at THEN
            PERFORM cf_audit('login', NEW.username, '');
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_audit AFTER INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION cf_audit_users();

CREATE FUNCTION cf_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    CASE TG_TABLE_NAME
    WHEN 'teams' THEN
        PERFORM cf_audit('team.add', NEW.name, '');
    WHEN 'products' THEN
        PERFORM cf_audit('product.add', NEW.code, NEW.name);
    WHEN 'campaigns' THEN
        IF TG_OP = 'INSERT' THEN
            PERFORM cf_audit('campaign.add', NEW.name, '');
        ELSIF NEW.paused IS DISTINCT FROM OLD.paused THEN
            PERFORM cf_audit(CASE WHEN NEW.paused THEN 'campaign.pause' ELSE 'campaign.resume' END,
                             NEW.name, '');
        END IF;
    WHEN 'dnc' THEN
        IF TG_OP = 'INSERT' THEN
            PERFORM cf_audit('dnc.add', NEW.phone_masked, NEW.source || ': ' || NEW.reason);
        ELSE
            PERFORM cf_audit('dnc.remove', OLD.phone_masked, '');
        END IF;
    WHEN 'phone_reveals' THEN
        PERFORM cf_audit('phone.reveal', 'lead ' || NEW.lead_id, 'call ' || NEW.call_id);
    WHEN 'scoring_rules' THEN
        PERFORM cf_audit('campaign.scoring', (SELECT name FROM campaigns WHERE id = NEW.campaign_id),
            format('connect %s, application %s, approved %s, activated %s, qa fail %s, complaint %s',
                   NEW.connect_points, NEW.application_points, NEW.approved_points,
                   NEW.activated_points, NEW.qa_fail_points, NEW.complaint_points));
    WHEN 'targets' THEN
        PERFORM cf_audit('target.set', coalesce((SELECT username FROM users WHERE id = NEW.agent_id),
            (SELECT name FROM teams WHERE id = NEW.team_id)),
            format('%s: %s applications', to_char(NEW.month, 'YYYY-MM'), NEW.applications));
    WHEN 'bonus_tiers' THEN
        PERFORM cf_audit('tier.set', coalesce((SELECT name FROM teams WHERE id = NEW.team_id), ''),
            format('tier %s at %s applications', NEW.tier, NEW.applications));
    WHEN 'qa_reviews' THEN
        PERFORM cf_audit('qa.review', 'call ' || NEW.call_id,
            format('%s points, %s', NEW.score, CASE WHEN NEW.passed THEN 'passed' ELSE 'failed' END));
    WHEN 'complaints' THEN
        IF NEW.resolved_at IS NOT NULL AND OLD.resolved_at IS NULL THEN
            PERFORM cf_audit('complaint.resolve', 'complaint ' || NEW.id,
                             CASE WHEN NEW.upheld THEN 'upheld' ELSE 'not upheld' END);
        END IF;
    END CASE;
    RETURN NULL;
END
$$;
CREATE TRIGGER teams_audit AFTER INSERT ON teams FOR EACH ROW EXECUTE FUNCTION cf_audit_row();
CREATE TRIGGER products_audit AFTER INSERT ON products FOR EACH ROW EXECUTE FUNCTION cf_audit_row();
CREATE TRIGGER campaigns_audit AFTER INSERT OR UPDATE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION cf_audit_row();
CREATE TRIGGER dnc_audit AFTER INSERT OR DELETE ON dnc FOR EACH ROW EXECUTE FUNCTION cf_audit_row();
CREATE TRIGGER phone_reveals_audit AFTER INSERT ON phone_reveals
    FOR EACH ROW EXECUTE FUNCTION cf_audit_row();
CREATE TRIGGER scoring_rules_audit AFTER INSERT OR UPDATE ON scoring_rules
    FOR EACH ROW EXECUTE FUNCTION cf_audit_row();
CREATE TRIGGER targets_audit AFTER INSERT OR UPDATE ON targets
    FOR EACH ROW EXECUTE FUNCTION cf_audit_row();
CREATE TRIGGER bonus_tiers_audit AFTER INSERT OR UPDATE ON bonus_tiers
    FOR EACH ROW EXECUTE FUNCTION cf_audit_row();
CREATE TRIGGER qa_reviews_audit AFTER INSERT ON qa_reviews
    FOR EACH ROW EXECUTE FUNCTION cf_audit_row();
CREATE TRIGGER complaints_audit AFTER UPDATE ON complaints
    FOR EACH ROW EXECUTE FUNCTION cf_audit_row();

-- Lead imports: one row per batch (one INSERT statement), with its count.
-- The bank's results and surveys are recorded by their import functions
-- (cf_apply_results, cf_import_csat), which write row by row.
CREATE FUNCTION cf_audit_import() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM added;
    IF n > 0 THEN
        PERFORM cf_audit(TG_ARGV[0], TG_ARGV[1], n || ' rows');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER leads_audit AFTER INSERT ON leads REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION cf_audit_import('leads.import', 'leads');

-- Signed checkpoints of the chain's head: the Ed25519 signature (by the
-- key in audit.signing_key) of the domain tag, the row id (8 bytes, big
-- endian) and that row's hash. A row cut off the end of the chain is
-- missing from the checkpoint that covered it.
CREATE TABLE audit_checkpoints (
    id         bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    last_id    bigint      NOT NULL,
    last_hash  bytea       NOT NULL,
    public_key bytea       NOT NULL,
    signature  bytea       NOT NULL
);
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION cf_append_only();

-- The first row that breaks the chain, and how; no row when it holds. A
-- checkpoint whose row is gone or differs shows rows cut off the end.
CREATE FUNCTION cf_audit_verify()
RETURNS TABLE (rows_checked bigint, bad_id bigint, problem text)
LANGUAGE sql STABLE AS $$
    WITH chain AS (
        SELECT a.*, lag(a.hash) OVER (ORDER BY a.id) AS before,
               lag(a.id) OVER (ORDER BY a.id) AS before_id
        FROM audit_log a),
    broken AS (
        SELECT id, CASE
            -- IS DISTINCT FROM: a NULL put anywhere counts as a change.
            WHEN hash IS DISTINCT FROM
                 cf_audit_hash(id, at, actor, role, peer, action, target, detail, prev_hash)
                THEN format('row %s was changed after it was written', id)
            WHEN prev_hash IS DISTINCT FROM coalesce(before, ''::bytea)
                THEN format('the chain breaks before row %s: a row before it was deleted, or rows were '
                            'moved (the previous row now is %s)', id, coalesce(before_id::text, 'none'))
            END AS problem
        FROM chain),
    first_bad AS (
        SELECT id, problem FROM broken WHERE problem IS NOT NULL ORDER BY id LIMIT 1),
    cut AS (
        SELECT c.last_id AS id,
               format('the checkpoint of %s covers row %s, which is %s', c.at, c.last_id,
                      CASE WHEN a.id IS NULL THEN 'gone: rows were cut off the end'
                           ELSE 'not as it was signed' END) AS problem
        FROM audit_checkpoints c LEFT JOIN audit_log a ON a.id = c.last_id
        WHERE a.id IS NULL OR a.hash IS DISTINCT FROM c.last_hash
        ORDER BY c.id LIMIT 1)
    SELECT (SELECT count(*) FROM audit_log), x.id, x.problem
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT * FROM first_bad UNION ALL SELECT * FROM cut ORDER BY 1 LIMIT 1) x
        ON true
$$;

-- The result and survey imports, recorded once per batch: the functions
-- of 008 are wrapped so that the audit row comes last, after the rows'
-- locks, and says how many rows took effect.
ALTER FUNCTION cf_apply_results(integer[], text[], text[], text[], text)
    RENAME TO cf_apply_results_unaudited;
CREATE FUNCTION cf_apply_results(p_lines integer[], p_apps text[], p_results text[],
                                 p_dates text[], p_zone text)
RETURNS SETOF cf_import_answer LANGUAGE plpgsql AS $$
DECLARE
    applied bigint;
BEGIN
    CREATE TEMP TABLE answers ON COMMIT DROP AS
        SELECT * FROM cf_apply_results_unaudited(p_lines, p_apps, p_results, p_dates, p_zone);
    SELECT count(*) INTO applied FROM answers WHERE outcome = 'applied';
    IF applied > 0 THEN
        PERFORM cf_audit('results.import', 'applications', applied || ' rows');
    END IF;
    RETURN QUERY SELECT * FROM answers;
    DROP TABLE answers;
END
$$;
ALTER FUNCTION cf_import_csat(integer[], text[], text[], text[], text[], text[], text[], text)
    RENAME TO cf_import_csat_unaudited;
CREATE FUNCTION cf_import_csat(p_lines integer[], p_customers text[], p_calls text[],
                               p_agents text[], p_scores text[], p_comments text[],
                               p_dates text[], p_zone text)
RETURNS SETOF cf_import_answer LANGUAGE plpgsql AS $$
DECLARE
    applied bigint;
BEGIN
    CREATE TEMP TABLE answers ON COMMIT DROP AS
        SELECT * FROM cf_import_csat_unaudited(p_lines, p_customers, p_calls, p_agents, p_scores,
                                               p_comments, p_dates, p_zone);
    SELECT count(*) INTO applied FROM answers WHERE outcome = 'applied';
    IF applied > 0 THEN
        PERFORM cf_audit('csat.import', 'surveys', applied || ' rows');
    END IF;
    RETURN QUERY SELECT * FROM answers;
    DROP TABLE answers;
END
$$;
