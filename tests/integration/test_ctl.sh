#!/usr/bin/env bash
# test_ctl: callfloorctl as an operator uses it: users and teams with
# Chinese names, every documented exit status (0 done, 1 refused by the
# server, 2 wrong usage, 3 no connection), --help everywhere, one JSON
# document with --json, passwords only from standard input or a file, and
# a refused change that leaves everything as it was.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup ctl

# Usage errors need no server at all: exit 2 with a pointer to --help.
cf_expect_exit 0 cf_ctl --help
grep -q "Exit status" <<<"$CF_LAST_OUTPUT" || cf_fail "--help does not document the exit statuses"
for cmd in "user" "user add" "user list" "user passwd" "user disable" "user enable" \
    "team" "team add" "team list" "status" "help"; do
    # shellcheck disable=SC2086 # the command's words are meant to split
    cf_expect_exit 0 cf_ctl $cmd --help
    grep -q "Usage:" <<<"$CF_LAST_OUTPUT" || cf_fail "'$cmd --help' printed no usage: $CF_LAST_OUTPUT"
done
cf_expect_exit 2 cf_ctl frobnicate
cf_expect_exit 2 cf_ctl user frobnicate
cf_expect_exit 2 cf_ctl user add
cf_expect_exit 2 cf_ctl user add eve
grep -q -- "--role" <<<"$CF_LAST_OUTPUT" || cf_fail "a missing --role is not named: $CF_LAST_OUTPUT"
cf_expect_exit 2 cf_ctl user add eve --role emperor
grep -q "agent" <<<"$CF_LAST_OUTPUT" || cf_fail "a bad role does not list the valid ones: $CF_LAST_OUTPUT"
cf_expect_exit 2 cf_ctl --no-such-option status
cf_expect_exit 2 cf_ctl --timeout never status

# No connection: exit 3, with what to check.
CALLFLOOR_SERVER=127.0.0.1:1 cf_expect_exit 3 cf_ctl status
json_out=$(CALLFLOOR_SERVER=127.0.0.1:1 cf_ctl --json status 2>/dev/null) && cf_fail "--json status without a server succeeded"
cf_json_check 'doc["error"]["code"] == "CONNECT_FAILED"' <<<"$json_out" ||
    cf_fail "--json connection failure is not one JSON error: $json_out"

cf_start_daemon

# The wrong CA: a TLS failure, exit 3, and a hint at --ca.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CF_WORK/other-ca.key" -out "$CF_WORK/other-ca.crt" \
    -subj "/CN=someone else's CA" -days 1 >/dev/null 2>&1
CALLFLOOR_CA=$CF_WORK/other-ca.crt cf_expect_exit 3 cf_ctl status
grep -q -- "--ca" <<<"$CF_LAST_OUTPUT" || cf_fail "a TLS failure does not point at --ca: $CF_LAST_OUTPUT"
# A CA file that is not there is named.
cf_expect_exit 3 cf_ctl --ca "$CF_WORK/missing-ca.crt" status
grep -q "missing-ca.crt" <<<"$CF_LAST_OUTPUT" || cf_fail "a missing CA file is not named: $CF_LAST_OUTPUT"

# Teams and users with Chinese names.
cf_expect_exit 0 cf_ctl team add 一组
cf_expect_exit 0 cf_ctl team add 二组
cf_expect_exit 1 cf_ctl team add 一组
grep -qi "exists" <<<"$CF_LAST_OUTPUT" || cf_fail "a duplicate team is not called one: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_ctl user add zhangwei --role agent --team 一组 --display-name 张伟 <<<'zhangwei-password-1'
cf_expect_exit 0 cf_ctl user add lina --role supervisor --team 二组 --display-name 李娜 <<<'lina-password-123'
cf_expect_exit 1 cf_ctl user add zhangwei --role agent <<<'zhangwei-password-1'
grep -qi "exists" <<<"$CF_LAST_OUTPUT" || cf_fail "a duplicate user is not called one: $CF_LAST_OUTPUT"
cf_expect_exit 1 cf_ctl user add wangfang --role agent --team 三组 <<<'someone-password-1'
grep -q "team add" <<<"$CF_LAST_OUTPUT" || cf_fail "an unknown team does not say how to make it: $CF_LAST_OUTPUT"
[ "$(cf_psql "SELECT count(*) FROM users WHERE username = 'wangfang'")" = 0 ] ||
    cf_fail "a refused user add left an account behind"

cf_expect_output_contains 张伟 cf_ctl user list
cf_expect_output_contains 一组 cf_ctl team list
cf_expect_exit 0 cf_ctl --json user list
cf_json_check '{u["username"]: u.get("display_name") for u in doc["users"]}["zhangwei"] == "张伟"' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "--json user list is wrong: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_ctl --json team list
cf_json_check 'sorted(t["name"] for t in doc["teams"]) == ["一组", "二组"]' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "--json team list is wrong: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_ctl --json status
cf_json_check 'isinstance(doc, dict) and "error" not in doc' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "--json status is not one JSON object: $CF_LAST_OUTPUT"

# A password that breaks the policy is refused and changes nothing.
cf_expect_exit 1 cf_ctl user passwd zhangwei <<<'short'
grep -q "10" <<<"$CF_LAST_OUTPUT" || cf_fail "a short password's refusal does not say the minimum: $CF_LAST_OUTPUT"
CALLFLOOR_USER=zhangwei CALLFLOOR_PASSWORD=zhangwei-password-1 cf_expect_exit 1 cf_ctl team list
grep -qi "needs the" <<<"$CF_LAST_OUTPUT" || cf_fail "the refused change broke the old password: $CF_LAST_OUTPUT"
cf_expect_exit 2 cf_ctl user passwd zhangwei </dev/null
cf_expect_exit 0 cf_ctl user passwd zhangwei <<<'zhangwei-password-2'
echo zhangwei-password-2 >"$CF_WORK/zw.password"
cf_expect_exit 1 cf_ctl --user zhangwei --password-file "$CF_WORK/zw.password" team list
grep -qi "needs the" <<<"$CF_LAST_OUTPUT" || cf_fail "--password-file did not log in: $CF_LAST_OUTPUT"

# Disable and enable, unknown users named.
cf_expect_exit 0 cf_ctl user disable zhangwei
cf_expect_exit 1 cf_ctl user disable nobody
grep -q "nobody" <<<"$CF_LAST_OUTPUT" || cf_fail "an unknown user is not named: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_ctl --json user list
cf_json_check '{u["username"]: u["disabled"] for u in doc["users"]}["zhangwei"] is True' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "user list does not show zhangwei disabled: $CF_LAST_OUTPUT"
cf_expect_exit 0 cf_ctl user enable zhangwei

# Options may also follow the command.
cf_expect_exit 0 cf_ctl status --server "$CALLFLOOR_SERVER" --ca "$CALLFLOOR_CA"
cf_done
