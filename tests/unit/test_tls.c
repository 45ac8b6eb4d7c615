/* Unit tests for common/tls: a server and a client tls_conn talk through
 * memory, with a CA and certificates made in-process for every run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "version.h"

static char dir[] = "/tmp/cf-test-tls-XXXXXX";
static char ca_pem[128], other_ca_pem[128], server_pem[128], server_key[128];
static char client_pem[128], client_key[128], rogue_pem[128], rogue_key[128];
static char stray_key[128];
static char err[512];

/* ---- certificates ---- */

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(cert, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* A certificate for `key` named `cn`, signed by `issuer` (NULL: itself). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       const char *san, const char *usage) {
    static long serial = 1;
    X509 *cert = X509_new();
    assert_non_null(cert);
    assert_int_equal(X509_set_version(cert, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    assert_int_equal(X509_set_pubkey(cert, key), 1);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"callfloor test", -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509 *signer = issuer != NULL ? issuer : cert;
    assert_int_equal(X509_set_issuer_name(cert, X509_get_subject_name(signer)), 1);
    if (issuer == NULL) {
        add_ext(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert, signer, NID_key_usage, "critical,digitalSignature");
        add_ext(cert, signer, NID_ext_key_usage, usage);
        if (san != NULL)
            add_ext(cert, signer, NID_subject_alt_name, san);
    }
    assert_true(X509_sign(cert, issuer_key != NULL ? issuer_key : key, EVP_sha256()) > 0);
    return cert;
}

static void write_pem(char *path, const char *name, X509 *cert, EVP_PKEY *key) {
    snprintf(path, 128, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (cert != NULL)
        assert_int_equal(PEM_write_X509(f, cert), 1);
    if (key != NULL)
        assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    assert_int_equal(fclose(f), 0);
}

/* Issues a leaf certificate from (ca, ca_key) and writes it and its key. */
static void issue(X509 *ca, EVP_PKEY *ca_key, const char *cn, const char *san, const char *usage,
                  char *cert_path, const char *cert_name, char *key_path, const char *key_name) {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    assert_non_null(key);
    X509 *cert = make_cert(key, cn, ca, ca_key, san, usage);
    write_pem(cert_path, cert_name, cert, NULL);
    write_pem(key_path, key_name, NULL, key);
    X509_free(cert);
    EVP_PKEY_free(key);
}

static int make_certificates(void **state) {
    (void)state;
    if (mkdtemp(dir) == NULL)
        return -1;
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    EVP_PKEY *other_key = EVP_EC_gen("P-256");
    X509 *ca = make_cert(ca_key, "callfloor test CA", NULL, NULL, NULL, NULL);
    X509 *other = make_cert(other_key, "some other CA", NULL, NULL, NULL, NULL);
    write_pem(ca_pem, "ca.pem", ca, NULL);
    write_pem(other_ca_pem, "other-ca.pem", other, NULL);
    issue(ca, ca_key, "localhost", "DNS:localhost,IP:127.0.0.1", "serverAuth", server_pem,
          "server.pem", server_key, "server.key");
    issue(ca, ca_key, "agent007", NULL, "clientAuth", client_pem, "client.pem", client_key,
          "client.key");
    issue(other, other_key, "intruder", NULL, "clientAuth", rogue_pem, "rogue.pem", rogue_key,
          "rogue.key");
    write_pem(stray_key, "stray.key", NULL, other_key);
    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    return 0;
}

static int remove_certificates(void **state) {
    (void)state;
    const char *files[] = {ca_pem,     other_ca_pem, server_pem, server_key, client_pem,
                           client_key, rogue_pem,    rogue_key,  stray_key};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    return rmdir(dir);
}

/* ---- a server and a client in memory ---- */

typedef struct peers {
    SSL_CTX *server_ctx;
    SSL_CTX *client_ctx;
    tls_conn *server;
    tls_conn *client;
    int server_rc; /* last tls_handshake results */
    int client_rc;
} peers;

static SSL_CTX *server_ctx(tls_profile profile, const char *client_ca) {
    SSL_CTX *ctx = tls_server_ctx_new(server_pem, server_key, client_ca, profile, err, sizeof err);
    if (ctx == NULL)
        fail_msg("server context: %s", err);
    return ctx;
}

static SSL_CTX *client_ctx(const char *ca, const char *cert, const char *key) {
    SSL_CTX *ctx = tls_client_ctx_new(ca, cert, key, err, sizeof err);
    if (ctx == NULL)
        fail_msg("client context: %s", err);
    return ctx;
}

static void peers_open(peers *p, SSL_CTX *server, SSL_CTX *client, const char *host) {
    memset(p, 0, sizeof *p);
    p->server_ctx = server;
    p->client_ctx = client;
    p->server = tls_conn_new(server, true, NULL);
    p->client = tls_conn_new(client, false, host);
    assert_non_null(p->server);
    assert_non_null(p->client);
}

static void peers_close(peers *p) {
    tls_conn_free(p->server);
    tls_conn_free(p->client);
    SSL_CTX_free(p->server_ctx);
    SSL_CTX_free(p->client_ctx);
}

/* Moves what `from` produced into `to`; returns the byte count. */
static size_t pump(tls_conn *from, tls_conn *to) {
    buf wire = BUF_INIT;
    int n = tls_take_output(from, &wire);
    assert_true(n >= 0);
    assert_int_equal((size_t)n, buf_pending(&wire));
    if (n > 0)
        assert_int_equal(tls_feed(to, buf_head(&wire), buf_pending(&wire)), 0);
    buf_free(&wire);
    return (size_t)n;
}

/* Drives both handshakes until neither side has anything left to say. */
static void run_handshake(peers *p) {
    for (int round = 0; round < 16; round++) {
        if (p->client_rc == 0)
            p->client_rc = tls_handshake(p->client);
        size_t moved = pump(p->client, p->server);
        if (p->server_rc == 0)
            p->server_rc = tls_handshake(p->server);
        moved += pump(p->server, p->client);
        if (moved == 0)
            return;
    }
    fail_msg("the handshake did not settle");
}

static void connect_ok(peers *p) {
    run_handshake(p);
    if (p->client_rc != 1 || p->server_rc != 1)
        fail_msg("handshake failed: client %d (%s), server %d (%s)", p->client_rc,
                 tls_error_string(p->client), p->server_rc, tls_error_string(p->server));
    assert_true(tls_established(p->client));
    assert_true(tls_established(p->server));
}

/* Sends `len` bytes from `from` to `to` and checks they arrive intact. */
static void transfer(tls_conn *from, tls_conn *to, const uint8_t *data, size_t len) {
    assert_int_equal(tls_write(from, data, len), 0);
    pump(from, to);
    uint8_t *got = malloc(len + 1);
    assert_non_null(got);
    size_t total = 0;
    uint8_t chunk[16384];
    int n;
    while ((n = tls_read(to, chunk, sizeof chunk)) > 0) {
        assert_true(total + (size_t)n <= len);
        memcpy(got + total, chunk, (size_t)n);
        total += (size_t)n;
    }
    pump(to, from);
    assert_int_equal(n, TLS_E_WANT);
    assert_int_equal(total, len);
    assert_memory_equal(got, data, len);
    free(got);
}

static void transfer_text(tls_conn *from, tls_conn *to, const char *text) {
    transfer(from, to, (const uint8_t *)text, strlen(text));
}

/* ---- tests ---- */

static void test_handshake_and_data_both_ways(void **state) {
    (void)state;
    peers p;
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, NULL), client_ctx(ca_pem, NULL, NULL),
               "localhost");
    connect_ok(&p);
    char alpn[32];
    assert_int_equal(tls_alpn_selected(p.client, alpn, sizeof alpn), strlen(CALLFLOOR_ALPN));
    assert_string_equal(alpn, CALLFLOOR_ALPN);
    assert_int_equal(tls_alpn_selected(p.server, alpn, sizeof alpn), strlen(CALLFLOOR_ALPN));
    assert_string_equal(alpn, CALLFLOOR_ALPN);
    char desc[96];
    assert_string_equal(tls_describe(p.client, desc, sizeof desc),
                        "TLSv1.3 TLS_AES_256_GCM_SHA384");

    transfer_text(p.client, p.server, "hello from the agent");
    transfer_text(p.server, p.client, "hello from the daemon");

    size_t big = 1024 * 1024;
    uint8_t *payload = malloc(big);
    assert_non_null(payload);
    for (size_t i = 0; i < big; i++)
        payload[i] = (uint8_t)(i * 31 + (i >> 13));
    transfer(p.client, p.server, payload, big);
    transfer(p.server, p.client, payload, big);
    tls_release_buffers(p.client);
    tls_release_buffers(p.server);
    transfer(p.client, p.server, payload, big);
    transfer_text(p.server, p.client, "still talking after releasing buffers");
    free(payload);
    peers_close(&p);
}

/* Plaintext written during the handshake waits inside and goes out once
 * the session is up. */
static void test_write_before_established(void **state) {
    (void)state;
    peers p;
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, NULL), client_ctx(ca_pem, NULL, NULL),
               "localhost");
    assert_false(tls_established(p.client));
    assert_int_equal(tls_write(p.client, "early", 5), 0);
    connect_ok(&p);
    char got[16];
    assert_int_equal(tls_read(p.server, got, sizeof got), 5);
    assert_memory_equal(got, "early", 5);
    assert_int_equal(tls_read(p.server, got, sizeof got), TLS_E_WANT);
    peers_close(&p);
}

