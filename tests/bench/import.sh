#!/usr/bin/env bash
# import.sh [ROWS]: how fast `callfloorctl leads import` stores a large lead
# list, and how much memory it takes on either side. Starts a private
# PostgreSQL and the daemon from the build tree ($CF_BUILD, default build/),
# writes a CSV of ROWS (default 1000000) leads with Chinese names and valid
# mobile numbers (1% of them on the do-not-call list, 1% duplicates, 0.1%
# invalid), imports it, and prints the machine, the wall time, the rows per
# second, the peak resident memory of callfloorctl and of the daemon, and
# the summary. Needs what tests/run.sh installs.
set -euo pipefail

ROWS=${1:-1000000}
# shellcheck source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
bench_start bench_import
cf_start_daemon
cf_ctl team add bench >/dev/null
cf_ctl product add CB01 --name 畅享返现卡 --apr 18.25 >/dev/null
cf_ctl campaign add bench --product CB01 --team bench >/dev/null

echo "writing $ROWS rows..." >&2
python3 - "$ROWS" "$CF_WORK/leads.csv" "$CF_WORK/dnc.txt" <<'PY'
import random, sys
rows, path, dnc = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = random.Random(42)
family = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华"
with open(path, "w", encoding="utf-8") as f, open(dnc, "w") as d:
    f.write("name,phone,tier,income_band,travel_interest,score,external_id\n")
    for i in range(rows):
        phone = "1%d%09d" % (3 + i % 7, i)
        if i % 100 == 1:
            d.write(phone + "\n")
        if i % 100 == 2:
            phone = "1%d%09d" % (3, 0)  # a duplicate of the first row
        if i % 1000 == 3:
            phone = "12345"  # invalid
        name = rng.choice(family) + rng.choice(given) + rng.choice(given)
        f.write("%s,%s,%s,%d,%s,%.1f,E%d\n" % (name, phone, "vip" if i % 50 == 0 else "normal",
                                               i % 10, "yes" if i % 3 == 0 else "no",
                                               rng.random() * 100, i))
PY
cf_ctl dnc import "$CF_WORK/dnc.txt" >/dev/null
[ -z "${BENCH_LOG_SQL:-}" ] || cf_psql "ALTER DATABASE $CF_DB SET log_min_duration_statement = 0" >/dev/null

# peak PID FILE: samples the resident memory of PID until it exits.
peak() {
    local peak=0 rss
    while rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null); do
        [ "$rss" -le "$peak" ] || peak=$rss
        sleep 0.1
    done
    echo "$peak" >"$2"
}
# cpu_seconds PROCESS-NAME: the CPU time (user + system) of every running
# process of that name, in seconds.
cpu_seconds() {
    local ticks
    ticks=$(getconf CLK_TCK)
    for pid in $(pgrep -x "$1"); do
        awk -v t="$ticks" '{ print ($14 + $15) / t }' "/proc/$pid/stat" 2>/dev/null
    done | awk '{ s += $1 } END { printf "%.1f", s }'
}
daemon_before=$(awk '/^VmRSS:/ { print $2 }' "/proc/$CF_DAEMON_PID/status")
pg_cpu_before=$(cpu_seconds postgres)
daemon_cpu_before=$(cpu_seconds callfloord)
(
    while [ ! -e "$CF_WORK/done" ]; do
        awk '/^VmRSS:/ { print $2 }' "/proc/$CF_DAEMON_PID/status"
        sleep 0.2
    done | sort -n | tail -1 >"$CF_WORK/daemon.kb"
) &
watcher=$!
start=$(date +%s.%N)
"$CF_BUILD/bin/callfloorctl" --json leads import bench "$CF_WORK/leads.csv" >"$CF_WORK/summary.json" &
ctl=$!
ctl_cpu=0
(
    # The client's CPU time, read just before it exits.
    while kill -0 "$ctl" 2>/dev/null; do
        awk -v t="$(getconf CLK_TCK)" '{ printf "%.1f\n", ($14 + $15) / t }' "/proc/$ctl/stat" 2>/dev/null
        sleep 0.2
    done | tail -1 >"$CF_WORK/ctl.cpu"
) &
cpu_watcher=$!
peak "$ctl" "$CF_WORK/ctl.kb" &
sampler=$!
wait "$ctl"
end=$(date +%s.%N)
touch "$CF_WORK/done"
wait "$watcher" "$sampler" "$cpu_watcher"
pg_cpu=$(python3 -c "print('%.1f' % ($(cpu_seconds postgres) - $pg_cpu_before))")
daemon_cpu=$(python3 -c "print('%.1f' % ($(cpu_seconds callfloord) - $daemon_cpu_before))")
ctl_cpu=$(cat "$CF_WORK/ctl.cpu")

bench_machine
echo "== callfloorctl leads import ($ROWS rows, $(du -h "$CF_WORK/leads.csv" | cut -f1))"
python3 - "$start" "$end" "$ROWS" <<'PY'
import sys
s, e, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print("wall time: %.1f s, %.0f rows/s" % (e - s, n / (e - s)))
PY
echo "summary: $(cat "$CF_WORK/summary.json")"
echo "callfloorctl peak RSS: $(($(cat "$CF_WORK/ctl.kb") / 1024)) MiB"
echo "callfloord RSS: $((daemon_before / 1024)) MiB before, $(($(cat "$CF_WORK/daemon.kb") / 1024)) MiB peak"
echo "CPU seconds during the import: PostgreSQL $pg_cpu, callfloord $daemon_cpu, callfloorctl $ctl_cpu (at least)"
echo "rows stored: $(cf_psql "SELECT count(*) FROM leads")"
cf_done
