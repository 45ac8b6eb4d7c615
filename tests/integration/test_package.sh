#!/usr/bin/env bash
# test_package: what `cmake --install` and the .deb deliver. The build tree
# (configured with -DCMAKE_INSTALL_PREFIX=/usr, as tests/run.sh does) is
# packaged with cpack; the package's files are listed and checked (the
# programs, the unit, the sysusers.d and tmpfiles.d entries, the example
# configuration as a conffile, the man pages); the unit passes
# `systemd-analyze verify` and scores 2.0 or better in `systemd-analyze
# security`. On a machine where systemd is not running (a CI container)
# and the suite runs as root, or with CALLFLOOR_TEST_INSTALL=1, the .deb is
# installed with dpkg, the service's own command line is started as the
# callfloor user against a test database and answers, and the package is
# purged again. Skipped (77) in a sanitizer build or another prefix.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cache() { sed -n "s/^$1:[A-Z]*=//p" "$CF_BUILD/CMakeCache.txt"; }
if [ "$(cache CMAKE_INSTALL_PREFIX)" != /usr ] || [ "$(cache CALLFLOOR_SANITIZE)" = ON ]; then
    echo "skipped: the build is not configured for packaging (prefix /usr, no sanitizers)"
    exit 77
fi
cf_setup package
PKG=$CF_WORK/pkg
cf_expect_exit 0 cpack --config "$CF_BUILD/CPackConfig.cmake" -B "$PKG"
deb=$(ls "$PKG"/callfloor_*.deb)
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$CF_WORK/files"
for f in /usr/sbin/callfloord /usr/bin/callfloorctl /usr/bin/callfloor-agent /usr/bin/callfloor-monitor \
    /usr/bin/callfloor-sim /usr/lib/systemd/system/callfloord.service /usr/lib/sysusers.d/callfloor.conf \
    /usr/lib/tmpfiles.d/callfloor.conf /etc/callfloor/callfloord.conf \
    /usr/share/doc/callfloor/callfloord.conf.example /usr/share/man/man8/callfloord.8 \
    /usr/share/man/man1/callfloorctl.1 /usr/share/man/man1/callfloor-agent.1 \
    /usr/share/man/man1/callfloor-monitor.1 /usr/share/locale/zh_CN/LC_MESSAGES/callfloor.mo; do
    grep -qx "$f" "$CF_WORK/files" || cf_fail "the package lacks $f; it holds: $(cat "$CF_WORK/files")"
done
dpkg-deb -I "$deb" >"$CF_WORK/info"
grep -q "Depends:.*libuv1" "$CF_WORK/info" || cf_fail "the package does not depend on its libraries: $(cat "$CF_WORK/info")"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/callfloor/callfloord.conf ||
    cf_fail "the configuration is not a conffile"
man -l "$CF_BUILD/man/callfloord.8" 2>/dev/null | grep -q "LoadCredential\|credential" ||
    grep -q "credential" "$CF_BUILD/man/callfloord.8" || cf_fail "callfloord(8) does not describe the service"

UNIT=$CF_SOURCE/deploy/systemd/callfloord.service
systemd-analyze security --offline=yes --threshold=20 "$UNIT" >"$CF_WORK/security" 2>&1 ||
    cf_fail "the unit is exposed above 2.0: $(tail -3 "$CF_WORK/security")"
grep -q "Overall exposure level" "$CF_WORK/security" || cf_fail "no exposure score: $(tail "$CF_WORK/security")"

installable() {
    [ "$(id -u)" = 0 ] && { [ "${CALLFLOOR_TEST_INSTALL:-}" = 1 ] || [ ! -d /run/systemd/system ]; }
}
if ! installable; then
    echo "not installing the package here: systemd runs this machine (CALLFLOOR_TEST_INSTALL=1 forces it)"
    cf_done
    exit 0
fi
if dpkg -s callfloor >/dev/null 2>&1 || [ -e /etc/callfloor ]; then
    echo "not installing the package here: callfloor is installed or /etc/callfloor exists"
    cf_done
    exit 0
fi
cf_defer rm -rf /etc/callfloor
cf_defer dpkg --purge callfloor
cf_expect_exit 0 dpkg -i "$deb"
id callfloor >/dev/null || cf_fail "the package did not create the callfloor user"
[ "$(stat -c %G /etc/callfloor)" = callfloor ] || cf_fail "/etc/callfloor is not the callfloor group's"
systemd-analyze verify --man=no /usr/lib/systemd/system/callfloord.service 2>"$CF_WORK/verify" ||
    cf_fail "systemd-analyze verify: $(cat "$CF_WORK/verify")"
[ ! -s "$CF_WORK/verify" ] || cf_fail "systemd-analyze verify complains: $(cat "$CF_WORK/verify")"

# The service's command line, as the callfloor user, against this test's
# database: the configuration in /etc/callfloor, the keys as systemd would
# hand them over. The fixture's socket directory lets the callfloor user
# through for the test's length.
sock=$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<<"$CF_CONNINFO")
chmod o+x "$(dirname "$sock")" "$sock"
cf_defer chmod o-x "$(dirname "$sock")" "$sock"
install -d -m 0750 -o root -g callfloor /etc/callfloor
install -m 0640 -g callfloor "$CF_CERTS/server.crt" "$CF_CERTS/server.key" /etc/callfloor/
CRED=$(mktemp -d /tmp/callfloor-credentials.XXXXXX)
cf_defer rm -rf "$CRED"
chown callfloor "$CRED"
install -m 0400 -o callfloor "$CF_CERTS/vault.keys" "$CRED/vault.keys"
install -m 0400 -o callfloor "$CF_CERTS/audit.key" "$CRED/audit.key"
install -m 0400 -o callfloor "$CF_WORK/admin.password" "$CRED/admin.password"
port=$(cf__free_port)
metrics_port=$(cf__free_port)
cat >/etc/callfloor/callfloord.conf <<CONF
[server]
listen = 127.0.0.1:$port
[database]
conninfo = "$CF_CONNINFO dbname=$CF_DB"
[metrics]
listen = 127.0.0.1:$metrics_port
[bootstrap]
admin_password_file = $CRED/admin.password
CONF
# The ExecStart line, its continuation lines joined as systemd joins them.
exec_start=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' /usr/lib/systemd/system/callfloord.service |
    sed -n 's/^ExecStart=//p' | sed "s|%d|$CRED|g")
[ -e /etc/callfloor/vault.keys ] && [ -e /etc/callfloor/audit.key ] ||
    cf_fail "the package did not make the keys"
# shellcheck disable=SC2086 # the unit's command line, split as systemd would
setpriv --reuid=callfloor --regid=callfloor --init-groups $exec_start >>"$CF_LOG" 2>&1 &
daemon=$!
cf_defer kill "$daemon"
deadline=$((SECONDS + 30))
until CALLFLOOR_SERVER=127.0.0.1:$port "$CF_BUILD/bin/callfloorctl" status >"$CF_WORK/status" 2>&1; do
    kill -0 "$daemon" 2>/dev/null || cf_fail "the installed daemon exited: $(tail -5 "$CF_LOG")"
    [ "$SECONDS" -lt "$deadline" ] || cf_fail "the installed daemon did not answer: $(cat "$CF_WORK/status")"
    sleep 0.3
done
grep -q "database *ok" "$CF_WORK/status" || cf_fail "the installed daemon has no database: $(cat "$CF_WORK/status")"
kill "$daemon"
wait "$daemon" || cf_fail "the installed daemon did not stop cleanly"
cf_done
