/* Password hashing: argon2id with the OWASP parameters, verification and
 * its failure codes (its own reading of PHC strings), the length policy, rehash detection, the
 * dummy hash, and the thread-pool variants calling back on the loop thread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <cmocka.h>
#include <uv.h>

#include "passwd.h"

#define CURRENT_PREFIX "$argon2id$v=19$m=19456,t=2,p=1$"
#define PASSWORD       "correct horse battery staple"

static void hash_ok(const char *password, char *out) {
    assert_int_equal(passwd_hash(password, out, PASSWD_HASH_MAX), 0);
}

static void test_hash_then_verify(void **state) {
    (void)state;
    char hash[PASSWD_HASH_MAX];
    hash_ok(PASSWORD, hash);
    assert_int_equal(passwd_verify(hash, PASSWORD), 0);
}

static void test_wrong_password_is_mismatch(void **state) {
    (void)state;
    char hash[PASSWD_HASH_MAX];
    hash_ok(PASSWORD, hash);
    assert_int_equal(passwd_verify(hash, "correct horse battery stapler"), PASSWD_E_MISMATCH);
    assert_int_equal(passwd_verify(hash, ""), PASSWD_E_MISMATCH);
}

static void test_hash_has_current_parameters(void **state) {
    (void)state;
    char hash[PASSWD_HASH_MAX];
    hash_ok(PASSWORD, hash);
    assert_memory_equal(hash, CURRENT_PREFIX, strlen(CURRENT_PREFIX));
    /* 16 bytes of salt and 32 of output in unpadded base64: 22 + '$' + 43. */
    assert_int_equal(strlen(hash), strlen(CURRENT_PREFIX) + 22 + 1 + 43);
}

static void test_salt_makes_hashes_differ(void **state) {
    (void)state;
    char a[PASSWD_HASH_MAX], b[PASSWD_HASH_MAX];
    hash_ok(PASSWORD, a);
    hash_ok(PASSWORD, b);
    assert_string_not_equal(a, b);
    assert_int_equal(passwd_verify(b, PASSWORD), 0);
}

static void test_hash_refuses_small_buffer(void **state) {
    (void)state;
    char hash[40];
    assert_int_equal(passwd_hash(PASSWORD, hash, sizeof hash), PASSWD_E_HASH);
}

static void test_garbage_is_bad_hash(void **state) {
    (void)state;
    char good[PASSWD_HASH_MAX];
    hash_ok(PASSWORD, good);
    char truncated[PASSWD_HASH_MAX];
    snprintf(truncated, sizeof truncated, "%.*s", (int)strlen(good) - 30, good);
    char argon2i[PASSWD_HASH_MAX];
    snprintf(argon2i, sizeof argon2i, "$argon2i$%s", good + strlen("$argon2id$"));
    const char *bad[] = {
        "",
        "not a hash",
        PASSWORD,
        "$argon2id$",
        "$argon2id$v=19$m=19456,t=2,p=1$",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", /* salt shorter than 8 bytes */
        "$argon2id$v=19$m=,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=99999999999,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
        truncated,
        argon2i,
        /* A lone base64 character ends the salt. */
        "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
        /* Unused bits of the last character are not zero. */
        "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAB$AAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAA!AAAAAAAAAA",
        "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA$",
        "$argon2id$v=18$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
        /* 66 bytes of salt, over the 64 verify takes. */
        "$argon2id$v=19$m=19456,t=2,p=1$"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "$AAAAAAAAAAAAAAAAAAAAAA",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        print_message("encoded: %s\n", bad[i]);
        assert_int_equal(passwd_verify(bad[i], PASSWORD), PASSWD_E_BAD_HASH);
    }
}

/* A corrupted row asking for 4 GiB and a million passes must be refused
 * before argon2 tries to run it. */
static void test_unaffordable_parameters_are_bad_hash(void **state) {
    (void)state;
    const char *costly[] = {
        "$argon2id$v=19$m=4194304,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=19456,t=1000000,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=19456,t=2,p=255$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
    };
    for (size_t i = 0; i < sizeof costly / sizeof costly[0]; i++)
        assert_int_equal(passwd_verify(costly[i], PASSWORD), PASSWD_E_BAD_HASH);
}

/* Verify runs the parameters, salt and output length a stored string
 * names, not the current ones: older and hand-made hashes still check. */
static void test_verify_other_parameters(void **state) {
    (void)state;
    const unsigned char salt[24] = "a salt of 24 bytes long";
    char encoded[PASSWD_HASH_MAX];
    assert_int_equal(argon2id_hash_encoded(1, 64, 2, PASSWORD, strlen(PASSWORD), salt, sizeof salt,
                                           48, encoded, sizeof encoded),
                     ARGON2_OK);
    assert_int_equal(passwd_verify(encoded, PASSWORD), 0);
    assert_int_equal(passwd_verify(encoded, PASSWORD "!"), PASSWD_E_MISMATCH);
    /* The same string with the output's last character changed. */
    size_t n = strlen(encoded);
    encoded[n - 1] = encoded[n - 1] == 'A' ? 'Q' : 'A';
    assert_int_equal(passwd_verify(encoded, PASSWORD), PASSWD_E_MISMATCH);
}

