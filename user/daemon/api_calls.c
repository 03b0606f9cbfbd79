/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <hpcnode/probe.h>

#include "clock.h"
#include "api_calls.h"
#include "audit_tail.h"
#include "caller.h"
#include "daemon.h"
#include "error_set.h"
#include "json_strict.h"
#include "macro.h"
#include "tree.h"

#define ROLE(r) (1u << (r))
#define KNOWN (ROLE(HND_ROLE_OPERATOR) | ROLE(HND_ROLE_PACT) | ROLE(HND_ROLE_WORKLOAD))
#define ANYONE (KNOWN | ROLE(HND_ROLE_UNKNOWN))
#define OPERATOR ROLE(HND_ROLE_OPERATOR)

/* The owner an allocation's workdir was acquired by: kept in the kernel's
 * own objects (like the zombie mark), so a restart knows it too. */
#define OWNER_XATTR "trusted.hpcnode.owner"

typedef int (*call_fn)(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                       struct hn_error *err);

struct call {
        const char *name;
        unsigned roles;
        call_fn fn;
        const char *args[8]; /* every key it accepts */
        /* May wait (a kill that waits for the cgroup to empty, a loop
         * device and a mount) or reads files or cgroupfs (a tail of the
         * trail, a scope's metrics, a probe): run off the event loop, on
         * a thread of its own. Such a call may use only the thread-safe
         * managers. */
        bool slow;
        /* After success, on the loop: a reconcile pass, so the guard holds
         * the mounts the call made before the reply goes out. */
        bool then_reconcile;
};

struct hnd_api_pending {
        struct hnd_daemon *d;
        const struct call *call;
        size_t index;
        json_object *req, *args, *result;
        struct hnd_caller caller;
        struct hn_error err;
        int r;
};

/* ---- arguments ---- */

static json_object *arg(json_object *args, const char *key) {
        json_object *v = NULL;
        return json_object_object_get_ex(args, key, &v) ? v : NULL;
}

static int arg_str(json_object *args, const char *key, bool required, const char **ret, struct hn_error *err) {
        json_object *v = arg(args, key);
        if (!v) {
                if (required)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "missing argument \"%s\"", key);
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "argument \"%s\" must be a string", key);
        *ret = json_object_get_string(v);
        return 0;
}

/* A non-negative integer up to max; absent leaves *ret as it is. */
static int arg_u64(json_object *args, const char *key, uint64_t max, uint64_t *ret, struct hn_error *err) {
        json_object *v = arg(args, key);
        if (!v)
                return 0;
        errno = 0;
        int64_t n = json_object_get_int64(v);
        if (!json_object_is_type(v, json_type_int) || errno || n < 0 || (uint64_t) n > max)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "argument \"%s\" must be an integer 0..%" PRIu64, key, max);
        *ret = (uint64_t) n;
        return 0;
}

static int check_args(const struct call *call, json_object *args, struct hn_error *err) {
        if (!args)
                return 0;
        json_object_object_foreach(args, key, v) {
                (void) v;
                bool known = false;
                for (size_t i = 0; i < ELEMENTSOF(call->args) && call->args[i]; i++)
                        known |= !strcmp(call->args[i], key);
                if (!known)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "%s takes no argument \"%s\"",
                                            call->name, key);
        }
        return 0;
}

/* ---- cgroups ---- */

/* An agent acts through its own owner's manager, so the library refuses
 * another owner's slice (RI1) and lets pact into workload.slice only in
 * an emergency (RI3). The operator acts as the owner of the path. */
/* An absolute path inside the root, as the part below it (the root need
 * not be the cgroup2 mount); any other path as it is. */
static const char *below_root(struct hnd_daemon *d, const char *path) {
        const char *root = hn_cgroup_manager_root(d->cgroups);
        size_t n = strlen(root);
        return path[0] == '/' && !strncmp(path, root, n) && path[n] == '/' ? path + n + 1 : path;
}

