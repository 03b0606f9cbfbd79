/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HPCNODE_CGROUP_H
#define HPCNODE_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <hpcnode/audit.h>
#include <hpcnode/emergency.h>
#include <hpcnode/error.h>
#include <hpcnode/slice.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The cgroup v2 manager (seed CgroupManager, SPEC §2).
 *
 * Every call returns 0 or a negative errno and, on failure, fills *err (when
 * non-NULL) with a message naming the path and the cause. Outputs are written
 * only on success. All state lives in the kernel (directories, control files,
 * a zombie xattr); the manager object holds only its configuration, so one
 * manager may be used from many threads at once once it is configured. */

#define HN_CGROUP_PATH_MAX            4096
#define HN_CGROUP_NAME_MAX            255 /* the kernel's limit for one component */
#define HN_CGROUP_DEFAULT_KILL_TIMEOUT_MS 10000u
#define HN_MEMORY_UNLIMITED           UINT64_MAX
#define HN_CGROUP_ZOMBIE_XATTR        "trusted.hpcnode.zombie"

/* Controllers hpcnode enables, as a bit set. */
enum hn_controller {
        HN_CONTROLLER_CPU = 1u << 0,
        HN_CONTROLLER_IO = 1u << 1,
        HN_CONTROLLER_MEMORY = 1u << 2,
        HN_CONTROLLER_PIDS = 1u << 3,
};
#define HN_CONTROLLERS_ALL (HN_CONTROLLER_CPU | HN_CONTROLLER_IO | HN_CONTROLLER_MEMORY | HN_CONTROLLER_PIDS)

/* One io.max line. Zero means "not set" for each field; at least one must be set. */
struct hn_io_device_limit {
        uint32_t major;
        uint32_t minor;
        uint64_t rbps;
        uint64_t wbps;
        uint64_t riops;
        uint64_t wiops;
};

/* Zero means "not set" for every field. */
struct hn_resource_limits {
        uint64_t memory_max;   /* bytes -> memory.max */
        uint32_t cpu_weight;   /* 1..10000 -> cpu.weight */
        uint64_t io_max;       /* bytes/s, as rbps and wbps on every whole-disk block device */
        const struct hn_io_device_limit *io_devices; /* extra per-device lines, applied after io_max */
        size_t n_io_devices;
};

struct hn_cgroup_handle {
        char path[HN_CGROUP_PATH_MAX]; /* absolute path of the scope */
};

struct hn_cgroup_metrics {
        bool has_memory;         /* memory controller enabled on this cgroup */
        uint64_t memory_current; /* bytes; 0 when !has_memory */
        uint64_t memory_max;     /* bytes, or HN_MEMORY_UNLIMITED ("max", or !has_memory) */
        uint64_t cpu_usage_usec; /* cpu.stat usage_usec */
        uint32_t nr_processes;   /* lines of cgroup.procs */
};

/* Set before the manager is shared between threads. */
struct hn_cgroup_options {
        uint32_t kill_timeout_ms;       /* bounded wait for populated 0; default 10 s */
        bool disable_cgroup_kill;       /* use freeze + SIGKILL even where cgroup.kill exists */
        bool disable_clone_into_cgroup; /* spawn through the fork + self-move fallback */
};

struct hn_cgroup_manager;

/* root: NULL for the cgroup2 mount found in the mount table (/sys/fs/cgroup
 * on pure-v2 hosts, /sys/fs/cgroup/unified on hybrid ones), or any
 * directory inside a cgroup2 mount. caller: whose slice this manager writes;
 * HN_OWNER_NONE is the node service itself, which owns no slice. */
HN_PUBLIC int hn_cgroup_manager_new(const char *root, enum hn_slice_owner caller,
                                    struct hn_cgroup_manager **ret, struct hn_error *err);
HN_PUBLIC void hn_cgroup_manager_free(struct hn_cgroup_manager *m);

HN_PUBLIC const char *hn_cgroup_manager_root(const struct hn_cgroup_manager *m);
HN_PUBLIC void hn_cgroup_options_default(struct hn_cgroup_options *ret);
HN_PUBLIC int hn_cgroup_manager_set_options(struct hn_cgroup_manager *m, const struct hn_cgroup_options *opts,
                                            struct hn_error *err);
HN_PUBLIC void hn_cgroup_manager_set_audit(struct hn_cgroup_manager *m, hn_audit_fn fn, void *userdata);
/* The emergency state consulted for kill/freeze in another owner's slice.
 * Not owned by the manager; it must outlive it. NULL: never an emergency. */
