#include "vault.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define KEY_LEN      32
#define NONCE_LEN    12
#define TAG_LEN      16
#define BLOB_VERSION 1
#define MAX_KEY_ID   255
#define HEADER_LEN   (2 + NONCE_LEN)

struct vault {
    uint8_t hmac_key[KEY_LEN];
    bool have_hmac;
    uint8_t keys[MAX_KEY_ID + 1][KEY_LEN];
    bool have_key[MAX_KEY_ID + 1];
    int current;
};

/* ---- the key file ---- */

static int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool parse_key(const char *hex, uint8_t out[KEY_LEN]) {
    if (strlen(hex) != 2 * KEY_LEN)
        return false;
    for (size_t i = 0; i < KEY_LEN; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* One line: "hmac HEX" or "key ID HEX". Returns NULL or what is wrong. */
static const char *parse_line(vault *v, char *line) {
    char *save = NULL;
    char *word = strtok_r(line, " \t", &save);
    char *a = strtok_r(NULL, " \t", &save);
    char *b = strtok_r(NULL, " \t", &save);
    if (word == NULL || word[0] == '#')
        return NULL;
    if (strcmp(word, "hmac") == 0 && a != NULL && b == NULL) {
        if (v->have_hmac)
            return "a second hmac line (the look-up key must never change)";
        if (!parse_key(a, v->hmac_key))
            return "the hmac key is not 64 hexadecimal digits";
        v->have_hmac = true;
        return NULL;
    }
    if (strcmp(word, "key") != 0 || a == NULL || b == NULL || strtok_r(NULL, " \t", &save))
        return "expected 'hmac HEX' or 'key ID HEX'";
    char *end;
    long id = strtol(a, &end, 10);
    if (*end != '\0' || id < 1 || id > MAX_KEY_ID)
        return "a key id is a number from 1 to 255";
    if (v->have_key[id])
        return "this key id is given twice";
    if (!parse_key(b, v->keys[id]))
        return "the key is not 64 hexadecimal digits";
    v->have_key[id] = true;
    if (id > v->current)
        v->current = (int)id;
    return NULL;
}

static void say_too_large(const char *path, char *err, size_t errlen) {
    snprintf(err, errlen, "the vault key file %s is larger than %d bytes; is it the right file?",
             path, VAULT_FILE_MAX);
}

/* Only a private regular file will do: a FIFO or a device would block or
 * never end, and keys others can read are keys others may have. */
static int refuse_file(const char *path, const struct stat *st, char *err, size_t errlen) {
    if (!S_ISREG(st->st_mode))
        snprintf(err, errlen, "the vault key file %s is not a regular file (check vault.key_file)",
                 path);
    else if (st->st_mode & (S_IRWXG | S_IRWXO))
        snprintf(err, errlen,
                 "the vault key file %s is open to its group or others; make it private with "
                 "'chmod 600 %s'",
                 path, path);
    else if (st->st_size > VAULT_FILE_MAX)
        say_too_large(path, err, errlen);
    else
        return 0;
    return -1;
}

static int open_key_file(const char *path, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "cannot open the vault key file %s: %s (check vault.key_file)", path,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (refuse_file(path, &st, err, errlen) == 0)
        return fd;
    close(fd);
    return -1;
}

static ssize_t read_up_to(int fd, char *buf, size_t cap) {
    size_t n = 0;
    while (n < cap) {
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got < 0 ? -1 : (ssize_t)n;
        n += (size_t)got;
    }
    return (ssize_t)n;
}

/* Plain read(2), not stdio: a FILE's buffer would keep a copy of the keys
 * in freed memory. One byte more than the limit is asked for, so a file
 * that grew after fstat is still caught. */
static int read_key_file(const char *path, char text[VAULT_FILE_MAX + 2], char *err,
                         size_t errlen) {
    int fd = open_key_file(path, err, errlen);
    if (fd < 0)
        return -1;
    ssize_t n = read_up_to(fd, text, VAULT_FILE_MAX + 1);
    int read_errno = errno;
    close(fd);
    if (n >= 0 && n <= VAULT_FILE_MAX && memchr(text, '\0', (size_t)n) == NULL) {
        text[n] = '\0';
        return 0;
    }
    if (n < 0)
        snprintf(err, errlen, "cannot read the vault key file %s: %s", path, strerror(read_errno));
    else if (n > VAULT_FILE_MAX)
        say_too_large(path, err, errlen);
    else
        snprintf(err, errlen, "the vault key file %s is not a text file", path);
    return -1;
}

static int parse_key_file(vault *v, const char *path, char *text, char *err, size_t errlen) {
    int line_no = 0;
    /* Line by line by hand: strtok would skip blank lines and so miscount. */
    for (char *line = text, *next; line != NULL; line = next) {
        line_no++;
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\r')
            line[len - 1] = '\0';
        const char *problem = parse_line(v, line);
        if (problem != NULL) {
            snprintf(err, errlen, "%s:%d: %s", path, line_no, problem);
            return -1;
        }
    }
    if (!v->have_hmac || v->current == 0) {
        snprintf(err, errlen, "%s: needs one 'hmac HEX' line and at least one 'key ID HEX' line",
                 path);
        return -1;
    }
    return 0;
}

vault *vault_open(const char *path, char *err, size_t errlen) {
    vault *v = OPENSSL_secure_zalloc(sizeof *v);
    char *text = malloc(VAULT_FILE_MAX + 2);
    if (v == NULL || text == NULL) {
        snprintf(err, errlen, "out of memory while loading the vault keys");
    } else if (read_key_file(path, text, err, errlen) == 0 &&
               parse_key_file(v, path, text, err, errlen) == 0) {
        OPENSSL_cleanse(text, VAULT_FILE_MAX + 2);
        free(text);
        return v;
    }
    if (text != NULL)
        OPENSSL_cleanse(text, VAULT_FILE_MAX + 2);
    free(text);
    vault_close(v);
    return NULL;
}

void vault_close(vault *v) {
    if (v != NULL)
        OPENSSL_secure_clear_free(v, sizeof *v);
}

int vault_current_key_id(const vault *v) {
    return v->current;
}

/* ---- sealing ---- */

/* AES-256-GCM one way or the other; the header (version, key id) is
 * authenticated too, so a blob cannot be moved to another key. */
static int gcm(bool seal, const uint8_t key[KEY_LEN], const uint8_t *header, const uint8_t *in,
               int len, uint8_t *out, uint8_t tag[TAG_LEN]) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    bool no_memory = ctx == NULL;
    int n = 0, final = 0;
    bool ok = ctx != NULL &&
              EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, header + 2, seal ? 1 : 0) &&
              EVP_CipherUpdate(ctx, NULL, &n, header, 2) &&
              EVP_CipherUpdate(ctx, out, &n, in, len) &&
              (seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag)) &&
              EVP_CipherFinal_ex(ctx, out + n, &final) &&
              (!seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag));
    EVP_CIPHER_CTX_free(ctx);
    if (!ok)
        return seal || no_memory ? VAULT_E_CRYPTO : VAULT_E_TAMPERED;
    return n + final;
}

