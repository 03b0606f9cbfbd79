/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One API connection, shared by the server's parts: the socket's accept
 * (api_server.c), the calls on threads (api_jobs.c) and the audit stream
 * (api_stream.c). Loop only. */
#ifndef HND_API_CLIENT_H
#define HND_API_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include <hpcnode/error.h>

#include "caller.h"

struct hnd_api;

struct hnd_api_client {
        struct hnd_api *api;
        struct hnd_api_client *prev, *next;
        int fd;
        sd_event_source *io, *timer;
        sd_event_source *more; /* one request per turn of the loop: the next is deferred */
        struct hnd_caller caller;
        int pidfd;      /* the caller's, where the kernel gives one; -1 */
        int proc_fd;    /* the caller's /proc directory, where it is rechecked */
        pid_t in_writer; /* who wrote the buffered bytes (SCM_CREDENTIALS); -1: more than one */
        char *in;
        size_t in_len, in_cap;
        uint64_t first_byte_usec; /* of the request being read; 0 when none */
        char *out;
        size_t out_len, out_off, out_cap;
        bool closing;    /* close once out is flushed */
        bool subscriber; /* a stream of audit records, no more requests */
        bool busy;       /* a call of its runs on a thread; requests wait */
        bool gone;       /* closed while busy: freed when the call returns */
        /* out is held until this audit record is on disk: a call's reply
         * follows its records (AuditFsync); 0 when nothing waits */
        uint64_t hold_seq;
};


/* A new connection (*cfd, taken on success): the caller identified, then
 * driven by the loop. Negative errno when it could not be. */
int api_client_add(struct hnd_api *a, int *cfd);
/* Closes the connection; the memory goes now, or when a running call of
 * the client's returns (then api_client_release()). */
void api_client_free(struct hnd_api_client *c);
void api_client_release(struct hnd_api_client *c);
/* Writes what it can now (nothing while its replies wait for their
 * records' sync); false if the client is gone. */
bool api_client_flush(struct hnd_api_client *c);
/* The replies queued from now on wait until audit record seq is on disk
 * (0: no record, nothing to wait for). */
void api_client_hold(struct hnd_api_client *c, uint64_t seq);
/* A reply line (newline added); on no memory the client is closed. */
void api_client_queue_line(struct hnd_api_client *c, const char *text, size_t n);
void api_client_queue_json(struct hnd_api_client *c, json_object *o);
/* An error reply for a request that never reached a call. */
void api_client_queue_error(struct hnd_api_client *c, enum hn_error_kind kind, int sys_errno, const char *message);
/* The next complete request in the buffer, if the client may have one. */
void api_client_process_input(struct hnd_api_client *c);
/* Appends to a growing buffer; -ENOMEM leaves it as it was. */
int api_buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n);

#endif
