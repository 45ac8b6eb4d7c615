#!/usr/bin/env bash
# gen-certs.sh: a private certificate authority with a server certificate
# and client certificates, for development and tests. Idempotent: existing
# files are kept unless --force is given.
set -euo pipefail

PROGRAM=${0##*/}
CA_DAYS=3650
LEAF_DAYS=825

usage() {
    cat <<EOF
Usage: $PROGRAM [--force] DIR [USER...]

Makes, with the openssl command line, EC P-256 keys and certificates in DIR:
  ca.crt, ca.key                 a private certificate authority ($CA_DAYS days)
  server.crt, server.key         for callfloord ($LEAF_DAYS days); names localhost,
                                 127.0.0.1, ::1 and this host ($(host_name))
  client-USER.crt, client-USER.key
                                 one client certificate per USER, whose
                                 common name is the user name ($LEAF_DAYS days);
                                 USER defaults to admin

Files that exist are kept, so running it again is safe; --force makes new
ones (and then every certificate is signed by the new CA). Keys are 0600.

Check a result with: openssl verify -CAfile DIR/ca.crt DIR/server.crt
EOF
}

die() {
    echo "$PROGRAM: $*" >&2
    exit 1
}

host_name() {
    hostname 2>/dev/null || uname -n
}

# Runs openssl with its chatter hidden; shows it when openssl fails.
ossl() {
    local out
    if ! out=$(openssl "$@" 2>&1); then
        echo "$out" >&2
        die "openssl $1 failed (output above)"
    fi
}

new_key() {
    (umask 077 && ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1")
    chmod 0600 "$1"
}

# A random positive 120-bit serial, as RFC 5280 asks for unpredictable ones.
new_serial() {
    echo "0x7$(openssl rand -hex 15 | cut -c2-)"
}

make_ca() {
    local dir=$1 tmp=$2
    new_key "$tmp/ca.key"
    ossl req -new -x509 -key "$tmp/ca.key" -sha256 -days "$CA_DAYS" -set_serial "$(new_serial)" \
        -subj "/O=callfloor/CN=callfloor development CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" \
        -out "$tmp/ca.crt"
    install_pair "$dir" "$tmp" ca
}

# sign_leaf DIR TMP NAME SUBJECT EXTENSIONS: a key and a certificate signed
# by DIR's CA, with the given X.509 v3 extensions (openssl config syntax).
sign_leaf() {
    local dir=$1 tmp=$2 name=$3 subject=$4 extensions=$5
    new_key "$tmp/$name.key"
    ossl req -new -utf8 -key "$tmp/$name.key" -subj "$subject" -out "$tmp/$name.csr"
    printf '[leaf]\n%s\n' "$extensions" >"$tmp/$name.ext"
    ossl x509 -req -in "$tmp/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -sha256 \
        -days "$LEAF_DAYS" -set_serial "$(new_serial)" \
        -extfile "$tmp/$name.ext" -extensions leaf -out "$tmp/$name.crt"
    install_pair "$dir" "$tmp" "$name"
}

# Moves a finished pair into place (key first, so a certificate never sits
# beside a key it does not belong to).
install_pair() {
    local dir=$1 tmp=$2 name=$3
    mv -f "$tmp/$name.key" "$dir/$name.key"
    chmod 0644 "$tmp/$name.crt"
    mv -f "$tmp/$name.crt" "$dir/$name.crt"
}

server_names() {
    local names="DNS:localhost,IP:127.0.0.1,IP:::1" host
    host=$(host_name)
    if [[ $host =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ && $host != localhost ]]; then
        names="$names,DNS:$host"
    fi
    echo "$names"
}

make_server() {
    sign_leaf "$1" "$2" server "/O=callfloor/CN=$(host_name)" \
        "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$(server_names)
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
}

make_client() {
    sign_leaf "$1" "$2" "client-$3" "/O=callfloor/CN=$3" \
        "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
}

# A user name goes into a file name and a certificate subject: no slashes,
# no characters openssl's -subj syntax treats specially.
check_user() {
    [[ -n $1 && $1 != -* && $1 != *[/\\=+,\ \	]* ]] ||
        die "'$1' cannot be a user name here: use letters, digits, '.', '_' or '-'"
}

# The users that have a client certificate in DIR.
existing_clients() {
    local crt name
    for crt in "$1"/client-*.crt; do
        [ -e "$crt" ] || continue
        name=${crt##*/client-}
        echo "${name%.crt}"
    done
}

# True when NAME's files are missing (or --force asks for new ones).
wanted() {
    local dir=$1 name=$2
    [ "$FORCE" = 1 ] || [ ! -s "$dir/$name.crt" ] || [ ! -s "$dir/$name.key" ]
}

main() {
    FORCE=0
    local -a args=()
    while [ $# -gt 0 ]; do
        case "$1" in
        -h | --help)
            usage
            return 0
            ;;
        -f | --force) FORCE=1 ;;
        --) shift && args+=("$@") && break ;;
        -*)
            usage >&2
            echo >&2
            die "unknown option '$1'"
            ;;
        *) args+=("$1") ;;
        esac
        shift
    done
    if [ ${#args[@]} -eq 0 ]; then
        usage >&2
        echo "$PROGRAM: name the directory for the certificates, e.g. $PROGRAM ./certs" >&2
        exit 2
    fi
    command -v openssl >/dev/null || die "openssl not found: run deploy/install-deps.sh (or apt-get install openssl)"
    local dir=${args[0]}
    local -a users=("${args[@]:1}")
    [ ${#users[@]} -gt 0 ] || users=(admin)
    local user
    for user in "${users[@]}"; do check_user "$user"; done

    mkdir -p "$dir" || die "cannot create $dir"
    TMP_DIR=$(mktemp -d "$dir/.gen-certs.XXXXXX") || die "cannot write in $dir"
    trap 'rm -rf "$TMP_DIR"' EXIT

    if wanted "$dir" ca; then
        make_ca "$dir" "$TMP_DIR"
        # A new CA invalidates every certificate the old one signed, so the
        # clients already in DIR get new certificates too.
        FORCE=1
        mapfile -t -O ${#users[@]} users < <(existing_clients "$dir")
    fi
    if wanted "$dir" server; then make_server "$dir" "$TMP_DIR"; fi
    local -A done_users=()
    for user in "${users[@]}"; do
        [ -z "${done_users[$user]:-}" ] || continue
        done_users[$user]=1
        if wanted "$dir" "client-$user"; then make_client "$dir" "$TMP_DIR" "$user"; fi
    done
}

main "$@"
