#!/usr/bin/env bash
# test_audit: the tamper-evident audit log. Admin actions, an import, a
# permission change, do-not-call changes, a phone reveal and logins (good,
# wrong password, unknown name) are rows with their actor; the typed name
# of an unknown account and full phone numbers are nowhere in it. `audit
# verify` holds, then names the first bad row after each kind of tampering
# (a row edited, deleted, moved, the end cut off after a checkpoint); an
# exported checkpoint verifies with openssl alone. A purge of personal
# data reaches the cards of leads the hopper holds.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup audit
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_ctl product add CB01 --name 畅享返现卡 --apr 18.25 >/dev/null
cf_ctl campaign add 春季 --product CB01 --team 一组 >/dev/null
cf_add_user a1 agent 一组
cf_add_user sue supervisor 一组
cf_ctl user disable a1 >/dev/null
cf_ctl user enable a1 >/dev/null
cf_ctl dnc add 13912345678 --reason 客户要求 >/dev/null
cf_ctl dnc remove 13912345678 >/dev/null
cf_ctl campaign pause 春季 >/dev/null
cf_ctl campaign resume 春季 >/dev/null
printf 'name,phone,time_zone\n客户1,13800000001,%s\n客户2,13800000002,%s\n' "$(cf_zone_at 12)" "$(cf_zone_at 12)" \
    >"$CF_WORK/leads.csv"
cf_ctl leads import 春季 "$CF_WORK/leads.csv" >/dev/null
CALLFLOOR_USER=a1 CALLFLOOR_PASSWORD=wrong cf_expect_exit 1 cf_ctl status
CALLFLOOR_USER=hunter2typo CALLFLOOR_PASSWORD=x cf_expect_exit 1 cf_ctl status
cf_agent a1 < <(printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"dial"}' \
    '{"cmd":"outcome","disposition":"NO_ANSWER"}')
[ "$CF_AGENT_RC" = 0 ] || cf_fail "a1's call failed (see $CF_WORK/a1.out)"

cf_expect_exit 0 cf_ctl --json audit list --limit 1000
printf '%s\n' "$CF_LAST_OUTPUT" >"$CF_WORK/list.json"
python3 - "$CF_WORK/list.json" <<'PY' || cf_fail "the audit log lacks rows: $(cat "$CF_WORK/list.json")"
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
have = {(r["actor"], r["action"], r["target"]) for r in rows}
want = [("admin", "team.add", "一组"), ("admin", "user.add", "a1"), ("admin", "user.disable", "a1"),
        ("admin", "user.enable", "a1"), ("admin", "dnc.add", "139****5678"),
        ("admin", "dnc.remove", "139****5678"), ("admin", "campaign.pause", "春季"),
        ("admin", "leads.import", "leads"), ("a1", "login.failed", "a1"),
        ("(unknown)", "login.failed", "(no such account)"), ("a1", "login", "a1")]
missing = [w for w in want if w not in have]
assert not missing, missing
reveal = [r for r in rows if r["action"] == "phone.reveal"]
assert reveal and reveal[0]["actor"] == "a1" and reveal[0]["role"] == "agent", reveal
assert all(r["peer"] for r in rows if r["actor"] != "callfloord"), rows
PY
[ "$(cf_psql "SELECT count(*) FROM audit_log WHERE actor || target || detail ~ 'hunter2typo|13912345678|1380000000'")" = 0 ] ||
    cf_fail "the audit log holds a typed name or a full phone number"
cf_expect_output_contains "login.failed" cf_ctl audit list --actor a1
cf_expect_exit 1 cf_as sue cf_ctl audit list
cf_expect_output_contains "The audit log is intact" cf_ctl audit verify

# Retention: customers untouched for longer are made anonymous, which the
# log records; the do-not-call list stays.
cf_expect_exit 1 cf_ctl privacy purge
grep -q "no retention is set" <<<"$CF_LAST_OUTPUT" || cf_fail "a purge without a retention was not explained"
cf_psql "UPDATE leads SET created_at = now() - interval '400 days';
         UPDATE calls SET started_at = started_at - interval '400 days',
                          ended_at = ended_at - interval '400 days'" >/dev/null
# Lead 1 was called; lead 2 sits leased in this daemon's hopper, in use:
# only lead 1 goes.
cf_expect_output_contains "Would erase the personal data of 1 customers untouched for 365 days (1 calls" \
    cf_ctl privacy purge --older-than 365 --dry-run
[ "$(cf_psql "SELECT count(*) FROM leads WHERE purged_at IS NULL")" = 2 ] || cf_fail "a dry run erased something"
cf_ctl dnc add 13800000001 --reason 客户要求 >/dev/null
cf_expect_output_contains "Erased the personal data of 1 customers" cf_ctl privacy purge --older-than 365
[ "$(cf_psql "SELECT string_agg(name || ' ' || phone_masked || ' ' || status, ',' ORDER BY id) FROM leads")" = \
    "已清除 *********** closed,客户2 138****0002 open" ] ||
    cf_fail "the purge is wrong: $(cf_psql "SELECT name, phone_masked, status FROM leads ORDER BY id")"
[ "$(cf_psql "SELECT count(*) FROM calls WHERE notes <> '' OR recording_ref <> ''")" = 0 ] ||
    cf_fail "a purged customer's call notes remain"
[ "$(cf_psql "SELECT count(*) FROM dnc")" = 1 ] || cf_fail "the purge touched the do-not-call list"
cf_expect_output_contains "0 customers" cf_ctl privacy purge --older-than 365
cf_expect_output_contains "privacy.purge" cf_ctl audit list --action privacy
cf_expect_exit 1 cf_as sue cf_ctl privacy purge --older-than 365

