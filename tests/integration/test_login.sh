#!/usr/bin/env bash
# test_login: who may log in and what each role may do, through the real
# callfloorctl against the real daemon: the bootstrap admin, a wrong
# password and an unknown user (same answer), a disabled account, the
# per-role permission table, and changing one's own password only.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup login
cf_start_daemon

# The first admin comes from the bootstrap password file, once.
cf_expect_output_contains "admin" cf_ctl user list
[ "$(cf_psql "SELECT count(*) FROM users WHERE role = 'admin'")" = 1 ] ||
    cf_fail "the bootstrap did not make exactly one admin"
first_hash=$(cf_psql "SELECT password_hash FROM users WHERE username = 'admin'")
case "$first_hash" in
'$argon2id$v=19$m=19456,t=2,p=1$'*) ;;
*) cf_fail "the admin's password is not an argon2id PHC string with OWASP parameters" ;;
esac

cf_ctl team add 一组 >/dev/null
cf_add_user ann agent 一组
cf_add_user bob agent 一组
cf_add_user sue supervisor 一组

# A wrong password and an unknown user get the same refusal, exit 1.
CALLFLOOR_USER=ann CALLFLOOR_PASSWORD=not-her-password cf_expect_exit 1 cf_ctl status
wrong=$CF_LAST_OUTPUT
grep -q "invalid user name or password" <<<"$wrong" ||
    cf_fail "a wrong password did not say so: $wrong"
CALLFLOOR_USER=nobody CALLFLOOR_PASSWORD=whatever-password cf_expect_exit 1 cf_ctl status
[ "${CF_LAST_OUTPUT//nobody/ann}" = "$wrong" ] ||
    cf_fail "an unknown user is answered differently from a wrong password:
  unknown: $CF_LAST_OUTPUT
  wrong:   $wrong"
echo not-her-password >"$CF_WORK/wrong.password"
cf_expect_exit 1 cf_ctl --json --user ann --password-file "$CF_WORK/wrong.password" status
grep -q '"code":"INVALID_CREDENTIALS"' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "--json login failure is not a JSON error: $CF_LAST_OUTPUT"
cf_expect_exit 2 cf_ctl --user ann --password-file /dev/null status

# The password is never taken from the command line.
cf_expect_exit 2 cf_ctl --password ann-password-123 status

# Agents are refused every admin operation with PERMISSION_DENIED.
for cmd in "status" "user list" "team add 二组" "user disable bob"; do
    # shellcheck disable=SC2086 # the command's words are meant to split
    cf_as ann cf_expect_exit 1 cf_ctl $cmd
    grep -qi "permission\|needs the" <<<"$CF_LAST_OUTPUT" ||
        cf_fail "agent running '$cmd' was not refused for permission: $CF_LAST_OUTPUT"
done
cf_as ann cf_expect_exit 1 cf_ctl user add eve --role agent <<<'new-user-password-1'
cf_as ann cf_expect_exit 1 cf_ctl --json user list
cf_json_check 'doc["error"]["code"] == "PERMISSION_DENIED"' <<<"$CF_LAST_OUTPUT" || cf_fail "--json refusal is not {\"error\":{\"code\":\"PERMISSION_DENIED\"}}: $CF_LAST_OUTPUT"
[ "$(cf_psql "SELECT count(*) FROM users WHERE username = 'eve'")" = 0 ] ||
    cf_fail "an agent's refused user add created the account"

# A supervisor sees the floor's status and the teams, but manages no accounts.
cf_as sue cf_expect_output_contains "一组" cf_ctl team list
cf_as sue cf_expect_exit 0 cf_ctl status
cf_as sue cf_expect_exit 1 cf_ctl user add eve --role agent <<<'new-user-password-1'

# Anyone may change their own password, and nobody else's.
cf_as ann cf_expect_exit 1 cf_ctl user passwd bob <<<'bob-was-here-123'
cf_as bob cf_expect_exit 1 cf_ctl team list
grep -qi "permission\|needs the" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "bob's password changed although ann was refused: $CF_LAST_OUTPUT"
cf_as ann cf_expect_exit 0 cf_ctl user passwd ann <<<'ann-new-password-456'
cf_as ann cf_expect_exit 1 cf_ctl team list
CALLFLOOR_USER=ann CALLFLOOR_PASSWORD=ann-new-password-456 cf_expect_exit 1 cf_ctl user list
grep -qi "permission\|needs the" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "the new password did not log ann in: $CF_LAST_OUTPUT"

# A disabled account cannot log in, and says so; enabled again, it can.
cf_expect_exit 0 cf_ctl user disable bob
cf_as bob cf_expect_exit 1 cf_ctl team list
grep -qi "disabled" <<<"$CF_LAST_OUTPUT" || cf_fail "a disabled account was not told so: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_ctl user enable bob
cf_as bob cf_expect_exit 1 cf_ctl user list
grep -qi "permission\|needs the" <<<"$CF_LAST_OUTPUT" ||
    cf_fail "bob could not log in after being enabled: $CF_LAST_OUTPUT"

# No password reached the daemon's log.
for secret in admin-password-123 ann-password-123 ann-new-password-456 not-her-password; do
    ! grep -qF -- "$secret" "$CF_LOG" || cf_fail "the daemon logged a password"
done

# A second start leaves the bootstrap admin as it is.
cf_stop_daemon
cf_start_daemon
[ "$(cf_psql "SELECT password_hash FROM users WHERE username = 'admin'")" = "$first_hash" ] ||
    cf_fail "the second start changed the bootstrap admin"
cf_done
