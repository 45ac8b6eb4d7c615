/* vault: customers' phone numbers at rest. A number is stored sealed
 * (AES-256-GCM under the current key, the key's id inside the sealed blob,
 * so that keys can rotate and old rows still open) with an HMAC-SHA256 of
 * it beside, for look-ups that must not decrypt anything: the do-not-call
 * list and duplicate leads. Seal and hash the canonical number
 * (phone_normalize), or the same person gets two hashes.
 *
 * The key file (named by vault.key_file in the configuration; read once at
 * start-up, at most VAULT_FILE_MAX bytes, refused unless it is a regular
 * file that its group and others have no access to) has one entry per
 * line, '#' comments and blank lines ignored:
 *
 *   hmac 64-HEX-DIGITS        exactly once: the look-up key (32 bytes)
 *   key ID 64-HEX-DIGITS      once or more: an encryption key (32 bytes),
 *                             ID 1-255; the highest ID seals, all open
 *
 * The hmac key never rotates: every stored hash depends on it, so a new
 * one would hide every number already on the do-not-call list. To rotate
 * the encryption key, append a line with a higher ID and restart; keep the
 * old lines while any row is still sealed under them (blob byte 1 says
 * which). Rotate long before one key has sealed 2^32 numbers, the safe
 * limit for random 96-bit GCM nonces. deploy/gen-vault-key.sh writes a new
 * file; by hand it is:
 *
 *   (umask 077; printf 'hmac %s\nkey 1 %s\n' "$(openssl rand -hex 32)" \
 *       "$(openssl rand -hex 32)" > vault.keys)
 *   printf 'key 2 %s\n' "$(openssl rand -hex 32)" >> vault.keys   # rotate
 *
 * A sealed blob is self-describing: byte 0 the format version (1), byte 1
 * the key id, bytes 2-13 a random nonce, then the ciphertext (as long as
 * the text) and the 16-byte GCM tag. Bytes 0-1 are authenticated as
 * additional data, so a blob cannot be relabelled to another key.
 *
 * An open vault is only read: it may be shared by threads (the libuv pool
 * included) without locking. */
#ifndef CALLFLOOR_VAULT_H
#define CALLFLOOR_VAULT_H

#include <stddef.h>
#include <stdint.h>

#define VAULT_FILE_MAX  4096
#define VAULT_HASH_LEN  32
#define VAULT_OVERHEAD  (1 + 1 + 12 + 16) /* version, key id, nonce, tag */
#define VAULT_PLAIN_MAX 64
#define VAULT_BLOB_MAX  (VAULT_OVERHEAD + VAULT_PLAIN_MAX)

enum {
    VAULT_E_TAMPERED = -1,    /* the blob was altered, or is not one */
    VAULT_E_UNKNOWN_KEY = -2, /* sealed under a key id the file lacks */
    VAULT_E_TOO_LONG = -3,    /* more than VAULT_PLAIN_MAX bytes to seal */
    VAULT_E_CRYPTO = -4,      /* OpenSSL failed (out of memory, no entropy) */
};

typedef struct vault vault;

/* Loads the key file. Returns the vault, or NULL with a sentence in `err`
 * (naming the file and the line, never a key) when it cannot be used. */
vault *vault_open(const char *path, char *err, size_t errlen);
/* Wipes the keys (OPENSSL_cleanse) and frees the vault. NULL is fine. */
void vault_close(vault *v);
/* Seals the NUL-terminated `plain` into `blob` under the current key with
 * a fresh random nonce. Returns the blob's length (VAULT_OVERHEAD +
 * strlen(plain)) or a VAULT_E_* code. */
int vault_seal(const vault *v, const char *plain, uint8_t blob[VAULT_BLOB_MAX]);
/* Opens a blob of `len` bytes with the key its id names into `plain`
 * (NUL-terminated). Returns 0 or a VAULT_E_* code; on a code `plain` holds
 * nothing of the text. */
int vault_unseal(const vault *v, const uint8_t *blob, size_t len, char plain[VAULT_PLAIN_MAX + 1]);
/* The look-up hash of the NUL-terminated `plain`: HMAC-SHA256 under the
 * hmac key, the same whatever encryption key is current. Returns 0 or
 * VAULT_E_CRYPTO, when `out` must not be used. */
int vault_hash(const vault *v, const char *plain, uint8_t out[VAULT_HASH_LEN]);
/* The id of the key vault_seal uses now. */
int vault_current_key_id(const vault *v);
/* Frees the calling thread's OpenSSL state (error queue, random
 * generator). Work run in the thread pool calls it when done: the pool's
 * threads live until the process exits and would keep it unreleased. */
void vault_thread_done(void);
/* A sentence for a VAULT_E_* code; it never includes the value. */
const char *vault_strerror(int code);

#endif
