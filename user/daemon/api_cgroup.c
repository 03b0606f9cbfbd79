/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup calls: hierarchy.create, scope.*, tree. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api_handlers.h"
#include "caller.h"
#include "daemon.h"
#include "error_set.h"
#include "tree.h"

/* An absolute path inside the root, as the part below it (the root need
 * not be the cgroup2 mount); any other path as it is. */
static const char *below_root(struct hnd_daemon *d, const char *path) {
        const char *root = hn_cgroup_manager_root(d->cgroups);
        size_t n = strlen(root);
        return path[0] == '/' && !strncmp(path, root, n) && path[n] == '/' ? path + n + 1 : path;
}

/* An agent acts through its own owner's manager, so the library refuses
 * another owner's slice (RI1) and lets pact into workload.slice only in
 * an emergency (RI3). The operator acts as the owner of the path. */
static struct hn_cgroup_manager *manager_for(struct hnd_daemon *d, const struct hnd_caller *c, const char *path) {
        enum hn_slice_owner owner =
                c->role == HND_ROLE_OPERATOR ? hn_slice_owner(below_root(d, path)) : hnd_role_owner(c->role);
        return owner == HN_OWNER_PACT ? d->pact_cgroups : owner == HN_OWNER_WORKLOAD ? d->workload_cgroups : d->cgroups;
}

static int handle_of(json_object *args, struct hn_cgroup_handle *h, const char **ret_path, struct hn_error *err) {
        const char *path;
        int r = api_arg_str(args, "path", true, &path, err);
        if (r < 0)
                return r;
        if (strlen(path) >= sizeof(h->path))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG, "path too long");
        snprintf(h->path, sizeof(h->path), "%s", path);
        *ret_path = path;
        return 0;
}

int hnd_call_hierarchy_create(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
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

int hnd_call_scope_create(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                          json_object *result, struct hn_error *err) {
        const char *parent, *name;
        uint64_t memory_max = 0, cpu_weight = 0, io_max = 0;
        int r;
        if ((r = api_arg_str(args, "parent", true, &parent, err)) < 0 ||
            (r = api_arg_str(args, "name", true, &name, err)) < 0 ||
            (r = api_arg_u64(args, "memory_max", UINT64_MAX >> 1, &memory_max, err)) < 0 ||
            (r = api_arg_u64(args, "cpu_weight", 10000, &cpu_weight, err)) < 0 ||
            (r = api_arg_u64(args, "io_max", UINT64_MAX >> 1, &io_max, err)) < 0)
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

int hnd_call_scope_destroy(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
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

int hnd_call_scope_freeze(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                          json_object *result, struct hn_error *err) {
        (void) result;
        return freeze(d, c, args, true, err);
}

int hnd_call_scope_thaw(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                        struct hn_error *err) {
        (void) result;
        return freeze(d, c, args, false, err);
}

int hnd_call_scope_attach(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                          json_object *result, struct hn_error *err) {
        struct hn_cgroup_handle h;
        const char *path;
        uint64_t pid = 0;
        (void) result;
        int r = handle_of(args, &h, &path, err);
        if (r < 0 || (r = api_arg_u64(args, "pid", INT32_MAX, &pid, err)) < 0)
                return r;
        if (pid == 0)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "missing argument \"pid\"");
        return hn_cgroup_attach_pid(manager_for(d, c, path), &h, (pid_t) pid, err);
}

int hnd_call_scope_metrics(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                           json_object *result, struct hn_error *err) {
        const char *path;
        struct hn_cgroup_metrics m;
        (void) c;
        int r = api_arg_str(args, "path", true, &path, err);
        if (r < 0 || (r = hn_cgroup_read_metrics(d->cgroups, path, &m, err)) < 0)
                return r;
        hnd_cgroup_metrics_json(&m, result);
        return 0;
}

int hnd_call_scope_is_empty(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
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

int hnd_call_scope_list(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args,
                        json_object *result, struct hn_error *err) {
        const char *slice;
        (void) c;
        int r = api_arg_str(args, "slice", false, &slice, err);
        if (r < 0)
                return r;
        json_object *scopes = json_object_new_array();
        struct hnd_tree_src src = hnd_tree_src_of(d);
        r = hnd_tree_scopes(&src, slice, scopes, err);
        if (r < 0) {
                json_object_put(scopes);
                return r;
        }
        json_object_object_add(result, "scopes", scopes);
        return 0;
}

int hnd_call_tree(struct hnd_daemon *d, const struct hnd_caller *c, json_object *args, json_object *result,
                  struct hn_error *err) {
        (void) c, (void) args;
        struct hnd_tree_src src = hnd_tree_src_of(d);
        return hnd_tree_json(&src, result, err);
}
