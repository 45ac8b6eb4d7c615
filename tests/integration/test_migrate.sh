#!/usr/bin/env bash
# test_migrate: callfloord's start-up checks: --migrate-only applies the
# schema once and records it, a second run changes nothing; --check-config
# accepts a good file and names file:line for a bad one (exit 2); an
# unreachable database stops the start with a message that says what to
# check (exit 1); --help and bad options.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup migrate
DAEMON=$CF_BUILD/bin/callfloord

cf_expect_exit 0 "$DAEMON" --help
grep -q -- "--migrate-only" <<<"$CF_LAST_OUTPUT" || cf_fail "--help does not list --migrate-only"
cf_expect_exit 0 "$DAEMON" --version
cf_expect_exit 2 "$DAEMON" --no-such-option
cf_expect_exit 2 "$DAEMON" -c "$CF_WORK/missing.conf" --check-config
grep -q "missing.conf" <<<"$CF_LAST_OUTPUT" || cf_fail "a missing config file is not named: $CF_LAST_OUTPUT"

# A good configuration passes; each kind of mistake is named by file:line.
cf_expect_exit 0 "$DAEMON" -c "$CF_CONFIG" --check-config
bad=$CF_WORK/bad.conf
cp "$CF_CONFIG" "$bad"
echo "colour = blue" >>"$bad"
line=$(wc -l <"$bad")
cf_expect_exit 2 "$DAEMON" -c "$bad" --check-config
grep -q "bad.conf:$line:.*colour" <<<"$CF_LAST_OUTPUT" || cf_fail "an unknown key is not named with file:line: $CF_LAST_OUTPUT"
sed 's/^pool_size = .*/pool_size = lots/' "$CF_CONFIG" >"$bad"
cf_expect_exit 2 "$DAEMON" -c "$bad" --check-config
grep -q "bad.conf:[0-9]*:.*pool_size" <<<"$CF_LAST_OUTPUT" || cf_fail "a bad value is not named with file:line: $CF_LAST_OUTPUT"
cf_expect_exit 2 "$DAEMON" -c "$CF_CONFIG" --set session.heartbeat_interval=forever --check-config
cf_expect_exit 2 "$DAEMON" -c "$CF_CONFIG" --set no.such.key=1 --check-config

# The vault's keys must be there and private.
cp "$CF_CERTS/vault.keys" "$CF_WORK/open.keys"
chmod 644 "$CF_WORK/open.keys"
cf_expect_exit 1 "$DAEMON" -c "$CF_CONFIG" --set "vault.key_file=$CF_WORK/open.keys" --check-config
grep -q "chmod 600" <<<"$CF_LAST_OUTPUT" || cf_fail "a readable vault key file is not refused: $CF_LAST_OUTPUT"
cf_expect_exit 1 "$DAEMON" -c "$CF_CONFIG" --set "vault.key_file=$CF_WORK/none.keys" --check-config
grep -q "vault.key_file" <<<"$CF_LAST_OUTPUT" || cf_fail "a missing vault key file is not explained: $CF_LAST_OUTPUT"

# Migrations: applied once, recorded, idempotent.
cf_expect_exit 0 "$DAEMON" -c "$CF_CONFIG" --migrate-only
files=$(find "$CF_SOURCE/server/sql" -name '[0-9][0-9][0-9]_*.sql' | wc -l)
[ "$(cf_psql "SELECT count(*) FROM schema_migrations")" = "$files" ] ||
    cf_fail "schema_migrations does not have one row per file in server/sql ($files)"
before=$(cf_psql "SELECT string_agg(version::text || ':' || name, ',' ORDER BY version) FROM schema_migrations")
[ "$(cf_psql "SELECT count(*) FROM users WHERE username = 'admin'")" = 1 ] ||
    cf_fail "--migrate-only did not create the bootstrap admin"
cf_expect_exit 0 "$DAEMON" -c "$CF_CONFIG" --migrate-only
grep -q "0 migrations applied" <<<"$CF_LAST_OUTPUT" || cf_fail "the second run applied something: $CF_LAST_OUTPUT"
after=$(cf_psql "SELECT string_agg(version::text || ':' || name, ',' ORDER BY version) FROM schema_migrations")
[ "$before" = "$after" ] || cf_fail "schema_migrations changed on the second run: $before -> $after"

# A database that is not there: exit 1, and the message says what to check.
sed "s|^conninfo = .*|conninfo = \"host=$CF_WORK/nowhere dbname=nothing connect_timeout=2\"|" "$CF_CONFIG" >"$bad"
cf_expect_exit 1 "$DAEMON" -c "$bad" --migrate-only
grep -qi "conninfo\|database" <<<"$CF_LAST_OUTPUT" || cf_fail "an unreachable database is not explained: $CF_LAST_OUTPUT"

# The daemon starts on the migrated database and serves.
cf_start_daemon
cf_expect_exit 0 cf_ctl status
cf_done
