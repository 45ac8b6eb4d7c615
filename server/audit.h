/* audit: the tamper-evident audit log (server/sql/010_audit.sql writes the
 * rows and their hash chain through triggers). This module signs
 * checkpoints of the chain's head with an Ed25519 key (audit.signing_key)
 * every audit.checkpoint_interval, and answers AuditList, AuditVerify,
 * AuditCheckpoint and AuditCheckpoints. */
#ifndef CALLFLOOR_AUDIT_H
#define CALLFLOOR_AUDIT_H

#include "session.h"

#define AUDIT_LIST_MAX 1000

int audit_prepare_statements(db_pool *pool);
/* Reads the signing key (a blocking file read: call before the loop
 * runs) and starts the checkpoint timer. A missing key file turns
 * checkpoints off with a warning. Returns 0, -ENOMEM, or -EINVAL with
 * `err` saying what is wrong with the key. */
int audit_start(server *srv, char *err, size_t errlen);
void audit_close(server *srv);

/* Dispatch table handlers. */
void audit_on_list(request *req);
void audit_on_verify(request *req);
void audit_on_checkpoint(request *req);
void audit_on_checkpoints(request *req);

#endif
