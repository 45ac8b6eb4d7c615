#!/usr/bin/env bash
# staging_insert.sh [ROWS]: the part of a lead import that COPY would not
# remove. Starts a private PostgreSQL, applies the migrations, fills a
# temporary table with ROWS (default 300000) prepared leads (hashes, sealed
# bytes, masked numbers) and times the INSERT ... SELECT into leads that a
# COPY-to-staging import would still need after its COPY: do-not-call
# suppression, ON CONFLICT duplicates, the indexes and the foreign key.
# Compare its rows per second with tests/bench/import.sh's end to end.
set -euo pipefail

ROWS=${1:-300000}
# shellcheck source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
bench_start bench_staging
for f in "$CF_SOURCE"/server/sql/[0-9]*.sql; do
    "$PGC_BIN/psql" -XAtq -v ON_ERROR_STOP=1 -1 -d "$CF_CONNINFO dbname=$CF_DB" -f "$f" >/dev/null
done
echo "== machine"
echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "== INSERT ... SELECT of $ROWS staged rows into leads"
"$PGC_BIN/psql" -XAq -v ON_ERROR_STOP=1 -d "$CF_CONNINFO dbname=$CF_DB" <<SQL
INSERT INTO campaigns (name) VALUES ('bench');
CREATE TEMP TABLE stage AS
    SELECT sha256(i::text::bytea) AS h, ('\\x0102' || lpad(to_hex(i), 60, '0'))::bytea AS sealed,
           '138****' || lpad((i % 10000)::text, 4, '0') AS masked, 'n' || i AS name,
           (i % 10)::smallint AS income, (random() * 100)::numeric(7,3) AS score
    FROM generate_series(1, $ROWS) i;
\\timing on
INSERT INTO leads (campaign_id, name, phone_hmac, phone_sealed, phone_masked, income_band, score)
    SELECT (SELECT id FROM campaigns WHERE name = 'bench'), name, h, sealed, masked, income, score
    FROM stage WHERE NOT EXISTS (SELECT 1 FROM dnc d WHERE d.phone_hmac = stage.h)
    ON CONFLICT (campaign_id, phone_hmac) DO NOTHING;
SQL
cf_done
