/* vault: sealing round trips, every kind of tampering detected, key
 * rotation (old blobs still open), the blob format and the look-up hash
 * against values computed independently (Python's cryptography package
 * and the openssl CLI), and key files refused for each way they can be
 * wrong, naming the file and line but never a key. */
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
#define KEYS_1   "hmac " HMAC_HEX "\nkey 1 " KEY1_HEX "\n"
#define KEYS_1_2 "hmac " HMAC_HEX "\nkey 2 " KEY2_HEX "\nkey 1 " KEY1_HEX "\n"

static char dir[] = "/tmp/test_vault_XXXXXX";
static char path[sizeof dir + 16];

static void write_keys_n(const char *text, size_t len, mode_t mode) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void write_keys(const char *text, mode_t mode) {
    write_keys_n(text, strlen(text), mode);
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
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/vault.keys", dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(path);
    return rmdir(dir);
}

static void test_round_trip(void **state) {
    (void)state;
    vault *v = open_keys("# test keys\n" KEYS_1);
    uint8_t blob[VAULT_BLOB_MAX], again[VAULT_BLOB_MAX];
    int n = vault_seal(v, "13812345678", blob);
    assert_int_equal(n, VAULT_OVERHEAD + 11);
    assert_int_equal(blob[0], 1);
    assert_int_equal(blob[1], 1);
    assert_null(memmem(blob, (size_t)n, "13812345678", 11));
    /* A fresh nonce each time: the same number never seals the same. */
    assert_int_equal(vault_seal(v, "13812345678", again), n);
    assert_memory_not_equal(blob + 2, again + 2, 12);
    char plain[VAULT_PLAIN_MAX + 1];
    assert_int_equal(vault_unseal(v, blob, (size_t)n, plain), 0);
    assert_string_equal(plain, "13812345678");
    assert_int_equal(vault_unseal(v, again, (size_t)n, plain), 0);
    assert_string_equal(plain, "13812345678");

    assert_int_equal(vault_seal(v, "", blob), VAULT_OVERHEAD);
    assert_int_equal(vault_unseal(v, blob, VAULT_OVERHEAD, plain), 0);
    assert_string_equal(plain, "");
    char longest[VAULT_PLAIN_MAX + 2];
    memset(longest, '7', VAULT_PLAIN_MAX);
    longest[VAULT_PLAIN_MAX] = '\0';
    assert_int_equal(vault_seal(v, longest, blob), VAULT_BLOB_MAX);
    assert_int_equal(vault_unseal(v, blob, VAULT_BLOB_MAX, plain), 0);
    assert_string_equal(plain, longest);
    longest[VAULT_PLAIN_MAX] = '7';
    longest[VAULT_PLAIN_MAX + 1] = '\0';
    assert_int_equal(vault_seal(v, longest, blob), VAULT_E_TOO_LONG);
    vault_close(v);
    vault_close(NULL);
}

/* A blob made outside callfloor (Python's cryptography: AESGCM(key 1)
 * .encrypt(nonce a0..ab, "13812345678", associated data 01 01)) opens:
 * the layout in vault.h is the real one. */
static const uint8_t python_blob[] = {
    0x01, 0x01, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
    0x52, 0x87, 0x48, 0x7c, 0x72, 0x27, 0xb7, 0xa6, 0x0e, 0x28, 0x8b, 0x9c, 0x89, 0x82,
    0x19, 0x4c, 0xff, 0xac, 0x5f, 0x0e, 0x8b, 0x2f, 0x1b, 0x48, 0xb2, 0x83, 0x87};

static void test_known_blob(void **state) {
    (void)state;
    vault *v = open_keys(KEYS_1_2);
    char plain[VAULT_PLAIN_MAX + 1];
    assert_int_equal(vault_unseal(v, python_blob, sizeof python_blob, plain), 0);
    assert_string_equal(plain, "13812345678");
    /* Relabelled to another key the vault has, it must not open: the id
     * is authenticated. */
    uint8_t relabelled[sizeof python_blob];
    memcpy(relabelled, python_blob, sizeof python_blob);
    relabelled[1] = 2;
    assert_int_equal(vault_unseal(v, relabelled, sizeof relabelled, plain), VAULT_E_TAMPERED);
    vault_close(v);
}

