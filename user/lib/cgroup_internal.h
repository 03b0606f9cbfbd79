/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_CGROUP_INTERNAL_H
#define HN_CGROUP_INTERNAL_H

#include <limits.h>

#include <hpcnode/cgroup.h>

struct hn_cgroup_manager {
        int root_fd;           /* O_PATH|O_DIRECTORY of the root, for *at() calls */
        char root[PATH_MAX];   /* canonical absolute path of the root */
        enum hn_slice_owner caller;
        struct hn_cgroup_options options;
        hn_audit_fn audit_fn;
        void *audit_userdata;
        struct hn_emergency *emergency;
};

/* What a caller wants to do to a cgroup, for the RI1/RI3 decision. */
enum cgroup_access {
        ACCESS_WRITE,  /* create, attach, spawn: own slice only */
        ACCESS_KILL,   /* destroy: own slice, or pact in workload during an emergency */
        ACCESS_FREEZE, /* freeze/thaw: same as kill */
};

/* Decides RI1/RI3 for rel. Returns 0 if allowed (*ret_emergency tells whether
 * only the emergency allowed it), else -EPERM with the seed's message and a
 * REFUSED audit record for action. */
int cgroup_check_access(struct hn_cgroup_manager *m, const char *rel, enum cgroup_access access,
                        const char *action, bool *ret_emergency, struct hn_error *err);

/* Hands one record to the installed audit callback, if any. */
void cgroup_audit(struct hn_cgroup_manager *m, const char *action, enum hn_audit_outcome outcome,
                  const char *rel, const char *detail, int sys_errno, bool emergency);

/* The INTENT record of an emergency action, naming the emergency's actor,
 * delivered before the action (RI3). */
void cgroup_audit_emergency_intent(struct hn_cgroup_manager *m, const char *action, const char *rel,
                                   const char *detail);

/* Absolute path of rel, for messages and handles. */
void cgroup_abs_path(const struct hn_cgroup_manager *m, const char *rel, char *buf, size_t size);

/* Opens rel (a directory under the root) O_PATH|O_DIRECTORY. */
int cgroup_open_dir(const struct hn_cgroup_manager *m, const char *rel);

/* Finds the cgroup2 mount in /proc/self/mountinfo (libmount). */
int cgroup2_find_mount(char *ret, size_t size);

/* Kills every process in the cgroup at dirfd and its descendants, waits
 * for populated 0 up to timeout_ms. 0, or -EBUSY if processes remain. */
int cgroup_kill_all(int dirfd, const struct hn_cgroup_options *opts);

/* Removes the (empty) cgroup rel and every sub-cgroup under it, deepest first. */
int cgroup_remove_tree(int parent_fd, const char *name);

#endif
