/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HPCNODE_MONITOR_H
#define HPCNODE_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <hpcnode/error.h>
#include <hpcnode/event.h>
#include <hpcnode/mount_guard.h>
#include <hpcnode/probe.h>
#include <hpcnode/slice.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The kernel watcher (SPEC §5): CO-RE BPF programs report every act in
 * either slice, with the writer's identity resolved in the kernel and the
 * cross-slice verdict computed there: mkdir, rmdir, populated changes,
 * freeze and kill; tasks placed into, out of and between the slices (by
 * cgroup.procs/cgroup.threads, or clone3 CLONE_INTO_CGROUP) and into an
 * agent's Cgroup= identity subtree; control-file writes; xattr changes.
 * The owner of a cgroup is decided in the kernel from its ancestry (which
 * slice root is among its ancestors): nothing per cgroup is kept, so no
 * map can fill up or be emptied into an allow. With BPF LSM every one of
 * these acts is judged when it happens, through any path (a write through
 * any fd, splice, sendfile, io_uring), and denied in enforce mode. Without
 * it, writes through descriptors the programs did not see opened are
 * witnessed by fanotify after the fact, the writer identified by its pid.
 * The calling process is the manager identity. */

/* Who records an allowed write of a control file (memory.max, io.max, …).
 * Structural acts (mkdir, rmdir, placements, freeze, kill) are attributed
 * by tracepoints at every level, at no cost to unrelated syscalls. */
enum hn_attribution {
        HN_ATTRIBUTION_AUTO = 0,   /* lsm with BPF LSM (options.lsm), else tracepoint */
        HN_ATTRIBUTION_LSM,        /* the LSM write hooks, at the write: no cost outside cgroupfs */
        HN_ATTRIBUTION_TRACEPOINT, /* syscalls:sys_exit_open*: every syscall of every task pays; writes
                                    * through other descriptors by fanotify, the writer by its pid */
        HN_ATTRIBUTION_OFF,        /* fanotify alone: the writer by its pid, after the write */
};

struct hn_monitor_options {
        const char *cgroup_root; /* NULL: the cgroup2 mount; else a directory inside one */
        uint32_t ringbuf_bytes;  /* 0: 256 KiB; a power of two, at least 4096 */
        bool lsm;                /* load the lsm/ programs (the kernel must run BPF LSM) */
        bool enforce;            /* with lsm: deny cross-slice writes with EPERM */
        enum hn_attribution attribution;
        /* A directory on bpffs (e.g. /sys/fs/bpf/hpcnode), or NULL: the
         * programs' maps and links are pinned there once attached, so they
         * hold while no monitor runs; a monitor that loads the same set
         * later adopts it instead of loading a second one. */
        const char *pin_dir;
        /* HN_BPF_OBJECT_AUTO: the one the kernel loads. COMPAT loads the
         * compat object on any kernel (tests run it on new ones); FULL on
         * a kernel without what it uses is refused, naming what lacks. */
        enum hn_bpf_object bpf_object;
};

struct hn_monitor;

/* Opens and loads the programs (nothing is attached yet). Needs root. */
HN_PUBLIC int hn_monitor_new(const struct hn_monitor_options *opts, struct hn_monitor **ret, struct hn_error *err);
HN_PUBLIC void hn_monitor_free(struct hn_monitor *m);
/* The object loaded: HN_BPF_OBJECT_FULL or HN_BPF_OBJECT_COMPAT. */
HN_PUBLIC enum hn_bpf_object hn_monitor_bpf_object(const struct hn_monitor *m);

/* The self guard (with BPF LSM): anyone but the manager is refused
 * (enforce) or recorded (audit) when they would signal hpcnoded (except
 * its parent, PID 1 under systemd, and signal 0), ptrace it or read its
 * memory, remove or rename its pins, or open, remove or rename the files
 * named here as each one's guard says (enum hn_self_file_guard). A
 * process running the manager's own executable as root may act on the
 * files (hpcnoded --unload). Replaces the files given before; the pins are
 * added by the monitor itself. */
struct hn_protected_file {
        const char *path;
        unsigned guard; /* enum hn_self_file_guard */
};
HN_PUBLIC int hn_monitor_protect_files(struct hn_monitor *m, const struct hn_protected_file *files, size_t n,
                                       struct hn_error *err);