# A purge reaches the cards the hopper keeps too. 夏1's card, read when
# it was claimed with 夏2, shows a call to its number made long ago for an
# old customer of a campaign nobody works; once that customer is purged,
# 夏1 is offered without the call.
cf_ctl team add 二组 >/dev/null
cf_ctl team add 三组 >/dev/null
cf_ctl campaign add 秋季 --product CB01 --team 三组 >/dev/null
cf_ctl campaign add 夏季 --product CB01 --team 二组 >/dev/null
cf_add_user b1 agent 二组
printf 'name,phone,time_zone\n客户3,13700000001,%s\n' "$(cf_zone_at 12)" >"$CF_WORK/old.csv"
cf_ctl leads import 秋季 "$CF_WORK/old.csv" >/dev/null
printf 'name,phone,time_zone,score\n夏1,13700000001,%s,1\n夏2,13700000002,%s,2\n' \
    "$(cf_zone_at 12)" "$(cf_zone_at 12)" >"$CF_WORK/summer.csv"
cf_ctl leads import 夏季 "$CF_WORK/summer.csv" >/dev/null
old=$(cf_psql "UPDATE leads SET created_at = now() - interval '400 days' WHERE name = '客户3' RETURNING id")
cf_psql "INSERT INTO calls (lead_id, campaign_id, agent_id, started_at, ended_at, disposition,
                            notes, idempotency_key)
         SELECT l.id, l.campaign_id, u.id, now() - interval '400 days', now() - interval '400 days',
                'NOT_INTERESTED', '客户称已有信用卡', 'purge-card-test'
         FROM leads l, users u WHERE l.id = $old AND u.username = 'a1'" >/dev/null
cf_agent b1 < <(printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"dial"}' \
    '{"cmd":"outcome","disposition":"NO_ANSWER"}')
cf_events b1 "ev[1]['name'] == '夏2'"
cf_expect_output_contains "Erased the personal data of" cf_ctl privacy purge --older-than 365
[ "$(cf_psql "SELECT purged_at IS NOT NULL FROM leads WHERE id = $old")" = t ] || cf_fail "the old customer was not purged"
cf_agent b1 < <(printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"pause","reason":"lunch"}')
cf_events b1 "ev[1]['name'] == '夏1' and not ev[1].get('history')"

# A checkpoint, exported and checked with openssl alone.
cf_expect_output_contains "Checkpoint 1 signs the audit log up to row" cf_ctl audit checkpoint
cf_expect_exit 0 cf_ctl audit export --out "$CF_WORK/checkpoints.jsonl"
python3 - "$CF_WORK/checkpoints.jsonl" "$CF_WORK" <<'PY'
import base64, json, sys
c = json.loads(open(sys.argv[1]).readline())
d = sys.argv[2]
der = bytes.fromhex("302a300506032b6570032100" + c["public_key"])
open(d + "/pub.pem", "w").write("-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PUBLIC KEY-----\n")
open(d + "/msg.bin", "wb").write(bytes.fromhex(c["message"]))
open(d + "/sig.bin", "wb").write(bytes.fromhex(c["signature"]))
PY
openssl pkeyutl -verify -pubin -inkey "$CF_WORK/pub.pem" -rawin -in "$CF_WORK/msg.bin" \
    -sigfile "$CF_WORK/sig.bin" >"$CF_WORK/openssl.out" 2>&1 ||
    cf_fail "openssl does not verify the exported checkpoint: $(cat "$CF_WORK/openssl.out")"

# The log refuses edits; tampering needs the triggers off, as a database
# superuser could do, and verify catches each kind.
if cf_psql "UPDATE audit_log SET detail = 'x'" 2>/dev/null; then cf_fail "audit_log could be edited"; fi
tamper() { cf_psql "SET session_replication_role = replica; $1" >/dev/null; }
tamper "CREATE TABLE audit_copy AS SELECT * FROM audit_log"
restore() {
    tamper "DELETE FROM audit_log; INSERT INTO audit_log SELECT * FROM audit_copy"
    cf_expect_output_contains "The audit log is intact" cf_ctl audit verify
}
K=$(cf_psql "SELECT id FROM audit_log ORDER BY id OFFSET 3 LIMIT 1")
NEXT=$(cf_psql "SELECT min(id) FROM audit_log WHERE id > $K")
expect_tampered() {
    cf_expect_exit 1 cf_ctl --json audit verify
    cf_json_check "not doc['intact'] and doc['bad_id'] == $1 and '$2' in doc['problem']" <<<"$CF_LAST_OUTPUT" ||
        cf_fail "verify did not name row $1 ($2): $CF_LAST_OUTPUT"
}
tamper "UPDATE audit_log SET detail = 'role admin' WHERE id = $K"
expect_tampered "$K" "was changed"
restore
tamper "DELETE FROM audit_log WHERE id = $K"
expect_tampered "$NEXT" "chain breaks before row $NEXT"
restore
tamper "UPDATE audit_log SET id = -1 WHERE id = $K; UPDATE audit_log SET id = $K WHERE id = $NEXT;
        UPDATE audit_log SET id = $NEXT WHERE id = -1"
expect_tampered "$K" "row $K"
restore
LAST=$(cf_psql "SELECT max(last_id) FROM audit_checkpoints")
tamper "DELETE FROM audit_log WHERE id >= $K"
expect_tampered "$LAST" "gone: rows were cut off the end"
restore
cf_done
