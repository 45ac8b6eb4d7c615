-- 004_leads: the people a campaign calls (名单). A lead belongs to one
-- campaign; the same phone number appears at most once in a campaign
-- (found by its HMAC, like the do-not-call list). The number is stored
-- sealed and masked only (server/vault.c).

CREATE TABLE leads (
    id              bigserial    PRIMARY KEY,
    campaign_id     bigint       NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    -- The lead list's own id for the customer, to match bank results later.
    external_id     text         NOT NULL DEFAULT '',
    name            text         NOT NULL,
    phone_hmac      bytea        NOT NULL,
    phone_sealed    bytea        NOT NULL,
    phone_masked    text         NOT NULL,
    -- NULL: the campaign's time zone decides the calling window.
    time_zone       text,
    tier            text         NOT NULL DEFAULT 'normal',
    -- Segment attributes, matched against products' segments and the
    -- campaign's pre-screen rules.
    age_band        text         NOT NULL DEFAULT '',
    income_band     smallint     NOT NULL DEFAULT 0,
    spend_profile   text         NOT NULL DEFAULT '',
    travel_interest boolean      NOT NULL DEFAULT false,
    -- Propensity from the list's provider: higher is called first.
    score           numeric(7,3) NOT NULL DEFAULT 0,
    created_at      timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT leads_phone_unique UNIQUE (campaign_id, phone_hmac),
    CONSTRAINT leads_name_check
        CHECK (char_length(name) BETWEEN 1 AND 64 AND name !~ '[[:cntrl:]]'),
    CONSTRAINT leads_hmac_check CHECK (octet_length(phone_hmac) = 32),
    CONSTRAINT leads_masked_check CHECK (phone_masked ~ '^[0-9*]{11}$'),
    CONSTRAINT leads_tier_check CHECK (tier IN ('normal', 'vip')),
    CONSTRAINT leads_income_check CHECK (income_band BETWEEN 0 AND 9),
    CONSTRAINT leads_text_check
        CHECK (char_length(external_id) <= 64 AND char_length(age_band) <= 32
               AND char_length(spend_profile) <= 32)
);

-- The do-not-call list is consulted by HMAC for every lead.
CREATE INDEX leads_phone_hmac_idx ON leads (phone_hmac);
