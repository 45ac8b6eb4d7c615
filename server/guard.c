#include "guard.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define SLOTS       4096 /* a power of two */
#define PROBE       8    /* slots looked at for a name */
#define KEY_BYTES   16   /* of the name's salted SHA-256: the names themselves are kept nowhere */
#define HOUR_MS     3600000u
#define MAX_WAIT_MS 900000u

typedef struct entry {
    uint8_t key[KEY_BYTES];
    bool used;
    uint32_t failures; /* in a row, counting the checks under way */
    uint32_t checks;   /* password checks admitted since hour_start */
    uint64_t hour_start;
    uint64_t next_allowed;
    uint64_t last_used;
} entry;

/* One daemon per process; only the loop thread uses it. */
static entry table[SLOTS];
/* A random salt: which names share slots cannot be worked out offline to
 * push a name out of the table. */
static uint8_t salt[32];
static bool salted;

/* A typed name may be a password typed into the wrong field: only its
 * salted digest is kept. */
static void key_of(const char *name, uint8_t key[KEY_BYTES]) {
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!salted)
        salted = RAND_bytes(salt, sizeof salt) == 1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, salt, sizeof salt) == 1 &&
              EVP_DigestUpdate(ctx, name, strlen(name)) == 1 &&
              EVP_DigestFinal_ex(ctx, digest, &len) == 1 && len >= KEY_BYTES;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        memset(digest, 0, sizeof digest);
    memcpy(key, digest, KEY_BYTES);
}

static bool blocked(const entry *e, uint64_t now) {
    return now < e->next_allowed || (e->checks >= GUARD_HOURLY && now - e->hour_start < HOUR_MS);
}

/* The entry of `name`, or NULL; with `create`, a new one in a free slot, or
 * in place of the least recently used entry of its probe window that is not
 * holding a name back (if every one is, NULL: the caller waits too). */
static entry *find(const char *name, uint64_t now, bool create) {
    uint8_t key[KEY_BYTES];
    key_of(name, key);
    uint32_t h = (uint32_t)key[0] | (uint32_t)key[1] << 8;
    entry *victim = NULL;
    for (uint32_t i = 0; i < PROBE; i++) {
        entry *e = &table[(h + i) & (SLOTS - 1)];
        if (e->used && memcmp(e->key, key, KEY_BYTES) == 0)
            return e;
        if (e->used && blocked(e, now))
            continue;
        if (victim == NULL || (!e->used && victim->used) ||
            (e->used && victim->used && e->last_used < victim->last_used))
            victim = e;
    }
    if (!create || victim == NULL)
        return NULL;
    memset(victim, 0, sizeof *victim);
    memcpy(victim->key, key, KEY_BYTES);
    victim->used = true;
    victim->hour_start = now;
    return victim;
}

/* Counts a check as a failure from the moment it is admitted, so that
 * checks run in parallel wait as checks in a row would. */
static void count_failure(entry *e, uint64_t now) {
    e->failures++;
    if (e->failures >= GUARD_FREE_FAILURES) {
        uint32_t shift = e->failures - GUARD_FREE_FAILURES;
        uint64_t wait = shift >= 20 ? MAX_WAIT_MS : 1000u << shift;
        e->next_allowed = now + (wait < MAX_WAIT_MS ? wait : MAX_WAIT_MS);
    }
}

bool guard_allows(const char *name, uint64_t now_ms, uint32_t *retry_after_ms) {
    entry *e = find(name, now_ms, true);
    if (e == NULL) { /* its slots all hold names back: so does this one */
        *retry_after_ms = 1000;
        return false;
    }
    if (now_ms - e->hour_start >= HOUR_MS) {
        e->hour_start = now_ms;
        e->checks = 0;
    }
    if (blocked(e, now_ms)) {
        uint64_t until = e->next_allowed;
        if (e->checks >= GUARD_HOURLY && e->hour_start + HOUR_MS > until)
            until = e->hour_start + HOUR_MS;
        *retry_after_ms = (uint32_t)(until - now_ms);
        return false;
    }
    e->last_used = now_ms;
    e->checks++;
    count_failure(e, now_ms);
    return true;
}

void guard_failed(const char *name, uint64_t now_ms) {
    /* Counted when admitted; only the time of use moves. */
    entry *e = find(name, now_ms, false);
    if (e != NULL)
        e->last_used = now_ms;
}

void guard_succeeded(const char *name) {
    entry *e = find(name, 0, false);
    if (e != NULL)
        memset(e, 0, sizeof *e);
}