int vault_seal(const vault *v, const char *plain, uint8_t blob[VAULT_BLOB_MAX]) {
    size_t len = strlen(plain);
    if (len > VAULT_PLAIN_MAX)
        return VAULT_E_TOO_LONG;
    blob[0] = BLOB_VERSION;
    blob[1] = (uint8_t)v->current;
    if (RAND_bytes(blob + 2, NONCE_LEN) != 1)
        return VAULT_E_CRYPTO;
    int n = gcm(true, v->keys[v->current], blob, (const uint8_t *)plain, (int)len,
                blob + HEADER_LEN, blob + HEADER_LEN + len);
    return n < 0 ? n : (int)(HEADER_LEN + len + TAG_LEN);
}

int vault_unseal(const vault *v, const uint8_t *blob, size_t len, char plain[VAULT_PLAIN_MAX + 1]) {
    if (len < VAULT_OVERHEAD || len > VAULT_BLOB_MAX || blob[0] != BLOB_VERSION)
        return VAULT_E_TAMPERED;
    if (!v->have_key[blob[1]])
        return VAULT_E_UNKNOWN_KEY;
    size_t text_len = len - VAULT_OVERHEAD;
    uint8_t tag[TAG_LEN];
    memcpy(tag, blob + HEADER_LEN + text_len, TAG_LEN);
    int n =
        gcm(false, v->keys[blob[1]], blob, blob + HEADER_LEN, (int)text_len, (uint8_t *)plain, tag);
    if (n < 0) {
        OPENSSL_cleanse(plain, VAULT_PLAIN_MAX + 1);
        return n;
    }
    plain[n] = '\0';
    return 0;
}

int vault_hash(const vault *v, const char *plain, uint8_t out[VAULT_HASH_LEN]) {
    unsigned int len = VAULT_HASH_LEN;
    const unsigned char *mac = HMAC(EVP_sha256(), v->hmac_key, KEY_LEN,
                                    (const unsigned char *)plain, strlen(plain), out, &len);
    return mac != NULL && len == VAULT_HASH_LEN ? 0 : VAULT_E_CRYPTO;
}

void vault_thread_done(void) {
    OPENSSL_thread_stop();
}

const char *vault_strerror(int code) {
    switch (code) {
    case VAULT_E_TAMPERED:
        return "the sealed value was altered or is not one";
    case VAULT_E_UNKNOWN_KEY:
        return "the value was sealed under a key the vault key file no longer has";
    case VAULT_E_TOO_LONG:
        return "the value is too long to seal";
    default:
        return "the cryptographic library failed";
    }
}
