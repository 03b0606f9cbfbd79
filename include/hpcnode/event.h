/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The record that crosses the BPF ring buffer, shared by bpf/ and user/.
 * Fixed-width types, no kernel or libc headers on the BPF side, and
 * _Static_asserts on the layout: a change breaks the build, not production.
 * Bump HN_EVENT_VERSION on any change. */
#ifndef HPCNODE_EVENT_H
#define HPCNODE_EVENT_H

#ifdef __VMLINUX_H__ /* BPF side: vmlinux.h has the kernel's types */
typedef __u8 hn_u8;
typedef __u16 hn_u16;
typedef __u32 hn_u32;
typedef __u64 hn_u64;
#else
#include <stdint.h>
typedef uint8_t hn_u8;
typedef uint16_t hn_u16;
typedef uint32_t hn_u32;
typedef uint64_t hn_u64;
#endif

#define HN_EVENT_VERSION 8

enum hn_event_type {
        HN_EV_CGROUP_MKDIR = 1,
        HN_EV_CGROUP_RMDIR = 2,
        HN_EV_CGROUP_ATTACH = 3,     /* a task moved (cgroup.procs/threads); value = its pid, other = where from */
        HN_EV_CGROUP_POPULATED = 4,  /* value = the new populated state (WI5) */
        HN_EV_CONTROL_OPEN = 5,      /* a control file written (or, at level tracepoint, opened for it); path = its name */
        HN_EV_CGROUP_FREEZE = 6,     /* cgroup.freeze written; value = 1 freeze, 0 thaw */
        HN_EV_CGROUP_KILL = 7,       /* cgroup.kill written; value = the first process killed */
        HN_EV_MOUNT_UMOUNT = 8,      /* umount of a guarded mount (LSM: value = mount id), or of a base, below
                                      * one or on the way down to one (syscall: path) */
        HN_EV_MOUNT_MOVE = 9,        /* a move of one, or onto a guarded directory (mount --move, move_mount) */
        HN_EV_MOUNT_REMOUNT = 10,    /* a remount, propagation or attribute change of one (mount -o remount,
                                      * --make-shared, mount_setattr) */
        HN_EV_MOUNT_OTHER = 11,      /* a mount onto a held mount or a guarded directory (LSM), or mount,
                                      * open_tree under a base (syscall) */
        HN_EV_CGROUP_CLONE_INTO = 12, /* a child started in a cgroup (clone3 CLONE_INTO_CGROUP); value = its pid,
                                       * other = the parent's cgroup */
        HN_EV_CGROUP_ATTR = 13,      /* an xattr set or removed (path = its name), or (fsnotify) any attribute */
        HN_EV_EXEC = 14,             /* internal, never delivered: a process whose open of a slice's control
                                      * file was recorded exec'd; that open no longer speaks for its writes */
        HN_EV_GUARD_MAP = 15,        /* one of hpcnode's own BPF maps opened for writing; value = its id,
                                      * path = its name */
        HN_EV_MOUNT_LOOP = 16,       /* an ioctl that would change a held image's loop device; value = the
                                      * ioctl, cgroup_id = the device number (kernel encoding) */
        HN_EV_MOUNT_IMAGE_WRITE = 17, /* a held image file opened, written, truncated or mapped for writing;
                                       * cgroup_id = its inode, value = its device (kernel encoding) */
        HN_EV_SELF_FILE = 18,        /* one of hpcnoded's own files (its pins, its key, its audit log, its
                                      * configuration) opened, unlinked or renamed against its protection;
                                      * cgroup_id = its inode, value = the act (enum hn_self_file_act),
                                      * path = its name */
        HN_EV_SELF_SIGNAL = 19,      /* a signal sent to hpcnoded; value = the signal */
        HN_EV_SELF_PTRACE = 20,      /* ptrace (or /proc/PID/mem, process_vm_*, pidfd_getfd) of hpcnoded;
                                      * value = the ptrace access mode, other_cgroup_id = how (enum
                                      * hn_self_trace_act) */
        HN_EV_GUARD_BPF = 21,        /* one of hpcnode's own programs, links or maps named in a bpf(2) command
                                      * that would change what runs or where it stays (detach, update, pin,
                                      * attach, test run); value = its id, path = its kind (enum
                                      * hn_bpf_object_kind's name), other_cgroup_id = the bpf command */
        HN_EV_TYPE_MAX = 22,         /* sizes the loss-counter map */
};

