-- 017_callback_claim: the hopper looks for due callbacks (hopper.c,
-- hopper_claim_callbacks) on every tick, across the campaigns it serves.
-- Without an index of its own that read every open lead of those
-- campaigns: 21 ms a tick for 50,000 leads, while transactions pipelined
-- behind it on the same connection waited (offers and outcomes among
-- them). Callbacks are few; this index holds only them.
CREATE INDEX leads_due_callbacks_idx ON leads (next_eligible_at)
    WHERE callback_owner IS NOT NULL AND status = 'open';