static struct hn_cgroup_manager *manager_for(struct hnd_daemon *d, const struct hnd_caller *c, const char *path) {
        enum hn_slice_owner owner =
                c->role == HND_ROLE_OPERATOR ? hn_slice_owner(below_root(d, path)) : hnd_role_owner(c->role);
        return owner == HN_OWNER_PACT ? d->pact_cgroups : owner == HN_OWNER_WORKLOAD ? d->workload_cgroups : d->cgroups;
}

static int handle_of(json_object *args, struct hn_cgroup_handle *h, const char **ret_path, struct hn_error *err) {
        const char *path;
        int r = arg_str(args, "path", true, &path, err);
        if (r < 0)
                return r;
        if (strlen(path) >= sizeof(h->path))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG, "path too long");
        snprintf(h->path, sizeof(h->path), "%s", path);
        *ret_path = path;
        return 0;
}

static int call_hierarchy_create(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                                 json_object *result, struct hn_error *err) {
        unsigned enabled = 0;
        char buf[64];
        (void) c, (void) args;
        int r = hn_cgroup_create_hierarchy(d->cgroups, &enabled, err);
        if (r < 0)
                return r;
        json_object_object_add(result, "controllers",
                               json_object_new_string(hn_controller_mask_format(enabled, buf, sizeof(buf))));
        return 0;
}

static int call_scope_create(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                             json_object *result, struct hn_error *err) {
        const char *parent, *name;
        uint64_t memory_max = 0, cpu_weight = 0, io_max = 0;
        int r;
        if ((r = arg_str(args, "parent", true, &parent, err)) < 0 || (r = arg_str(args, "name", true, &name, err)) < 0 ||
            (r = arg_u64(args, "memory_max", UINT64_MAX >> 1, &memory_max, err)) < 0 ||
            (r = arg_u64(args, "cpu_weight", 10000, &cpu_weight, err)) < 0 ||
            (r = arg_u64(args, "io_max", UINT64_MAX >> 1, &io_max, err)) < 0)
                return r;
        struct hn_resource_limits limits = { .memory_max = memory_max, .cpu_weight = (uint32_t) cpu_weight,
                                             .io_max = io_max };
        struct hn_cgroup_handle h;
        r = hn_cgroup_create_scope(manager_for(d, c, parent), parent, name, &limits, &h, err);
        if (r < 0)
                return r;
        /* Relative to the root, as every other call takes and gives paths. */
        const char *root = hn_cgroup_manager_root(d->cgroups), *rel = h.path;
        if (!strncmp(rel, root, strlen(root)) && rel[strlen(root)] == '/')
                rel += strlen(root) + 1;
        json_object_object_add(result, "path", json_object_new_string(rel));
        json_object_object_add(result, "abs_path", json_object_new_string(h.path));
        return 0;
}

static int call_scope_destroy(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                              json_object *result, struct hn_error *err) {
        struct hn_cgroup_handle h;
        const char *path;
        (void) result;
        int r = handle_of(args, &h, &path, err);
        return r < 0 ? r : hn_cgroup_destroy_scope(manager_for(d, c, path), &h, err);
}

static int freeze(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, bool frozen,
                  struct hn_error *err) {
        struct hn_cgroup_handle h;
        const char *path;
        int r = handle_of(args, &h, &path, err);
        return r < 0 ? r : hn_cgroup_freeze_scope(manager_for(d, c, path), &h, frozen, err);
}

static int call_scope_freeze(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                             json_object *result, struct hn_error *err) {
        (void) result;
        return freeze(d, c, args, true, err);
}

static int call_scope_thaw(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                           struct hn_error *err) {
        (void) result;
        return freeze(d, c, args, false, err);
}

static int call_scope_attach(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                             json_object *result, struct hn_error *err) {
        struct hn_cgroup_handle h;
        const char *path;
        uint64_t pid = 0;
        (void) result;
        int r = handle_of(args, &h, &path, err);
        if (r < 0 || (r = arg_u64(args, "pid", INT32_MAX, &pid, err)) < 0)
                return r;
        if (pid == 0)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "missing argument \"pid\"");
        return hn_cgroup_attach_pid(manager_for(d, c, path), &h, (pid_t) pid, err);
}

