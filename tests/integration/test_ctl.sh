#!/usr/bin/env bash
# test_ctl: callfloorctl as an operator uses it: users and teams with
# Chinese names, every documented exit status (0 done, 1 refused by the
# server, 2 wrong usage, 3 no connection), --help on every command, one JSON
# document on standard output with --json, connection settings from flags,
# the environment and files, and new passwords only from standard input,
# where a refused one changes nothing.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The assertions read the English messages.
export LC_ALL=C.UTF-8 LANGUAGE=
CTL=$CF_BUILD/bin/callfloorctl

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

# json_error CODE ERROR COMMAND [ARG...]: exits CODE with {"error":{"code":ERROR}}.
json_error() {
    local code=$1 error=$2
    shift 2
    json_expect "$code" "$@"
    cf_json_check "doc['error']['code'] == '$error' and doc['error']['message'] != ''" \
        <<<"$CF_LAST_OUTPUT" || cf_fail "'$*' did not print the error $error"
}

expect_in_output() {
    grep -qF -- "$1" <<<"$CF_LAST_OUTPUT" || cf_fail "$2: $CF_LAST_OUTPUT"
}

# on_terminal PROMPT ANSWER [PROMPT ANSWER]... -- COMMAND [ARG...]: runs
# COMMAND on a new pseudo terminal and types each ANSWER and Enter once its
# PROMPT has appeared (typing earlier would be flushed with the prompt). It
# prints what the terminal showed and exits with the command's status.
on_terminal() {
    python3 -c '
import os, pty, sys, time
args = sys.argv[1:]
sep = args.index("--")
pid, fd = pty.fork()
if pid == 0:
    os.execvp(args[sep + 1], args[sep + 1:])
shown = b""
def read_more():
    global shown
    try:
        data = os.read(fd, 4096)
    except OSError:
        data = b""
    shown += data
    return data != b""
for prompt, answer in zip(args[0:sep:2], args[1:sep:2]):
    deadline = time.time() + 30
    while prompt.encode() not in shown and time.time() < deadline and read_more():
        pass
    time.sleep(0.2)
    os.write(fd, answer.encode() + b"\r")
while read_more():
    pass
sys.stdout.write(shown.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
' "$@"
}

password_hash() {
    cf_psql "SELECT password_hash FROM users WHERE username = '$1'"
}

# logs_in USER PASSWORD: an agent's login succeeds (only a logged-in session
# gets the permission refusal).
logs_in() {
    CALLFLOOR_USER=$1 CALLFLOOR_PASSWORD=$2 cf_expect_exit 1 cf_ctl team list
    expect_in_output "permission denied" "$1 could not log in with the password"
}

# The command words listed by --help, one command a line ("user add").
listed_commands() {
    sed -n '/^Commands:/,/^$/p' <<<"$1" | grep '^  [a-z]' |
        awk '{ w = $1; for (i = 2; i <= NF && $i ~ /^[a-z]+$/; i++) w = w " " $i; print w }'
}

cf_setup ctl

# ---- usage: no server needed, exit 2, never 3 ----
export CALLFLOOR_SERVER=127.0.0.1:1
cf_expect_exit 0 cf_ctl --help
main_help=$CF_LAST_OUTPUT
expect_in_output "Exit status" "--help does not document the exit statuses"
expect_in_output "CALLFLOOR_SERVER" "--help does not name the environment variables"
cf_expect_output_contains "callfloorctl" cf_ctl --version
commands=$(listed_commands "$main_help")
for cmd in "user add" "user list" "user passwd" "user disable" "team add" "team list" "status"; do
    grep -qx "$cmd" <<<"$commands" || cf_fail "--help does not list '$cmd'"
done
while read -r cmd; do
    # shellcheck disable=SC2086 # the command's words are meant to split
    cf_expect_exit 0 cf_ctl $cmd --help
    expect_in_output "Usage: callfloorctl [OPTIONS] " "'$cmd --help' printed no usage"
    [ "$cmd" != help ] || continue
    expect_in_output "Usage: callfloorctl [OPTIONS] $cmd" "'$cmd --help' is not about $cmd"
    # shellcheck disable=SC2086
    cf_expect_exit 0 cf_ctl help $cmd
    expect_in_output "Usage: callfloorctl [OPTIONS] $cmd" "'help $cmd' printed no usage"
done <<<"$commands"
while read -r group; do
    cf_expect_exit 0 cf_ctl "$group" --help
    expect_in_output "Usage: callfloorctl [OPTIONS] $group COMMAND" "'$group --help' printed no usage"
done < <(awk 'NF > 1 { print $1 }' <<<"$commands" | sort -u)
cf_expect_exit 0 cf_ctl user add --help
expect_in_output "standard input" "'user add --help' does not say where the password comes from"
cf_expect_exit 2 cf_ctl
cf_expect_exit 2 cf_ctl frobnicate
expect_in_output "unknown command 'frobnicate'" "an unknown command is not named"
cf_expect_exit 2 cf_ctl user frobnicate
cf_expect_exit 2 cf_ctl user
cf_expect_exit 2 cf_ctl help frobnicate
cf_expect_exit 2 cf_ctl user add
expect_in_output "needs a name" "a missing name is not called one"
cf_expect_exit 2 cf_ctl user add eve
expect_in_output "--role" "a missing --role is not named"
cf_expect_exit 2 cf_ctl user add eve --role emperor
expect_in_output "agent, supervisor or admin" "a bad role does not list the valid ones"
cf_expect_exit 2 cf_ctl user add eve --role
cf_expect_exit 2 cf_ctl user add eve --role agent --role admin
cf_expect_exit 2 cf_ctl user add eve --role agent --colour blue
cf_expect_exit 2 cf_ctl team add
cf_expect_exit 2 cf_ctl team add 一组 二组
cf_expect_exit 2 cf_ctl user passwd
cf_expect_exit 2 cf_ctl user disable
cf_expect_exit 2 cf_ctl user list everyone
cf_expect_exit 2 cf_ctl --no-such-option status
cf_expect_exit 2 cf_ctl --timeout never status
cf_expect_exit 2 cf_ctl --server
json_error 2 USAGE cf_ctl --json user add eve --role emperor
json_error 2 USAGE cf_ctl --json frobnicate
# Missing credentials are a usage error too.
CALLFLOOR_USER='' cf_expect_exit 2 cf_ctl status
expect_in_output "--user" "a missing user name does not point at --user"
CALLFLOOR_PASSWORD='' cf_expect_exit 2 cf_ctl status </dev/null
expect_in_output "CALLFLOOR_PASSWORD" "a missing password does not say where to give it"
cf_expect_exit 2 cf_ctl --password-file "$CF_WORK/missing.password" status
expect_in_output "missing.password" "a missing password file is not named"

# ---- no connection: exit 3, with what to check ----
cf_expect_exit 3 cf_ctl status
expect_in_output "--server" "a refused connection does not point at --server"
json_error 3 CONNECT_FAILED cf_ctl --json status
cf_expect_exit 3 cf_ctl --server no-such-host.invalid:7443 status
expect_in_output "no-such-host.invalid" "an unknown host is not named"

SERVER=127.0.0.1:$CF_PORT
export CALLFLOOR_SERVER=$SERVER
cf_start_daemon --set log.level=debug

# The wrong CA: a TLS failure, exit 3, and what to do about it.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CF_WORK/other-ca.key" -out "$CF_WORK/other-ca.crt" \
    -subj "/CN=someone else's CA" -days 1 >/dev/null 2>&1
CALLFLOOR_CA=$CF_WORK/other-ca.crt cf_expect_exit 3 cf_ctl status
expect_in_output "--ca" "a TLS failure does not point at --ca"
expect_in_output "certificate verify failed" "a TLS failure does not say what failed"
CALLFLOOR_CA=$CF_WORK/other-ca.crt json_error 3 TLS_FAILED cf_ctl --json status
cf_expect_exit 3 cf_ctl --ca "$CF_WORK/missing-ca.crt" status
expect_in_output "missing-ca.crt" "a missing CA file is not named"

# ---- teams and users with Chinese names ----
cf_expect_output_contains "一组" cf_ctl team add 一组 --description 信用卡一组
json_expect 0 cf_ctl --json team add 二组
cf_json_check 'doc["team"]["name"] == "二组" and doc["team"]["id"] > 0' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "--json team add does not show the team"
cf_expect_exit 1 cf_ctl team add 一组
expect_in_output "already exists" "a duplicate team is not called one"
json_error 1 ALREADY_EXISTS cf_ctl --json team add 一组
[ "$(cf_psql "SELECT count(*) FROM teams")" = 2 ] || cf_fail "a duplicate team add changed the teams"

cf_expect_exit 0 cf_ctl user add zhangwei --role agent --team 一组 --display-name 张伟 <<<'zhangwei-password-1'
expect_in_output "zhangwei" "user add does not name the new account"
cf_expect_exit 0 cf_ctl user add lina --role supervisor --team 二组 --display-name 李娜 <<<'lina-password-123'
json_expect 0 cf_ctl --json user add wangxm --role agent --display-name '王"小\明' <<<'wangxm-password-1'
cf_json_check 'doc["user"]["username"] == "wangxm" and doc["user"]["display_name"] == "王\"小\\明"' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "--json user add does not show the user as given"
cf_expect_exit 1 cf_ctl user add zhangwei --role admin <<<'zhangwei-password-9'
expect_in_output "already exists" "a duplicate user is not called one"
json_error 1 ALREADY_EXISTS cf_ctl --json user add zhangwei --role agent <<<'zhangwei-password-9'
[ "$(cf_psql "SELECT role FROM users WHERE username = 'zhangwei'")" = agent ] ||
    cf_fail "a duplicate user add changed the account"
cf_expect_exit 1 cf_ctl user add wangfang --role agent --team 三组 <<<'someone-password-1'
expect_in_output "三组" "an unknown team is not named"
expect_in_output "team add" "an unknown team does not say how to make it"
json_error 1 NOT_FOUND cf_ctl --json user add wangfang --role agent --team 三组 <<<'someone-password-1'
[ "$(cf_psql "SELECT count(*) FROM users WHERE username = 'wangfang'")" = 0 ] ||
    cf_fail "a refused user add left an account behind"
cf_expect_exit 1 cf_ctl user add WangFang --role agent <<<'someone-password-1'
expect_in_output "a-z" "an invalid user name does not say what is valid"

cf_expect_output_contains 张伟 cf_ctl user list
expect_in_output 李娜 "user list does not show every display name"
cf_expect_output_contains 信用卡一组 cf_ctl team list
expect_in_output 二组 "team list does not show every team"
json_expect 0 cf_ctl --json user list
cf_json_check '{u["username"]: (u["display_name"], u["role"], u["team"], u["disabled"]) for u in doc["users"]} == {
    "admin": ("", "admin", None, False), "zhangwei": ("张伟", "agent", "一组", False),
    "lina": ("李娜", "supervisor", "二组", False), "wangxm": ("王\"小\\明", "agent", None, False)}' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "--json user list is wrong"