/* The manager's helper: a process of its own (hpcnoded's keeper, which
 * keeps systemd's delegated scope alive) living alone in the leaf cgroup
 * leaf, a name right below the root. The leaf becomes the manager's alone
 * (mkdir, rmdir, control files such as cgroup.kill, placements into or out
 * of it: anyone else is a cross-slice writer), and the helper is guarded
 * from signals and ptrace as the manager is, except that PID 1 (systemd
 * stopping the scope) may signal it. The helper is known by its pid and
 * its leaf together: a process that gets the pid after the helper died,
 * elsewhere, is not guarded. pid as this process sees it: refused
 * (EOPNOTSUPP) from inside a PID namespace, where it is not the
 * kernel's number. Kept in the pinned programs after the manager exits;
 * a later call replaces it. */
HN_PUBLIC int hn_monitor_protect_helper(struct hn_monitor *m, const char *leaf, pid_t pid, struct hn_error *err);

/* "adopted" (a pinned set taken over), "pinned" (loaded and pinned by this
 * monitor) or "unpinned"; *ret_path (may be NULL) the set's directory. */
HN_PUBLIC const char *hn_monitor_pin_state(const struct hn_monitor *m, const char **ret_path);
/* Removes every pinned set under pin_dir, and pin_dir: the rules stop.
 * Refused (HN_ERR_PERMISSION_DENIED, EBUSY) while the pinned guard holds
 * mounts of agents, unless force. */
HN_PUBLIC int hn_monitor_unload(const char *pin_dir, bool force, struct hn_error *err);

/* Identities, per owner (HN_OWNER_PACT or HN_OWNER_WORKLOAD): an
 * executable (by device and inode, so a renamed copy is still itself) run
 * by root (hn_monitor_replace_identities takes another uid), a uid, or a
 * cgroup subtree the writer runs in. Before or after start. */
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
        uid_t uid;        /* UID; EXE: the real uid it must run as (a copy run by another is not the agent) */
};
HN_PUBLIC int hn_monitor_replace_identities(struct hn_monitor *m, const struct hn_identity *ids, size_t n,
                                            struct hn_error *err);

/* The mount guard. The bases: under them the syscall programs record who
 * acted (attribution level tracepoint). The guard's state, replaced whole
 * each call, every part keyed on kernel objects: with lsm, anyone but the
 * calling process (the manager) is refused (enforce) and recorded (audit)
 * when they would unmount, move or remount a held mount or a mount on the
 * way down to one, mount anything onto a held mount or a guarded directory
 * (or, in another namespace, where it would propagate to one), change a
 * held mount's propagation, change a held loop device by ioctl, or open,
 * write, truncate or map a held image file for writing; and, while any
 * image is held, any legacy mount(MS_MOVE) in the manager's mount
 * namespace (its source is a string the LSM cannot resolve). */
HN_PUBLIC int hn_monitor_set_mount_bases(struct hn_monitor *m, const char *uenv_base, const char *workdir_base,
                                         struct hn_error *err);
HN_PUBLIC int hn_monitor_set_mount_guard(struct hn_monitor *m, const struct hn_mount_guard *g, struct hn_error *err);

/* The attribution level in force (never AUTO). */
HN_PUBLIC enum hn_attribution hn_monitor_attribution(const struct hn_monitor *m);
/* "auto", "lsm", "tracepoint", "off"; NULL for a bad value. */
HN_PUBLIC const char *hn_attribution_name(enum hn_attribution a);
/* The inverse; -EINVAL for an unknown name (*ret untouched). */
HN_PUBLIC int hn_attribution_from_name(const char *name, enum hn_attribution *ret, struct hn_error *err);

/* Attaches the programs (and, without BPF LSM, the fanotify witness),
 * then reads the state: the slice roots, and where the tasks already in a
 * slice are. Programs attach before anything is read, so nothing made in
 * between goes unseen. */
HN_PUBLIC int hn_monitor_start(struct hn_monitor *m, struct hn_error *err);
/* Reads the slice roots again and marks tasks in the slices the programs
 * have no mark for (after a loss). Nothing is emptied first: the rules
 * hold throughout. */
HN_PUBLIC int hn_monitor_resync(struct hn_monitor *m, struct hn_error *err);

typedef void (*hn_event_fn)(const struct hn_event *event, void *userdata);
/* An fd that is readable when records wait, for an event loop; -EBADF
 * before hn_monitor_start. */
HN_PUBLIC int hn_monitor_fd(struct hn_monitor *m, struct hn_error *err);
/* Delivers waiting records (waiting up to timeout_ms for the first);
 * returns how many, or a negative errno. */
HN_PUBLIC int hn_monitor_poll(struct hn_monitor *m, int timeout_ms, hn_event_fn fn, void *userdata,
                              struct hn_error *err);
/* Records the kernel could not queue, per event type, since start (the
 * fanotify witness's overflows count as control-file writes). */
