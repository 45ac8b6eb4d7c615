#!/usr/bin/env bash
# test_harness_smoke: the harness itself (lib.sh and the PostgreSQL
# fixture), without the daemon: a fresh database per test, SQL through
# cf_psql, a fast restart of the server, the shared certificates, the
# generated configuration, and assertions that do fail when they should.
# ctest: run-serial (it restarts the shared PostgreSQL)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Names every "section.key" assigned in an INI file.
ini_keys() {
    awk '/^[[:space:]]*\[/ { gsub(/[][[:space:]]/, ""); section = $0; next }
         /^[[:space:]]*[a-z_]+[[:space:]]*=/ { split($0, kv, "="); gsub(/[[:space:]]/, "", kv[1]);
                                            print section "." kv[1] }' "$1" | sort
}

settings_keys() {
    grep -o 'KEY("[a-z_.]*"' "$CF_SOURCE/server/settings.c" | sed 's/KEY("\(.*\)"/\1/' | sort
}

cf_setup harness_smoke

# The database is new: nothing is left from an earlier run.
[ "$(cf_psql "SELECT current_database()")" = "$CF_DB" ] || cf_fail "cf_psql is not on $CF_DB"
[ "$(cf_psql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 0 ] ||
    cf_fail "database $CF_DB is not empty after cf_setup"
cf_psql "CREATE TABLE probe (id int PRIMARY KEY, name text NOT NULL)"
cf_psql "INSERT INTO probe VALUES (1, '一组'), (2, 'two')"
[ "$(cf_psql "SELECT string_agg(name, ',' ORDER BY id) FROM probe")" = "一组,two" ] ||
    cf_fail "rows read back differ from the rows written"

# A failing statement is an error, and the assertions notice wrong statuses.
cf_expect_exit 1 cf_psql "SELECT * FROM no_such_table"
grep -q 'no_such_table' <<<"$CF_LAST_OUTPUT" || cf_fail "psql's error was not captured"
if (cf_expect_exit 0 false) 2>/dev/null; then
    cf_fail "cf_expect_exit accepted a wrong exit status"
fi
if (cf_expect_output_contains absent echo present) 2>/dev/null; then
    cf_fail "cf_expect_output_contains accepted output without the text"
fi
cf_expect_output_contains present echo present

# The fixture's server comes back after a fast restart, data intact.
cf_pg_restart
[ "$(cf_psql "SELECT count(*) FROM probe")" = 2 ] || cf_fail "rows lost across cf_pg_restart"

# Certificates: shared by the build tree, signed by its CA, keys private.
cf_expect_exit 0 openssl verify -CAfile "$CF_CERTS/ca.crt" "$CF_CERTS/server.crt" \
    "$CF_CERTS/client-admin.crt"
[ "$(stat -c %a "$CF_CERTS/server.key")" = 600 ] || cf_fail "server.key is not mode 0600"

# The generated configuration and the documented example both set every
# key the daemon knows, and nothing else.
settings_keys >"$CF_WORK/settings.keys"
[ -s "$CF_WORK/settings.keys" ] || cf_fail "no keys found in server/settings.c"
for ini in "$CF_CONFIG" "$CF_SOURCE/deploy/callfloord.conf.example"; do
    ini_keys "$ini" >"$CF_WORK/ini.keys"
    diff -u "$CF_WORK/settings.keys" "$CF_WORK/ini.keys" >"$CF_WORK/keys.diff" ||
        cf_fail "the keys of $ini differ from server/settings.c: $(cat "$CF_WORK/keys.diff")"
done
grep -qx "listen = 127.0.0.1:$CF_PORT" "$CF_CONFIG" || cf_fail "the config does not listen on $CF_PORT"
[ "$CALLFLOOR_SERVER" = "127.0.0.1:$CF_PORT" ] || cf_fail "CALLFLOOR_SERVER is not the test's port"
if (exec 3<>"/dev/tcp/127.0.0.1/$CF_PORT") 2>/dev/null; then
    cf_fail "port $CF_PORT was handed out, but something listens on it"
fi

cf_done
