#!/usr/bin/env bash
# test_login: who may log in and what each role may do, through the real
# callfloorctl against the real daemon: the bootstrap admin (made once, never
# touched again), a wrong password and an unknown user (the same answer), a
# disabled account, the per-role permission table, changing one's own
# password only, no password on the command line, and no password in the
# daemon's log even at debug level.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# json_expect CODE COMMAND [ARG...]: like cf_expect_exit, but CF_LAST_OUTPUT
# is standard output alone, which must be one JSON document.
json_expect() {
    local want=$1 rc=0
    shift
    CF_LAST_OUTPUT=$("$@" 2>"$CF_WORK/json.err") || rc=$?
    [ "$rc" = "$want" ] ||
        cf_fail "expected exit status $want, got $rc from: $*
--- its output: $CF_LAST_OUTPUT $(cat "$CF_WORK/json.err")"
    python3 -m json.tool <<<"$CF_LAST_OUTPUT" >/dev/null ||
        cf_fail "standard output of '$*' is not one JSON document: $CF_LAST_OUTPUT"
}

# expect_denied COMMAND [ARG...]: refused for the role, exit 1.
expect_denied() {
    cf_expect_exit 1 "$@"
    grep -q "permission denied" <<<"$CF_LAST_OUTPUT" ||
        cf_fail "'$*' was not refused with 'permission denied': $CF_LAST_OUTPUT"
}

# logs_in_as_agent USER PASSWORD: the login succeeds, which an agent sees
# as the permission refusal that only a logged-in session gets.
logs_in_as_agent() {
    CALLFLOOR_USER=$1 CALLFLOOR_PASSWORD=$2 expect_denied cf_ctl team list
}

password_hash() {
    cf_psql "SELECT password_hash FROM users WHERE username = '$1'"
}

cf_setup login
# Debug level logs the most; still no password may appear.
cf_start_daemon --set log.level=debug

# ---- the first admin, from the bootstrap password file ----
cf_expect_output_contains "$CALLFLOOR_SERVER" cf_ctl status
grep -q "schema version" <<<"$CF_LAST_OUTPUT" || cf_fail "status shows no schema version: $CF_LAST_OUTPUT"
[ "$(cf_psql "SELECT string_agg(username, ',') FROM users WHERE role = 'admin'")" = admin ] ||
    cf_fail "the bootstrap did not make exactly one admin named admin"
first_hash=$(password_hash admin)
case "$first_hash" in
"\$argon2id\$v=19\$m=19456,t=2,p=1\$"*) ;;
*) cf_fail "the admin's password is not an argon2id PHC string with OWASP parameters" ;;
esac
[ "$(grep -c "created the first admin account 'admin'" "$CF_LOG")" = 1 ] ||
    cf_fail "the first start did not log the creation of the first admin"

cf_expect_exit 0 cf_ctl team add 一组
cf_add_user ann agent 一组
cf_add_user bob agent 一组
cf_add_user sue supervisor 一组

# ---- wrong password, unknown user: one answer ----
CALLFLOOR_USER=ann CALLFLOOR_PASSWORD=not-her-password cf_expect_exit 1 cf_ctl status
wrong=$CF_LAST_OUTPUT
grep -q "invalid user name or password" <<<"$wrong" || cf_fail "a wrong password did not say so: $wrong"
CALLFLOOR_USER=nobody CALLFLOOR_PASSWORD=not-her-password cf_expect_exit 1 cf_ctl status
[ "$CF_LAST_OUTPUT" = "$wrong" ] || cf_fail "an unknown user is answered differently from a wrong password:
  unknown: $CF_LAST_OUTPUT
  wrong:   $wrong"
CALLFLOOR_USER=ann CALLFLOOR_PASSWORD=not-her-password json_expect 1 cf_ctl --json status
wrong_json=$CF_LAST_OUTPUT
cf_json_check 'doc["error"]["code"] == "INVALID_CREDENTIALS"' <<<"$wrong_json" ||
    cf_fail "--json login failure is not an INVALID_CREDENTIALS error"