static int call_scope_metrics(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                              json_object *result, struct hn_error *err) {
        const char *path;
        struct hn_cgroup_metrics m;
        (void) c;
        int r = arg_str(args, "path", true, &path, err);
        if (r < 0 || (r = hn_cgroup_read_metrics(d->cgroups, path, &m, err)) < 0)
                return r;
        hnd_metrics_json(&m, result);
        return 0;
}

static int call_scope_is_empty(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                               json_object *result, struct hn_error *err) {
        struct hn_cgroup_handle h;
        const char *path;
        bool empty;
        (void) c;
        int r = handle_of(args, &h, &path, err);
        if (r < 0 || (r = hn_cgroup_is_scope_empty(d->cgroups, &h, &empty, err)) < 0)
                return r;
        json_object_object_add(result, "empty", json_object_new_boolean(empty));
        return 0;
}

static int call_scope_list(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                           json_object *result, struct hn_error *err) {
        const char *slice;
        (void) c;
        int r = arg_str(args, "slice", false, &slice, err);
        if (r < 0)
                return r;
        json_object *scopes = json_object_new_array();
        r = hnd_tree_scopes(d, slice, scopes, err);
        if (r < 0) {
                json_object_put(scopes);
                return r;
        }
        json_object_object_add(result, "scopes", scopes);
        return 0;
}

static int call_tree(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                     struct hn_error *err) {
        (void) c, (void) args;
        return hnd_tree_json(d, result, err);
}

/* ---- mounts ---- */

static int call_mount_acquire(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                              json_object *result, struct hn_error *err) {
        const char *image, *alloc;
        struct hn_mount_handle h;
        int r;
        if ((r = arg_str(args, "image", true, &image, err)) < 0 || (r = arg_str(args, "allocation", true, &alloc, err)) < 0 ||
            (r = hn_mount_acquire(d->mounts.manager, image, alloc, &h, err)) < 0)
                return r;
        char dir[PATH_MAX];
        const char *owner = c->role == HND_ROLE_OPERATOR ? "operator" : hnd_role_name(c->role);
        if ((size_t) snprintf(dir, sizeof(dir), "%s/%s", d->cfg.workdir_base, h.allocation_id) < sizeof(dir))
                (void) setxattr(dir, OWNER_XATTR, owner, strlen(owner), 0);
        json_object_object_add(result, "image", json_object_new_string(h.image_path));
        json_object_object_add(result, "mount_point", json_object_new_string(h.mount_point));
        json_object_object_add(result, "allocation", json_object_new_string(h.allocation_id));
        json_object_object_add(result, "bind_path", json_object_new_string(h.bind_path));
        return 0;
}

static int call_mount_release(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                              json_object *result, struct hn_error *err) {
        const char *image, *alloc;
        struct hn_mount_handle h = { 0 };
        int r;
        (void) c, (void) result;
        if ((r = arg_str(args, "image", true, &image, err)) < 0 || (r = arg_str(args, "allocation", true, &alloc, err)) < 0)
                return r;
        if (strlen(image) >= sizeof(h.image_path) || strlen(alloc) >= sizeof(h.allocation_id))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG, "image or allocation too long");
        /* The handle names the image and the allocation; paths are the manager's. */
        snprintf(h.image_path, sizeof(h.image_path), "%s", image);
        snprintf(h.allocation_id, sizeof(h.allocation_id), "%s", alloc);
        return hn_mount_release(d->mounts.manager, &h, err);
}

static int call_mount_list(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                           struct hn_error *err) {
        (void) c, (void) args;
        json_object *images = NULL;
        int r = hnd_tree_mounts(d, &images, err);
        if (r < 0)
                return r;
        json_object_object_add(result, "images", images);
        return 0;
}

static int call_mount_refcount(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                               json_object *result, struct hn_error *err) {
        const char *image;
        uint32_t n;
        (void) c;
        int r = arg_str(args, "image", true, &image, err);
        if (r < 0 || (r = hn_mount_refcount(d->mounts.manager, image, &n, err)) < 0)
                return r;
        json_object_object_add(result, "refcount", json_object_new_int64(n));
        return 0;
}

