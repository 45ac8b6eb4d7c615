-- 018_campaign_notify: every daemon hears at once that a campaign changed
-- (added, paused or resumed, its teams or offer timeout changed), on
-- channel callfloor as "c". A daemon then reloads its campaigns
-- (server/hopper.c), so agents of a team just assigned to a campaign get
-- its leads now instead of at the next periodic reload. (A daemon does not
-- hear notifications from its own connections: one that made the change
-- itself reloads without them, server/campaign.c.) The payload names
-- no campaign: the reload reads them all, and PostgreSQL sends identical
-- notifications of one transaction once.

CREATE FUNCTION cf_notify_campaigns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('callfloor', 'c');
    RETURN NULL;
END
$$;

CREATE TRIGGER campaigns_notify AFTER INSERT OR UPDATE ON campaigns
    FOR EACH STATEMENT EXECUTE FUNCTION cf_notify_campaigns();
CREATE TRIGGER campaign_teams_notify AFTER INSERT OR UPDATE OR DELETE ON campaign_teams
    FOR EACH STATEMENT EXECUTE FUNCTION cf_notify_campaigns();
