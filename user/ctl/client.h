/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hpcnodectl's side of the API socket: one request line out, one reply
 * line back (or, for subscribe, a stream of lines). */
#ifndef HNCTL_CLIENT_H
#define HNCTL_CLIENT_H

#include <json-c/json.h>

#define HNCTL_DEFAULT_SOCKET "/run/hpcnode/hpcnoded.sock"

/* Exit codes, documented in hpcnodectl(1). */
enum {
        HNCTL_EXIT_OK = 0,
        HNCTL_EXIT_FAILED = 1,     /* the daemon refused or failed the operation */
        HNCTL_EXIT_USAGE = 2,
        HNCTL_EXIT_UNREACHABLE = 3, /* no daemon, or it did not answer in time */
        HNCTL_EXIT_DENIED = 4,     /* permission_denied */
        HNCTL_EXIT_NOT_FOUND = 5,  /* not_found */
        HNCTL_EXIT_BUSY = 6,       /* EBUSY: in force already, processes that would not die */
};

struct hnctl {
        const char *socket;
        int timeout_ms;
        int fd;
};

/* Connects; on failure prints why and returns HNCTL_EXIT_UNREACHABLE. */
int hnctl_connect(struct hnctl *c);
/* Sends {"call":call,"args":args} (args consumed; may be NULL) and reads
 * the reply. Returns 0 with *ret_reply set, or an exit code after printing
 * the cause. */
int hnctl_call(struct hnctl *c, const char *call, json_object *args, json_object **ret_reply);
/* Reads the next line of a stream; NULL at its end. */
json_object *hnctl_read(struct hnctl *c, int timeout_ms);
/* The exit code for an error reply, after printing its message. */
int hnctl_error_exit(json_object *reply);

#endif
