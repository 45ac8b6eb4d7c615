/* passwd: argon2id password hashing with OWASP parameters (19 MiB, t=2,
 * p=1), stored as a PHC string. The _async functions run the hash in the
 * libuv thread pool, never on the loop; the sync ones are for start-up
 * (before the loop runs) and tests. */
#ifndef CALLFLOOR_PASSWD_H
#define CALLFLOOR_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#define PASSWD_MIN_LENGTH 10
#define PASSWD_MAX_LENGTH 1024
#define PASSWD_HASH_MAX   160

enum {
    PASSWD_E_TOO_SHORT = -4001,
    PASSWD_E_TOO_LONG = -4002,
    PASSWD_E_HASH = -4003,     /* argon2 failed (out of memory) */
    PASSWD_E_MISMATCH = -4004, /* verify: the password is wrong */
    PASSWD_E_BAD_HASH = -4005, /* verify: the stored string is not a valid PHC argon2id string */
};

/* Checks the policy (length): at least PASSWD_MIN_LENGTH characters
 * (UTF-8 code points) and at most PASSWD_MAX_LENGTH bytes. Returns 0 or
 * PASSWD_E_TOO_SHORT/TOO_LONG. */
int passwd_check_policy(const char *password);
/* Hashes with a fresh random salt into `out` (PASSWD_HASH_MAX bytes). */
int passwd_hash(const char *password, char *out, size_t cap);
/* Returns 0 when `password` matches `encoded`, else PASSWD_E_MISMATCH (also
 * for a password over PASSWD_MAX_LENGTH bytes, which no policy allows) or
 * PASSWD_E_BAD_HASH (also for parameters too costly to run, or a salt or
 * output over 64 bytes), or PASSWD_E_HASH if argon2 ran out of memory.
 * Constant time in the password. Safe from any thread. */
int passwd_verify(const char *encoded, const char *password);
/* True if `encoded` uses weaker parameters than the current ones. */
bool passwd_needs_rehash(const char *encoded);
/* A valid hash of a random password, computed once, to verify against when
 * the user does not exist so that both cases take the same time. */
const char *passwd_dummy_hash(void);

/* `status` is 0 or a PASSWD_E_* code; `hash` is the PHC string (hash only),
 * valid only during the call, and NULL when `status` is not 0. */
typedef void (*passwd_hash_cb)(int status, const char *hash, void *arg);
typedef void (*passwd_verify_cb)(int status, void *arg);

/* Both copy their string arguments (and wipe the copies afterwards) and
 * call `cb` on the loop thread. Return 0 or -ENOMEM (then `cb` is never
 * called). */
int passwd_hash_async(uv_loop_t *loop, const char *password, passwd_hash_cb cb, void *arg);
int passwd_verify_async(uv_loop_t *loop, const char *encoded, const char *password,
                        passwd_verify_cb cb, void *arg);

#endif