static void test_tampering_detected(void **state) {
    (void)state;
    vault *v = open_keys(KEYS_1);
    uint8_t blob[VAULT_BLOB_MAX + 1];
    int n = vault_seal(v, "13812345678", blob);
    char plain[VAULT_PLAIN_MAX + 1];
    /* Every bit but those of the key id (which then names a key the vault
     * lacks): version, nonce, ciphertext and tag. */
    for (int i = 0; i < n; i++) {
        for (int bit = 0; bit < 8 && i != 1; bit++) {
            uint8_t bad[VAULT_BLOB_MAX];
            memcpy(bad, blob, (size_t)n);
            bad[i] ^= (uint8_t)(1u << bit);
            memset(plain, 'x', sizeof plain);
            if (vault_unseal(v, bad, (size_t)n, plain) != VAULT_E_TAMPERED)
                fail_msg("bit %d of byte %d flipped went unnoticed", bit, i);
            assert_null(memchr(plain, '3', sizeof plain));
        }
    }
    uint8_t bad[VAULT_BLOB_MAX];
    memcpy(bad, blob, (size_t)n);
    bad[1] = 7;
    assert_int_equal(vault_unseal(v, bad, (size_t)n, plain), VAULT_E_UNKNOWN_KEY);
    bad[1] = 0;
    assert_int_equal(vault_unseal(v, bad, (size_t)n, plain), VAULT_E_UNKNOWN_KEY);
    assert_int_equal(vault_unseal(v, blob, (size_t)n - 1, plain), VAULT_E_TAMPERED);
    blob[n] = 0;
    assert_int_equal(vault_unseal(v, blob, (size_t)n + 1, plain), VAULT_E_TAMPERED);
    assert_int_equal(vault_unseal(v, blob, VAULT_OVERHEAD - 1, plain), VAULT_E_TAMPERED);
    assert_int_equal(vault_unseal(v, blob, 0, plain), VAULT_E_TAMPERED);
    vault_close(v);
}

static void test_rotation(void **state) {
    (void)state;
    vault *old = open_keys(KEYS_1);
    uint8_t blob[VAULT_BLOB_MAX], hash_old[VAULT_HASH_LEN], hash_new[VAULT_HASH_LEN];
    int n = vault_seal(old, "13912345678", blob);
    assert_int_equal(vault_hash(old, "13912345678", hash_old), 0);
    vault_close(old);

    vault *v = open_keys(KEYS_1_2);
    assert_int_equal(vault_current_key_id(v), 2);
    char plain[VAULT_PLAIN_MAX + 1];
    assert_int_equal(vault_unseal(v, blob, (size_t)n, plain), 0);
    assert_string_equal(plain, "13912345678");
    uint8_t fresh[VAULT_BLOB_MAX];
    assert_int_equal(vault_seal(v, "13912345678", fresh), n);
    assert_int_equal(fresh[1], 2);
    assert_int_equal(vault_hash(v, "13912345678", hash_new), 0);
    assert_memory_equal(hash_old, hash_new, VAULT_HASH_LEN);
    vault_close(v);

    /* Once key 1 is dropped from the file, its blobs say so. */
    v = open_keys("hmac " HMAC_HEX "\nkey 2 " KEY2_HEX "\n");
    assert_int_equal(vault_unseal(v, blob, (size_t)n, plain), VAULT_E_UNKNOWN_KEY);
    assert_int_equal(vault_unseal(v, fresh, (size_t)n, plain), 0);
    vault_close(v);
}

static void test_hash_known_answer(void **state) {
    (void)state;
    /* echo -n 13812345678 | openssl dgst -sha256 -mac HMAC -macopt hexkey:HMAC_HEX */
    static const uint8_t want[VAULT_HASH_LEN] = {0x05, 0xec, 0x8d, 0x79, 0xe8, 0xcc, 0x09, 0xed,
                                                 0x99, 0xaa, 0x93, 0x8b, 0x4d, 0x77, 0x14, 0xe3,
                                                 0xd1, 0xba, 0xfd, 0xee, 0xfa, 0x21, 0xbb, 0x9f,
                                                 0x94, 0x2f, 0xb8, 0x62, 0xf5, 0x0c, 0xfc, 0xd2};
    vault *v = open_keys(KEYS_1);
    uint8_t got[VAULT_HASH_LEN], other[VAULT_HASH_LEN];
    assert_int_equal(vault_hash(v, "13812345678", got), 0);
    assert_memory_equal(got, want, VAULT_HASH_LEN);
    assert_int_equal(vault_hash(v, "13812345679", other), 0);
    assert_memory_not_equal(got, other, VAULT_HASH_LEN);
    vault_close(v);
}

/* Comments, blank lines, CRLF line ends and spacing are all fine. */
static void test_key_file_layout(void **state) {
    (void)state;
    vault *v = open_keys("# made by hand\r\n\r\n  hmac\t" HMAC_HEX "\r\n\n# old\nkey 1  " KEY1_HEX
                         "\r\nkey 3 " KEY2_HEX);
    assert_int_equal(vault_current_key_id(v), 3);
    char plain[VAULT_PLAIN_MAX + 1];
    assert_int_equal(vault_unseal(v, python_blob, sizeof python_blob, plain), 0);
    vault_close(v);
}

