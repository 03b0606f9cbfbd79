/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_API_JOBS_H
#define HND_API_JOBS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

struct hnd_api;
struct hnd_api_client;
struct hnd_api_pending;

/* Runs the call on a thread now, or queues it for the next free one;
 * false only without memory. The client is busy until its reply. */
bool api_job_start(struct hnd_api_client *c, struct hnd_api_pending *p, json_object *reply);
/* Replies of calls that ran on threads, back on the loop. */
void api_jobs_finish(struct hnd_api *a);
/* The done eventfd's handler (userdata: the api). */
int api_jobs_on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata);
/* Calls that never got a thread are answered busy; those running are
 * waited for; then the workers go. */
void api_jobs_stop(struct hnd_api *a);

#endif