/* What a record is about: the one test both sides use instead of type ranges. */
enum hn_event_class {
        HN_EVC_NONE = 0,     /* not a type of this ABI */
        HN_EVC_CGROUP_ACT,   /* a writer acted on a cgroup: judged against the slice owner */
        HN_EVC_CGROUP_STATE, /* the kernel changed a cgroup's state: nobody's act (populated) */
        HN_EVC_MOUNT,        /* an act on a mount: judged against the held mounts */
        HN_EVC_GUARD,        /* an act on hpcnode itself (its maps): the manager's alone */
};

static inline enum hn_event_class hn_event_class_of(unsigned type) {
        switch (type) {
        case HN_EV_CGROUP_MKDIR:
        case HN_EV_CGROUP_RMDIR:
        case HN_EV_CGROUP_ATTACH:
        case HN_EV_CONTROL_OPEN:
        case HN_EV_CGROUP_FREEZE:
        case HN_EV_CGROUP_KILL:
        case HN_EV_CGROUP_CLONE_INTO:
        case HN_EV_CGROUP_ATTR:
                return HN_EVC_CGROUP_ACT;
        case HN_EV_CGROUP_POPULATED:
                return HN_EVC_CGROUP_STATE;
        case HN_EV_MOUNT_UMOUNT:
        case HN_EV_MOUNT_MOVE:
        case HN_EV_MOUNT_REMOUNT:
        case HN_EV_MOUNT_OTHER:
        case HN_EV_MOUNT_LOOP:
        case HN_EV_MOUNT_IMAGE_WRITE:
                return HN_EVC_MOUNT;
        case HN_EV_GUARD_MAP:
        case HN_EV_SELF_FILE:
        case HN_EV_SELF_SIGNAL:
        case HN_EV_SELF_PTRACE:
        case HN_EV_GUARD_BPF:
                return HN_EVC_GUARD;
        }
        return HN_EVC_NONE;
}

enum hn_event_flag {
        HN_EVF_CROSS_SLICE = 1u << 0,  /* writer does not own the target's slice (or a placement's other end) */
        HN_EVF_DENIED = 1u << 1,       /* an LSM program refused it */
        HN_EVF_EMERGENCY = 1u << 2,    /* an emergency was in force */
        HN_EVF_MANAGER = 1u << 3,      /* the writer is hpcnoded itself */
        HN_EVF_NAME_ONLY = 1u << 4,    /* path is a name inside cgroup_id (a child, a control file, an xattr);
                                        * for mount records, value holds the mount id (cgroup_id, if not 0,
                                        * the inode of the directory acted on) and path is empty */
        HN_EVF_UNATTRIBUTED = 1u << 5, /* fsnotify saw the act but the writer could not be identified
                                        * (it exited first): pid is what the kernel reported, nothing more */
        HN_EVF_IDENTITY = 1u << 6,     /* the target is an agent's Cgroup= identity subtree (target_owner's) */
        HN_EVF_OTHER_UNKNOWN = 1u << 7, /* a placement whose other end the kernel did not show */
        HN_EVF_PEER = 1u << 8,         /* a mount record whose value is a peer group id: the act was on a
                                        * mount in another namespace that would propagate here */
        HN_EVF_HELPER = 1u << 9,       /* a signal or ptrace record about the manager's helper (hpcnoded's
                                        * keeper, hn_monitor_protect_helper), not the manager itself */
};

/* The hook that saw the act: how the writer was known. */
enum hn_event_source {
        HN_EVS_TP_BTF = 0,   /* a cgroup, signal or task tracepoint, in the writer's context */
        HN_EVS_LSM = 1,      /* a BPF LSM hook, before the act (it may deny) */
        HN_EVS_SYSCALL = 2,  /* a syscall tracepoint: after an open succeeded, or as a mount call entered */
        HN_EVS_FSNOTIFY = 3, /* fanotify, after the act: the writer identified from /proc by its pid */
};