static void test_ip_literal(void **state) {
    (void)state;
    peers p;
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, NULL), client_ctx(ca_pem, NULL, NULL),
               "127.0.0.1");
    connect_ok(&p);
    peers_close(&p);

    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, NULL), client_ctx(ca_pem, NULL, NULL),
               "127.0.0.2");
    run_handshake(&p);
    assert_int_equal(p.client_rc, TLS_E_PROTOCOL);
    assert_string_equal(tls_error_string(p.client),
                        "certificate verify failed: the server's certificate is not valid for "
                        "'127.0.0.2' (connect with a name the certificate lists)");
    peers_close(&p);
}

/* Reading into a buffer smaller than a record leaves the rest inside
 * OpenSSL (SSL_pending); every byte must still come out before WANT. */
static void test_small_reads_drain_records(void **state) {
    (void)state;
    peers p;
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, NULL), client_ctx(ca_pem, NULL, NULL),
               "localhost");
    connect_ok(&p);
    char sent[3000];
    for (size_t i = 0; i < sizeof sent; i++)
        sent[i] = (char)('a' + i % 26);
    assert_int_equal(tls_write(p.server, sent, 1000), 0);
    assert_int_equal(tls_write(p.server, sent + 1000, 2000), 0);
    pump(p.server, p.client);
    char got[sizeof sent], chunk[7];
    size_t total = 0;
    int n;
    while ((n = tls_read(p.client, chunk, sizeof chunk)) > 0) {
        assert_true(n <= (int)sizeof chunk);
        assert_true(total + (size_t)n <= sizeof got);
        memcpy(got + total, chunk, (size_t)n);
        total += (size_t)n;
    }
    assert_int_equal(n, TLS_E_WANT);
    assert_int_equal(total, sizeof sent);
    assert_memory_equal(got, sent, sizeof sent);
    peers_close(&p);
}

