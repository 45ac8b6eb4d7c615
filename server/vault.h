/* vault: customers' phone numbers at rest. A number is stored sealed
 * (AES-256-GCM under the current key, the key's id inside the sealed blob,
 * so that keys can rotate and old rows still open) with an HMAC-SHA256 of
 * it beside, for look-ups that must not decrypt anything: the do-not-call
 * list and duplicate leads. The HMAC key never rotates (every stored hash
 * would change); the encryption keys do.
 *
 * The key file (named by vault.key_file in the configuration; read once at
 * start-up, at most VAULT_FILE_MAX bytes, refused when group or others may
 * read it) has one entry per line, '#' comments and blank lines ignored:
 *
 *   hmac 64-HEX-DIGITS        exactly once: the look-up key
 *   key ID 64-HEX-DIGITS      once or more: an encryption key, ID 1-255;
 *                             the highest ID seals, all of them open
 *
 * deploy/gen-vault-key.sh writes one (with openssl rand). */
#ifndef CALLFLOOR_VAULT_H
#define CALLFLOOR_VAULT_H

#include <stddef.h>
#include <stdint.h>

#define VAULT_FILE_MAX 4096
#define VAULT_HASH_LEN 32
/* A sealed blob: version, key id, 12-byte nonce, the text, 16-byte tag. */
#define VAULT_OVERHEAD  (1 + 1 + 12 + 16)
#define VAULT_PLAIN_MAX 64
#define VAULT_BLOB_MAX  (VAULT_OVERHEAD + VAULT_PLAIN_MAX)

enum {
    VAULT_E_TAMPERED = -1,    /* the blob was altered, or is not one */
    VAULT_E_UNKNOWN_KEY = -2, /* sealed under a key id the file lacks */
    VAULT_E_TOO_LONG = -3,    /* more than VAULT_PLAIN_MAX bytes to seal */
    VAULT_E_CRYPTO = -4,      /* OpenSSL failed (out of memory, no entropy) */
};

typedef struct vault vault;

/* Loads the key file. NULL with a sentence in `err` (naming the file and
 * the line, never a key) when it cannot be used. */
vault *vault_open(const char *path, char *err, size_t errlen);
/* Wipes the keys and frees the vault. NULL is fine. */
void vault_close(vault *v);
/* Seals `plain` into `blob` (VAULT_OVERHEAD + strlen(plain) bytes).
 * Returns the blob's length or a VAULT_E_* code. */
int vault_seal(const vault *v, const char *plain, uint8_t blob[VAULT_BLOB_MAX]);
/* Opens a blob into `plain` (NUL-terminated). Returns 0 or a VAULT_E_*
 * code. */
int vault_unseal(const vault *v, const uint8_t *blob, size_t len, char plain[VAULT_PLAIN_MAX + 1]);
/* The look-up hash of `plain`. */
void vault_hash(const vault *v, const char *plain, uint8_t out[VAULT_HASH_LEN]);
/* The id of the key vault_seal uses now. */
int vault_current_key_id(const vault *v);
const char *vault_strerror(int code);

#endif
