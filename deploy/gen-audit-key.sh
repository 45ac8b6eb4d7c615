#!/usr/bin/env bash
# gen-audit-key.sh FILE: writes a new Ed25519 private key (PEM) for
# callfloord's audit checkpoints (audit.signing_key), readable by its owner
# only, and prints its public key. An existing FILE is left as it is: the
# checkpoints already signed name its public key.
set -euo pipefail

PROGRAM=${0##*/}

case "${1:-}" in
-h | --help)
    sed -n '2,5s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
"")
    echo "usage: $PROGRAM FILE (try --help)" >&2
    exit 2
    ;;
esac

FILE=$1
if [ -s "$FILE" ]; then
    echo "$PROGRAM: $FILE exists; keeping it (checkpoints are signed with it)" >&2
    exit 0
fi
command -v openssl >/dev/null || { echo "$PROGRAM: openssl is not installed" >&2; exit 1; }
mkdir -p "$(dirname "$FILE")"
(
    umask 077
    openssl genpkey -algorithm ed25519 -out "$FILE.tmp" 2>/dev/null
    mv "$FILE.tmp" "$FILE"
)
echo "$PROGRAM: wrote $FILE; its public key:" >&2
openssl pkey -in "$FILE" -pubout >&2