static char sni_seen[64];

static int remember_sni(SSL *ssl, int *alert, void *arg) {
    (void)alert;
    (void)arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    snprintf(sni_seen, sizeof sni_seen, "%s", name != NULL ? name : "(none)");
    return SSL_TLSEXT_ERR_OK;
}

/* SNI carries host names only; RFC 6066 forbids IP literals in it. */
static void test_sni_for_host_names_only(void **state) {
    (void)state;
    const char *hosts[] = {"localhost", "127.0.0.1"};
    const char *expected[] = {"localhost", "(none)"};
    for (size_t i = 0; i < 2; i++) {
        SSL_CTX *server = server_ctx(TLS_PROFILE_INTERMEDIATE, NULL);
        SSL_CTX_set_tlsext_servername_callback(server, remember_sni);
        peers p;
        peers_open(&p, server, client_ctx(ca_pem, NULL, NULL), hosts[i]);
        sni_seen[0] = '\0';
        connect_ok(&p);
        assert_string_equal(sni_seen, expected[i]);
        peers_close(&p);
    }
}

static void test_unknown_ca(void **state) {
    (void)state;
    peers p;
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, NULL), client_ctx(other_ca_pem, NULL, NULL),
               "localhost");
    run_handshake(&p);
    assert_int_equal(p.client_rc, TLS_E_PROTOCOL);
    assert_int_equal(p.server_rc, TLS_E_PROTOCOL);
    assert_false(tls_established(p.client));
    assert_string_equal(tls_error_string(p.client), "certificate verify failed: unable to get "
                                                    "local issuer certificate (check --ca)");
    assert_string_equal(tls_error_string(p.server),
                        "the peer does not trust the CA that signed our certificate");
    char got[8];
    assert_int_equal(tls_read(p.client, got, sizeof got), TLS_E_PROTOCOL);
    peers_close(&p);
}