CALLFLOOR_USER=nobody CALLFLOOR_PASSWORD=not-her-password json_expect 1 cf_ctl --json status
[ "$CF_LAST_OUTPUT" = "$wrong_json" ] || cf_fail "--json: an unknown user differs from a wrong password:
  unknown: $CF_LAST_OUTPUT
  wrong:   $wrong_json"
# People type their password into the user name field; such a name must not
# end up in the log.
CALLFLOOR_USER=typed.my.secret.here CALLFLOOR_PASSWORD=not-her-password cf_expect_exit 1 cf_ctl status

# ---- the password never comes from the command line ----
cf_expect_exit 0 cf_ctl --help
if grep -qE -- '--password([^-]|$)' <<<"$CF_LAST_OUTPUT"; then
    cf_fail "--help offers a --password option"
fi
cf_expect_exit 2 cf_ctl --password admin-password-123 status
cf_expect_exit 2 cf_ctl --password=admin-password-123 status
cf_expect_exit 2 cf_ctl -p admin-password-123 status
cf_expect_exit 2 cf_ctl status --password admin-password-123
cf_expect_exit 2 cf_ctl --password-file /dev/null status
grep -q "empty" <<<"$CF_LAST_OUTPUT" || cf_fail "an empty password file is not explained: $CF_LAST_OUTPUT"

# ---- agents: refused every admin operation, with the code in --json ----
for cmd in "status" "user list" "team list" "team add 二组" "user disable bob" "user enable bob"; do
    # shellcheck disable=SC2086 # the command's words are meant to split
    cf_as ann expect_denied cf_ctl $cmd
    # shellcheck disable=SC2086
    cf_as ann json_expect 1 cf_ctl --json $cmd
    cf_json_check 'doc["error"]["code"] == "PERMISSION_DENIED"' <<<"$CF_LAST_OUTPUT" ||
        cf_fail "--json refusal of '$cmd' is not PERMISSION_DENIED"
done
cf_as ann expect_denied cf_ctl user add eve --role agent <<<'new-user-password-1'
cf_as ann json_expect 1 cf_ctl --json user add eve --role admin <<<'new-user-password-1'
cf_json_check 'doc["error"]["code"] == "PERMISSION_DENIED"' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "--json refusal of 'user add' is not PERMISSION_DENIED"
[ "$(cf_psql "SELECT count(*) FROM users WHERE username = 'eve'")" = 0 ] ||
    cf_fail "an agent's refused user add created the account"
[ "$(cf_psql "SELECT count(*) FROM teams WHERE name = '二组'")" = 0 ] ||
    cf_fail "an agent's refused team add created the team"
[ "$(cf_psql "SELECT disabled FROM users WHERE username = 'bob'")" = f ] ||
    cf_fail "an agent's refused user disable disabled bob"

# ---- supervisors: the floor's status and the teams, no accounts ----
cf_as sue cf_expect_output_contains "一组" cf_ctl team list
cf_as sue cf_expect_output_contains "schema version" cf_ctl status
cf_as sue expect_denied cf_ctl user add eve --role agent <<<'new-user-password-1'
cf_as sue expect_denied cf_ctl user list
cf_as sue expect_denied cf_ctl team add 二组

# ---- one's own password, and nobody else's ----
bob_hash=$(password_hash bob)
cf_as ann expect_denied cf_ctl user passwd bob <<<'bob-was-here-123'
grep -q "only your own password" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "the refusal does not say whose password may be changed: $CF_LAST_OUTPUT"
cf_as sue expect_denied cf_ctl user passwd bob <<<'bob-was-here-123'
[ "$(password_hash bob)" = "$bob_hash" ] || cf_fail "bob's password changed although the change was refused"
logs_in_as_agent bob bob-password-123
ann_hash=$(password_hash ann)
cf_as ann cf_expect_exit 0 cf_ctl user passwd ann <<<'ann-new-password-456'
[ "$(password_hash ann)" != "$ann_hash" ] || cf_fail "ann's own password change stored nothing"
CALLFLOOR_USER=ann CALLFLOOR_PASSWORD=ann-password-123 cf_expect_exit 1 cf_ctl team list
grep -q "invalid user name or password" <<<"$CF_LAST_OUTPUT" || cf_fail "ann's old password still works: $CF_LAST_OUTPUT"
logs_in_as_agent ann ann-new-password-456