static int call_mount_force_unmount(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                                    json_object *result, struct hn_error *err) {
        const char *image;
        (void) c, (void) result;
        int r = arg_str(args, "image", true, &image, err);
        return r < 0 ? r : hn_mount_force_unmount(d->mounts.manager, image, err);
}

static int call_mount_reconcile(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                                json_object *result, struct hn_error *err) {
        (void) c, (void) args, (void) err;
        uint64_t before = d->mounts.drifts;
        hnd_mounts_reconcile(&d->mounts);
        json_object_object_add(result, "drifts", json_object_new_int64((int64_t) (d->mounts.drifts - before)));
        return 0;
}

/* ---- emergency ---- */

static void emergency_json(struct hnd_daemon *d, json_object *o) {
        struct hn_emergency_info info;
        bool active = hn_emergency_active(d->emergency, &info) > 0;
        json_object_object_add(o, "active", json_object_new_boolean(active));
        if (!active)
                return;
        uint64_t now = (uint64_t) time(NULL);
        json_object_object_add(o, "actor", json_object_new_string(info.actor));
        json_object_object_add(o, "reason", json_object_new_string(info.reason));
        json_object_object_add(o, "started", json_object_new_int64((int64_t) info.started_unix));
        json_object_object_add(o, "expires", json_object_new_int64((int64_t) info.expires_unix));
        json_object_object_add(o, "remaining_s",
                               json_object_new_int64(info.expires_unix > now ? (int64_t) (info.expires_unix - now) : 0));
}

/* Who declared it: the name the client gives (its login), and what the
 * kernel says the caller is; the name alone proves nothing. */
static void actor_of(const struct hnd_caller *c, const char *name, char *buf, size_t size) {
        snprintf(buf, size, "%.64s (uid %u, pid %d, %.128s)", name && *name ? name : "unnamed", (unsigned) c->uid,
                 (int) c->pid, c->exe[0] ? c->exe : "?");
}

static int call_emergency_begin(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                                json_object *result, struct hn_error *err) {
        const char *reason, *name;
        uint64_t duration = 0;
        char actor[HN_EMERGENCY_TEXT_MAX + 1];
        int r;
        if ((r = arg_str(args, "reason", true, &reason, err)) < 0 || (r = arg_str(args, "actor", false, &name, err)) < 0 ||
            (r = arg_u64(args, "duration_s", HN_EMERGENCY_MAX_DURATION_SECS, &duration, err)) < 0)
                return r;
        if (!duration)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "missing argument \"duration_s\" (1..%u)",
                                    HN_EMERGENCY_MAX_DURATION_SECS);
        actor_of(c, name, actor, sizeof(actor));
        if ((r = hn_emergency_begin(d->emergency, actor, reason, (uint32_t) duration, err)) < 0)
                return r;
        hnd_emergency_sync(d);
        emergency_json(d, result);
        return 0;
}

static int call_emergency_end(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                              json_object *result, struct hn_error *err) {
        const char *name;
        char actor[HN_EMERGENCY_TEXT_MAX + 1];
        int r = arg_str(args, "actor", false, &name, err);
        if (r < 0)
                return r;
        actor_of(c, name, actor, sizeof(actor));
        if ((r = hn_emergency_end(d->emergency, actor, err)) < 0)
                return r;
        hnd_emergency_sync(d);
        emergency_json(d, result);
        return 0;
}

static int call_emergency_status(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                                 json_object *result, struct hn_error *err) {
        (void) c, (void) args, (void) err;
        emergency_json(d, result);
        return 0;
}

/* ---- service ---- */