static void test_wrong_host_name(void **state) {
    (void)state;
    peers p;
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, NULL), client_ctx(ca_pem, NULL, NULL),
               "calls.example.com");
    run_handshake(&p);
    assert_int_equal(p.client_rc, TLS_E_PROTOCOL);
    assert_string_equal(tls_error_string(p.client),
                        "certificate verify failed: the server's certificate is not valid for "
                        "'calls.example.com' (connect with a name the certificate lists)");
    peers_close(&p);
}

static void test_foreign_alpn_refused(void **state) {
    (void)state;
    SSL_CTX *client = client_ctx(ca_pem, NULL, NULL);
    static const unsigned char http[] = "\x08http/1.1";
    assert_int_equal(SSL_CTX_set_alpn_protos(client, http, sizeof http - 1), 0);
    peers p;
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, NULL), client, "localhost");
    run_handshake(&p);
    assert_int_equal(p.server_rc, TLS_E_PROTOCOL);
    assert_int_equal(p.client_rc, TLS_E_PROTOCOL);
    assert_string_equal(tls_error_string(p.server), "the client offered ALPN protocols but not "
                                                    "callfloor/1; it is not a callfloor client");
    /* This sentence is chosen only for the no_application_protocol alert. */
    assert_string_equal(tls_error_string(p.client),
                        "the server does not accept ALPN callfloor/1 (is this a callfloord port?)");
    peers_close(&p);
}

static void test_client_without_alpn_accepted(void **state) {
    (void)state;
    SSL_CTX *client = client_ctx(ca_pem, NULL, NULL);
    assert_int_equal(SSL_CTX_set_alpn_protos(client, NULL, 0), 0);
    peers p;
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, NULL), client, "localhost");
    connect_ok(&p);
    char alpn[32];
    assert_int_equal(tls_alpn_selected(p.server, alpn, sizeof alpn), -1);
    transfer_text(p.client, p.server, "no ALPN, still welcome");
    peers_close(&p);
}

static void test_close_notify(void **state) {
    (void)state;
    peers p;
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, NULL), client_ctx(ca_pem, NULL, NULL),
               "localhost");
    connect_ok(&p);
    assert_int_equal(tls_write(p.client, "bye", 3), 0);
    tls_shutdown(p.client);
    assert_true(pump(p.client, p.server) > 0);
    char got[16];
    assert_int_equal(tls_read(p.server, got, sizeof got), 3);
    assert_memory_equal(got, "bye", 3);
    assert_int_equal(tls_read(p.server, got, sizeof got), TLS_E_CLOSED);
    assert_int_equal(tls_read(p.server, got, sizeof got), TLS_E_CLOSED);
    assert_string_equal(tls_error_string(p.server),
                        "the peer closed the TLS session (close_notify)");
    assert_int_equal(tls_write(p.server, "late", 4), TLS_E_CLOSED);
    /* The server answers with its own close_notify. */
    tls_shutdown(p.server);
    assert_true(pump(p.server, p.client) > 0);
    assert_int_equal(tls_read(p.client, got, sizeof got), TLS_E_CLOSED);
    peers_close(&p);
}

/* Moves bytes between a plain OpenSSL peer (with memory BIOs) and a
 * tls_conn, for what tls_conn deliberately cannot do: renegotiate. */