json_expect 0 cf_ctl --json team list
cf_json_check '{t["name"]: (t["description"], t["members"]) for t in doc["teams"]} == {
    "一组": ("信用卡一组", 1), "二组": ("", 1)}' <<<"$CF_LAST_OUTPUT" || cf_fail "--json team list is wrong"
json_expect 0 cf_ctl --json status
cf_json_check 'doc["db_ok"] is True and doc["schema_version"] > 0 and doc["server_version"]' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "--json status is wrong"

# ---- new passwords: standard input only, refused ones change nothing ----
zw_hash=$(password_hash zhangwei)
unchanged() {
    [ "$(password_hash zhangwei)" = "$zw_hash" ] || cf_fail "a refused password change changed the password"
    logs_in zhangwei zhangwei-password-1
}
cf_expect_exit 1 cf_ctl user passwd zhangwei <<<'short'
expect_in_output "at least 10 characters" "a short password's refusal does not say the minimum"
unchanged
json_error 1 INVALID_ARGUMENT cf_ctl --json user passwd zhangwei <<<'ninechars'
unchanged
head -c 1025 /dev/zero | tr '\0' x >"$CF_WORK/long.password"
cf_expect_exit 2 cf_ctl user passwd zhangwei <"$CF_WORK/long.password"
expect_in_output "longer than 1024 bytes" "an overlong password is not refused with the limit"
unchanged
cf_expect_exit 2 cf_ctl user passwd zhangwei </dev/null
expect_in_output "standard input" "a missing new password does not say where to give it"
unchanged
cf_expect_exit 1 cf_ctl user add shorty --role agent <<<'short'
[ "$(cf_psql "SELECT count(*) FROM users WHERE username = 'shorty'")" = 0 ] ||
    cf_fail "a user add with a refused password created the account"
