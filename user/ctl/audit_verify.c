/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hpcnodectl audit verify: the audit trail's hash chain, checked record
 * by record (user/daemon/audit_chain.c). Given files, those, in order (a
 * rotated log first, then its successor); given none, the daemon's own log,
 * and its end against where the daemon says the chain stands, so a cut
 * tail is found too. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit_chain.h"
#include "audit_verify.h"
#include "client.h"

static int verify_files(struct audit_verify *v, char **files, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                FILE *f = fopen(files[i], "re");
                if (!f) {
                        fprintf(stderr, "hpcnodectl: audit verify: %s: %s\n", files[i], strerror(errno));
                        return HNCTL_EXIT_NOT_FOUND;
                }
                int r = audit_verify_file(v, f);
                fclose(f);
                if (r == -EBADMSG) {
                        printf("%s: broken at %s\n", files[i], v->why);
                        return HNCTL_EXIT_FAILED;
                }
                if (r < 0) {
                        fprintf(stderr, "hpcnodectl: audit verify: %s: %s\n", files[i], strerror(-r));
                        return HNCTL_EXIT_FAILED;
                }
        }
        return 0;
}

static void print_ok(const struct audit_verify *v) {
        if (!v->started)
                printf("ok: no records\n");
        else
                printf("ok: %" PRIu64 " records, seq %" PRIu64 "..%" PRIu64 "%s\n", v->records, v->first_seq,
                       v->chain.seq, v->first_seq == 1 ? ", from the first" : " (the chain's start is in an earlier file)");
}

int hnctl_audit_verify(struct hnctl *c, char **files, unsigned n) {
        struct audit_verify v;
        audit_verify_init(&v);
        if (n) {
                int r = verify_files(&v, files, n);
                if (r == 0)
                        print_ok(&v);
                return r;
        }
        /* the daemon's log, and where the daemon's chain stands */
        json_object *reply = NULL, *ok, *result, *log, *chain, *seq_v, *last_v;
        int r = hnctl_call(c, "status", NULL, &reply);
        if (r)
                return r;
        if (!json_object_object_get_ex(reply, "ok", &ok) || !json_object_get_boolean(ok)) {
                r = hnctl_error_exit(reply);
                json_object_put(reply);
                return r;
        }
        if (!json_object_object_get_ex(reply, "result", &result) ||
            !json_object_object_get_ex(result, "audit_log", &log) ||
            !json_object_object_get_ex(result, "audit_chain", &chain) ||
            !json_object_object_get_ex(chain, "seq", &seq_v) || !json_object_object_get_ex(chain, "last", &last_v)) {
                fprintf(stderr, "hpcnodectl: audit verify: the daemon's status names no audit chain\n");
                json_object_put(reply);
                return HNCTL_EXIT_FAILED;
        }
        char path[4096];
        snprintf(path, sizeof(path), "%s", json_object_get_string(log));
        uint64_t daemon_seq = (uint64_t) json_object_get_int64(seq_v);
        char daemon_last[AUDIT_CHAIN_HEX];
        snprintf(daemon_last, sizeof(daemon_last), "%s", json_object_get_string(last_v));
        json_object_put(reply);
        if (!*path) {
                fprintf(stderr, "hpcnodectl: audit verify: the daemon keeps no audit log (AuditLog= is empty)\n");
                return HNCTL_EXIT_NOT_FOUND;
        }
        char *one[] = { path };
        r = verify_files(&v, one, 1);
        if (r)
                return r;
        /* records written after status are not in the comparison: the file
         * may only be ahead of what the daemon said, never behind it */
        if (v.chain.seq < daemon_seq) {
                printf("%s: broken at the end: the last record is seq %" PRIu64 ", hpcnoded has written up to seq %" PRIu64
                       ": records missing at the end (the file was cut)\n",
                       path, v.chain.seq, daemon_seq);
                return HNCTL_EXIT_FAILED;
        }
        if (v.chain.seq == daemon_seq && strcmp(v.chain.last, daemon_last)) {
                printf("%s: broken at the end: the last record (seq %" PRIu64 ") is not the one hpcnoded wrote\n", path,
                       v.chain.seq);
                return HNCTL_EXIT_FAILED;
        }
        printf("%s: ", path);
        print_ok(&v);
        return 0;
}
