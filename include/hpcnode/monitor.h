/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HPCNODE_MONITOR_H
#define HPCNODE_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <hpcnode/error.h>
#include <hpcnode/event.h>
#include <hpcnode/slice.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The kernel watcher (SPEC §5): CO-RE BPF programs on the cgroup
 * tracepoints report every mkdir, rmdir, task move and populated change
 * inside either slice, with the writer's identity resolved in the kernel
 * and the cross-slice verdict computed there. The calling process is the
 * manager identity. */

struct hn_monitor_options {
        const char *cgroup_root; /* NULL: the cgroup2 mount; else a directory inside one */
        uint32_t ringbuf_bytes;  /* 0: 256 KiB; a power of two, at least 4096 */
        bool lsm;                /* load the lsm/ programs (the kernel must run BPF LSM) */
        bool enforce;            /* with lsm: deny cross-slice writes with EPERM */
};

struct hn_monitor;

/* Opens and loads the programs (nothing is attached yet). Needs root. */
HN_PUBLIC int hn_monitor_new(const struct hn_monitor_options *opts, struct hn_monitor **ret, struct hn_error *err);
HN_PUBLIC void hn_monitor_free(struct hn_monitor *m);

/* Identities, per owner (HN_OWNER_PACT or HN_OWNER_WORKLOAD): an
 * executable (by device and inode, so a renamed copy is still itself), a
 * uid, or a cgroup subtree the writer runs in. Before or after start. */
HN_PUBLIC int hn_monitor_add_identity_exe(struct hn_monitor *m, enum hn_slice_owner owner, const char *path,
                                          struct hn_error *err);
HN_PUBLIC int hn_monitor_add_identity_uid(struct hn_monitor *m, enum hn_slice_owner owner, uid_t uid,
                                          struct hn_error *err);
HN_PUBLIC int hn_monitor_add_identity_cgroup(struct hn_monitor *m, enum hn_slice_owner owner, const char *path,
                                             struct hn_error *err);

/* Seeds the kernel's owner map from the hierarchy under the root, then
 * attaches the programs. */
HN_PUBLIC int hn_monitor_start(struct hn_monitor *m, struct hn_error *err);
/* Walks both slices again and rebuilds the owner map (after a loss). */
HN_PUBLIC int hn_monitor_resync(struct hn_monitor *m, struct hn_error *err);

typedef void (*hn_event_fn)(const struct hn_event *event, void *userdata);
/* An fd that is readable when records wait, for an event loop. */
HN_PUBLIC int hn_monitor_fd(struct hn_monitor *m);
/* Delivers waiting records (waiting up to timeout_ms for the first);
 * returns how many, or a negative errno. */
HN_PUBLIC int hn_monitor_poll(struct hn_monitor *m, int timeout_ms, hn_event_fn fn, void *userdata);
/* Records the kernel could not queue, per event type, since start. */
HN_PUBLIC int hn_monitor_losses(struct hn_monitor *m, uint64_t ret[HN_EV_TYPE_MAX], struct hn_error *err);
/* Marks the emergency state for the programs' records. */
HN_PUBLIC int hn_monitor_set_emergency(struct hn_monitor *m, bool active);

/* dev_t as the kernel keeps it in super_block.s_dev (major << 20 | minor),
 * which is what hn_event.exe_dev holds; st_dev is encoded differently. */
static inline uint32_t hn_kernel_dev(dev_t dev) {
        return (uint32_t) ((major(dev) << 20) | minor(dev));
}

/* The cgroup id (kernfs id) of a directory in a cgroup2 mount. */
HN_PUBLIC int hn_cgroup_id(const char *path, uint64_t *ret);
/* The path of a live cgroup from its id (open_by_handle_at below mount). */
HN_PUBLIC int hn_cgroup_path_by_id(const char *mount, uint64_t id, char *ret, size_t size);
/* "cgroup.mkdir", …; never NULL. */
HN_PUBLIC const char *hn_event_type_name(unsigned type);

#ifdef __cplusplus
}
#endif
#endif
