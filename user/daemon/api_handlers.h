/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The API's handlers, one file per domain (api_cgroup.c, api_mount.c,
 * api_emergency.c, api_service.c), and what they share: argument decoding
 * (api_args.c). Internal to the daemon's API: api_dispatch.c's table is
 * their only caller. Each fills result on success; on failure it returns
 * a negative errno with err set, and result is dropped. */
#ifndef HND_API_HANDLERS_H
#define HND_API_HANDLERS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include <hpcnode/error.h>

struct hnd_daemon;
struct hnd_caller;

typedef int hnd_call_fn(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                        struct hn_error *err);

/* A string argument; absent: an error if required, else *ret = NULL. */
int api_arg_str(json_object *args, const char *key, bool required, const char **ret, struct hn_error *err);
/* A non-negative integer up to max; absent leaves *ret as it is. */
int api_arg_u64(json_object *args, const char *key, uint64_t max, uint64_t *ret, struct hn_error *err);

/* {"active":…} and, while one is active, who, why, since and until when */
void api_emergency_json(struct hnd_daemon *d, json_object *o);

/* cgroups (api_cgroup.c) */
hnd_call_fn hnd_call_hierarchy_create, hnd_call_scope_create, hnd_call_scope_destroy, hnd_call_scope_freeze,
        hnd_call_scope_thaw, hnd_call_scope_attach, hnd_call_scope_metrics, hnd_call_scope_is_empty,
        hnd_call_scope_list, hnd_call_tree;
/* mounts (api_mount.c) */
hnd_call_fn hnd_call_mount_acquire, hnd_call_mount_release, hnd_call_mount_list, hnd_call_mount_refcount,
        hnd_call_mount_force_unmount, hnd_call_mount_reconcile;
/* emergency (api_emergency.c) */
hnd_call_fn hnd_call_emergency_begin, hnd_call_emergency_end, hnd_call_emergency_status;
/* the service itself (api_service.c) */
hnd_call_fn hnd_call_status, hnd_call_probe, hnd_call_metrics, hnd_call_audit_tail, hnd_call_subscribe;
/* metrics' part that the loop keeps, into result's "text", on the loop;
 * hnd_call_metrics then adds the walk's, on its thread. */
void hnd_call_metrics_prepare(struct hnd_daemon *d, json_object *result);

#endif
