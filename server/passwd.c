#include "passwd.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
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
 * argon2 itself checks the rest when verifying. */
static bool parse_params(const char *encoded, phc_params *p) {
    static const char prefix[] = "$argon2id";
    if (strncmp(encoded, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *s = encoded + sizeof prefix - 1;
    s = parse_field(s, "$v=", &p->version);
    s = s ? parse_field(s, "$m=", &p->m_cost) : NULL;
    s = s ? parse_field(s, ",t=", &p->t_cost) : NULL;
    s = s ? parse_field(s, ",p=", &p->lanes) : NULL;
    return s != NULL && *s == '$';
}

static bool params_affordable(const phc_params *p) {
    return p->m_cost <= PASSWD_VERIFY_MAX_M_COST && p->t_cost <= PASSWD_VERIFY_MAX_T_COST &&
           p->lanes <= PASSWD_VERIFY_MAX_LANES;
}

int passwd_verify(const char *encoded, const char *password) {
    phc_params p;
    if (!parse_params(encoded, &p) || !params_affordable(&p))
        return PASSWD_E_BAD_HASH;
    switch (argon2id_verify(encoded, password, strlen(password))) {
    case ARGON2_OK:
        return 0;
    case ARGON2_VERIFY_MISMATCH:
        return PASSWD_E_MISMATCH;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
        return PASSWD_E_HASH;
    default:
        return PASSWD_E_BAD_HASH;
    }
}

bool passwd_needs_rehash(const char *encoded) {
    phc_params p;
    if (!parse_params(encoded, &p))
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
    free(job);
}

static int job_queue(uv_loop_t *loop, passwd_job *job, uv_work_cb work, uv_after_work_cb done) {
    int rc = uv_queue_work(loop, &job->work, work, done);
    if (rc < 0) {
        job_wipe_password(job);
        free(job);
    }
    return rc;
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
