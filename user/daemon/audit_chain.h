/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit trail's hash chain: every record carries "seq" (1, 2, ...)
 * and "prev", the SHA-256 (hex) of the previous record's line as written
 * (64 zeros before the first). A removed, inserted, reordered or edited
 * record breaks the chain at the next one. Shared by the daemon (writing,
 * resuming after a restart) and hpcnodectl (audit verify). */
#ifndef HND_AUDIT_CHAIN_H
#define HND_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AUDIT_CHAIN_HEX 65 /* 64 hex digits and a NUL */
#define AUDIT_CHAIN_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* SHA-256 of line[0..len) (no newline), in lower-case hex. */
void audit_chain_hash(const char *line, size_t len, char hex[AUDIT_CHAIN_HEX]);

/* Where a chain stands: the last record's seq and hash. */
struct audit_chain {
        uint64_t seq;
        char last[AUDIT_CHAIN_HEX];
};

/* The chain as the file at path leaves it (its last line), for a daemon
 * that appends to it again: *ret is the genesis for a missing or empty
 * file. *ret_partial is set when the file does not end with a newline (a
 * write cut short): the caller starts a new line first. */
int audit_chain_resume(const char *path, struct audit_chain *ret, bool *ret_partial);

/* Verifying, a file (or several, in order) a line at a time. */
struct audit_verify {
        struct audit_chain chain; /* the last good record */
        bool started;             /* a record was seen */
        uint64_t first_seq;       /* of the first record seen */
        uint64_t records;
        uint64_t line;            /* in the current file */
        char why[512];            /* what broke, where */
};
void audit_verify_init(struct audit_verify *v);
/* One line (without its newline): 0, or -EBADMSG with v->why naming the
 * line and the record. The first record seen anchors the chain: its prev
 * is checked only if it is seq 1 (genesis), else its predecessor is in an
 * earlier file. */
int audit_verify_line(struct audit_verify *v, const char *line, size_t len);
/* Every line of f; 0, -EBADMSG at the first broken one, or -errno. */
int audit_verify_file(struct audit_verify *v, FILE *f);

#endif
