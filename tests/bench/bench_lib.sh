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