static int call_status(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                       struct hn_error *err) {
        (void) args, (void) err;
        uint64_t now_usec = realtime_now_ns() / 1000u;
        json_object_object_add(result, "version", json_object_new_string(HND_VERSION));
        json_object_object_add(result, "pid", json_object_new_int(getpid()));
        json_object_object_add(result, "mode", json_object_new_string(d->mode));
        json_object_object_add(result, "mode_reason", json_object_new_string(d->mode_why));
        json_object_object_add(result, "attribution",
                               json_object_new_string(hn_attribution_name(hn_monitor_attribution(d->monitor))));
        json_object_object_add(result, "cgroup_root", json_object_new_string(hn_cgroup_manager_root(d->cgroups)));
        json_object_object_add(result, "uenv_base", json_object_new_string(d->cfg.uenv_base));
        json_object_object_add(result, "workdir_base", json_object_new_string(d->cfg.workdir_base));
        json_object_object_add(result, "audit_log", json_object_new_string(d->cfg.audit_log));
        /* where the chain stands, so audit verify sees a cut tail too */
        struct audit_chain chain = hnd_sink_chain(&d->sink);
        json_object *ch = json_object_new_object();
        json_object_object_add(ch, "seq", json_object_new_int64((int64_t) chain.seq));
        json_object_object_add(ch, "last", json_object_new_string(chain.last));
        json_object_object_add(result, "audit_chain", ch);
        const char *set = NULL, *pin = hn_monitor_pin_state(d->monitor, &set);
        json_object *bp = json_object_new_object();
        json_object_object_add(bp, "state", json_object_new_string(pin));
        json_object_object_add(bp, "path", set ? json_object_new_string(set) : NULL);
        if (!set)
                json_object_object_add(bp, "why", json_object_new_string(d->pin_note[0] ? d->pin_note : "BpfPinDir= is empty"));
        uint64_t map_bytes;
        size_t maps;
        if (hn_monitor_map_memory(d->monitor, &map_bytes, &maps) == 0) {
                json_object_object_add(bp, "maps", json_object_new_int64((int64_t) maps));
                json_object_object_add(bp, "map_bytes", json_object_new_int64((int64_t) map_bytes));
        }
        json_object_object_add(result, "bpf_programs", bp);
        json_object_object_add(result, "uptime_s",
                               json_object_new_int64((int64_t) ((now_usec - d->started_unix_usec) / 1000000u)));
        json_object *e = json_object_new_object();
        emergency_json(d, e);
        json_object_object_add(result, "emergency", e);
        uint64_t lost_total = 0;
        for (unsigned t = 0; t < HN_EV_TYPE_MAX; t++)
                lost_total += d->lost[t];
        json_object *n = json_object_new_object();
        json_object_object_add(n, "audit_records", json_object_new_int64((int64_t) d->sink.records));
        json_object_object_add(n, "audit_write_failures", json_object_new_int64((int64_t) d->sink.failures));
        json_object_object_add(n, "events_lost", json_object_new_int64((int64_t) lost_total));
        json_object_object_add(n, "resyncs", json_object_new_int64((int64_t) d->counters.resyncs));
        json_object_object_add(n, "mount_drifts", json_object_new_int64((int64_t) d->mounts.drifts));
        json_object_object_add(n, "api_clients", json_object_new_int64(d->api.n_clients));
        json_object_object_add(result, "counters", n);
        json_object_object_add(result, "caller", hnd_caller_json(c));
        return 0;
}

static int call_probe(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                      struct hn_error *err) {
        (void) c, (void) args, (void) err;
        struct hn_bpf_lsm_probe lsm;
        struct hn_trampoline_probe tramp;
        hn_probe_bpf_lsm(NULL, &lsm);
        hn_probe_trampolines(&tramp);
        json_object *l = json_object_new_object(), *t = json_object_new_object();
        json_object_object_add(l, "available", json_object_new_boolean(lsm.available));
        json_object_object_add(l, "reason", json_object_new_string(lsm.reason));
        json_object_object_add(t, "available", json_object_new_boolean(tramp.available));
        json_object_object_add(t, "reason", json_object_new_string(tramp.reason));
        json_object_object_add(result, "bpf_lsm", l);
        json_object_object_add(result, "trampolines", t);
        json_object_object_add(result, "cgroup2_mount", json_object_new_string(d->sink.cgroup_mount));
        json_object_object_add(result, "mode", json_object_new_string(d->mode));
        json_object_object_add(result, "attribution",
                               json_object_new_string(hn_attribution_name(hn_monitor_attribution(d->monitor))));
        return 0;
}

static int call_metrics(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                        struct hn_error *err) {
        (void) c, (void) args;
        _cleanup_free_ char *text = NULL;
        int r = hnd_metrics_render(d, &text);
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "metrics: %s", strerror(-r));
        json_object_object_add(result, "text", json_object_new_string(text));
        return 0;
}

