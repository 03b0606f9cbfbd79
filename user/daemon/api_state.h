/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The API's state, shared by its parts: the socket and its connections
 * (api_server.c, api_client.c), the pool of threads for the calls that may
 * wait (api_jobs.c) and the audit stream (api_stream.c). Each part includes
 * this, never another part's header for it. */
#ifndef HND_API_STATE_H
#define HND_API_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#define HND_API_REQUEST_MAX (64u * 1024u)
#define HND_API_REPLY_BACKLOG (1u << 20) /* unread reply bytes before a client is no longer read */
#define HND_API_STREAM_BACKLOG (8u << 20) /* unread records before a subscriber is dropped */
#define HND_API_MAX_JOBS 16 /* calls that may wait, running at once on the pool's threads */

struct hnd_daemon;
struct hnd_api_client;
struct hnd_api_job;

struct hnd_api {
        struct hnd_daemon *d;
        sd_event *ev;
        int fd;
        char path[4096];
        sd_event_source *src, *tap_src;
        struct hnd_api_client *clients;
        unsigned n_clients, n_subscribers;
        /* Audit records for subscribers: written by whichever thread makes
         * a record (the hold timer has its own), handed to the loop
         * through an eventfd. */
        pthread_mutex_t tap_lock;
        int tap_efd;
        char *tap_buf;
        size_t tap_len;
        uint64_t tap_lost; /* records dropped because the loop fell this far behind */
        uint64_t connections, rejected_connections, dropped_subscribers;
        /* Calls that may wait run on threads; their replies come back to
         * the loop through done_efd. A client waits for its reply before
         * its next request is read, so replies keep their order. */
        pthread_mutex_t jobs_lock;
        pthread_cond_t jobs_cond;
        struct hnd_api_job *done;
        /* Calls waiting for a thread (HND_API_MAX_JOBS run at once), in
         * order: at most one per client, so the queue is bounded by the
         * clients. The loop's alone. */
        struct hnd_api_job *waiting, **waiting_tail;
        unsigned jobs_running;
        /* The pool: workers made as calls need them and kept; a job handed
         * to an idle one waits in ready (under jobs_lock). */
        struct hnd_api_job *ready;
        pthread_cond_t work_cond;
        unsigned workers, workers_idle;
        bool workers_stop;
        int done_efd;
        sd_event_source *done_src;
        sd_event_source *durable_src; /* the sink's durable_efd: held replies may go */
};

#endif