cf_expect_exit 1 cf_ctl user passwd nobody <<<'nobody-password-1'
expect_in_output "nobody" "an unknown user is not named"
# Ten characters are enough, counted as characters, not bytes; only the
# first line of standard input counts.
printf '密码密码密码密码密码\nsecond-line-ignored\n' | cf_expect_exit 0 cf_ctl user passwd zhangwei
[ "$(password_hash zhangwei)" != "$zw_hash" ] || cf_fail "the password change stored nothing"
logs_in zhangwei 密码密码密码密码密码
json_expect 0 cf_ctl --json user passwd zhangwei <<<'zhangwei-password-2'
cf_json_check 'doc == {"ok": True, "username": "zhangwei"}' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "--json user passwd is wrong"
CALLFLOOR_USER=zhangwei CALLFLOOR_PASSWORD=密码密码密码密码密码 cf_expect_exit 1 cf_ctl team list
expect_in_output "invalid user name or password" "the replaced password still logs in"

# On a terminal the new password is asked for twice, not shown, and the two
# must match; the login password is asked for when none is given.
cf_expect_exit 2 on_terminal "New password" zhangwei-password-3 "Repeat" zhangwei-password-4 -- \
    "$CTL" user passwd zhangwei
expect_in_output "differ" "two different passwords on a terminal are not refused"
CALLFLOOR_USER=zhangwei CALLFLOOR_PASSWORD=zhangwei-password-2 cf_expect_exit 1 cf_ctl team list
expect_in_output "permission denied" "a refused change on a terminal changed the password"
cf_expect_exit 0 on_terminal "New password for zhangwei" zhangwei-password-3 \
    "Repeat the new password" zhangwei-password-3 -- "$CTL" user passwd zhangwei
