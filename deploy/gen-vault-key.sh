#!/usr/bin/env bash
# gen-vault-key.sh FILE: writes a new vault key file for callfloord (see
# server/vault.h): one look-up (HMAC) key and encryption key 1, from
# openssl rand, readable by its owner only. An existing FILE is left as it
# is: its keys protect data already stored. To rotate, add a line
# "key N HEX" with a higher N by hand (openssl rand -hex 32); never change
# the hmac line.
set -euo pipefail

PROGRAM=${0##*/}

case "${1:-}" in
-h | --help)
    sed -n '2,7s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
"")
    echo "usage: $PROGRAM FILE (try --help)" >&2
    exit 2
    ;;
esac

FILE=$1
if [ -s "$FILE" ]; then
    echo "$PROGRAM: $FILE exists; keeping it (its keys protect stored data)" >&2
    exit 0
fi
command -v openssl >/dev/null || { echo "$PROGRAM: openssl is not installed" >&2; exit 1; }
mkdir -p "$(dirname "$FILE")"
(
    umask 077
    {
        echo "# callfloor vault keys, made by $PROGRAM on $(date -u +%F). Keep secret; back up."
        echo "hmac $(openssl rand -hex 32)"
        echo "key 1 $(openssl rand -hex 32)"
    } >"$FILE.tmp"
    mv "$FILE.tmp" "$FILE"
)
echo "$PROGRAM: wrote $FILE" >&2
