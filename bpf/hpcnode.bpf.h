/* SPDX-License-Identifier: GPL-2.0-only */
/* What every hpcnode program shares: the maps and globals, declared once
 * here and __weak, so that the per-job objects (cgroup_structure,
 * control_guard, placement_guard, kill_attribution, mount_guard) link with
 * `bpftool gen object` into one object with one copy of each (Falco's
 * modern_bpf maps.h). Compiles on its own: it uses no name an includer
 * defines. */
#ifndef HN_HPCNODE_BPF_H
#define HN_HPCNODE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <hpcnode/event.h>

#define EPERM 1
#define MAX_ERRNO 4095

/* ---- Load-time settings (rodata, set through the skeleton before load). */

/* Deny cross-slice writes and acts on held mounts (enforce mode). */
const volatile bool enforce __weak = false;
/* Attribution level lsm: the LSM hooks record allowed control-file writes
 * too (denials are recorded always). */
const volatile bool lsm_records_writes __weak = false;
/* The self guard's LSM hooks are loaded: they record its acts, and the
 * tracepoints' witness of them (self_witness.bpf.h) stays quiet. */
const volatile bool self_guard_lsm __weak = false;
/* The xattr hooks' first argument is the mount's idmap or user namespace
 * (5.12+): their dentry and name come one later. From the kernel's BTF. */
const volatile bool xattr_hooks_idmap __weak = true;

/* ---- Runtime state (.bss), kept by the loader and by the programs. */

/* The slice roots' cgroup ids, [HN_EVO_PACT] and [HN_EVO_WORKLOAD]: the
 * owner of any cgroup is whichever of them is its ancestor. Set by the
 * loader, kept by cgroup_mkdir/rmdir when a slice root is recreated. */
__u64 slice_root_id[3] __weak = {};
/* The manager: hpcnoded, whose acts are its own. Its tgid as seen in its
 * own PID namespace (dev and inode of that namespace): in a container its
 * getpid() is not the kernel's number. Runtime state, not rodata: pinned
 * programs outlive the daemon that loaded them, and the next one is the
 * manager then (0 while none runs). */
__u32 manager_tgid __weak = 0;
__u64 manager_pidns_dev __weak = 0;
__u64 manager_pidns_ino __weak = 0;
/* The cgroup the slices live in (CgroupRoot=): a slice root is a child of it. */
__u64 hier_root_id __weak = 0;
/* The slice roots' level in the hierarchy, learnt from the first match
 * (0: not yet; the hierarchy root is level 0, so no slice root is). */
__s32 slice_level __weak = 0;
/* Entries in identity_cgroup, kept by the loader: with none, the ancestor
 * walks for Cgroup= identities are skipped. */
__u32 identity_cgroup_count __weak = 0;
/* The ids of hpcnode's own maps, written by the loader once they exist and
 * before anything is attached: opening one of them for writing is the
 * manager's alone. 0 ends the list. */
/* hpcnoded's own files: its pins (and their directories), the emergency
 * key, the audit log, the configuration; value enum hn_self_file_guard. */
struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 1024);
        __type(key, struct hn_guard_file);
        __type(value, __u8);
} own_files SEC(".maps") __weak;
/* hpcnoded's tgid as the kernel numbers it (not its namespace's): learned
 * by the placement seed, which only the manager runs. */
__u32 manager_ktgid __weak = 0;
/* The manager's helper (hpcnoded's keeper under systemd) as the kernel
 * numbers it, and the leaf cgroup below the root it lives in: the leaf is
 * the manager's alone, the helper guarded from signals and ptrace as the
 * manager is. 0: none (hn_monitor_protect_helper sets them). */
__u32 helper_ktgid __weak = 0;
__u64 manager_leaf_id __weak = 0;
/* The manager's executable, run as root, may act on its files even while
 * no manager runs (hpcnoded --unload). */
