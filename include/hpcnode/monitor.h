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

/* Who records an allowed write of a control file (memory.max, io.max, …).
 * Structural acts (mkdir, rmdir, moves, freeze, kill) are attributed by
 * tp_btf at every level, at no cost to unrelated syscalls. */
enum hn_attribution {
        HN_ATTRIBUTION_AUTO = 0,   /* lsm with BPF LSM (options.lsm), else tracepoint */
        HN_ATTRIBUTION_LSM,        /* the lsm/file_open hook: no cost outside cgroupfs */
        HN_ATTRIBUTION_TRACEPOINT, /* syscalls:sys_exit_open{,at,at2}: every syscall of every task pays */
        HN_ATTRIBUTION_OFF,        /* nobody: only a reconciler of values can notice */
};

struct hn_monitor_options {
        const char *cgroup_root; /* NULL: the cgroup2 mount; else a directory inside one */
        uint32_t ringbuf_bytes;  /* 0: 256 KiB; a power of two, at least 4096 */
        bool lsm;                /* load the lsm/ programs (the kernel must run BPF LSM) */
        bool enforce;            /* with lsm: deny cross-slice writes with EPERM */
        enum hn_attribution attribution;
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

/* The whole identity configuration at once (a reload): every entry is
 * checked first, and on any error nothing changes. Then the new entries are
 * written and those no longer configured removed, so a writer that keeps
 * its identity never passes through "unknown" on the way. */
enum hn_identity_kind { HN_IDENTITY_EXE, HN_IDENTITY_UID, HN_IDENTITY_CGROUP };
struct hn_identity {
        enum hn_slice_owner owner; /* HN_OWNER_PACT or HN_OWNER_WORKLOAD */
        enum hn_identity_kind kind;
        const char *path; /* EXE: the executable; CGROUP: the cgroup directory */
        uid_t uid;        /* UID */
};
HN_PUBLIC int hn_monitor_replace_identities(struct hn_monitor *m, const struct hn_identity *ids, size_t n,
                                            struct hn_error *err);

/* The mount guard: the bases whose acts the syscall programs record
 * (attribution level tracepoint), and the held mounts (image mounts and
 * binds of images with holders or in their hold window) by mount id, and
 * by path for mount(2)'s MS_MOVE. With lsm, unmounting, moving or
 * remounting a held mount is denied in enforce mode and recorded in audit
 * mode; the calling process (the manager) may. Replaced whole each call. */
HN_PUBLIC int hn_monitor_set_mount_bases(struct hn_monitor *m, const char *uenv_base, const char *workdir_base,
                                         struct hn_error *err);
HN_PUBLIC int hn_monitor_set_held_mounts(struct hn_monitor *m, const uint32_t *ids, size_t n_ids,
                                         const char *const *paths, size_t n_paths, struct hn_error *err);

/* The attribution level in force (never AUTO). */
HN_PUBLIC enum hn_attribution hn_monitor_attribution(const struct hn_monitor *m);
/* "auto", "lsm", "tracepoint", "off"; NULL for a bad value. */
HN_PUBLIC const char *hn_attribution_name(enum hn_attribution a);
/* The inverse; -EINVAL for an unknown name. */
HN_PUBLIC int hn_attribution_from_name(const char *name, enum hn_attribution *ret);

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
/* What the kernel counts per loaded program: run time and runs, counted
 * only while the sysctl kernel.bpf_stats_enabled is 1 (zero otherwise).
 * Fills up to max entries; *ret_n is how many there are. */
struct hn_prog_stat {
        char name[64];
        uint64_t run_time_ns;
        uint64_t run_cnt;
};
HN_PUBLIC int hn_monitor_prog_stats(struct hn_monitor *m, struct hn_prog_stat *ret, size_t max, size_t *ret_n);

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
/* The writer's executable from hn_event.exe as an absolute path
 * ("/usr/bin/agent"); a path too deep for the record starts with "…/".
 * -ENOENT when the kernel saw none (a kernel thread), -ENAMETOOLONG when
 * size is too small. */
HN_PUBLIC int hn_event_exe_path(const struct hn_event *e, char *ret, size_t size);
/* "cgroup.mkdir", …; never NULL. */
HN_PUBLIC const char *hn_event_type_name(unsigned type);

#ifdef __cplusplus
}
#endif
#endif