# ---- a disabled account: refused and told so, until enabled again ----
cf_expect_exit 0 cf_ctl user disable bob
cf_as bob cf_expect_exit 1 cf_ctl team list
grep -q "disabled" <<<"$CF_LAST_OUTPUT" || cf_fail "a disabled account was not told so: $CF_LAST_OUTPUT"
cf_as bob json_expect 1 cf_ctl --json team list
cf_json_check 'doc["error"]["code"] == "ACCOUNT_DISABLED"' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "--json: a disabled account is not ACCOUNT_DISABLED"
# Only the right password learns that the account exists and is disabled.
CALLFLOOR_USER=bob CALLFLOOR_PASSWORD=not-bobs-password cf_expect_exit 1 cf_ctl team list
[ "$CF_LAST_OUTPUT" = "$wrong" ] || cf_fail "a wrong password for a disabled account says more: $CF_LAST_OUTPUT"
cf_expect_exit 1 cf_ctl user disable admin
grep -q "your own account" <<<"$CF_LAST_OUTPUT" || cf_fail "an admin could disable themselves: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_ctl user enable bob
logs_in_as_agent bob bob-password-123

# ---- later starts leave the first admin alone ----
cf_stop_daemon
echo "another-admin-password-789" >"$CF_WORK/admin.password"
cf_start_daemon
[ "$(password_hash admin)" = "$first_hash" ] || cf_fail "the second start changed the bootstrap admin"
[ "$(cf_psql "SELECT count(*) FROM users WHERE role = 'admin'")" = 1 ] ||
    cf_fail "the second start made another admin"
CALLFLOOR_PASSWORD=another-admin-password-789 cf_expect_exit 1 cf_ctl status
cf_expect_exit 0 cf_ctl status
[ "$(grep -c "created the first admin account" "$CF_LOG")" = 1 ] ||
    cf_fail "a later start logged the creation of a first admin again"
# Once an admin exists the file is not needed at all.
cf_stop_daemon
rm "$CF_WORK/admin.password"
cf_start_daemon
cf_expect_exit 0 cf_ctl status

# ---- repeated failures wait, alike for any name, known or not ----
for name in sue ghost; do
    for _ in 1 2 3; do
        CALLFLOOR_USER=$name CALLFLOOR_PASSWORD=wrong-guess-4 cf_expect_exit 1 cf_ctl status
    done
    CALLFLOOR_USER=$name CALLFLOOR_PASSWORD=$name$CF_PASSWORD_SUFFIX json_expect 1 cf_ctl --json status
    cf_json_check 'doc["error"]["code"] == "RATE_LIMITED" and "too many failed logins" in doc["error"]["message"]' \
        <<<"$CF_LAST_OUTPUT" || cf_fail "$name was not made to wait after 3 failures: $CF_LAST_OUTPUT"
done
sleep 1.2
cf_as sue cf_expect_exit 0 cf_ctl team list
cf_as sue cf_expect_exit 0 cf_ctl team list

# ---- the log holds no password ----
for secret in admin-password-123 ann-password-123 ann-new-password-456 bob-password-123 \
    sue-password-123 bob-was-here-123 new-user-password-1 not-her-password not-bobs-password \
    typed.my.secret.here another-admin-password-789 wrong-guess-4; do
    ! grep -qF -- "$secret" "$CF_LOG" || cf_fail "the daemon logged a password: $(grep -F -- "$secret" "$CF_LOG")"
done
grep -q "failed login" "$CF_LOG" || cf_fail "failed logins are not logged at all"
cf_done