__u64 manager_exe_ino __weak = 0;
__u32 manager_exe_dev __weak = 0;
#define HN_OWN_MAPS 32
__u32 own_map_ids[HN_OWN_MAPS] __weak = {};
/* The inode of the one own file that is refused for reading too (the
 * emergency key): the open exits look a read-mode open up only for it. */
__u64 own_secret_ino __weak = 0;
/* The ids of hpcnode's own programs (written after load) and links
 * (after attach): named in a bpf(2) command that would change what runs
 * or where it stays, by the manager alone. 0 ends each list. */
#define HN_OWN_PROGS 96
__u32 own_prog_ids[HN_OWN_PROGS] __weak = {};
__u32 own_link_ids[HN_OWN_PROGS] __weak = {};

/* ---- Maps. */

struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, 256 * 1024); /* the loader may resize it */
} events SEC(".maps") __weak;

/* Reservation failures per event type: an audit gap is never silent. */
struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, HN_EV_TYPE_MAX);
        __type(key, __u32);
        __type(value, __u64);
} lost SEC(".maps") __weak;

/* What the programs could not do, by cause (enum hn_drop_cause). */
struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, HN_DROP_MAX);
        __type(key, __u32);
        __type(value, __u64);
} drops SEC(".maps") __weak;

/* [0]: the emergency's deadline on the kernel's boot clock (ns), 0 when
 * none; set by the daemon. Past it the emergency is over in the kernel,
 * whether or not the daemon is there to say so. */
struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, __u64);
} emergency SEC(".maps") __weak;

/* Identities, per owner: executables (by inode), uids, cgroup subtrees.
 * Configuration, written by the loader only; a full map refuses the
 * configuration at load, never drops an entry. */
struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 256);
        __type(key, struct hn_exe_identity_key);
        __type(value, __u8);
} identity_exe SEC(".maps") __weak;

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 256);
        __type(key, __u32);
        __type(value, __u8);
} identity_uid SEC(".maps") __weak;

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 256);
        __type(key, __u64);
        __type(value, __u8);
} identity_cgroup SEC(".maps") __weak;

/* Where each task in a slice was last seen, kept by the programs on every
 * move and fork (and seeded once at start by the task iterator), so a move
 * out of a slice, which the kernel reports only once the task is gone,
 * still names the slice it left. Per task, in the task itself: it cannot
 * fill up; an allocation that fails is counted (HN_DROP_TASK_STORAGE).
 * The compat object keeps both per-task maps in hashes (compat.bpf.h). */
struct placement_mark {
        __u64 cgroup_id;
        __u8 owner;
};
#ifdef HN_BPF_COMPAT
struct task_key {
        __u64 task;  /* struct task_struct * */
        __u64 start; /* its start_time: a later task at the same address is another key */
};
struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __uint(max_entries, 65536);
        __type(key, struct task_key);
        __type(value, struct placement_mark);
} placement SEC(".maps") __weak;
#else
struct {
        __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __type(key, int);
        __type(value, struct placement_mark);
} placement SEC(".maps") __weak;
#endif

/* Attribution level tracepoint: processes whose open of a slice's control
 * file for writing was recorded. Such an open speaks for the process's
 * writes through it only until it execs (the fd survives, the identity
 * does not): its exec is then reported (HN_EV_EXEC). */
#ifdef HN_BPF_COMPAT
struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __uint(max_entries, 16384);
        __type(key, struct task_key);
        __type(value, __u8);
} control_openers SEC(".maps") __weak;
#else
struct {
        __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __type(key, int);
        __type(value, __u8);
} control_openers SEC(".maps") __weak;
#endif

/* Per CPU: the writer's executable path is built here, then copied into
 * the record, so the verifier sees fixed-size accesses only; and the
 * walk's state, which bpf_loop's callback must not keep on the stack (6.1's
 * verifier checks a callback against the stack as it is at the call and
 * prunes what that rules out). */
