/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_API_JOBS_H
#define HND_API_JOBS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

struct hnd_api;
struct hnd_api_pending;

/* Called on the loop when a job's call has returned (reply filled) or,
 * at stop, was answered busy without a thread; reply stays the pool's.
 * seq: the last audit record the call made (0: none), which the reply
 * waits for. */
typedef void (*api_job_done_fn)(void *owner, json_object *reply, uint64_t seq);

/* Runs the call p on a thread now, or queues it for the next free one;
 * done(owner, reply) on the loop after it. false only without memory
 * (nothing taken). Its connection (owner) waits until then. */
bool api_job_start(struct hnd_api *a, struct hnd_api_pending *p, json_object *reply, api_job_done_fn done,
                   void *owner);
/* Replies of calls that ran on threads, back on the loop. */
void api_jobs_finish(struct hnd_api *a);
/* The done eventfd's handler (userdata: the api). */
int api_jobs_on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata);
/* Calls that never got a thread are answered busy; those running are
 * waited for; then the workers go. */
void api_jobs_stop(struct hnd_api *a);

#endif
