# bench_lib.sh: what every benchmark starts with, sourced after its
# arguments are read. Points CF_SOURCE and CF_BUILD (default build/) at the
# tree, starts a private PostgreSQL in a temporary directory, loads the
# integration tests' helpers (tests/integration/lib.sh) and runs cf_setup
# NAME; the cluster is stopped and removed when the benchmark ends.
# bench_start NAME
bench_start() {
    export CF_SOURCE=${CF_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
    export CF_BUILD=${CF_BUILD:-$CF_SOURCE/build}
    CF_PGDIR=$(mktemp -d /tmp/cf-bench-pg.XXXXXX)
    export CF_PGDIR
    "$CF_SOURCE/tests/integration/pg_fixture.sh" start "$CF_PGDIR" >/dev/null
    # shellcheck source=../integration/lib.sh
    . "$CF_SOURCE/tests/integration/lib.sh"
    cf_setup "$1"
    cf_defer "$CF_SOURCE/tests/integration/pg_fixture.sh" stop "$CF_PGDIR"
    cf_defer rm -rf "$CF_PGDIR"
}

# bench_machine: prints the machine a benchmark ran on.
bench_machine() {
    echo "== machine"
    echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
}

# bench_accounts TEAM PREFIX AGENTS [SUPERVISORS]: agent accounts PREFIX0001
# ... and supervisor accounts PREFIXsup0001 ... in TEAM, all with the
# password of benchmodel (one hash, so that making thousands is quick; the
# simulator logs in with CALLFLOOR_PASSWORD=benchmodel$CF_PASSWORD_SUFFIX).
bench_accounts() {
    cf_add_user benchmodel agent "$1"
    cf_psql "INSERT INTO users (username, role, team_id, password_hash)
             SELECT '$2' || lpad(g::text, 4, '0'), 'agent', team_id, password_hash
             FROM users, generate_series(1, $3) g WHERE username = 'benchmodel'
             UNION ALL
             SELECT '${2}sup' || lpad(g::text, 4, '0'), 'supervisor', team_id, password_hash
             FROM users, generate_series(1, ${4:-0}) g WHERE username = 'benchmodel'" >/dev/null
}

# bench_busy_floor LEADS AGENTS [SUPERVISORS]: the daemon started, team
# bench with a campaign of LEADS leads it may call now (cf_busy_campaign)
# and the accounts of bench_accounts bench bench AGENTS SUPERVISORS.
bench_busy_floor() {
    cf_start_daemon
    cf_ctl team add bench >/dev/null
    echo "loading $1 leads and $2 accounts..." >&2
    cf_busy_campaign bench "$1"
    bench_accounts bench bench "$2" "${3:-0}"
}

# bench_server_latency: the daemon's own latency histograms (its /metrics
# endpoint), as the bucket bounds holding p50, p90 and p99 and the count:
# what the daemon measured between a request's decoding and its answer,
# beside what a client saw.
bench_server_latency() {
    python3 - "http://127.0.0.1:$CF_METRICS_PORT/metrics" <<'PY'
import collections, sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
buckets = collections.defaultdict(list)
for line in body.splitlines():
    if "_bucket{le=" in line:
        name, rest = line.split("_bucket{le=\"", 1)
        bound, count = rest.split("\"} ")
        buckets[name].append((float(bound), int(count)))
def at(rows, q):
    total = rows[-1][1]
    for bound, seen in rows:
        if seen >= q * total:
            return "%g ms" % (bound * 1000) if bound != float("inf") else "> %g ms" % (rows[-2][0] * 1000)
print("the daemon's histograms since it started (upper bound of the bucket holding the percentile):")
for name, rows in sorted(buckets.items()):
    if rows[-1][1]:
        print("  %-36s p50 <= %-9s p90 <= %-9s p99 <= %-9s n=%d" % (
            name.replace("callfloor_", ""), at(rows, .5), at(rows, .9), at(rows, .99), rows[-1][1]))
PY
}

# bench_pg_cpu: clock ticks of CPU (user and system) the benchmark's
# PostgreSQL used so far: its postmaster and the children running, and
# through the postmaster's count of its children's, those that ended
# (autovacuum workers, sessions of psql and pgbench). A child that ends
# while this reads may be missed: sample when none is ending.
bench_pg_cpu() {
    local total=0 pid fields postmaster
    postmaster=$(head -n 1 "$(readlink -f "$CF_PGDIR")/data/postmaster.pid")
    for pid in $(pgrep -P "$postmaster") "$postmaster"; do
        fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
        # shellcheck disable=SC2086 # the fields, split on purpose
        set -- $fields
        total=$((total + ${12} + ${13}))
        [ "$pid" != "$postmaster" ] || total=$((total + ${14} + ${15}))
    done
    echo "$total"
}

# bench_call_history: a month of calls on every lead, as on a floor that
# has worked: each lead called twice by benchmodel (no answer, a dial's
# score event each), then VACUUM ANALYZE. Stop the daemon first, so that
# it is not told of the events as if another daemon had written them.
bench_call_history() {
    cf_psql "INSERT INTO calls (lead_id, campaign_id, agent_id, started_at, ended_at, disposition,
                                idempotency_key)
             SELECT l.id, l.campaign_id, u.id, t.at, t.at + interval '20 seconds', 'NO_ANSWER',
                    'history-' || l.id || '-' || g
             FROM leads l CROSS JOIN generate_series(1, 2) g
             CROSS JOIN LATERAL (SELECT now() - g * interval '12 days' - (l.id % 1440) * interval '1 minute'
                                 AS at) t
             JOIN users u ON u.username = 'benchmodel'" >/dev/null
    cf_psql "INSERT INTO score_events (agent_id, team_id, campaign_id, call_id, kind, points, at)
             SELECT k.agent_id, u.team_id, k.campaign_id, k.id, 'dial', 0, k.ended_at
             FROM calls k JOIN users u ON u.id = k.agent_id
             WHERE k.idempotency_key LIKE 'history-%'" >/dev/null
    cf_psql "VACUUM ANALYZE"
}