HN_PUBLIC void hn_cgroup_manager_set_emergency(struct hn_cgroup_manager *m, struct hn_emergency *e);

/* Creates pact.slice with its four sub-slices and workload.slice (existing
 * ones are kept), and enables cpu, io, memory and pids top-down wherever the
 * kernel offers them. *ret_enabled (optional) gets the controllers enabled at
 * every level. Idempotent. Any caller may do this: it establishes the fixed
 * layout, never content of its own choosing. */
HN_PUBLIC int hn_cgroup_create_hierarchy(struct hn_cgroup_manager *m, unsigned *ret_enabled,
                                         struct hn_error *err);

/* Creates <parent>/<name>.scope with limits applied (limits may be NULL).
 * name may already end in ".scope" (once). Refuses a parent the caller does
 * not own (RI1), a parent that does not exist, a bad name, an existing or
 * zombie scope. On any failure no scope is left behind (RI5). */
HN_PUBLIC int hn_cgroup_create_scope(struct hn_cgroup_manager *m, const char *parent, const char *name,
                                     const struct hn_resource_limits *limits,
                                     struct hn_cgroup_handle *ret, struct hn_error *err);

/* Moves process pid (all its threads) into the scope. */
HN_PUBLIC int hn_cgroup_attach_pid(struct hn_cgroup_manager *m, const struct hn_cgroup_handle *h, pid_t pid,
                                   struct hn_error *err);

/* Starts argv (argv[0] looked up on PATH as execvp does) inside the scope:
 * the child never runs outside it (RI2). Uses clone3(CLONE_INTO_CGROUP)
 * (Linux 5.7+); elsewhere the child moves itself into the scope before it
 * execs. The child has default signal handling and an empty signal mask. If
 * the exec fails, the child is reaped and the error returned; the scope is
 * left as it was (destroying it is the caller's call, RI5). The caller reaps
 * the returned pid. */
HN_PUBLIC int hn_cgroup_spawn(struct hn_cgroup_manager *m, const struct hn_cgroup_handle *h,
                              char *const argv[], pid_t *ret_pid, struct hn_error *err);

/* Kills everything in the scope at once (cgroup.kill; else freeze + SIGKILL
 * + thaw), children and sub-cgroups included, no grace period (PS3); waits up
 * to kill_timeout_ms for "populated 0", then removes the directory. If
 * processes remain (D state): KillFailed (-EBUSY), the scope is marked zombie
 * (HN_CGROUP_ZOMBIE_XATTR) and its name is refused until a later destroy
 * succeeds (F30). A scope that no longer exists: success. A pact manager may
 * destroy in workload.slice only during an emergency (RI3). */
HN_PUBLIC int hn_cgroup_destroy_scope(struct hn_cgroup_manager *m, const struct hn_cgroup_handle *h,
                                      struct hn_error *err);

/* Writes cgroup.freeze and waits (bounded) for the kernel to report it.
 * Same ownership and emergency rules as destroy. */
HN_PUBLIC int hn_cgroup_freeze_scope(struct hn_cgroup_manager *m, const struct hn_cgroup_handle *h,
                                     bool frozen, struct hn_error *err);

/* Any path inside the root, any caller (RI6). */
HN_PUBLIC int hn_cgroup_read_metrics(struct hn_cgroup_manager *m, const char *path,
                                     struct hn_cgroup_metrics *ret, struct hn_error *err);

/* From cgroup.events "populated": the kernel's own answer (WI5). */
HN_PUBLIC int hn_cgroup_is_scope_empty(struct hn_cgroup_manager *m, const struct hn_cgroup_handle *h,
                                       bool *ret_empty, struct hn_error *err);

/* Whether the cgroup at path carries the zombie mark (F30). */
HN_PUBLIC int hn_cgroup_is_zombie(struct hn_cgroup_manager *m, const char *path, bool *ret_zombie,
                                  struct hn_error *err);

/* The cgroup2 mount from /proc/self/mountinfo: /sys/fs/cgroup if it is
 * cgroup2, else /sys/fs/cgroup/unified, else the first one. -ENOENT if none,
 * -ENAMETOOLONG if it does not fit in size (ret untouched on failure). */
HN_PUBLIC int hn_cgroup2_find_mount(char *ret, size_t size, struct hn_error *err);

/* "cpu io memory pids" style list of the bits in mask, into buf. */
HN_PUBLIC const char *hn_controller_mask_format(unsigned mask, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