static void expect_refused(const char *says) {
    char err[512] = "";
    vault *v = vault_open(path, err, sizeof err);
    if (v != NULL || strstr(err, says) == NULL)
        fail_msg("'%s' does not say '%s'", err, says);
    assert_non_null(strstr(err, path));
    assert_null(strstr(err, "1111111111"));
    assert_null(strstr(err, "0a0b0c0d"));
}

static void test_bad_key_files(void **state) {
    (void)state;
    static const struct {
        const char *text;
        const char *says;
    } cases[] = {
        {"", "needs one 'hmac HEX' line"},
        {"# nothing\n", "needs one 'hmac HEX' line"},
        {"hmac " HMAC_HEX "\n", "at least one 'key ID HEX'"},
        {"key 1 " KEY1_HEX "\n", "needs one 'hmac HEX' line"},
        {KEYS_1 "hmac " HMAC_HEX "\n", ":3: a second hmac"},
        {"hmac 0011\nkey 1 " KEY1_HEX "\n", ":1: the hmac key is not 64"},
        {"hmac " HMAC_HEX "00\nkey 1 " KEY1_HEX "\n", ":1: the hmac key is not 64"},
        {"hmac " HMAC_HEX "\nkey 0 " KEY1_HEX "\n", ":2: a key id is a number"},
        {"hmac " HMAC_HEX "\nkey 256 " KEY1_HEX "\n", ":2: a key id is a number"},
        {"hmac " HMAC_HEX "\nkey x1 " KEY1_HEX "\n", ":2: a key id is a number"},
        {KEYS_1 "key 1 " KEY2_HEX "\n", ":3: this key id"},
        {"hmac " HMAC_HEX "\nkey 1 zz" KEY1_HEX "\n", ":2: the key is not 64"},
        {"hmac " HMAC_HEX "\nkey 1 " KEY1_HEX " extra\n", ":2: expected"},
        {"hmac " HMAC_HEX "\nsecret 1 " KEY1_HEX "\n", ":2: expected"},
        {"hmac " HMAC_HEX "\n\n\n# note\nkey 1\n", ":5: expected"}, /* blank lines counted */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_keys(cases[i].text, 0600);
        expect_refused(cases[i].says);
    }
    static const char with_nul[] = "hmac " HMAC_HEX "\n\0key 1 " KEY1_HEX "\n";
    write_keys_n(with_nul, sizeof with_nul - 1, 0600);
    expect_refused("is not a text file");

    char *big = malloc(VAULT_FILE_MAX + 2);
    memset(big, '#', VAULT_FILE_MAX + 1);
    big[VAULT_FILE_MAX + 1] = '\0';
    write_keys(big, 0600);
    expect_refused("larger than 4096 bytes");
    big[VAULT_FILE_MAX] = '\0'; /* at the limit: only comments, so no keys */
    write_keys(big, 0600);
    expect_refused("needs one 'hmac HEX' line");
    free(big);
}

static void test_file_refused(void **state) {
    (void)state;
    static const mode_t open_modes[] = {0640, 0604, 0620, 0602, 0610, 0644};
    for (size_t i = 0; i < sizeof open_modes / sizeof open_modes[0]; i++) {
        write_keys(KEYS_1, open_modes[i]);
        expect_refused("chmod 600");
    }
    write_keys(KEYS_1, 0400);
    char err[256];
    vault *v = vault_open(path, err, sizeof err);
    assert_non_null(v);
    vault_close(v);
    assert_int_equal(chmod(path, 0600), 0);

    unlink(path);
    expect_refused("No such file");
    expect_refused("vault.key_file");
    assert_int_equal(mkdir(path, 0700), 0);
    expect_refused("not a regular file");
    rmdir(path);
    /* A FIFO would block a plain open until a writer came. */
    assert_int_equal(mkfifo(path, 0600), 0);
    expect_refused("not a regular file");
    unlink(path);
}

static void test_messages(void **state) {
    (void)state;
    static const int codes[] = {VAULT_E_TAMPERED, VAULT_E_UNKNOWN_KEY, VAULT_E_TOO_LONG,
                                VAULT_E_CRYPTO};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(vault_strerror(codes[i]), vault_strerror(codes[j]));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),         cmocka_unit_test(test_known_blob),
        cmocka_unit_test(test_tampering_detected), cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_hash_known_answer),  cmocka_unit_test(test_key_file_layout),
        cmocka_unit_test(test_bad_key_files),      cmocka_unit_test(test_file_refused),
        cmocka_unit_test(test_messages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
