/* compliance: what a customer or a regulator forbids. For now the
 * do-not-call list: adding, removing and checking numbers, and importing
 * lists of them. Numbers are made canonical (common/phone.h), found by
 * their HMAC and stored sealed (vault.h); they are never logged, and
 * answers carry them masked. */
#ifndef CALLFLOOR_COMPLIANCE_H
#define CALLFLOOR_COMPLIANCE_H

#include "phone.h"
#include "session.h"
#include "vault.h"

/* The most numbers one DncImport may carry. */
#define COMPLIANCE_IMPORT_BATCH_MAX 1000

/* A customer's number as the database keeps it: the look-up HMAC and the
 * sealed number in hex (for decode(x, 'hex')), and the masked form. */
typedef struct compliance_number {
    char hmac[2 * VAULT_HASH_LEN + 1];
    char sealed[2 * VAULT_BLOB_MAX + 1];
    char masked[PHONE_MAX];
} compliance_number;

/* The vault failed (not the number's fault); the PHONE_E_* codes are the
 * number's. */
#define COMPLIANCE_E_SEAL (-100)

/* Normalises, hashes, seals and masks `phone`, wiping the clear copies.
 * Returns 0, a PHONE_E_* code or COMPLIANCE_E_SEAL. */
int compliance_protect_number(const vault *v, const char *phone, compliance_number *out);
/* The sentence for a code of compliance_protect_number. */
const char *compliance_number_problem(int rc);

int compliance_prepare_statements(db_pool *pool);

void compliance_on_dnc_add(request *req);
void compliance_on_dnc_remove(request *req);
void compliance_on_dnc_check(request *req);
void compliance_on_dnc_import(request *req);

/* Answers PrivacyPurge: erases (or counts) the personal data of customers
 * untouched for the given days, or privacy.retention_days. */
void compliance_on_purge(request *req);

#endif