static int call_audit_tail(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                           struct hn_error *err) {
        uint64_t lines = 20;
        (void) c;
        int r = arg_u64(args, "lines", HND_AUDIT_TAIL_MAX, &lines, err);
        if (r < 0)
                return r;
        json_object *records = json_object_new_array();
        if ((r = hnd_audit_tail(d->cfg.audit_log, (unsigned) lines, records, err)) < 0) {
                json_object_put(records);
                return r;
        }
        json_object_object_add(result, "records", records);
        return 0;
}

/* The connection becomes a stream; the server does the rest. */
static int call_subscribe(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                          struct hn_error *err) {
        (void) d, (void) c, (void) args, (void) result, (void) err;
        return 0;
}

static const struct call calls[] = {
        { .name = "status", .roles = KNOWN, .fn = call_status, .args = {} },
        { .name = "probe", .roles = KNOWN, .fn = call_probe, .args = {}, .slow = true },
        { .name = "metrics", .roles = KNOWN, .fn = call_metrics, .args = {} },
        { .name = "tree", .roles = KNOWN, .fn = call_tree, .args = {}, .slow = true }, /* a walk of every cgroup */
        { .name = "hierarchy.create", .roles = KNOWN, .fn = call_hierarchy_create, .args = {}, .slow = true },
        { .name = "scope.create", .roles = KNOWN, .fn = call_scope_create,
          .args = { "parent", "name", "memory_max", "cpu_weight", "io_max" }, .slow = true },
        { .name = "scope.destroy", .roles = KNOWN, .fn = call_scope_destroy, .args = { "path" }, .slow = true },
        { .name = "scope.freeze", .roles = KNOWN, .fn = call_scope_freeze, .args = { "path" }, .slow = true },
        { .name = "scope.thaw", .roles = KNOWN, .fn = call_scope_thaw, .args = { "path" }, .slow = true },
        { .name = "scope.attach", .roles = KNOWN, .fn = call_scope_attach, .args = { "path", "pid" }, .slow = true },
        { .name = "scope.metrics", .roles = ANYONE, .fn = call_scope_metrics, .args = { "path" },
          .slow = true }, /* RI6 */
        { .name = "scope.is_empty", .roles = KNOWN, .fn = call_scope_is_empty, .args = { "path" }, .slow = true },
        { .name = "scope.list", .roles = KNOWN, .fn = call_scope_list, .args = { "slice" }, .slow = true },
        { .name = "mount.acquire", .roles = KNOWN, .fn = call_mount_acquire,
          .args = { "image", "allocation" }, .slow = true, .then_reconcile = true },
        { .name = "mount.release", .roles = KNOWN, .fn = call_mount_release,
          .args = { "image", "allocation" }, .slow = true, .then_reconcile = true },
        { .name = "mount.list", .roles = KNOWN, .fn = call_mount_list, .args = {} },
        { .name = "mount.refcount", .roles = KNOWN, .fn = call_mount_refcount, .args = { "image" } },
        { .name = "mount.force_unmount", .roles = OPERATOR | ROLE(HND_ROLE_PACT), .fn = call_mount_force_unmount,
          .args = { "image" }, .slow = true, .then_reconcile = true },
        { .name = "mount.reconcile", .roles = OPERATOR, .fn = call_mount_reconcile, .args = {} },
        { .name = "emergency.begin", .roles = OPERATOR, .fn = call_emergency_begin,
          .args = { "reason", "duration_s", "actor" } },
        { .name = "emergency.end", .roles = OPERATOR, .fn = call_emergency_end, .args = { "actor" } },
        { .name = "emergency.status", .roles = KNOWN, .fn = call_emergency_status, .args = {} },
        { .name = "audit.tail", .roles = KNOWN, .fn = call_audit_tail, .args = { "lines" }, .slow = true },
        { .name = "subscribe", .roles = KNOWN, .fn = call_subscribe, .args = {} },
};
_Static_assert(ELEMENTSOF(calls) <= HND_API_MAX_CALLS, "raise HND_API_MAX_CALLS");

