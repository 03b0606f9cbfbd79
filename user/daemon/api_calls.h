/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The API's calls: one request (a JSON object with "call" and "args") in,
 * one reply out ({"ok":true,"result":…} or {"ok":false,"error":…}). Who may
 * make each call is in the table in api_dispatch.c and in docs/api.md. */
#ifndef HND_API_CALLS_H
#define HND_API_CALLS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include <hpcnode/error.h>

#define HND_API_MAX_CALLS 32

struct hnd_daemon;
struct hnd_caller;

struct hnd_api_pending;

/* Parses and runs one request line, filling reply, and returns NULL; or,
 * for a call that may wait (kill, freeze, mount), checks it and returns it
 * pending: the server runs it with hnd_api_run() on another thread, then
 * completes reply with hnd_api_finish() on the loop. *ret_subscribe is
 * set when the call was a successful "subscribe": the connection then
 * streams audit records. */
struct hnd_api_pending *hnd_api_handle(struct hnd_daemon *d, const struct hnd_caller *c, const char *line, size_t len,
                                       json_object *reply, bool *ret_subscribe);
/* Any thread. */
void hnd_api_run(struct hnd_api_pending *p);
/* Instead of running it: the error for "too many running". */
void hnd_api_busy(struct hnd_api_pending *p);
/* The loop: the reply, the counters, a reconcile pass after a mount call;
 * frees p. Returns whether the connection now streams. */
bool hnd_api_finish(struct hnd_api_pending *p, json_object *reply);
/* {"kind":…, "errno":…, "message":…} */
json_object *hnd_api_error_json(enum hn_error_kind kind, int sys_errno, const char *message);
/* One api.refused record, or counted into the summary once this second
 * has had HND_REFUSED_PER_SEC (api_refusals.c). */
void hnd_api_refusal_record(struct hnd_daemon *d, const char *detail);
/* Writes the summary of refusals not recorded one by one, once their
 * second is over (called on every refusal and from the daemon's tick). */
void hnd_api_refusals_flush(struct hnd_daemon *d);
/* The i-th call's name, NULL past the end (metrics label every call). */
const char *hnd_api_call_name(size_t i);

#endif
