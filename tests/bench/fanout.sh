#!/usr/bin/env bash
# fanout.sh [SUBSCRIBERS] [SECONDS] [AGENTS] [TALK_MS]: the supervisors'
# live board against its peer, mosquitto, on the same machine in the same
# run: the same number of TLS subscribers, the same messages.
#
# 1. callfloord: SUBSCRIBERS supervisors (default 1000) watch their team's
#    board while AGENTS agents of the team (default 4) work the queue for
#    SECONDS (default 30), conversations of about TALK_MS (default 1000).
#    Every outcome changes the board and every agent's state the floor;
#    each change is pushed to every supervisor, at most one push every
#    board.interval: BOARD_INTERVAL, default 10ms, the least it may be, so
#    that the figures are the fan-out's and not the gathering of changes
#    (the default configuration's 200ms adds up to 200 ms to a change that
#    follows another). callfloor-sim reports the
#    pushes its supervisors received, their average size, the latency from
#    an outcome's acknowledgement reaching its agent to the board showing it
#    at each supervisor (the server's fan-out; the database commit is
#    before it), and the daemon's CPU time over the run; also, from the
#    same run, the agents' own latencies and whether every supervisor
#    ended up shown every outcome.
# 2. mosquitto 2 with a TLS listener (the same certificate): as many
#    subscribers on one topic receive as many messages of the same average
#    size at the same rate (tests/bench/mqtt_fanout.c); latency from the
#    publisher's send to each delivery, and the broker's CPU time.
#
# Both sides' clients keep their connections alive every 10 s (callfloor's
# heartbeat_interval, MQTT's keepalive) and send nothing else: the
# simulator's own pings are off. Deliveries per CPU-second compare the two
# servers' work per message delivered; the daemon's CPU time also covers the agents' calls, which
# mosquitto does not do. Needs what tests/run.sh installs, plus mosquitto
# and libmosquitto-dev (deploy/install-deps.sh --bench; then configure the
# build again so that it builds mqtt_fanout), and an open-files limit above
# SUBSCRIBERS, which the script raises when it may.
set -euo pipefail

SUBSCRIBERS=${1:-1000}
SECONDS_RUN=${2:-30}
AGENTS=${3:-4}
TALK_MS=${4:-1000}
ulimit -n $((SUBSCRIBERS * 2 + 1024)) 2>/dev/null || true
export CF_BOARD_INTERVAL=${BOARD_INTERVAL:-10ms}
# shellcheck source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
bench_start bench_fanout
MQTT_FANOUT=$CF_BUILD/tests/mqtt_fanout
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$MOSQUITTO" ] || cf_fail "mosquitto is not installed: run deploy/install-deps.sh --bench"
[ -x "$MQTT_FANOUT" ] ||
    cf_fail "$MQTT_FANOUT is not built: run deploy/install-deps.sh --bench, then cmake $CF_BUILD again and build"
cf_start_daemon
cf_ctl team add bench >/dev/null
cf_busy_campaign bench 20000
bench_accounts bench bench "$AGENTS" "$SUBSCRIBERS"

bench_machine
echo "mosquitto: $("$MOSQUITTO" -h 2>/dev/null | head -1)"

echo "== callfloord: $SUBSCRIBERS supervisors watch the board (board.interval $CF_BOARD_INTERVAL), $AGENTS agents work for $SECONDS_RUN s"
CALLFLOOR_PASSWORD=benchmodel$CF_PASSWORD_SUFFIX "$CF_BUILD/bin/callfloor-sim" --json -q \
    --agents "$AGENTS" --supervisors "$SUBSCRIBERS" --duration "$SECONDS_RUN" \
    --talk-ms "$TALK_MS" --user-prefix bench --supervisor-prefix benchsup \
    --server-pid "$CF_DAEMON_PID" --connect-rate 400 --ping-ms 0 >"$CF_WORK/callfloor.json" ||
    cf_fail "callfloor-sim failed: $(cat "$CF_WORK/callfloor.json")"
cf_stop_daemon
# The messages mosquitto gets: as many per subscriber, as often, as big.
shape=$(python3 - "$CF_WORK/callfloor.json" "$SUBSCRIBERS" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
subs = int(sys.argv[2])
if not doc["supervisor_pushes"] or doc["server"] is None or doc["fanout_ms"]["p99"] is None:
    sys.exit("the supervisors saw no pushes, or the daemon's CPU time is unknown: %s" % doc)
per_sub = max(1, round(doc["supervisor_pushes"] / subs))
print(per_sub, max(1, round(doc["seconds"] * 1000 / per_sub)),
      max(8, round(doc["supervisor_push_bytes"] / doc["supervisor_pushes"])))
PY
) || cf_fail "no fan-out to compare with"
read -r MESSAGES INTERVAL_MS SIZE <<<"$shape"