/* Owners as the kernel side knows them: hn_slice_owner's values, plus the
 * manager identity, which owns no slice but may write in both. */
enum hn_event_owner {
        HN_EVO_NONE = 0,
        HN_EVO_PACT = 1,
        HN_EVO_WORKLOAD = 2,
        HN_EVO_MANAGER = 3,
};

#define HN_EVENT_COMM_LEN 16
#define HN_EVENT_PATH_LEN 192
#define HN_EVENT_EXE_LEN 128 /* a power of two: the BPF side masks offsets with it */
#define HN_MOUNT_BASE_LEN 128 /* a mount base as the syscall programs compare it */
#define HN_MOUNT_PATH_KEY 256 /* key of the held-paths map */

struct hn_event {
        hn_u16 version;
        hn_u16 type;            /* enum hn_event_type */
        hn_u32 flags;           /* enum hn_event_flag */
        hn_u64 ts_boot_ns;      /* bpf_ktime_get_boot_ns() */
        hn_u64 cgroup_id;       /* the target cgroup (kernfs id) */
        hn_u64 writer_cgroup_id;
        hn_u64 exe_ino;         /* the writer's executable */
        hn_u32 exe_dev;         /* its superblock's dev_t, kernel encoding */
        hn_u32 pid;             /* writer thread id */
        hn_u32 tgid;            /* writer process id */
        hn_u32 uid;
        hn_u32 value;           /* per type: attached pid, populated state */
        hn_u8 target_owner;     /* enum hn_event_owner */
        hn_u8 writer_owner;
        hn_u8 source;           /* enum hn_event_source */
        hn_u8 other_owner;      /* placements: the owner of the cgroup at the other end */
        char comm[HN_EVENT_COMM_LEN];
        char path[HN_EVENT_PATH_LEN]; /* cgroup path from the hierarchy root */
        /* The writer's executable as the kernel saw it: path components
         * leaf first, each NUL-terminated, an empty one ends the list
         * ("agent\0bin\0usr\0\0" is /usr/bin/agent). Deep paths keep the
         * leaf side. Use hn_event_exe_path(). */
        char exe[HN_EVENT_EXE_LEN];
        hn_u64 mnt_ns;          /* the writer's mount namespace (its inode number, as in /proc/PID/ns/mnt) */
        /* Placements: the cgroup the task came from (attach, clone_into),
         * or for a task taken out of a slice, that slice's cgroup it left
         * while cgroup_id is where it went. 0 when it was outside both
         * slices (its id is not kept) or unknown (HN_EVF_OTHER_UNKNOWN). */
        hn_u64 other_cgroup_id;
};

_Static_assert(sizeof(struct hn_event) == 416, "hn_event layout changed: bump HN_EVENT_VERSION");
_Static_assert(__builtin_offsetof(struct hn_event, cgroup_id) == 16, "hn_event layout");
_Static_assert(__builtin_offsetof(struct hn_event, pid) == 44, "hn_event layout");
_Static_assert(__builtin_offsetof(struct hn_event, target_owner) == 60, "hn_event layout");
_Static_assert(__builtin_offsetof(struct hn_event, comm) == 64, "hn_event layout");
_Static_assert(__builtin_offsetof(struct hn_event, path) == 80, "hn_event layout");
_Static_assert(__builtin_offsetof(struct hn_event, exe) == 272, "hn_event layout");
_Static_assert(__builtin_offsetof(struct hn_event, mnt_ns) == 400, "hn_event layout");
_Static_assert(__builtin_offsetof(struct hn_event, other_cgroup_id) == 408, "hn_event layout");

/* What the kernel side dropped or could not do, by cause (the drops map):
 * each is exported, none is a silent allow. */
