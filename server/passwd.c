#include "passwd.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "pii.h"

/* OWASP's first recommended argon2id configuration: 19 MiB, two passes,
 * one lane: a few tens of milliseconds of one pool thread per login. */
#define PASSWD_M_COST     19456
#define PASSWD_T_COST     2
#define PASSWD_LANES      1
#define PASSWD_SALT_LEN   16
#define PASSWD_OUTPUT_LEN 32

/* Upper bounds on what verify will run. A stored string comes from our own
 * database, but a corrupted or hand-edited row must not make one login
 * allocate gigabytes or spin for minutes. */
#define PASSWD_VERIFY_MAX_M_COST (256u * 1024u)
#define PASSWD_VERIFY_MAX_T_COST 16u
#define PASSWD_VERIFY_MAX_LANES  16u
/* Longer salts and outputs than argon2's usual 16 and 32 bytes are
 * accepted, up to these. */
#define PASSWD_VERIFY_MAX_SALT   64
#define PASSWD_VERIFY_MAX_OUTPUT 64

/* How many idle argon2 blocks verify keeps between logins. A stream of
 * logins reuses one per pool thread that checks at once (worker_threads,
 * one per CPU by default); a larger pool maps the rest afresh. Only blocks
 * of the current parameters are kept, so the pool holds at most
 * PASSWD_POOL_MAX * PASSWD_M_COST KiB. */
#define PASSWD_POOL_MAX 64

#define PASSWD_STR_(x) #x
#define PASSWD_STR(x)  PASSWD_STR_(x)

/* 16 and 32 zero bytes in the unpadded base64 of PHC strings. */
#define PASSWD_ZERO_SALT   "AAAAAAAAAAAAAAAAAAAAAA"
#define PASSWD_ZERO_OUTPUT "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define PASSWD_M           "m=" PASSWD_STR(PASSWD_M_COST)
#define PASSWD_T           ",t=" PASSWD_STR(PASSWD_T_COST)
#define PASSWD_P           ",p=" PASSWD_STR(PASSWD_LANES)

/* Used only if the random dummy cannot be computed (no memory, no entropy).
 * It has the current parameters, so verifying against it costs the same,
 * and its all-zero output is not the hash of any known password. */
static const char fallback_dummy[] =
    "$argon2id$v=19$" PASSWD_M PASSWD_T PASSWD_P "$" PASSWD_ZERO_SALT "$" PASSWD_ZERO_OUTPUT;

typedef struct phc_params {
    unsigned long version;
    unsigned long m_cost;
    unsigned long t_cost;
    unsigned long lanes;
} phc_params;

typedef struct passwd_job {
    uv_work_t work;
    int status;
    passwd_hash_cb hash_cb;
    passwd_verify_cb verify_cb;
    void *arg;
    size_t password_len;
    const char *encoded; /* points into `strings`, after the password */
    unsigned char salt[PASSWD_SALT_LEN];
    char hash[PASSWD_HASH_MAX];
    char strings[]; /* the password, NUL, and for verify the encoded hash, NUL */
} passwd_job;

/* Counts code points, so that a password of Chinese characters is judged
 * by what the user typed, not by its UTF-8 bytes. */