static size_t raw_to_tls(SSL *raw, tls_conn *t) {
    char chunk[4096];
    size_t moved = 0;
    int n;
    while ((n = BIO_read(SSL_get_wbio(raw), chunk, sizeof chunk)) > 0) {
        assert_int_equal(tls_feed(t, chunk, (size_t)n), 0);
        moved += (size_t)n;
    }
    return moved;
}

static size_t tls_to_raw(tls_conn *t, SSL *raw) {
    buf wire = BUF_INIT;
    int n = tls_take_output(t, &wire);
    assert_true(n >= 0);
    if (n > 0)
        assert_int_equal(BIO_write(SSL_get_rbio(raw), buf_head(&wire), n), n);
    buf_free(&wire);
    return (size_t)n;
}

/* A raw peer over TLS 1.2 (renegotiation does not exist in 1.3) that is
 * willing to renegotiate, already through the handshake with `t`. */
static SSL *raw_peer(SSL_CTX *ctx, bool is_server, tls_conn *t) {
    SSL *raw = SSL_new(ctx);
    assert_non_null(raw);
    SSL_set_bio(raw, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    assert_int_equal(SSL_set_max_proto_version(raw, TLS1_2_VERSION), 1);
    SSL_clear_options(raw, SSL_OP_NO_RENEGOTIATION);
    if (is_server)
        SSL_set_accept_state(raw);
    else
        SSL_set_connect_state(raw);
    int raw_rc = 0, tls_rc = 0;
    for (int round = 0; round < 8 && (raw_rc != 1 || tls_rc != 1); round++) {
        raw_rc = SSL_do_handshake(raw);
        raw_to_tls(raw, t);
        tls_rc = tls_handshake(t);
        tls_to_raw(t, raw);
    }
    assert_int_equal(raw_rc, 1);
    assert_int_equal(tls_rc, 1);
    return raw;
}

/* Asks `raw` to renegotiate with `t`, which must refuse and stay usable. */
static void check_renegotiation_refused(SSL *raw, tls_conn *t) {
    assert_int_equal(SSL_renegotiate(raw), 1);
    /* A client now waits for ServerHello (-1); a server has sent its
     * HelloRequest and is done (1) until a ClientHello arrives. */
    assert_true(SSL_do_handshake(raw) != 0);
    ERR_clear_error();
    assert_true(raw_to_tls(raw, t) > 0);
    char got[16];
    assert_int_equal(tls_read(t, got, sizeof got), TLS_E_WANT);
    assert_true(tls_to_raw(t, raw) > 0);
    /* The raw peer learns of the refusal from the no_renegotiation alert. */
    char none[16];
    assert_true(SSL_read(raw, none, sizeof none) <= 0);
    assert_int_equal(ERR_GET_REASON(ERR_peek_error()), SSL_R_NO_RENEGOTIATION);
    ERR_clear_error();
    assert_true(tls_established(t));
}

static void test_renegotiation_refused(void **state) {
    (void)state;
    SSL_CTX *server = server_ctx(TLS_PROFILE_INTERMEDIATE, NULL);
    SSL_CTX *client = client_ctx(ca_pem, NULL, NULL);

    tls_conn *our_server = tls_conn_new(server, true, NULL);
    assert_non_null(our_server);
    SSL *raw_client = raw_peer(client, false, our_server);
    check_renegotiation_refused(raw_client, our_server);
    SSL_free(raw_client);
    tls_conn_free(our_server);

    tls_conn *our_client = tls_conn_new(client, false, "localhost");
    assert_non_null(our_client);
    SSL *raw_server = raw_peer(server, true, our_client);
    check_renegotiation_refused(raw_server, our_client);
    SSL_free(raw_server);
    tls_conn_free(our_client);

    SSL_CTX_free(server);
    SSL_CTX_free(client);
}

static void test_intermediate_accepts_tls12(void **state) {
    (void)state;
    SSL_CTX *client = client_ctx(ca_pem, NULL, NULL);
    assert_int_equal(SSL_CTX_set_max_proto_version(client, TLS1_2_VERSION), 1);
    peers p;
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, NULL), client, "localhost");
    connect_ok(&p);
    char desc[96];
    /* The server's order wins: the first intermediate suite for its EC key. */
    assert_string_equal(tls_describe(p.server, desc, sizeof desc),
                        "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256");
    transfer_text(p.server, p.client, "TLS 1.2 works");
    peers_close(&p);
}