enum hn_drop_cause {
        HN_DROP_TASK_STORAGE = 0, /* no room for a task's placement mark: its next move's origin is unknown */
        HN_DROP_PID_UNREAD = 1,   /* a cgroup.procs write whose pid could not be read: refused in enforce mode */
        HN_DROP_RECORD_FOREIGN = 2, /* userspace: a record of another layout (version or size) in the ring buffer */
        HN_DROP_MAX = 3,
};

/* The mount guard's keys. A directory mounting on which would hide what
 * is below it (one on the way down to a held mount or a base, or where a
 * guarded mount is mounted): by the mount it is reached through and its
 * inode, or by that mount's peer group (or master) and its inode, where a
 * mount or unmount in another namespace would propagate to it. A file by
 * device (kernel encoding) and inode. */
enum hn_guard_dir_kind {
        HN_GUARD_DIR_MOUNT = 0, /* id is a mount id */
        HN_GUARD_DIR_GROUP = 1, /* id is a peer group id */
};
struct hn_guard_dir {
        hn_u32 id;
        hn_u32 kind; /* enum hn_guard_dir_kind */
        hn_u64 ino;
};
_Static_assert(sizeof(struct hn_guard_dir) == 16, "hn_guard_dir layout");
struct hn_guard_file {
        hn_u32 dev;
        hn_u32 pad;
        hn_u64 ino;
};
_Static_assert(sizeof(struct hn_guard_file) == 16, "hn_guard_file layout");
/* Values of the own-files map: what is refused to anyone but the manager. */
enum hn_self_file_guard {
        HN_SELF_NO_WRITE = 1u << 0,  /* opened for writing */
        HN_SELF_NO_READ = 1u << 1,   /* opened for reading (the emergency key) */
        HN_SELF_NO_UNLINK = 1u << 2, /* unlinked, removed, or replaced by a rename onto it */
        HN_SELF_NO_RENAME = 1u << 3, /* renamed away */
};
/* The act of an HN_EV_SELF_FILE record. */
enum hn_self_file_act {
        HN_SELF_ACT_WRITE = 1,
        HN_SELF_ACT_READ = 2,
        HN_SELF_ACT_UNLINK = 3,
        HN_SELF_ACT_RENAME = 4,
};
/* The kind of object of an HN_EV_GUARD_BPF record. */
enum hn_bpf_object_kind {
        HN_BPF_OBJ_MAP = 1,
        HN_BPF_OBJ_PROG = 2,
        HN_BPF_OBJ_LINK = 3,
};
/* How an HN_EV_SELF_PTRACE record's act reached hpcnoded. */
enum hn_self_trace_act {
        HN_SELF_TRACE_ACCESS = 0,      /* the LSM's access check (every one of the below) */
        HN_SELF_TRACE_PTRACE = 1,      /* ptrace(PTRACE_ATTACH or PTRACE_SEIZE) */
        HN_SELF_TRACE_ATTACH_STOP = 2, /* the stop PTRACE_ATTACH sends (of any thread) */
        HN_SELF_TRACE_MEM = 3,         /* /proc/PID/mem (or a thread's) opened */
        HN_SELF_TRACE_VM = 4,          /* process_vm_readv or process_vm_writev */
        HN_SELF_TRACE_GETFD = 5,       /* pidfd_getfd */
};
/* Values of the guarded-mounts map. */
enum hn_guard_mount {
        HN_GUARD_HELD = 1,     /* an image mount or a bind the manager holds */
        HN_GUARD_ANCESTOR = 2, /* a mount on the way down to a held mount or a base */
};

/* An executable by inode (the exe-path cache's key). */
struct hn_exe_key {
        hn_u64 ino;
        hn_u32 dev;
        hn_u32 pad;
};
_Static_assert(sizeof(struct hn_exe_key) == 16, "hn_exe_key layout");

/* Key of the executable-identity map: the executable, and the real uid
 * it must run as (the agent's binary run by anyone else is not the agent). */
struct hn_exe_identity_key {
        hn_u64 ino;
        hn_u32 dev;
        hn_u32 uid;
};
_Static_assert(sizeof(struct hn_exe_identity_key) == 16, "hn_exe_identity_key layout");

#endif