const char *hnd_api_call_name(size_t i) {
        return i < ELEMENTSOF(calls) ? calls[i].name : NULL;
}

json_object *hnd_api_error_json(enum hn_error_kind kind, int sys_errno, const char *message) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "kind", json_object_new_string(hn_error_kind_name(kind)));
        json_object_object_add(e, "errno", json_object_new_int(sys_errno));
        json_object_object_add(e, "message", json_object_new_string(message));
        return e;
}

void hnd_api_refusals_flush(struct hnd_daemon *d) {
        struct hnd_counters *n = &d->counters;
        uint64_t now = monotonic_usec();
        if (now - n->refused_window_usec < 1000000u)
                return;
        if (n->refused_suppressed) {
                char text[128];
                snprintf(text, sizeof(text), "%" PRIu64 " more refusals, not recorded one by one (at most %u a second)",
                         n->refused_suppressed, HND_REFUSED_PER_SEC);
                hnd_sink_note(&d->sink, "api.refused_suppressed", text, LOG_WARNING);
        }
        n->refused_window_usec = now;
        n->refused_in_window = 0;
        n->refused_suppressed = 0;
}

/* One api.refused record, or counted into the summary once this second
 * has had HND_REFUSED_PER_SEC. */
static void record_refusal(struct hnd_daemon *d, const char *detail) {
        struct hnd_counters *n = &d->counters;
        n->api_refused++;
        hnd_api_refusals_flush(d);
        if (n->refused_in_window++ < HND_REFUSED_PER_SEC)
                hnd_sink_note(&d->sink, "api.refused", detail, LOG_WARNING);
        else
                n->refused_suppressed++;
}

static void roles_text(unsigned roles, char *buf, size_t size) {
        size_t used = 0;
        buf[0] = '\0';
        for (enum hnd_role r = HND_ROLE_OPERATOR; r <= HND_ROLE_WORKLOAD; r++)
                if (roles & ROLE(r))
                        used += (size_t) snprintf(buf + used, size - used, "%s%s", used ? ", " : "", hnd_role_name(r));
}

/* Parses the request: an object with a string "call", an optional object
 * "args" and an optional "id" echoed back. */
static int parse(const char *line, size_t len, json_object **ret, const struct call **ret_call, size_t *ret_index,
                 json_object **ret_args, struct hn_error *err) {
        char why[128];
        if (json_strict_check(line, len, why, sizeof(why)) < 0)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG, "malformed request: %s", why);
        json_tokener *tok = json_tokener_new_ex(32);
        if (!tok)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        json_object *o = json_tokener_parse_ex(tok, line, (int) len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t used = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!o || jerr != json_tokener_success) {
                json_object_put(o);
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG, "malformed request: %s",
                                    jerr == json_tokener_continue ? "incomplete JSON" : json_tokener_error_desc(jerr));
        }
        *ret = o;
        for (; used < len; used++)
                if (line[used] != ' ' && line[used] != '\t' && line[used] != '\r')
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG,
                                            "malformed request: data after the JSON object");
        if (!json_object_is_type(o, json_type_object))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG, "malformed request: not a JSON object");
        json_object *name = NULL, *args = NULL;
        json_object_object_foreach(o, key, v) {
                (void) v;
                if (strcmp(key, "call") && strcmp(key, "args") && strcmp(key, "id"))
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG,
                                            "malformed request: unknown member \"%s\"", key);
        }
        if (!json_object_object_get_ex(o, "call", &name) || !json_object_is_type(name, json_type_string))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG, "malformed request: no \"call\" string");
        if (json_object_object_get_ex(o, "args", &args) && !json_object_is_type(args, json_type_object))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADMSG, "malformed request: \"args\" is not an object");
        for (size_t i = 0; i < ELEMENTSOF(calls); i++)
                if (!strcmp(calls[i].name, json_object_get_string(name))) {
                        *ret_call = &calls[i];
                        *ret_index = i;
                        *ret_args = args;
                        return 0;
                }
        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EOPNOTSUPP, "unknown call \"%s\"",
                            json_object_get_string(name));
}