static void test_modern_refuses_tls12(void **state) {
    (void)state;
    SSL_CTX *client = client_ctx(ca_pem, NULL, NULL);
    assert_int_equal(SSL_CTX_set_max_proto_version(client, TLS1_2_VERSION), 1);
    peers p;
    peers_open(&p, server_ctx(TLS_PROFILE_MODERN, NULL), client, "localhost");
    run_handshake(&p);
    assert_int_equal(p.server_rc, TLS_E_PROTOCOL);
    assert_int_equal(p.client_rc, TLS_E_PROTOCOL);
    assert_string_equal(tls_error_string(p.server),
                        "no TLS version in common with the peer (TLS 1.2 is the minimum; "
                        "tls.profile = modern requires TLS 1.3)");
    assert_non_null(strstr(tls_error_string(p.client), "refused our TLS version"));
    peers_close(&p);

    peers_open(&p, server_ctx(TLS_PROFILE_MODERN, NULL), client_ctx(ca_pem, NULL, NULL),
               "localhost");
    connect_ok(&p);
    char desc[96];
    assert_non_null(strstr(tls_describe(p.server, desc, sizeof desc), "TLSv1.3 "));
    peers_close(&p);
}

static void feed_garbage(const void *bytes, size_t len, const char *expected) {
    SSL_CTX *ctx = server_ctx(TLS_PROFILE_INTERMEDIATE, NULL);
    tls_conn *server = tls_conn_new(ctx, true, NULL);
    assert_non_null(server);
    assert_int_equal(tls_feed(server, bytes, len), 0);
    assert_int_equal(tls_handshake(server), TLS_E_PROTOCOL);
    assert_string_equal(tls_error_string(server), expected);
    char got[16];
    assert_int_equal(tls_read(server, got, sizeof got), TLS_E_PROTOCOL);
    assert_int_equal(tls_write(server, "x", 1), TLS_E_PROTOCOL);
    assert_false(tls_established(server));
    buf out = BUF_INIT;
    assert_true(tls_take_output(server, &out) >= 0);
    buf_free(&out);
    tls_conn_free(server);
    SSL_CTX_free(ctx);
}

static void test_garbage_is_a_protocol_error(void **state) {
    (void)state;
    const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    feed_garbage(http, sizeof http - 1,
                 "the peer sent a plain HTTP request, not TLS (wrong port or scheme?)");
    const unsigned char junk[] = {0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
    feed_garbage(junk, sizeof junk,
                 "the peer does not speak TLS (wrong version number in its "
                 "first record; wrong port?)");
    const unsigned char huge_record[] = {0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00};
    feed_garbage(huge_record, sizeof huge_record,
                 "the peer sent an oversized record; it probably does not speak TLS (wrong "
                 "port?)");
}

static void test_client_certificate(void **state) {
    (void)state;
    peers p;
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, ca_pem),
               client_ctx(ca_pem, client_pem, client_key), "localhost");
    connect_ok(&p);
    char cn[64];
    assert_int_equal(tls_peer_common_name(p.server, cn, sizeof cn), 8);
    assert_string_equal(cn, "agent007");
    assert_int_equal(tls_peer_common_name(p.server, cn, 8), -1);
    assert_int_equal(tls_peer_common_name(p.client, cn, sizeof cn), 9);
    assert_string_equal(cn, "localhost");
    peers_close(&p);

    /* Optional: a client without a certificate still connects. */
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, ca_pem), client_ctx(ca_pem, NULL, NULL),
               "localhost");
    connect_ok(&p);
    assert_int_equal(tls_peer_common_name(p.server, cn, sizeof cn), -1);
    peers_close(&p);

    /* Without client_ca no certificate is asked for, so none is reported. */
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, NULL),
               client_ctx(ca_pem, client_pem, client_key), "localhost");
    connect_ok(&p);
    assert_int_equal(tls_peer_common_name(p.server, cn, sizeof cn), -1);
    peers_close(&p);
}

