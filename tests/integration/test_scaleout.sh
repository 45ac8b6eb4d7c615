#!/usr/bin/env bash
# test_scaleout: two callfloord instances (distinct instance_id) on one
# PostgreSQL. Simulated agents work the same campaign on both at once: no
# lead is ever in two calls at once, and each instance's supervisors see
# every agent's results and state, whichever instance the agent is on
# (LISTEN/NOTIFY, server/peers.c); a campaign added through one is loaded
# by the other at once. Then one instance is killed with SIGKILL while
# both work: once its leases expire (lease_ttl 30 s here), the other
# instance's agents call the leads it held, still never one lead twice at
# once, and the dead instance's agents drop off the floor.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIM=$CF_BUILD/bin/callfloor-sim
MONITOR=$CF_BUILD/bin/callfloor-monitor

cf_setup scaleout
sed -i 's/^lease_ttl = .*/lease_ttl = 30s/' "$CF_CONFIG"
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_busy_campaign 一组 2000
PORT_B=$(cf__free_port)
METRICS_B=$(cf__free_port)
sed -e "s/^listen = 127.0.0.1:$CF_PORT\$/listen = 127.0.0.1:$PORT_B/" \
    -e "s/^instance_id = .*/instance_id = cf-scaleout-b/" \
    -e "s/127.0.0.1:$CF_METRICS_PORT/127.0.0.1:$METRICS_B/" "$CF_CONFIG" >"$CF_WORK/b.conf"
grep -q "instance_id = cf-scaleout-b" "$CF_WORK/b.conf" || cf_fail "cannot write the second config"

"$CF_BUILD/bin/callfloord" -c "$CF_WORK/b.conf" >>"$CF_WORK/b.log" 2>&1 </dev/null &
B_PID=$!
cf_defer kill -KILL "$B_PID"
deadline=$((SECONDS + 30))
until CALLFLOOR_SERVER=127.0.0.1:$PORT_B cf_ctl status >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "the second instance did not come up (see $CF_WORK/b.log)"
    sleep 0.2
done

# A campaign added through the first instance reaches the second at once
# (018_campaign_notify.sql), not at its periodic reload: that comes 30 s
# after its start, which loaded 春季 a moment ago.
until cf_campaign_loaded 春季 "$METRICS_B"; do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "the second instance did not load the campaigns at its start"
    sleep 0.1
done
cf_ctl team add 二组 >/dev/null
cf_ctl campaign add 夏季 --product CB01 --team 二组 >/dev/null
added=$SECONDS
until cf_campaign_loaded 夏季 "$METRICS_B"; do
    [ $((SECONDS - added)) -lt 10 ] ||
        cf_fail "the second instance did not load the campaign the first one added within 10 s"
    sleep 0.1
done
cf_add_user scalemodel agent 一组
cf_psql "INSERT INTO users (username, role, team_id, password_hash)
         SELECT prefix || lpad(g::text, 4, '0'), 'agent', team_id, password_hash
         FROM users, generate_series(1, 10) g, (VALUES ('sa'), ('sb')) p (prefix)
         WHERE username = 'scalemodel'" >/dev/null
export CALLFLOOR_PASSWORD_SIM=scalemodel$CF_PASSWORD_SUFFIX

# sim INSTANCE_PORT PREFIX NAME SECONDS: 10 agents on one instance.
sim() {
    CALLFLOOR_SERVER=127.0.0.1:$1 CALLFLOOR_PASSWORD=$CALLFLOOR_PASSWORD_SIM \
        "$SIM" --agents 10 --user-prefix "$2" --duration "$4" --talk-ms 50 --json --quiet \
        >"$CF_WORK/$3.json" 2>"$CF_WORK/$3.err"
}
# watch PORT NAME: the admin's monitor of every team on one instance.
watch() {
    CALLFLOOR_SERVER=127.0.0.1:$1 "$MONITOR" --json --interval 60 >"$CF_WORK/$2.jsonl" \
        2>"$CF_WORK/$2.err" &
    cf_defer kill "$!"
    cf_wait_for "$CF_WORK/$2.jsonl" '"event":"board"'
}
# no_lead_twice: no lead was in two calls at the same time.
no_lead_twice() {
    [ "$(cf_psql "SELECT count(*) FROM calls a JOIN calls b ON b.lead_id = a.lead_id AND b.id > a.id
                  WHERE b.started_at < coalesce(a.ended_at, 'infinity')")" = 0 ] ||
        cf_fail "a lead was in two calls at once"
}
# last_floor FILE: the agents of the last floor push in FILE, one per line.
last_floor() {
    python3 - "$1" <<'PY'
import json, sys
agents = []
for line in open(sys.argv[1], encoding="utf-8"):
    ev = json.loads(line)
    if ev.get("event") == "floor":
        agents = [a["agent"] for a in ev["agents"]]
print("\n".join(sorted(agents)))
PY
}
# board_matches FILE: the board FILE's subscriber holds has every agent's
# dials and points as score_events has them today.
board_matches() {
    local want got
    want=$(cf_psql "SELECT json_object_agg(agent, json_build_array(dials, points))
                    FROM (SELECT u.username AS agent, count(*) FILTER (WHERE e.kind = 'dial') AS dials,
                                 sum(e.points) AS points
                          FROM score_events e JOIN users u ON u.id = e.agent_id
                          GROUP BY u.username) per_agent")
    got=$(cf_board_rows "$1" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
print(json.dumps({a: [r["dials"], r["points"]] for a, r in rows.items()}, sort_keys=True))')
    want=$(python3 -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1]), sort_keys=True))' "$want")
    echo "$got" >"$CF_WORK/board.got"
    echo "$want" >"$CF_WORK/board.want"
    [ "$got" = "$want" ]
}

