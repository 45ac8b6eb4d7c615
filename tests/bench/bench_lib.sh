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