static char *repeat(const char *unit, size_t times) {
    size_t len = strlen(unit);
    char *s = malloc(len * times + 1);
    assert_non_null(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * len, unit, len);
    s[len * times] = '\0';
    return s;
}

static void check_policy(const char *unit, size_t times, int expected) {
    char *password = repeat(unit, times);
    print_message("%zu x '%s'\n", times, unit);
    assert_int_equal(passwd_check_policy(password), expected);
    free(password);
}

static void test_policy_lengths(void **state) {
    (void)state;
    check_policy("a", 0, PASSWD_E_TOO_SHORT);
    check_policy("a", PASSWD_MIN_LENGTH - 1, PASSWD_E_TOO_SHORT);
    check_policy("a", PASSWD_MIN_LENGTH, 0);
    check_policy("a", PASSWD_MAX_LENGTH, 0);
    check_policy("a", PASSWD_MAX_LENGTH + 1, PASSWD_E_TOO_LONG);
    check_policy("a", 100000, PASSWD_E_TOO_LONG);
}

/* The longest password the policy allows verifies; one byte more cannot be
 * the stored one, whatever it starts with. */
static void test_verify_password_lengths(void **state) {
    (void)state;
    char *longest = repeat("a", PASSWD_MAX_LENGTH);
    char *over = repeat("a", PASSWD_MAX_LENGTH + 1);
    char hash[PASSWD_HASH_MAX];
    hash_ok(longest, hash);
    assert_int_equal(passwd_verify(hash, longest), 0);
    assert_int_equal(passwd_verify(hash, over), PASSWD_E_MISMATCH);
    free(longest);
    free(over);
}

/* "密" is three bytes: four of them are 12 bytes but only 4 characters. */
static void test_policy_counts_characters_not_bytes(void **state) {
    (void)state;
    check_policy("密", 4, PASSWD_E_TOO_SHORT);
    check_policy("密", PASSWD_MIN_LENGTH - 1, PASSWD_E_TOO_SHORT);
    check_policy("密", PASSWD_MIN_LENGTH, 0);
    check_policy("密", PASSWD_MAX_LENGTH / 3, 0);
    check_policy("密", PASSWD_MAX_LENGTH / 3 + 1, PASSWD_E_TOO_LONG);
}

static void hash_with(uint32_t t_cost, uint32_t m_cost, uint32_t lanes, char *out) {
    static const unsigned char salt[16] = "0123456789abcdef";
    assert_int_equal(argon2id_hash_encoded(t_cost, m_cost, lanes, PASSWORD, strlen(PASSWORD), salt,
                                           sizeof salt, 32, out, PASSWD_HASH_MAX),
                     ARGON2_OK);
}

static void test_needs_rehash(void **state) {
    (void)state;
    char hash[PASSWD_HASH_MAX];
    hash_ok(PASSWORD, hash);
    assert_false(passwd_needs_rehash(hash));

    hash_with(2, 4096, 1, hash);
    assert_true(passwd_needs_rehash(hash));
    /* Weaker hashes from before an upgrade must still let their users in,
     * or nobody could log in to be rehashed. */
    assert_int_equal(passwd_verify(hash, PASSWORD), 0);

    hash_with(1, 19456, 1, hash);
    assert_true(passwd_needs_rehash(hash));

    hash_with(3, 65536, 1, hash);
    assert_false(passwd_needs_rehash(hash));

    assert_true(passwd_needs_rehash("$argon2i$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA"));
    assert_true(passwd_needs_rehash("garbage"));
}

static void test_dummy_hash(void **state) {
    (void)state;
    const char *dummy = passwd_dummy_hash();
    assert_non_null(dummy);
    assert_ptr_equal(passwd_dummy_hash(), dummy);
    assert_memory_equal(dummy, CURRENT_PREFIX, strlen(CURRENT_PREFIX));
    assert_false(passwd_needs_rehash(dummy));
    assert_int_equal(passwd_verify(dummy, PASSWORD), PASSWD_E_MISMATCH);
}

/* State shared by the async steps; the loop runs on this (the main)
 * thread, so every callback must see main_thread as uv_thread_self(). */
typedef struct async_run {
    uv_thread_t main_thread;
    char hash[PASSWD_HASH_MAX];
    int hash_status;
    int right_status;
    int wrong_status;
    int callbacks;
    int off_thread_callbacks;
} async_run;