static size_t utf8_length(const char *s, size_t bytes) {
    size_t n = 0;
    for (size_t i = 0; i < bytes; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

int passwd_check_policy(const char *password) {
    size_t bytes = strnlen(password, PASSWD_MAX_LENGTH + 1);
    if (bytes > PASSWD_MAX_LENGTH)
        return PASSWD_E_TOO_LONG;
    if (utf8_length(password, bytes) < PASSWD_MIN_LENGTH)
        return PASSWD_E_TOO_SHORT;
    return 0;
}

static int hash_salted(const void *password, size_t len, const unsigned char *salt, char *out,
                       size_t cap) {
    int rc = argon2id_hash_encoded(PASSWD_T_COST, PASSWD_M_COST, PASSWD_LANES, password, len, salt,
                                   PASSWD_SALT_LEN, PASSWD_OUTPUT_LEN, out, cap);
    return rc == ARGON2_OK ? 0 : PASSWD_E_HASH;
}

static int hash_bytes(const void *password, size_t len, char *out, size_t cap) {
    unsigned char salt[PASSWD_SALT_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return PASSWD_E_HASH;
    return hash_salted(password, len, salt, out, cap);
}

int passwd_hash(const char *password, char *out, size_t cap) {
    return hash_bytes(password, strlen(password), out, cap);
}

/* Reads "<key><decimal>" at `s`; returns the position after the number, or
 * NULL if it is not there or does not fit in 32 bits. */
static const char *parse_field(const char *s, const char *key, unsigned long *out) {
    size_t key_len = strlen(key);
    if (strncmp(s, key, key_len) != 0)
        return NULL;
    s += key_len;
    if (*s < '0' || *s > '9')
        return NULL;
    unsigned long value = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        value = value * 10 + (unsigned long)(*s - '0');
        if (value > UINT32_MAX)
            return NULL;
    }
    *out = value;
    return s;
}

/* Parses the parameter part of "$argon2id$v=19$m=19456,t=2,p=1$salt$hash";
 * returns the position of the '$' before the salt, or NULL. */
static const char *parse_params(const char *encoded, phc_params *p) {
    static const char prefix[] = "$argon2id";
    if (strncmp(encoded, prefix, sizeof prefix - 1) != 0)
        return NULL;
    const char *s = encoded + sizeof prefix - 1;
    s = parse_field(s, "$v=", &p->version);
    s = s ? parse_field(s, "$m=", &p->m_cost) : NULL;
    s = s ? parse_field(s, ",t=", &p->t_cost) : NULL;
    s = s ? parse_field(s, ",p=", &p->lanes) : NULL;
    return s != NULL && *s == '$' ? s : NULL;
}

static bool params_affordable(const phc_params *p) {
    return p->m_cost <= PASSWD_VERIFY_MAX_M_COST && p->t_cost <= PASSWD_VERIFY_MAX_T_COST &&
           p->lanes <= PASSWD_VERIFY_MAX_LANES;
}

/* ---- verify's argon2 blocks ----
 *
 * Each check fills a block of m_cost KiB. Mapped afresh, that is some
 * 5,000 pages to fault in, a third of the check's time. So a block freed
 * by one check is kept for the next, and every kept block is unmapped once
 * no check is in flight (pool_release), when the memory would only sit
 * there. argon2 wipes a block before it comes back. */
typedef struct pool_block {
    uint8_t *memory;
    size_t size;
} pool_block;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pool_block pool[PASSWD_POOL_MAX];
static size_t pool_count;

static bool pool_take(uint8_t **memory, size_t size) {
    pthread_mutex_lock(&pool_lock);
    for (size_t i = 0; i < pool_count; i++) {
        if (pool[i].size == size) {
            *memory = pool[i].memory;
            pool[i] = pool[--pool_count];
            pthread_mutex_unlock(&pool_lock);
            return true;
        }
    }
    pthread_mutex_unlock(&pool_lock);
    return false;
}

/* argon2's allocate_cbk: a kept block of the size, or a new mapping, asked
 * for in huge pages where the kernel leaves that to the program. */
static int block_allocate(uint8_t **memory, size_t size) {
    if (pool_take(memory, size))
        return 0;
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        *memory = NULL;
        return ARGON2_MEMORY_ALLOCATION_ERROR;
    }
#ifdef MADV_HUGEPAGE
    (void)madvise(m, size, MADV_HUGEPAGE);
#endif
    *memory = m;
    return 0;
}

/* argon2's free_cbk, after it wiped the block. */
static void block_free(uint8_t *memory, size_t size) {
    pthread_mutex_lock(&pool_lock);
    if (size == (size_t)PASSWD_M_COST * 1024 && pool_count < PASSWD_POOL_MAX) {
        pool[pool_count++] = (pool_block){memory, size};
        memory = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    if (memory != NULL)
        munmap(memory, size);
}

static void pool_release(void) {
    pool_block gone[PASSWD_POOL_MAX];
    pthread_mutex_lock(&pool_lock);
    size_t n = pool_count;
    memcpy(gone, pool, n * sizeof gone[0]);
    pool_count = 0;
    pthread_mutex_unlock(&pool_lock);
    for (size_t i = 0; i < n; i++)
        munmap(gone[i].memory, gone[i].size);
}

static int base64_value(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    return c == '/' ? 63 : -1;
}

/* Decodes the unpadded base64 of a PHC field, from `s` to the next '$' or
 * the end, into `out`. Returns the bytes decoded and sets *end to where the
 * field stops, or returns -1 for a malformed field or one over `cap`. */
static long decode_field(const char *s, const char **end, uint8_t *out, size_t cap) {
    uint32_t bits = 0;
    int held = 0;
    size_t n = 0;
    for (; *s != '\0' && *s != '$'; s++) {
        int v = base64_value(*s);
        if (v < 0)
            return -1;
        bits = bits << 6 | (uint32_t)v;
        held += 6;
        if (held >= 8) {
            held -= 8;
            if (n == cap)
                return -1;
            out[n++] = (uint8_t)(bits >> held);
        }
    }
    /* One character alone cannot end a field, and unused bits must be 0. */
    if (held >= 6 || (bits & ((1u << held) - 1)) != 0)
        return -1;
    *end = s;
    return (long)n;
}

/* Splits `encoded` into a context for argon2id_ctx, its blocks taken from
 * the pool. Returns 0, or PASSWD_E_BAD_HASH for a string that is not a
 * PHC argon2id hash or asks for more than verify will run. */
static int context_from_phc(const char *encoded, argon2_context *ctx, uint8_t *salt,
                            uint8_t *expected) {
    phc_params p;
    const char *s = parse_params(encoded, &p);
    if (s == NULL || !params_affordable(&p) ||
        (p.version != ARGON2_VERSION_10 && p.version != ARGON2_VERSION_13))
        return PASSWD_E_BAD_HASH;
    long salt_len = decode_field(s + 1, &s, salt, PASSWD_VERIFY_MAX_SALT);
    if (salt_len < 0 || *s != '$')
        return PASSWD_E_BAD_HASH;
    long out_len = decode_field(s + 1, &s, expected, PASSWD_VERIFY_MAX_OUTPUT);
    if (out_len < 0 || *s != '\0')
        return PASSWD_E_BAD_HASH;
    *ctx = (argon2_context){
        .outlen = (uint32_t)out_len,
        .salt = salt,
        .saltlen = (uint32_t)salt_len,
        .t_cost = (uint32_t)p.t_cost,
        .m_cost = (uint32_t)p.m_cost,
        .lanes = (uint32_t)p.lanes,
        .threads = (uint32_t)p.lanes,
        .version = (uint32_t)p.version,
        .allocate_cbk = block_allocate,
        .free_cbk = block_free,
        .flags = ARGON2_DEFAULT_FLAGS,
    };
    return 0;
}

int passwd_verify(const char *encoded, const char *password) {
    argon2_context ctx;
    uint8_t salt[PASSWD_VERIFY_MAX_SALT];
    uint8_t expected[PASSWD_VERIFY_MAX_OUTPUT];
    uint8_t actual[PASSWD_VERIFY_MAX_OUTPUT];
    int rc = context_from_phc(encoded, &ctx, salt, expected);
    if (rc < 0)
        return rc;
    ctx.out = actual;
    /* argon2 only reads the password (no ARGON2_FLAG_CLEAR_PASSWORD). */
    size_t len = strnlen(password, PASSWD_MAX_LENGTH + 1);
    /* No stored hash can be of a password longer than any policy allows;
     * refusing it also bounds the work. */
    if (len > PASSWD_MAX_LENGTH)
        return PASSWD_E_MISMATCH;
    ctx.pwd = (uint8_t *)(uintptr_t)password;
    ctx.pwdlen = (uint32_t)len;
    switch (argon2id_ctx(&ctx)) {
    case ARGON2_OK:
        return CRYPTO_memcmp(actual, expected, ctx.outlen) == 0 ? 0 : PASSWD_E_MISMATCH;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
        return PASSWD_E_HASH;
    default:
        return PASSWD_E_BAD_HASH;
    }
}

bool passwd_needs_rehash(const char *encoded) {
    phc_params p;
    if (parse_params(encoded, &p) == NULL)
        return true;
    return p.version < ARGON2_VERSION_13 || p.m_cost < PASSWD_M_COST || p.t_cost < PASSWD_T_COST ||
           p.lanes < PASSWD_LANES;
}

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[PASSWD_HASH_MAX];

static void dummy_compute(void) {
    unsigned char password[32];
    if (RAND_bytes(password, sizeof password) != 1 ||
        hash_bytes(password, sizeof password, dummy_hash, sizeof dummy_hash) != 0)
        snprintf(dummy_hash, sizeof dummy_hash, "%s", fallback_dummy);
    pii_wipe(password, sizeof password);
}

const char *passwd_dummy_hash(void) {
    pthread_once(&dummy_once, dummy_compute);
    return dummy_hash;
}

static passwd_job *job_new(const char *password, const char *encoded) {
    size_t password_len = strlen(password);
    size_t encoded_size = encoded ? strlen(encoded) + 1 : 0;
    passwd_job *job = malloc(sizeof *job + password_len + 1 + encoded_size);
    if (job == NULL)
        return NULL;
    memset(job, 0, sizeof *job);
    job->work.data = job;
    job->password_len = password_len;
    memcpy(job->strings, password, password_len + 1);
    if (encoded) {
        memcpy(job->strings + password_len + 1, encoded, encoded_size);
        job->encoded = job->strings + password_len + 1;
    }
    return job;
}

/* The copy is wiped as soon as the work is over, before the callback, which
 * never needs it. */
static void job_wipe_password(passwd_job *job) {
    pii_wipe(job->strings, job->password_len);
}

/* When the last job in flight ends, a pool thread unmaps the blocks kept
 * for the next checks (munmap of some 20 MB a block stays off the loop).
 * The counters are the loop thread's: the queue and done callbacks run
 * there. */
static unsigned jobs_in_flight;
static bool release_queued;
static uv_work_t release_work;

static void release_run(uv_work_t *work) {
    (void)work;
    pool_release();
}

static void release_done(uv_work_t *work, int status);

static void release_when_idle(uv_loop_t *loop) {
    if (jobs_in_flight > 0 || release_queued)
        return;
    release_queued = uv_queue_work(loop, &release_work, release_run, release_done) == 0;
}

/* A job that ended while the release ran may have put its block back after
 * the pool was emptied: look again. */
static void release_done(uv_work_t *work, int status) {
    (void)status;
    release_queued = false;
    pthread_mutex_lock(&pool_lock);
    bool kept = pool_count > 0;
    pthread_mutex_unlock(&pool_lock);
    if (kept)
        release_when_idle(work->loop);
}

static void job_finished(uv_loop_t *loop) {
    jobs_in_flight--;
    release_when_idle(loop);
}

static void hash_work(uv_work_t *work) {
    passwd_job *job = work->data;
    if (job->status == 0)
        job->status =
            hash_salted(job->strings, job->password_len, job->salt, job->hash, sizeof job->hash);
}

static void hash_done(uv_work_t *work, int status) {
    passwd_job *job = work->data;
    job_wipe_password(job);
    if (status < 0)
        job->status = PASSWD_E_HASH;
    job->hash_cb(job->status, job->status == 0 ? job->hash : NULL, job->arg);
    job_finished(work->loop);
    free(job);
}

static void verify_work(uv_work_t *work) {
    passwd_job *job = work->data;
    job->status = passwd_verify(job->encoded, job->strings);
}

static void verify_done(uv_work_t *work, int status) {
    passwd_job *job = work->data;
    job_wipe_password(job);
    if (status < 0)
        job->status = PASSWD_E_HASH;
    job->verify_cb(job->status, job->arg);
    job_finished(work->loop);
    free(job);
}

static int job_queue(uv_loop_t *loop, passwd_job *job, uv_work_cb work, uv_after_work_cb done) {
    int rc = uv_queue_work(loop, &job->work, work, done);
    if (rc < 0) {
        job_wipe_password(job);
        free(job);
        return rc;
    }
    jobs_in_flight++;
    return 0;
}

int passwd_hash_async(uv_loop_t *loop, const char *password, passwd_hash_cb cb, void *arg) {
    passwd_job *job = job_new(password, NULL);
    if (job == NULL)
        return UV_ENOMEM;
    job->hash_cb = cb;
    job->arg = arg;
    /* The salt is drawn here, on the loop thread: OpenSSL gives every thread
     * that asks for random bytes its own generator, and those of the pool
     * threads would still be allocated when OpenSSL cleans up at exit. */
    if (RAND_bytes(job->salt, sizeof job->salt) != 1)
        job->status = PASSWD_E_HASH;
    return job_queue(loop, job, hash_work, hash_done);
}

int passwd_verify_async(uv_loop_t *loop, const char *encoded, const char *password,
                        passwd_verify_cb cb, void *arg) {
    passwd_job *job = job_new(password, encoded);
    if (job == NULL)
        return UV_ENOMEM;
    job->verify_cb = cb;
    job->arg = arg;
    return job_queue(loop, job, verify_work, verify_done);
}