static void test_untrusted_client_certificate(void **state) {
    (void)state;
    peers p;
    peers_open(&p, server_ctx(TLS_PROFILE_INTERMEDIATE, ca_pem),
               client_ctx(ca_pem, rogue_pem, rogue_key), "localhost");
    run_handshake(&p);
    assert_int_equal(p.server_rc, TLS_E_PROTOCOL);
    assert_string_equal(tls_error_string(p.server),
                        "client certificate verify failed: unable to get local issuer "
                        "certificate (check tls.client_ca)");
    /* Under TLS 1.3 the client finishes first and learns of it on reading. */
    char got[8];
    assert_int_equal(tls_read(p.client, got, sizeof got), TLS_E_PROTOCOL);
    assert_string_equal(tls_error_string(p.client),
                        "the peer does not trust the CA that signed our certificate");
    peers_close(&p);
}

static void test_context_errors(void **state) {
    (void)state;
    char expected[512], missing[160];
    snprintf(missing, sizeof missing, "%s/missing.pem", dir);

    assert_null(
        tls_server_ctx_new(server_pem, stray_key, NULL, TLS_PROFILE_INTERMEDIATE, err, sizeof err));
    snprintf(expected, sizeof expected,
             "the private key in '%s' does not belong to the certificate in '%s'", stray_key,
             server_pem);
    assert_string_equal(err, expected);

    assert_null(
        tls_server_ctx_new(missing, server_key, NULL, TLS_PROFILE_INTERMEDIATE, err, sizeof err));
    snprintf(expected, sizeof expected,
             "cannot open the certificate file '%s': No such file or directory", missing);
    assert_string_equal(err, expected);

    assert_null(
        tls_server_ctx_new(server_key, server_key, NULL, TLS_PROFILE_MODERN, err, sizeof err));
    snprintf(expected, sizeof expected, "'%s' holds no usable PEM certificate: ", server_key);
    assert_memory_equal(err, expected, strlen(expected));

    assert_null(tls_server_ctx_new(server_pem, server_key, missing, TLS_PROFILE_INTERMEDIATE, err,
                                   sizeof err));
    snprintf(expected, sizeof expected,
             "cannot open the client CA file '%s': No such file or directory", missing);
    assert_string_equal(err, expected);

    assert_null(tls_client_ctx_new(missing, NULL, NULL, err, sizeof err));
    snprintf(expected, sizeof expected, "cannot open the CA file '%s': No such file or directory",
             missing);
    assert_string_equal(err, expected);

    assert_null(tls_client_ctx_new(ca_pem, client_pem, server_key, err, sizeof err));
    snprintf(expected, sizeof expected,
             "the private key in '%s' does not belong to the certificate in '%s'", server_key,
             client_pem);
    assert_string_equal(err, expected);

    assert_null(tls_client_ctx_new(ca_pem, NULL, client_key, err, sizeof err));
    assert_string_equal(err, "a client key was given without its certificate (use --cert too)");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_data_both_ways),
        cmocka_unit_test(test_write_before_established),
        cmocka_unit_test(test_ip_literal),
        cmocka_unit_test(test_small_reads_drain_records),
        cmocka_unit_test(test_sni_for_host_names_only),
        cmocka_unit_test(test_unknown_ca),
        cmocka_unit_test(test_wrong_host_name),
        cmocka_unit_test(test_foreign_alpn_refused),
        cmocka_unit_test(test_client_without_alpn_accepted),
        cmocka_unit_test(test_close_notify),
        cmocka_unit_test(test_intermediate_accepts_tls12),
        cmocka_unit_test(test_renegotiation_refused),
        cmocka_unit_test(test_modern_refuses_tls12),
        cmocka_unit_test(test_garbage_is_a_protocol_error),
        cmocka_unit_test(test_client_certificate),
        cmocka_unit_test(test_untrusted_client_certificate),
        cmocka_unit_test(test_context_errors),
    };
    return cmocka_run_group_tests(tests, make_certificates, remove_certificates);
}
