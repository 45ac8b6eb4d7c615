-- 014_notify: daemons sharing one database hear of each other's score
-- events. Each statement that adds events announces their ids on channel
-- callfloor when it commits, as "s ID,ID,..." in chunks of 300 ids, under
-- the 8000-byte payload limit even with 19-digit ids; a daemon loads the ones it did not write itself
-- and updates its board (server/peers.c, server/score.c), so every
-- supervisor sees every agent's results whichever daemon the agent is on.

CREATE FUNCTION cf_notify_score_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('callfloor', 's ' || string_agg(id::text, ',' ORDER BY id))
        FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 300 AS chunk FROM added) c
        GROUP BY chunk;
    RETURN NULL;
END
$$;

CREATE TRIGGER score_events_notify AFTER INSERT ON score_events
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION cf_notify_score_events();