HN_PUBLIC int hn_monitor_losses(struct hn_monitor *m, uint64_t ret[HN_EV_TYPE_MAX], struct hn_error *err);
/* What the programs could not do, per enum hn_drop_cause, since start. */
HN_PUBLIC int hn_monitor_drops(struct hn_monitor *m, uint64_t ret[HN_DROP_MAX], struct hn_error *err);
/* What the kernel counts per loaded program: run time and runs, counted
 * only while the sysctl kernel.bpf_stats_enabled is 1 (zero otherwise),
 * and the instructions its verifier processed at load (5.16+, else 0):
 * what a load costs. Fills up to max entries; *ret_n is how many there
 * are (set only on success; on failure the entries may be part-filled). */
struct hn_prog_stat {
        char name[64];
        uint64_t run_time_ns;
        uint64_t run_cnt;
        uint32_t verified_insns;
};
HN_PUBLIC int hn_monitor_prog_stats(struct hn_monitor *m, struct hn_prog_stat *ret, size_t max, size_t *ret_n,
                                    struct hn_error *err);
/* The kernel memory the programs' maps hold (each map's memlock, as the
 * kernel reports it in its fdinfo), and how many maps, read again at most
 * every 5 s (it moves only as maps without preallocation fill). Outputs
 * untouched on failure (a negative errno). */
HN_PUBLIC int hn_monitor_map_memory(struct hn_monitor *m, uint64_t *ret_bytes, size_t *ret_maps, struct hn_error *err);

/* The emergency in force until expires_unix (CLOCK_REALTIME seconds), or
 * none (0). The programs hold it against the kernel's boot clock, so it
 * ends at its deadline in the kernel too, whether or not anyone says so. */
HN_PUBLIC int hn_monitor_set_emergency(struct hn_monitor *m, uint64_t expires_unix, struct hn_error *err);

/* Compares the programs' state (slice roots, identities, emergency flag,
 * mount bases, held mounts, their own maps' ids) with what this process
 * wrote, and restores what differs: someone else wrote it (a root stranger
 * with bpftool; where BPF LSM runs, opening the maps for writing is refused
 * to all but this process). Returns how many parts differed, naming them
 * in ret_detail ("slice_root_id, emergency"). Never fails: a part that
 * cannot be read is compared again at the next check. */
HN_PUBLIC int hn_monitor_check_state(struct hn_monitor *m, char *ret_detail, size_t size);

/* dev_t as the kernel keeps it in super_block.s_dev (major << 20 | minor),
 * which is what hn_event.exe_dev holds; st_dev is encoded differently. */
static inline uint32_t hn_kernel_dev(dev_t dev) {
        return (uint32_t) ((major(dev) << 20) | minor(dev));
}

/* The cgroup id (kernfs id) of a directory in a cgroup2 mount. */
HN_PUBLIC int hn_cgroup_id(const char *path, uint64_t *ret, struct hn_error *err);
/* The path of a live cgroup from its id (open_by_handle_at below the
 * cgroup2 mount open at mount_fd, which the caller keeps: a sink naming
 * the cgroup of every record opens nothing per record). -ESTALE once the
 * cgroup is gone, -ENAMETOOLONG if the path does not fit (ret untouched
 * on failure). */
HN_PUBLIC int hn_cgroup_path_by_id(int mount_fd, uint64_t id, char *ret, size_t size, struct hn_error *err);
/* The writer's executable from hn_event.exe as an absolute path
 * ("/usr/bin/agent"); a path too deep for the record starts with "…/".
 * -ENOENT when the kernel saw none (a kernel thread), -ENAMETOOLONG when
 * size is too small. */
HN_PUBLIC int hn_event_exe_path(const struct hn_event *e, char *ret, size_t size, struct hn_error *err);
/* A record as the ring buffer holds it (size bytes at data) into *ret,
 * its strings NUL-terminated: 0, or -EPROTO when it is not of this
 * library's layout (HN_EVENT_VERSION, sizeof(struct hn_event)), *ret
 * untouched. The monitor drops such a record and counts it
 * (HN_DROP_RECORD_FOREIGN). */
HN_PUBLIC int hn_event_from_record(const void *data, size_t size, struct hn_event *ret, struct hn_error *err);
/* "cgroup.mkdir", …; never NULL. */
HN_PUBLIC const char *hn_event_type_name(unsigned type);
/* "task_storage", "pid_unread", "record_foreign"; never NULL. */
HN_PUBLIC const char *hn_drop_cause_name(unsigned cause);

#ifdef __cplusplus
}
#endif
#endif