#define HN_EXE_SCRATCH (2 * HN_EVENT_EXE_LEN)
struct exe_walk {
        __u64 dentry, mnt;    /* struct dentry *, struct mount * */
        __u64 root, root_mnt; /* the writer's root: struct dentry *, struct vfsmount * */
        __u32 off;
};
struct exe_scratch {
        char buf[HN_EXE_SCRATCH];
        struct exe_walk walk;
};
struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct exe_scratch);
} exe_scratch SEC(".maps") __weak;

/* Paths already walked, per executable and root: a writer's second act
 * costs one lookup. An evicted entry costs a walk, never a record. */
struct exe_cache_key {
        struct hn_exe_key exe;
        __u64 root; /* struct dentry * of the writer's root */
};
struct {
        __uint(type, BPF_MAP_TYPE_LRU_HASH);
        __uint(max_entries, 1024);
        __type(key, struct exe_cache_key);
        __type(value, char[HN_EVENT_EXE_LEN]);
} exe_cache SEC(".maps") __weak;

/* The mount guard's state, written by the daemon after every pass, all
 * keyed by kernel objects: mounts by id (enum hn_guard_mount: held, or on
 * the way down to a held mount or a base), the directories on those ways
 * (by mount id or peer group, and inode: struct hn_guard_dir), the loop
 * devices under held images and the image files (by device and inode). */
struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 16384);
        __type(key, __u32);  /* mount id */
        __type(value, __u8); /* enum hn_guard_mount */
} held_mounts SEC(".maps") __weak;

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 32768);
        __type(key, struct hn_guard_dir);
        __type(value, __u8);
} guarded_dirs SEC(".maps") __weak;

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 4096);
        __type(key, __u32); /* dev_t, kernel encoding */
        __type(value, __u8);
} held_loops SEC(".maps") __weak;

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 4096);
        __type(key, struct hn_guard_file);
        __type(value, __u8);
} held_images SEC(".maps") __weak;

/* The held images' filesystems (s_dev, kernel encoding), so that every
 * other write on the node is passed by a few compares, not a map lookup.
 * 0 ends the list. */
#define HN_IMAGE_DEVS 8
__u32 held_image_devs[HN_IMAGE_DEVS] __weak = {};
/* Anything held: the guard's blanket rules (legacy MS_MOVE) apply. */
__u32 mount_guard_on __weak = 0;
/* The manager's mount namespace (the inode number): where hpcnode's
 * mounts are, and so where a legacy mount(MS_MOVE), whose source the
 * kernel resolves only after the LSM has seen it as a string, is the
 * manager's alone. Set by the manager. */
__u64 manager_mnt_ns __weak = 0;

/* The uenv and workdir bases, for the mount syscall programs' prefix filter. */
struct mount_base {
        char path[HN_MOUNT_BASE_LEN];
        __u32 len;
};
struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 2);
        __type(key, __u32);
        __type(value, struct mount_base);
} mount_bases SEC(".maps") __weak;

/* Path scratch for the mount syscall programs and the held-paths lookup. */
struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, char[HN_MOUNT_PATH_KEY]);
} mount_path_scratch SEC(".maps") __weak;

static __always_inline void count_drop(__u32 cause)
{
        __u64 *n = bpf_map_lookup_elem(&drops, &cause);
        if (n)
                __sync_fetch_and_add(n, 1);
}

static __always_inline bool emergency_on(void)
{
        __u32 zero = 0;
        __u64 *deadline = bpf_map_lookup_elem(&emergency, &zero);
        return deadline && *deadline && bpf_ktime_get_boot_ns() < *deadline;
}

/* The previous LSM program's verdict stands, bounded so the verifier
 * (6.12+) can prove the range [-MAX_ERRNO, 0]. */
static __always_inline int previous(int ret)
{
        long prev = ret;
        return prev < 0 && prev >= -MAX_ERRNO ? prev : -EPERM;
}

#endif
