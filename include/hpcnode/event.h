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

#define HN_EVENT_VERSION 4

enum hn_event_type {
        HN_EV_CGROUP_MKDIR = 1,
        HN_EV_CGROUP_RMDIR = 2,
        HN_EV_CGROUP_ATTACH = 3,    /* a task moved in; value = its pid */
        HN_EV_CGROUP_POPULATED = 4, /* value = the new populated state (WI5) */
        HN_EV_CONTROL_OPEN = 5,     /* a control file opened for writing; path = its name */
        HN_EV_CGROUP_FREEZE = 6,    /* cgroup.freeze written; value = 1 freeze, 0 thaw */
        HN_EV_CGROUP_KILL = 7,      /* cgroup.kill written; value = the first process killed */
        HN_EV_MOUNT_UMOUNT = 8,     /* umount of a held mount (LSM: value = mount id) or under a base (syscall) */
        HN_EV_MOUNT_MOVE = 9,       /* a move of one (mount --move, move_mount) */
        HN_EV_MOUNT_REMOUNT = 10,   /* a remount or attribute change of one (mount -o remount, mount_setattr) */
        HN_EV_MOUNT_OTHER = 11,     /* mount, open_tree under a base (syscall level only) */
        HN_EV_TYPE_MAX = 12,        /* sizes the loss-counter map */
};

enum hn_event_flag {
        HN_EVF_CROSS_SLICE = 1u << 0, /* writer does not own the target's slice */
        HN_EVF_DENIED = 1u << 1,      /* an LSM program refused it */
        HN_EVF_EMERGENCY = 1u << 2,   /* an emergency was in force */
        HN_EVF_MANAGER = 1u << 3,     /* the writer is hpcnoded itself */
        HN_EVF_NAME_ONLY = 1u << 4,   /* path is a name inside cgroup_id (a child, a control file);
                                       * for mount records, value holds the mount id and path is empty */
};

/* The hook that saw the act: how the writer was known. */
enum hn_event_source {
        HN_EVS_TP_BTF = 0,  /* a cgroup or signal tracepoint, in the writer's context */
        HN_EVS_LSM = 1,     /* a BPF LSM hook, before the act (it may deny) */
        HN_EVS_SYSCALL = 2, /* a syscall exit tracepoint, after the open succeeded */
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
        hn_u8 reserved;
        char comm[HN_EVENT_COMM_LEN];
        char path[HN_EVENT_PATH_LEN]; /* cgroup path from the hierarchy root */
        /* The writer's executable as the kernel saw it: path components
         * leaf first, each NUL-terminated, an empty one ends the list
         * ("agent\0bin\0usr\0\0" is /usr/bin/agent). Deep paths keep the
         * leaf side. Use hn_event_exe_path(). */
        char exe[HN_EVENT_EXE_LEN];
        hn_u64 mnt_ns;          /* the writer's mount namespace (its inode number, as in /proc/PID/ns/mnt) */
};

_Static_assert(sizeof(struct hn_event) == 408, "hn_event layout changed: bump HN_EVENT_VERSION");
_Static_assert(__builtin_offsetof(struct hn_event, cgroup_id) == 16, "hn_event layout");
_Static_assert(__builtin_offsetof(struct hn_event, pid) == 44, "hn_event layout");
_Static_assert(__builtin_offsetof(struct hn_event, target_owner) == 60, "hn_event layout");
_Static_assert(__builtin_offsetof(struct hn_event, comm) == 64, "hn_event layout");
_Static_assert(__builtin_offsetof(struct hn_event, path) == 80, "hn_event layout");
_Static_assert(__builtin_offsetof(struct hn_event, exe) == 272, "hn_event layout");
_Static_assert(__builtin_offsetof(struct hn_event, mnt_ns) == 400, "hn_event layout");

/* Key of the executable-identity map: the writer's exe by inode. */
struct hn_exe_key {
        hn_u64 ino;
        hn_u32 dev;
        hn_u32 pad;
};
_Static_assert(sizeof(struct hn_exe_key) == 16, "hn_exe_key layout");

#endif
