// SPDX-License-Identifier: GPL-2.0-only
/* The mount guard (WI2, WI6, F31): held mounts (an image mount, or a bind,
 * of an image with holders or in its hold window) are known here by mount
 * id from a map the daemon keeps current. With BPF LSM an unmount, move or
 * remount of one by anyone but hpcnoded is denied in enforce mode and
 * recorded; without it the syscall entry programs (attribution level
 * tracepoint) record who acted under the bases, so the daemon's drift
 * record can name them. */
#include "emit.bpf.h"

#define MS_REMOUNT 32
#define MS_BIND 4096
#define MS_MOVE 8192

static __always_inline __u32 mount_id_of(struct vfsmount *vm)
{
        struct mount *m = (struct mount *)((char *)vm - bpf_core_field_offset(struct mount, mnt));
        return BPF_CORE_READ(m, mnt_id);
}

static __always_inline bool mount_held(__u32 id)
{
        return bpf_map_lookup_elem(&held_mounts, &id) != NULL;
}

/* Records an act on a held mount; -EPERM in enforce mode. The manager's
 * own acts pass unrecorded (hold expiry, release, force). */
static __always_inline int mount_verdict(__u32 type, const char *path, __u32 id, __u32 flags)
{
        struct hn_writer w;
        writer_identify(&w);
        if (w.owner == HN_EVO_MANAGER)
                return 0;
        struct act a = { .type = type, .path = path, .value = id, .flags = flags, .source = HN_EVS_LSM };
        return verdict(&w, &a, true, true);
}

/* An act on mount id: judged if the mount is held. */
static __always_inline int mount_judge(__u32 type, __u32 id)
{
        return mount_held(id) ? mount_verdict(type, "", id, HN_EVF_NAME_ONLY) : 0;
}

SEC("lsm/sb_umount")
int BPF_PROG(hn_lsm_sb_umount, struct vfsmount *mnt, int flags, int ret)
{
        if (ret)
                return previous(ret);
        return mount_judge(HN_EV_MOUNT_UMOUNT, mount_id_of(mnt));
}

SEC("lsm/move_mount")
int BPF_PROG(hn_lsm_move_mount, const struct path *from_path, const struct path *to_path, int ret)
{
        if (ret)
                return previous(ret);
        return mount_judge(HN_EV_MOUNT_MOVE, mount_id_of(BPF_CORE_READ(from_path, mnt)));
}

/* mount(2): a remount of a held mount (path is it), or a legacy move whose
 * source (dev_name, a kernel copy of the string) is one. */
SEC("lsm/sb_mount")
int BPF_PROG(hn_lsm_sb_mount, const char *dev_name, const struct path *path, const char *type, unsigned long flags,
             void *data, int ret)
{
        if (ret)
                return previous(ret);
        if (flags & MS_REMOUNT)
                return mount_judge(HN_EV_MOUNT_REMOUNT, mount_id_of(BPF_CORE_READ(path, mnt)));
        if (!(flags & MS_MOVE) || !dev_name)
                return 0;
        __u32 zero = 0;
        char *key = bpf_map_lookup_elem(&mount_path_scratch, &zero);
        if (!key)
                return 0;
        __builtin_memset(key, 0, HN_MOUNT_PATH_KEY);
        if (bpf_probe_read_kernel_str(key, HN_MOUNT_PATH_KEY, dev_name) <= 0 || !bpf_map_lookup_elem(&held_paths, key))
                return 0;
        return mount_verdict(HN_EV_MOUNT_MOVE, dev_name, 0, 0);
}

/* ---- Attribution level tracepoint: who acted on a path under a base. */

static __always_inline bool under_a_base(const char *path)
{
        for (__u32 i = 0; i < 2; i++) {
                __u32 k = i;
                struct mount_base *b = bpf_map_lookup_elem(&mount_bases, &k);
                if (!b || !b->len || b->len >= HN_MOUNT_BASE_LEN)
                        continue;
                bool match = true;
                for (int c = 0; c < HN_MOUNT_BASE_LEN - 1 && match; c++) {
                        if (c >= b->len)
                                break;
                        match = path[c] == b->path[c];
                }
                __u32 end = b->len;
                if (match && end < HN_MOUNT_PATH_KEY && (path[end & (HN_MOUNT_PATH_KEY - 1)] == '/' ||
                                                       path[end & (HN_MOUNT_PATH_KEY - 1)] == '\0'))
                        return true;
        }
        return false;
}

/* Records the act if user_path is under a base; true if it was. */
static __always_inline bool mount_syscall(__u32 type, const char *user_path)
{
        __u32 zero = 0;
        char *path = bpf_map_lookup_elem(&mount_path_scratch, &zero);
        if (!path || !user_path)
                return false;
        if (bpf_probe_read_user_str(path, HN_MOUNT_PATH_KEY, user_path) <= 0 || !under_a_base(path))
                return false;
        struct hn_writer w;
        writer_identify(&w);
        struct act a = { .type = type, .path = path, .source = HN_EVS_SYSCALL };
        if (w.owner != HN_EVO_MANAGER)
                emit(&w, &a);
        return true;
}

SEC("tracepoint/syscalls/sys_enter_umount")
int hn_sys_enter_umount(struct trace_event_raw_sys_enter *ctx)
{
        mount_syscall(HN_EV_MOUNT_UMOUNT, (const char *)ctx->args[0]);
        return 0;
}

/* mount(2): a move or a bind names its source first (args[0]), then the
 * target (args[1]); one record, for whichever is under a base. */
SEC("tracepoint/syscalls/sys_enter_mount")
int hn_sys_enter_mount(struct trace_event_raw_sys_enter *ctx)
{
        unsigned long flags = ctx->args[3];
        if (flags & MS_REMOUNT) {
                mount_syscall(HN_EV_MOUNT_REMOUNT, (const char *)ctx->args[1]);
                return 0;
        }
        __u32 type = flags & MS_MOVE ? HN_EV_MOUNT_MOVE : HN_EV_MOUNT_OTHER;
        if (!((flags & (MS_MOVE | MS_BIND)) && mount_syscall(type, (const char *)ctx->args[0])))
                mount_syscall(type, (const char *)ctx->args[1]);
        return 0;
}

/* move_mount(2): from a base, or onto one (how a mount made with fsmount(2)
 * lands under a base: fsmount itself names no path). */
SEC("tracepoint/syscalls/sys_enter_move_mount")
int hn_sys_enter_move_mount(struct trace_event_raw_sys_enter *ctx)
{
        if (!mount_syscall(HN_EV_MOUNT_MOVE, (const char *)ctx->args[1]))
                mount_syscall(HN_EV_MOUNT_MOVE, (const char *)ctx->args[3]);
        return 0;
}

SEC("tracepoint/syscalls/sys_enter_mount_setattr")
int hn_sys_enter_mount_setattr(struct trace_event_raw_sys_enter *ctx)
{
        mount_syscall(HN_EV_MOUNT_REMOUNT, (const char *)ctx->args[1]);
        return 0;
}

SEC("tracepoint/syscalls/sys_enter_open_tree")
int hn_sys_enter_open_tree(struct trace_event_raw_sys_enter *ctx)
{
        mount_syscall(HN_EV_MOUNT_OTHER, (const char *)ctx->args[1]);
        return 0;
}