static void note_callback(async_run *run) {
    uv_thread_t self = uv_thread_self();
    run->callbacks++;
    if (!uv_thread_equal(&self, &run->main_thread))
        run->off_thread_callbacks++;
}

static void on_right_verified(int status, void *arg) {
    async_run *run = arg;
    note_callback(run);
    run->right_status = status;
}

static void on_wrong_verified(int status, void *arg) {
    async_run *run = arg;
    note_callback(run);
    run->wrong_status = status;
}

static void on_hashed(int status, const char *hash, void *arg) {
    async_run *run = arg;
    note_callback(run);
    run->hash_status = status;
    assert_non_null(hash);
    snprintf(run->hash, sizeof run->hash, "%s", hash);
    uv_loop_t *loop = uv_default_loop();
    /* The caller's buffer is wiped at once: the functions must have made
     * their own copies. */
    char password[] = PASSWORD;
    assert_int_equal(passwd_verify_async(loop, run->hash, password, on_right_verified, run), 0);
    memset(password, 'x', sizeof password - 1);
    assert_int_equal(passwd_verify_async(loop, run->hash, password, on_wrong_verified, run), 0);
}

static void test_async_hash_and_verify(void **state) {
    (void)state;
    async_run run = {
        .main_thread = uv_thread_self(), .hash_status = 1, .right_status = 1, .wrong_status = 1};
    uv_loop_t *loop = uv_default_loop();
    char password[] = PASSWORD;
    assert_int_equal(passwd_hash_async(loop, password, on_hashed, &run), 0);
    memset(password, 0, sizeof password);
    assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);

    assert_int_equal(run.callbacks, 3);
    assert_int_equal(run.off_thread_callbacks, 0);
    assert_int_equal(run.hash_status, 0);
    assert_memory_equal(run.hash, CURRENT_PREFIX, strlen(CURRENT_PREFIX));
    assert_int_equal(run.right_status, 0);
    assert_int_equal(run.wrong_status, PASSWD_E_MISMATCH);
    assert_int_equal(passwd_verify(run.hash, PASSWORD), 0);
}

static void on_bad_hash_verified(int status, void *arg) {
    *(int *)arg = status;
}

static void test_async_verify_reports_bad_hash(void **state) {
    (void)state;
    int status = 1;
    uv_loop_t *loop = uv_default_loop();
    assert_int_equal(
        passwd_verify_async(loop, "not a hash", PASSWORD, on_bad_hash_verified, &status), 0);
    assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(status, PASSWD_E_BAD_HASH);
}

#define DUMMY_THREADS 4

static void fetch_dummy(void *arg) {
    *(const char **)arg = passwd_dummy_hash();
}

/* The first call may come from several threads at once; all must get the
 * same, complete hash. Run first, before any other test computed it. */
static void test_dummy_hash_once_across_threads(void **state) {
    (void)state;
    uv_thread_t threads[DUMMY_THREADS];
    const char *seen[DUMMY_THREADS];
    for (int i = 0; i < DUMMY_THREADS; i++)
        assert_int_equal(uv_thread_create(&threads[i], fetch_dummy, &seen[i]), 0);
    for (int i = 0; i < DUMMY_THREADS; i++)
        assert_int_equal(uv_thread_join(&threads[i]), 0);
    for (int i = 0; i < DUMMY_THREADS; i++)
        assert_ptr_equal(seen[i], seen[0]);
    assert_memory_equal(seen[0], CURRENT_PREFIX, strlen(CURRENT_PREFIX));
    assert_int_equal(passwd_verify(seen[0], PASSWORD), PASSWD_E_MISMATCH);
}

static int close_default_loop(void **state) {
    (void)state;
    return uv_loop_close(uv_default_loop()) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dummy_hash_once_across_threads),
        cmocka_unit_test(test_hash_then_verify),
        cmocka_unit_test(test_wrong_password_is_mismatch),
        cmocka_unit_test(test_hash_has_current_parameters),
        cmocka_unit_test(test_salt_makes_hashes_differ),
        cmocka_unit_test(test_hash_refuses_small_buffer),
        cmocka_unit_test(test_garbage_is_bad_hash),
        cmocka_unit_test(test_unaffordable_parameters_are_bad_hash),
        cmocka_unit_test(test_verify_other_parameters),
        cmocka_unit_test(test_verify_password_lengths),
        cmocka_unit_test(test_policy_lengths),
        cmocka_unit_test(test_policy_counts_characters_not_bytes),
        cmocka_unit_test(test_needs_rehash),
        cmocka_unit_test(test_dummy_hash),
        cmocka_unit_test(test_async_hash_and_verify),
        cmocka_unit_test(test_async_verify_reports_bad_hash),
    };
    return cmocka_run_group_tests(tests, NULL, close_default_loop);
}