echo "== mosquitto: $SUBSCRIBERS TLS subscribers, $MESSAGES messages of $SIZE bytes, one every $INTERVAL_MS ms"
MQTT_PORT=$(cf__free_port)
cat >"$CF_WORK/mosquitto.conf" <<EOF
per_listener_settings false
allow_anonymous true
persistence false
max_connections -1
log_type error
log_type warning
listener $MQTT_PORT 127.0.0.1
cafile $CF_CERTS/ca.crt
certfile $CF_CERTS/server.crt
keyfile $CF_CERTS/server.key
EOF
[ "$(id -u)" != 0 ] || echo "user root" >>"$CF_WORK/mosquitto.conf"
"$MOSQUITTO" -c "$CF_WORK/mosquitto.conf" >"$CF_WORK/mosquitto.log" 2>&1 &
MQTT_PID=$!
cf_defer kill "$MQTT_PID"
for _ in $(seq 50); do
    ss -Hltn "sport = :$MQTT_PORT" | grep -q . && break
    kill -0 "$MQTT_PID" 2>/dev/null || break
    sleep 0.1
done
ss -Hltn "sport = :$MQTT_PORT" | grep -q . ||
    cf_fail "mosquitto did not start listening: $(cat "$CF_WORK/mosquitto.log")"
"$MQTT_FANOUT" --port "$MQTT_PORT" --cafile "$CF_CERTS/ca.crt" --subscribers "$SUBSCRIBERS" \
    --messages "$MESSAGES" --interval-ms "$INTERVAL_MS" --size "$SIZE" --broker-pid "$MQTT_PID" \
    >"$CF_WORK/mosquitto.json" || cf_fail "mqtt_fanout failed: $(cat "$CF_WORK/mosquitto.json")"

echo "== results"
python3 - "$CF_WORK/callfloor.json" "$CF_WORK/mosquitto.json" <<'PY'
import json, sys
cf, mq = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
cf_rate = cf["supervisor_pushes"] / cf["server"]["cpu_s"]
mq_rate = mq["deliveries"] / mq["broker_cpu_s"] if mq["broker_cpu_s"] > 0 else float("inf")
f = cf["fanout_ms"]
m = mq["latency_ms"]
print("%-10s %11s %9s %8s %8s %8s %8s %10s %14s" % ("server", "deliveries", "size", "p50 ms",
      "p90 ms", "p99 ms", "max ms", "CPU s", "per CPU-second"))
print("%-10s %11d %9.0f %8.2f %8.2f %8.2f %8.2f %10.2f %14.0f" % ("callfloord",
      cf["supervisor_pushes"], cf["supervisor_push_bytes"] / max(1, cf["supervisor_pushes"]),
      f["p50"], f["p90"], f["p99"], f["max"], cf["server"]["cpu_s"], cf_rate))
print("%-10s %11d %9d %8.2f %8.2f %8.2f %8.2f %10.2f %14.0f" % ("mosquitto", mq["deliveries"],
      mq["size"], m["p50"], m["p90"], m["p99"], m["max"], mq["broker_cpu_s"], mq_rate))
print("callfloord's deliveries per CPU-second: %.2fx mosquitto's; its fan-out p99 %.2f ms "
      "(%d samples: every board change at every supervisor; %d read before the agent's "
      "answer, counted as 0 ms)" % (cf_rate / mq_rate, f["p99"], f["count"],
                                    cf["fanout_before_ack"]))
# The same run seen from its agents: the fan-out shares the daemon's loop
# with their calls. Outcome to push counts from the agent's sending.
for label, key in (("outcome -> push", "push_ms"), ("ready -> offer", "offer_ms"),
                   ("outcome -> ack", "ack_ms")):
    d = cf[key]
    print("callfloord %-16s p50 %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (%d samples)"
          % (label, d["p50"], d["p90"], d["p99"], d["max"], d["count"]))
behind = cf.get("boards_behind")  # simulators before 5b717e5 do not count it
print("callfloord: every supervisor's board showed every last outcome at the end: %s"
      % ("not counted" if behind is None else "yes" if behind == 0 else "no, %d behind" % behind))
PY
cf_done
