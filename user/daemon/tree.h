/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The slices as they are in the kernel, for `tree`, `scope.list`,
 * `mount.list` and the metrics: read fresh on every call, nothing cached. */
#ifndef HND_TREE_H
#define HND_TREE_H

#include <json-c/json.h>

#include <hpcnode/cgroup.h>
#include <hpcnode/emergency.h>
#include <hpcnode/error.h>
#include <hpcnode/mount.h>
#include <hpcnode/slice.h>

#define HND_TREE_MAX_DEPTH 16
#define HND_TREE_MAX_NODES 8192

struct hnd_owners;

/* What the views read, and nothing else of the daemon: the service's
 * cgroup manager (the root, the reads), the mount manager and the
 * holders' owners, the emergency. */
struct hnd_tree_src {
        struct hn_cgroup_manager *cgroups;
        struct hn_mount_manager *mounts;
        struct hnd_owners *owners;
        struct hn_emergency *emergency;
};

/* result gets "root" (the cgroup root), "slices" (pact.slice and
 * workload.slice, each node {name, path, owner, processes, memory_current,
 * memory_max, cpu_usage_usec, populated, zombie, frozen, children}; every
 * node has children, empty for a leaf and where the walk stops),
 * "mounts" (as hnd_tree_mounts) and "emergency". */
int hnd_tree_json(const struct hnd_tree_src *src, json_object *result, struct hn_error *err);
/* Every *.scope under slice (a path relative to the root; NULL: both
 * slices), flat, each as a tree node without children. */
int hnd_tree_scopes(const struct hnd_tree_src *src, const char *slice, json_object *array, struct hn_error *err);
/* Every image: {image, mount_point, loop_device, refcount, holders
 * [{allocation, owner}], holding, hold_remaining_ms, foreign}. */
int hnd_tree_mounts(const struct hnd_tree_src *src, json_object **ret, struct hn_error *err);

/* What the metrics count, per owner (enum hn_slice_owner), from the same
 * walk: scopes (*.scope), processes in them, cgroups marked zombie. */
struct hnd_tree_counts {
        uint64_t scopes[HN_OWNER_WORKLOAD + 1], processes[HN_OWNER_WORKLOAD + 1], zombies[HN_OWNER_WORKLOAD + 1];
};
void hnd_tree_count(const struct hnd_tree_src *src, struct hnd_tree_counts *ret);
/* A cgroup's metrics as JSON fields of o (the API's and the tree's shape). */
void hnd_cgroup_metrics_json(const struct hn_cgroup_metrics *m, json_object *o);

#endif
