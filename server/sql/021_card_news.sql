-- 021_card_news: every daemon hears at once what makes the cards its
-- hopper keeps out of date. Each daemon reads the card of every lead it
-- claims (the customer, the calls to the number, the products) and offers
-- it without asking the database again (server/card.h); these
-- notifications, on channel callfloor, make it forget them:
--   "d HMAC HMAC ...": numbers put on the do-not-call list, each number's
--     HMAC in hex; offering a lead with one of them reads it again and
--     finds it may not be called. "k" instead when one statement listed
--     more than fit in a notification.
--   "k": personal data was purged (cf_purge), which also erases the notes
--     of calls that other leads' cards show in their history.
-- The dial checks the list in any case, under the lead's row lock. Unlike
-- the other notifications, a daemon takes these from its own connections
-- too: an outcome or an import there listed the number.

CREATE FUNCTION cf_notify_dnc() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    hmacs text;
BEGIN
    -- 100 HMACs of 64 hex digits and their spaces stay under PostgreSQL's
    -- 8000-byte payload.
    SELECT count(*) INTO n FROM listed;
    IF n > 100 THEN
        PERFORM pg_notify('callfloor', 'k');
    ELSIF n > 0 THEN
        SELECT string_agg(encode(phone_hmac, 'hex'), ' ') INTO hmacs FROM listed;
        PERFORM pg_notify('callfloor', 'd ' || hmacs);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER dnc_notify AFTER INSERT ON dnc REFERENCING NEW TABLE AS listed
    FOR EACH STATEMENT EXECUTE FUNCTION cf_notify_dnc();

CREATE FUNCTION cf_notify_purged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('callfloor', 'k');
    RETURN NULL;
END
$$;

-- Only cf_purge sets purged_at; an outcome's update of a lead does not
-- name the column, so this trigger costs it nothing.
CREATE TRIGGER leads_purged_notify AFTER UPDATE OF purged_at ON leads
    FOR EACH STATEMENT EXECUTE FUNCTION cf_notify_purged();