expect_in_output "Changed the password of zhangwei" "the change on a terminal was not confirmed"
if grep -q "zhangwei-password-3" <<<"$CF_LAST_OUTPUT"; then
    cf_fail "the new password was shown on the terminal: $CF_LAST_OUTPUT"
fi
logs_in zhangwei zhangwei-password-3
CALLFLOOR_PASSWORD='' cf_expect_exit 0 on_terminal "Password for admin on $SERVER" \
    admin-password-123 -- "$CTL" status
expect_in_output "schema version" "a password typed at the prompt did not log in"
if grep -q "admin-password-123" <<<"$CF_LAST_OUTPUT"; then
    cf_fail "the login password was shown on the terminal: $CF_LAST_OUTPUT"
fi
cf_expect_exit 0 cf_ctl user passwd zhangwei <<<'zhangwei-password-2'

# ---- disable and enable ----
json_expect 0 cf_ctl --json user disable zhangwei
cf_json_check 'doc == {"ok": True, "username": "zhangwei", "disabled": True}' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "--json user disable is wrong"
json_expect 0 cf_ctl --json user list
cf_json_check '{u["username"]: u["disabled"] for u in doc["users"]}["zhangwei"] is True' \
    <<<"$CF_LAST_OUTPUT" || cf_fail "user list does not show zhangwei disabled"
