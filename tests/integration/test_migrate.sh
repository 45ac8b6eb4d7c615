#!/usr/bin/env bash
# test_migrate: callfloord's start-up steps: --migrate-only applies the
# schema once, one recorded row per migration, and a second run changes
# nothing; a failing migration is named with its cause and leaves the schema
# at the previous version; a database newer than the binary is refused; the
# first admin must be made too or the run fails; --check-config accepts a
# good file and names file:line for a bad one (exit 2) without touching the
# database; an unreachable database stops the start with a message that
# says what to check (exit 1); --help and bad options.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

expect_in_output() {
    grep -q -- "$1" <<<"$CF_LAST_OUTPUT" || cf_fail "$2: $CF_LAST_OUTPUT"
}

# The rows schema_migrations must hold: "version:name" for every file in
# server/sql, in order.
expected_migrations() {
    find "$CF_SOURCE/server/sql" -name '[0-9][0-9][0-9]_*.sql' -printf '%f\n' | sort |
        sed -E 's/^0*([0-9]+)_(.*)\.sql$/\1:\2/' | paste -sd,
}

# recorded_migrations [DATABASE]: "version:name" of every row, in order.
recorded_migrations() {
    "$PGC_BIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$CF_CONNINFO dbname=${1:-$CF_DB}" \
        -c "SELECT string_agg(version::text || ':' || name, ',' ORDER BY version) FROM schema_migrations"
}

cf_setup migrate
DAEMON=$CF_BUILD/bin/callfloord
SECOND_DB=${CF_DB}_second

# ---- the command line ----
cf_expect_exit 0 "$DAEMON" --help
expect_in_output "--migrate-only" "--help does not list --migrate-only"
expect_in_output "--check-config" "--help does not list --check-config"
cf_expect_exit 0 "$DAEMON" --version
expect_in_output "callfloord" "--version does not name the program"
cf_expect_exit 2 "$DAEMON" --no-such-option
expect_in_output "callfloord --help" "a bad option does not point at --help"
cf_expect_exit 2 "$DAEMON" -c "$CF_CONFIG" surplus-argument
cf_expect_exit 2 "$DAEMON" -c "$CF_WORK/missing.conf" --check-config
expect_in_output "missing.conf" "a missing config file is not named"

# ---- --check-config ----
cf_expect_exit 0 "$DAEMON" -c "$CF_CONFIG" --check-config
expect_in_output "configuration OK" "a good configuration is not reported as such"
bad=$CF_WORK/bad.conf
cp "$CF_CONFIG" "$bad"
echo "colour = blue" >>"$bad"
cf_expect_exit 2 "$DAEMON" -c "$bad" --check-config
expect_in_output "bad.conf:$(wc -l <"$bad"):.*colour" "an unknown key is not named with file:line"
sed 's/^pool_size = .*/pool_size = lots/' "$CF_CONFIG" >"$bad"
cf_expect_exit 2 "$DAEMON" -c "$bad" --check-config
expect_in_output "bad.conf:$(grep -n '^pool_size' "$bad" | cut -d: -f1):.*pool_size" \
    "a bad value is not named with file:line"