watch "$CF_PORT" board_a
watch "$PORT_B" board_b
sim "$CF_PORT" sa run_a 6 &
sim_a=$!
sim "$PORT_B" sb run_b 6 &
sim_b=$!
wait "$sim_a" || cf_fail "the agents on instance A failed: $(cat "$CF_WORK/run_a.json" "$CF_WORK/run_a.err")"
wait "$sim_b" || cf_fail "the agents on instance B failed: $(cat "$CF_WORK/run_b.json" "$CF_WORK/run_b.err")"
[ "$(cf_psql "SELECT count(DISTINCT left(u.username, 2)) FROM calls k JOIN users u ON u.id = k.agent_id")" = 2 ] ||
    cf_fail "the agents of both instances should have made calls"
no_lead_twice
for board in board_a board_b; do
    deadline=$((SECONDS + 15))
    until board_matches "$CF_WORK/$board.jsonl"; do
        [ "$SECONDS" -lt "$deadline" ] ||
            cf_fail "$board does not show every instance's agents: $(cf_board_rows "$CF_WORK/$board.jsonl")"
        sleep 0.2
    done
done

# Each instance's floor shows the other's agents too.
for board in board_a board_b; do
    deadline=$((SECONDS + 15))
    until [ "$(last_floor "$CF_WORK/$board.jsonl" | grep -c '^s[ab]')" = 20 ]; do
        [ "$SECONDS" -lt "$deadline" ] ||
            cf_fail "$board's floor does not show every instance's agents: $(last_floor "$CF_WORK/$board.jsonl" | paste -sd' ')"
        sleep 0.2
    done
done

# Instance B dies while both work; A's agents carry on and, once B's
# leases have expired, call the leads B held.
sim "$CF_PORT" sa crash_a 50 &
sim_a=$!
sim "$PORT_B" sb crash_b 50 &
sim_b=$!
deadline=$((SECONDS + 30))
until [ "$(cf_psql "SELECT count(*) FROM leads WHERE lease_owner = 'cf-scaleout-b'")" -gt 0 ]; do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "instance B holds no leads to leave behind"
    sleep 0.2
done
kill -KILL "$B_PID"
killed_at=$(cf_psql "SELECT now()")
held=$(cf_psql "SELECT string_agg(id::text, ',') FROM leads WHERE lease_owner = 'cf-scaleout-b'")
echo "instance B killed holding leads $held"
deadline=$((SECONDS + 60))
until [ "$(cf_psql "SELECT count(*) FROM calls k JOIN users u ON u.id = k.agent_id
                    WHERE k.lead_id IN ($held) AND u.username LIKE 'sa%'
                    AND k.started_at > '$killed_at'")" -gt 0 ]; do
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "instance A's agents never got the leads B held"
    sleep 0.5
done
wait "$sim_a" || cf_fail "the agents on instance A failed: $(cat "$CF_WORK/crash_a.json" "$CF_WORK/crash_a.err")"
wait "$sim_b" || true # B's agents lost their instance: exit status 1
no_lead_twice
# A has forgotten B's agents: B stopped reporting them.
last_floor "$CF_WORK/board_a.jsonl" | grep -q '^sb' &&
    cf_fail "instance A still shows the agents of the dead instance B"
cf_done