cf_expect_output_contains disabled cf_ctl user list
json_expect 0 cf_ctl --json team list
cf_json_check '{t["name"]: t["members"] for t in doc["teams"]}["一组"] == 0' <<<"$CF_LAST_OUTPUT" ||
    cf_fail "team list still counts a disabled member"
CALLFLOOR_USER=zhangwei CALLFLOOR_PASSWORD=zhangwei-password-2 cf_expect_exit 1 cf_ctl team list
expect_in_output "disabled" "a disabled account is not told so"
cf_expect_exit 1 cf_ctl user disable nobody
expect_in_output "nobody" "an unknown user is not named"
json_error 1 NOT_FOUND cf_ctl --json user enable nobody
cf_expect_output_contains "Enabled zhangwei" cf_ctl user enable zhangwei
logs_in zhangwei zhangwei-password-2

# ---- where the connection settings come from ----
echo admin-password-123 >"$CF_WORK/admin.file"
echo not-the-password >"$CF_WORK/wrong.file"
no_env=(env -u CALLFLOOR_SERVER -u CALLFLOOR_CA -u CALLFLOOR_USER -u CALLFLOOR_PASSWORD)
cf_expect_exit 0 "${no_env[@]}" "$CTL" --server "$SERVER" --ca "$CF_CERTS/ca.crt" \
    --user admin --password-file "$CF_WORK/admin.file" status
cf_expect_exit 0 "${no_env[@]}" "$CTL" --server="$SERVER" --ca="$CF_CERTS/ca.crt" \
    --user=admin --password-file="$CF_WORK/admin.file" status
cf_expect_exit 0 "${no_env[@]}" "$CTL" status --server "$SERVER" --ca "$CF_CERTS/ca.crt" \
    --user admin --password-file "$CF_WORK/admin.file"
# Without --ca the system's CAs do not know the test CA.
cf_expect_exit 3 "${no_env[@]}" CALLFLOOR_USER=admin "$CTL" --server "$SERVER" \
    --password-file "$CF_WORK/admin.file" status
cf_expect_exit 0 "${no_env[@]}" CALLFLOOR_SERVER="$SERVER" CALLFLOOR_CA="$CF_CERTS/ca.crt" \
    CALLFLOOR_USER=admin CALLFLOOR_PASSWORD=admin-password-123 "$CTL" status
# Flags win over the environment, the password file over CALLFLOOR_PASSWORD.
CALLFLOOR_SERVER=127.0.0.1:1 CALLFLOOR_CA=$CF_WORK/other-ca.crt CALLFLOOR_USER=nobody \
    cf_expect_exit 0 cf_ctl --server "$SERVER" --ca "$CF_CERTS/ca.crt" --user admin status
CALLFLOOR_PASSWORD=not-the-password cf_expect_exit 0 cf_ctl --password-file "$CF_WORK/admin.file" status
cf_expect_exit 1 cf_ctl --password-file "$CF_WORK/wrong.file" status
expect_in_output "invalid user name or password" "--password-file was not used"

# ---- the log holds no password ----
for secret in admin-password-123 zhangwei-password-1 zhangwei-password-2 zhangwei-password-9 \
    lina-password-123 wangxm-password-1 someone-password-1 nobody-password-1 ninechars \
    zhangwei-password-3 zhangwei-password-4 密码密码密码密码密码 not-the-password; do
    ! grep -qF -- "$secret" "$CF_LOG" || cf_fail "the daemon logged a password: $(grep -F -- "$secret" "$CF_LOG")"
done
cf_done