printf '[nosuch]\nkey = 1\n' >>"$bad"
sed 's/^pool_size = .*/pool_size = 4/' "$bad" >"$bad.2"
cf_expect_exit 2 "$DAEMON" -c "$bad.2" --check-config
expect_in_output "bad.conf.2:$(wc -l <"$bad.2"):.*nosuch" "an unknown section is not named with file:line"
cf_expect_exit 2 "$DAEMON" -c "$CF_CONFIG" --set session.heartbeat_interval=forever --check-config
expect_in_output "heartbeat_interval" "a bad --set value is not named"
cf_expect_exit 2 "$DAEMON" -c "$CF_CONFIG" --set no.such.key=1 --check-config
expect_in_output "no.such.key" "an unknown --set key is not named"
# The vault's keys must be there and private.
cp "$CF_CERTS/vault.keys" "$CF_WORK/open.keys"
chmod 644 "$CF_WORK/open.keys"
cf_expect_exit 1 "$DAEMON" -c "$CF_CONFIG" --set "vault.key_file=$CF_WORK/open.keys" --check-config
expect_in_output "chmod 600" "a readable vault key file is not refused"
cf_expect_exit 1 "$DAEMON" -c "$CF_CONFIG" --set "vault.key_file=$CF_WORK/none.keys" --check-config
expect_in_output "vault.key_file" "a missing vault key file is not explained"
# Checking is only checking: the database is still empty.
[ "$(cf_psql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 0 ] ||
    cf_fail "--check-config changed the database"

# ---- migrations on a fresh database: applied once, recorded ----
expected=$(expected_migrations)
[ -n "$expected" ] || cf_fail "no migrations found in server/sql"
cf_expect_exit 0 "$DAEMON" -c "$CF_CONFIG" --migrate-only
[ "$(recorded_migrations)" = "$expected" ] ||
    cf_fail "schema_migrations holds $(recorded_migrations), not one row per file: $expected"
[ "$(cf_psql "SELECT count(*) FROM pg_tables WHERE tablename IN ('users', 'teams')")" = 2 ] ||
    cf_fail "--migrate-only did not create the tables"
[ "$(cf_psql "SELECT count(*) FROM users WHERE username = 'admin' AND role = 'admin'")" = 1 ] ||
    cf_fail "--migrate-only did not create the bootstrap admin"
rows_sql="SELECT string_agg(version || ':' || name || ':' || applied_at, ',' ORDER BY version) FROM schema_migrations"
before=$(cf_psql "$rows_sql")
admin_before=$(cf_psql "SELECT id || password_hash FROM users WHERE username = 'admin'")
cf_expect_exit 0 "$DAEMON" -c "$CF_CONFIG" --migrate-only
expect_in_output "(0 migrations applied" "the second run applied something"
[ "$(cf_psql "$rows_sql")" = "$before" ] || cf_fail "schema_migrations changed on the second run"
[ "$(cf_psql "SELECT id || password_hash FROM users WHERE username = 'admin'")" = "$admin_before" ] ||
    cf_fail "the second run touched the admin"

# ---- a failing migration, a failing first admin, a newer database ----
drop_second() {
    cf_psql "DROP DATABASE IF EXISTS $SECOND_DB WITH (FORCE)" >/dev/null 2>&1 || true
}
drop_second
cf_psql "CREATE DATABASE $SECOND_DB"
cf_defer drop_second
second_psql() {
    "$PGC_BIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$CF_CONNINFO dbname=$SECOND_DB" -c "$1"
}
on_second=(--set "database.conninfo=$CF_CONNINFO dbname=$SECOND_DB")
# A table in the way of migration 2: migration 1 stays, 2 is rolled back.
second_psql "CREATE TABLE products (id int)"
cf_expect_exit 1 "$DAEMON" -c "$CF_CONFIG" "${on_second[@]}" --migrate-only
expect_in_output 'migration 002_products_campaigns failed: .*"products" already exists' \
    "a failing migration is not named with its cause"
[ "$(recorded_migrations "$SECOND_DB")" = "1:init" ] ||
    cf_fail "after a failed migration 2, schema_migrations holds $(recorded_migrations "$SECOND_DB")"
[ "$(second_psql "SELECT count(*) FROM pg_tables WHERE tablename = 'campaigns'")" = 0 ] ||
    cf_fail "the failed migration was not rolled back"
second_psql "DROP TABLE products"
# Migrations done, but no first admin: the run fails.
cf_expect_exit 1 "$DAEMON" -c "$CF_CONFIG" "${on_second[@]}" --migrate-only \
    --set "bootstrap.admin_password_file=$CF_WORK/missing.password"
expect_in_output "missing.password.*bootstrap.admin_password_file" "a missing bootstrap password file is not explained"
[ "$(recorded_migrations "$SECOND_DB")" = "$expected" ] || cf_fail "the retry did not apply the rest"
echo short >"$CF_WORK/short.password"
cf_expect_exit 1 "$DAEMON" -c "$CF_CONFIG" "${on_second[@]}" --migrate-only \
    --set "bootstrap.admin_password_file=$CF_WORK/short.password"
expect_in_output "too short" "a short bootstrap password is not refused"
cf_expect_exit 1 "$DAEMON" -c "$CF_CONFIG" "${on_second[@]}" --migrate-only --set bootstrap.admin_user=Admin
expect_in_output "bootstrap.admin_user" "an invalid bootstrap user name is not explained"
[ "$(second_psql "SELECT count(*) FROM users")" = 0 ] || cf_fail "a failed bootstrap left an account"
cf_expect_exit 0 "$DAEMON" -c "$CF_CONFIG" "${on_second[@]}" --migrate-only
[ "$(second_psql "SELECT count(*) FROM users WHERE role = 'admin'")" = 1 ] || cf_fail "no admin after the bootstrap"
# A database migrated by a newer callfloord.
second_psql "INSERT INTO schema_migrations (version, name) VALUES (999, 'from_the_future')"
cf_expect_exit 1 "$DAEMON" -c "$CF_CONFIG" "${on_second[@]}" --migrate-only
expect_in_output "version 999" "a newer database is not refused with its version"
cf_expect_exit 1 "$DAEMON" -c "$CF_CONFIG" "${on_second[@]}"

# ---- a database that is not there: exit 1, and what to check ----
nowhere=(--set "database.conninfo=host=$CF_WORK/nowhere dbname=nothing connect_timeout=2")
cf_expect_exit 1 "$DAEMON" -c "$CF_CONFIG" "${nowhere[@]}" --migrate-only
expect_in_output "cannot connect to PostgreSQL.*check database.conninfo" "an unreachable database is not explained"
cf_expect_exit 1 timeout 30 "$DAEMON" -c "$CF_CONFIG" "${nowhere[@]}"
expect_in_output "check database.conninfo" "the daemon does not explain an unreachable database"

# ---- the daemon starts on the migrated database and serves ----
cf_start_daemon
cf_expect_exit 0 cf_ctl --json status
cf_json_check "doc['schema_version'] == $(wc -l < <(tr , '\n' <<<"$expected"))" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "status does not report the newest schema version"
cf_done
