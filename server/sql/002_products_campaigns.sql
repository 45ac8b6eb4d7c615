-- 002_products_campaigns: what the floor sells (card products) and the
-- calling programmes that sell it (campaigns): which products, which teams
-- work it, when customers may be called, how often, and in which order.

CREATE TABLE products (
    id          bigserial     PRIMARY KEY,
    -- What admins type (CB01); the name is what agents read to customers.
    code        text          NOT NULL UNIQUE,
    name        text          NOT NULL,
    kind        text          NOT NULL,
    -- Yuan per year. numeric, not float: money is never rounded by accident.
    annual_fee  numeric(10,2) NOT NULL DEFAULT 0,
    -- Percent per year, e.g. 18.25. The agent must state it before an
    -- application may be submitted (truthful selling), so it is required.
    apr         numeric(6,3)  NOT NULL,
    -- The fees, interest and risks the agent reads out; shown in the desk.
    disclosure  text          NOT NULL DEFAULT '',
    -- Customer segments this product suits (DOMAIN item 4), matched against
    -- a lead's attributes to recommend products during a call.
    segments    text[]        NOT NULL DEFAULT '{}',
    created_at  timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT products_code_check CHECK (code ~ '^[A-Za-z0-9_-]{1,32}$'),
    CONSTRAINT products_name_check
        CHECK (char_length(name) BETWEEN 1 AND 128 AND name !~ '[[:cntrl:]]'),
    CONSTRAINT products_kind_check
        CHECK (kind IN ('standard', 'cashback', 'travel', 'points', 'premium', 'student')),
    CONSTRAINT products_fee_check CHECK (annual_fee >= 0),
    CONSTRAINT products_apr_check CHECK (apr >= 0 AND apr <= 100)
);

CREATE TABLE campaigns (
    id                    bigserial   PRIMARY KEY,
    name                  text        NOT NULL UNIQUE,
    -- Paused campaigns offer no leads; nothing else about them changes.
    paused                boolean     NOT NULL DEFAULT false,
    -- Customers are called only between these local times (their own time
    -- zone, or the campaign's when a lead has none) on these weekdays:
    -- bit 0 is Monday ... bit 6 is Sunday (ISO order).
    window_start          time        NOT NULL DEFAULT '09:00',
    window_end            time        NOT NULL DEFAULT '20:00',
    days                  smallint    NOT NULL DEFAULT 127,
    time_zone             text        NOT NULL DEFAULT 'Asia/Shanghai',
    -- Attempt caps: over the lead's life, and per local calendar day.
    max_attempts          integer     NOT NULL DEFAULT 6,
    max_attempts_per_day  integer     NOT NULL DEFAULT 2,
    -- How long a lead rests after a call that reached nobody.
    retry_no_answer       interval    NOT NULL DEFAULT '2 hours',
    retry_busy            interval    NOT NULL DEFAULT '30 minutes',
    -- An offer not dialled within this goes back to the queue.
    offer_timeout         interval    NOT NULL DEFAULT '60 seconds',
    -- Pre-screen: the lowest income band an application may come from
    -- (0 = no rule). Bands are numbered in docs/PROTOCOL.md.
    min_income_band       smallint    NOT NULL DEFAULT 0,
    -- Higher first, across the campaigns a team works.
    priority              integer     NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT campaigns_name_check
        CHECK (char_length(name) BETWEEN 1 AND 64 AND name !~ '[[:cntrl:]]'),
    CONSTRAINT campaigns_window_check CHECK (window_start < window_end),
    CONSTRAINT campaigns_days_check CHECK (days BETWEEN 1 AND 127),
    CONSTRAINT campaigns_attempts_check
        CHECK (max_attempts >= 1 AND max_attempts_per_day BETWEEN 1 AND max_attempts),
    CONSTRAINT campaigns_retry_check
        CHECK (retry_no_answer >= '0' AND retry_busy >= '0' AND offer_timeout > '0'),
    CONSTRAINT campaigns_income_check CHECK (min_income_band BETWEEN 0 AND 9)
);

CREATE TABLE campaign_products (
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    product_id  bigint NOT NULL REFERENCES products (id),
    PRIMARY KEY (campaign_id, product_id)
);

CREATE TABLE campaign_teams (
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    team_id     bigint NOT NULL REFERENCES teams (id),
    PRIMARY KEY (campaign_id, team_id)
);

-- An agent's campaigns are found from the team's side.
CREATE INDEX campaign_teams_team_id_idx ON campaign_teams (team_id);

-- Refuses a request from inside a transaction, so that a multi-statement
-- change stops before writing anything. The daemon maps the SQLSTATEs to
-- protocol errors: CF404 is NOT_FOUND, CF400 is INVALID_ARGUMENT; the
-- message is shown to the user as it is.
CREATE FUNCTION cf_refuse(code text, message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
END
$$;
