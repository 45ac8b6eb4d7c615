/* vault: sealing round trips, every kind of tampering detected, key
 * rotation (old blobs still open), the look-up hash against a value
 * computed independently with the openssl CLI, and key files refused for
 * each way they can be wrong, naming the line. */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vault.h"

#define HMAC_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY1_HEX "1111111111111111111111111111111111111111111111111111111111111111"
#define KEY2_HEX "2222222222222222222222222222222222222222222222222222222222222222"

static char path[] = "/tmp/test_vault_XXXXXX";

static void write_keys(const char *text, mode_t mode) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static vault *open_keys(const char *text) {
    char err[256];
    write_keys(text, 0600);
    vault *v = vault_open(path, err, sizeof err);
    if (v == NULL)
        fail_msg("vault_open: %s", err);
    return v;
}

static int setup(void **state) {
    (void)state;
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(path);
    return 0;
}

static void test_round_trip(void **state) {
    (void)state;
    vault *v = open_keys("# test keys\nhmac " HMAC_HEX "\nkey 1 " KEY1_HEX "\n");
    uint8_t blob[VAULT_BLOB_MAX], again[VAULT_BLOB_MAX];
    int n = vault_seal(v, "13812345678", blob);
    assert_int_equal(n, VAULT_OVERHEAD + 11);
    assert_null(memmem(blob, (size_t)n, "13812345678", 11));
    /* A fresh nonce each time: the same number never seals the same. */
    assert_int_equal(vault_seal(v, "13812345678", again), n);
    assert_memory_not_equal(blob, again, (size_t)n);
    char plain[VAULT_PLAIN_MAX + 1];
    assert_int_equal(vault_unseal(v, blob, (size_t)n, plain), 0);
    assert_string_equal(plain, "13812345678");
    char long_text[VAULT_PLAIN_MAX + 2];
    memset(long_text, '1', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    assert_int_equal(vault_seal(v, long_text, blob), VAULT_E_TOO_LONG);
    vault_close(v);
}

static void test_tampering_detected(void **state) {
    (void)state;
    vault *v = open_keys("hmac " HMAC_HEX "\nkey 1 " KEY1_HEX "\n");
    uint8_t blob[VAULT_BLOB_MAX];
    int n = vault_seal(v, "13812345678", blob);
    char plain[VAULT_PLAIN_MAX + 1];
    /* Every byte but the key id (which names a key the vault lacks). */
    for (int i = 0; i < n; i++) {
        if (i == 1)
            continue;
        uint8_t bad[VAULT_BLOB_MAX];
        memcpy(bad, blob, (size_t)n);
        bad[i] ^= 0x01;
        if (vault_unseal(v, bad, (size_t)n, plain) != VAULT_E_TAMPERED)
            fail_msg("a flipped bit in byte %d went unnoticed", i);
    }
    uint8_t bad[VAULT_BLOB_MAX];
    memcpy(bad, blob, (size_t)n);
    bad[1] = 7;
    assert_int_equal(vault_unseal(v, bad, (size_t)n, plain), VAULT_E_UNKNOWN_KEY);
    assert_int_equal(vault_unseal(v, blob, (size_t)n - 1, plain), VAULT_E_TAMPERED);
    assert_int_equal(vault_unseal(v, blob, 3, plain), VAULT_E_TAMPERED);
    vault_close(v);
}

static void test_rotation(void **state) {
    (void)state;
    vault *old = open_keys("hmac " HMAC_HEX "\nkey 1 " KEY1_HEX "\n");
    uint8_t blob[VAULT_BLOB_MAX], hash_old[VAULT_HASH_LEN], hash_new[VAULT_HASH_LEN];
    int n = vault_seal(old, "13912345678", blob);
    vault_hash(old, "13912345678", hash_old);
    vault_close(old);
    vault *v = open_keys("hmac " HMAC_HEX "\nkey 2 " KEY2_HEX "\nkey 1 " KEY1_HEX "\n");
    assert_int_equal(vault_current_key_id(v), 2);
    char plain[VAULT_PLAIN_MAX + 1];
    assert_int_equal(vault_unseal(v, blob, (size_t)n, plain), 0);
    assert_string_equal(plain, "13912345678");
    uint8_t fresh[VAULT_BLOB_MAX];
    vault_seal(v, "13912345678", fresh);
    assert_int_equal(fresh[1], 2);
    vault_hash(v, "13912345678", hash_new);
    assert_memory_equal(hash_old, hash_new, VAULT_HASH_LEN);
    vault_close(v);
}

static void test_hash_known_answer(void **state) {
    (void)state;
    /* echo -n 13812345678 | openssl dgst -sha256 -mac HMAC -macopt hexkey:HMAC_HEX */
    static const uint8_t want[VAULT_HASH_LEN] = {0x05, 0xec, 0x8d, 0x79, 0xe8, 0xcc, 0x09, 0xed,
                                                 0x99, 0xaa, 0x93, 0x8b, 0x4d, 0x77, 0x14, 0xe3,
                                                 0xd1, 0xba, 0xfd, 0xee, 0xfa, 0x21, 0xbb, 0x9f,
                                                 0x94, 0x2f, 0xb8, 0x62, 0xf5, 0x0c, 0xfc, 0xd2};
    vault *v = open_keys("hmac " HMAC_HEX "\nkey 1 " KEY1_HEX "\n");
    uint8_t got[VAULT_HASH_LEN];
    vault_hash(v, "13812345678", got);
    assert_memory_equal(got, want, VAULT_HASH_LEN);
    vault_close(v);
}

static void test_bad_key_files(void **state) {
    (void)state;
    static const struct {
        const char *text;
        const char *says;
    } cases[] = {
        {"", "needs one 'hmac HEX' line"},
        {"hmac " HMAC_HEX "\n", "at least one 'key ID HEX'"},
        {"key 1 " KEY1_HEX "\n", "needs one 'hmac HEX' line"},
        {"hmac " HMAC_HEX "\nkey 1 " KEY1_HEX "\nhmac " HMAC_HEX "\n", ":3: a second hmac"},
        {"hmac 0011\nkey 1 " KEY1_HEX "\n", ":1: the hmac key is not 64"},
        {"hmac " HMAC_HEX "\nkey 0 " KEY1_HEX "\n", ":2: a key id is a number"},
        {"hmac " HMAC_HEX "\nkey 256 " KEY1_HEX "\n", ":2: a key id is a number"},
        {"hmac " HMAC_HEX "\nkey 1 " KEY1_HEX "\nkey 1 " KEY2_HEX "\n", ":3: this key id"},
        {"hmac " HMAC_HEX "\nkey 1 zz" KEY1_HEX "\n", ":2: the key is not 64"},
        {"hmac " HMAC_HEX "\nsecret 1 " KEY1_HEX "\n", ":2: expected"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        write_keys(cases[i].text, 0600);
        vault *v = vault_open(path, err, sizeof err);
        if (v != NULL || strstr(err, cases[i].says) == NULL)
            fail_msg("key file %zu: '%s' does not say '%s'", i, err, cases[i].says);
        assert_null(strstr(err, KEY1_HEX));
        assert_null(strstr(err, "1111111111"));
    }
    char err[256];
    write_keys("hmac " HMAC_HEX "\nkey 1 " KEY1_HEX "\n", 0640);
    assert_null(vault_open(path, err, sizeof err));
    assert_non_null(strstr(err, "chmod 600"));
    assert_null(vault_open("/nonexistent/vault.keys", err, sizeof err));
    assert_non_null(strstr(err, "vault.key_file"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_tampering_detected),
        cmocka_unit_test(test_rotation),      cmocka_unit_test(test_hash_known_answer),
        cmocka_unit_test(test_bad_key_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
