-- 003_dnc: the do-not-call list (拒绝营销名单). A number on it is never
-- offered again, in any campaign, including as a callback. Numbers are
-- found by their HMAC (server/vault.c), never by their digits; the sealed
-- number is kept so that an auditor can be shown what was listed, and the
-- masked form for screens.

CREATE TABLE dnc (
    phone_hmac   bytea       PRIMARY KEY,
    phone_sealed bytea       NOT NULL,
    phone_masked text        NOT NULL,
    reason       text        NOT NULL DEFAULT '',
    -- Who put it there: an administrator by hand, a list import, the
    -- customer asking during a call, or a complaint.
    source       text        NOT NULL,
    -- NULL when the account that added it was removed later.
    added_by     bigint      REFERENCES users (id) ON DELETE SET NULL,
    added_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dnc_hmac_check CHECK (octet_length(phone_hmac) = 32),
    CONSTRAINT dnc_masked_check CHECK (phone_masked ~ '^[0-9*]{11}$'),
    CONSTRAINT dnc_reason_check CHECK (char_length(reason) <= 256 AND reason !~ '[[:cntrl:]]'),
    CONSTRAINT dnc_source_check CHECK (source IN ('admin', 'import', 'customer', 'complaint'))
);
