#include "guard.h"

#include <string.h>

#include <openssl/evp.h>

#define SLOTS       4096 /* a power of two */
#define PROBE       8    /* slots looked at for a name */
#define KEY_BYTES   16   /* of the name's SHA-256: the names themselves are kept nowhere */
#define HOUR_MS     3600000u
#define MAX_WAIT_MS 900000u

typedef struct entry {
    uint8_t key[KEY_BYTES];
    bool used;
    uint32_t failures; /* in a row */
    uint32_t checks;   /* password checks since hour_start */
    uint64_t hour_start;
    uint64_t next_allowed;
    uint64_t last_used;
} entry;

/* One daemon per process; only the loop thread uses it. */
static entry table[SLOTS];

/* A typed name may be a password typed into the wrong field: only its
 * digest is kept. */
static void key_of(const char *name, uint8_t key[KEY_BYTES]) {
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (EVP_Digest(name, strlen(name), digest, &len, EVP_sha256(), NULL) != 1 || len < KEY_BYTES)
        memset(digest, 0, sizeof digest);
    memcpy(key, digest, KEY_BYTES);
}

/* The entry of `name`, or NULL; with `create`, a new one in a free slot or
 * in place of the least recently used of its probe window. */
static entry *find(const char *name, uint64_t now, bool create) {
    uint8_t key[KEY_BYTES];
    key_of(name, key);
    uint32_t h = (uint32_t)key[0] | (uint32_t)key[1] << 8;
    entry *victim = NULL;
    for (uint32_t i = 0; i < PROBE; i++) {
        entry *e = &table[(h + i) & (SLOTS - 1)];
        if (e->used && memcmp(e->key, key, KEY_BYTES) == 0)
            return e;
        /* A free slot first; else the one unused the longest. */
        if (victim == NULL || (!e->used && victim->used) ||
            (e->used && victim->used && e->last_used < victim->last_used))
            victim = e;
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof *victim);
    memcpy(victim->key, key, KEY_BYTES);
    victim->used = true;
    victim->hour_start = now;
    victim->last_used = now;
    return victim;
}

bool guard_allows(const char *name, uint64_t now_ms, uint32_t *retry_after_ms) {
    entry *e = find(name, now_ms, false);
    if (e == NULL)
        return true;
    if (now_ms - e->hour_start >= HOUR_MS) {
        e->hour_start = now_ms;
        e->checks = 0;
    }
    uint64_t until = e->next_allowed;
    if (e->checks >= GUARD_HOURLY && e->hour_start + HOUR_MS > until)
        until = e->hour_start + HOUR_MS;
    if (now_ms >= until)
        return true;
    *retry_after_ms = (uint32_t)(until - now_ms);
    return false;
}

void guard_failed(const char *name, uint64_t now_ms) {
    entry *e = find(name, now_ms, true);
    e->last_used = now_ms;
    e->checks++;
    e->failures++;
    if (e->failures >= GUARD_FREE_FAILURES) {
        uint32_t shift = e->failures - GUARD_FREE_FAILURES;
        uint64_t wait = shift >= 20 ? MAX_WAIT_MS : 1000u << shift;
        e->next_allowed = now_ms + (wait < MAX_WAIT_MS ? wait : MAX_WAIT_MS);
    }
}

void guard_succeeded(const char *name) {
    entry *e = find(name, 0, false);
    if (e != NULL)
        memset(e, 0, sizeof *e);
}