static void pending_free(struct hnd_api_pending *p) {
        json_object_put(p->req);
        json_object_put(p->args);
        json_object_put(p->result);
        free(p);
}

void hnd_api_run(struct hnd_api_pending *p) {
        hnd_sink_set_client(&p->caller); /* this thread's records name the caller */
        p->r = p->call->fn(p->d, &p->caller, p->args, p->result, &p->err);
        hnd_sink_set_client(NULL);
}

static void reply_error(json_object *reply, int r, struct hn_error *err) {
        if (!err->kind)
                hn_error_set(err, HN_ERR_IO, -r, "%s", strerror(-r));
        json_object_object_add(reply, "ok", json_object_new_boolean(false));
        json_object_object_add(reply, "error", hnd_api_error_json(err->kind, err->sys_errno, err->message));
}

void hnd_api_busy(struct hnd_api_pending *p) {
        p->r = hn_error_set(&p->err, HN_ERR_IO, EAGAIN, "%s: %u calls that wait are running already; try again",
                            p->call->name, HND_API_MAX_JOBS);
}

bool hnd_api_finish(struct hnd_api_pending *p, json_object *reply) {
        bool subscribe = false;
        /* The call's records are on disk before its caller hears it is
         * done (AuditFsync; a no-op when it made none). */
        hnd_sink_sync(&p->d->sink);
        if (p->r >= 0) {
                if (p->call->then_reconcile)
                        hnd_mounts_reconcile(&p->d->mounts);
                json_object_object_add(reply, "ok", json_object_new_boolean(true));
                json_object_object_add(reply, "result", json_object_get(p->result));
                subscribe = p->call->fn == call_subscribe;
        } else {
                p->d->counters.api_errors[p->index]++;
                reply_error(reply, p->r, &p->err);
        }
        pending_free(p);
        return subscribe;
}

struct hnd_api_pending *hnd_api_handle(struct hnd_daemon *d, const struct hnd_caller *c, const char *line, size_t len,
                                       json_object *reply, bool *ret_subscribe) {
        struct hn_error err = { 0 };
        json_object *req = NULL, *args = NULL, *id = NULL;
        const struct call *call = NULL;
        size_t index = 0;
        struct hnd_api_pending *p = NULL;
        hnd_sink_set_client(c);
        int r = parse(line, len, &req, &call, &index, &args, &err);
        if (req && json_object_is_type(req, json_type_object) && json_object_object_get_ex(req, "id", &id))
                json_object_object_add(reply, "id", json_object_get(id));
        if (r >= 0) {
                d->counters.api_requests[index]++;
                if (!(call->roles & ROLE(c->role))) {
                        char who[128], detail[1024];
                        roles_text(call->roles, who, sizeof(who));
                        snprintf(detail, sizeof(detail), "%s refused: caller is %s (uid %u, pid %d, %.512s); allowed: %s",
                                 call->name, hnd_role_name(c->role), (unsigned) c->uid, (int) c->pid,
                                 c->exe[0] ? c->exe : "?", who);
                        record_refusal(d, detail);
                        r = hn_error_set(&err, HN_ERR_PERMISSION_DENIED, EPERM, "%s", detail);
                } else if ((r = check_args(call, args, &err)) >= 0) {
                        p = calloc(1, sizeof(*p));
                        if (!p)
                                r = hn_error_set(&err, HN_ERR_IO, ENOMEM, "out of memory");
                }
                if (r < 0)
                        d->counters.api_errors[index]++;
        }
        if (r < 0)
                reply_error(reply, r, &err);
        hnd_sink_set_client(NULL);
        if (!p) {
                hnd_sink_sync(&d->sink); /* a refusal's record, before its reply */
                json_object_put(req);
                return NULL;
        }
        *p = (struct hnd_api_pending){ .d = d, .call = call, .index = index, .req = req, .caller = *c,
                                       .args = args ? json_object_get(args) : json_object_new_object(),
                                       .result = json_object_new_object() };
        if (call->slow)
                return p; /* the server runs it on a thread, then finishes it here */
        hnd_api_run(p);
        *ret_subscribe = hnd_api_finish(p, reply);
        return NULL;
}
