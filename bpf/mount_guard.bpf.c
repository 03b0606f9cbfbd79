// SPDX-License-Identifier: GPL-2.0-only
/* The mount guard: what a job reads is the image the manager mounted. With
 * BPF LSM, anyone but hpcnoded is refused (enforce) and recorded (audit)
 * when they would change it: unmount, move or remount a held mount (or a
 * mount on the way down to one or to a base; or, in another namespace, a
 * mount whose unmount would propagate to one); mount anything onto a held
 * mount, a base or a directory on the way down (it would hide what is
 * below), here or where it propagates here; rename such a directory;
 * change a held mount's propagation; pivot_root; move a mount by mount(MS_MOVE) in the manager's
 * mount namespace; change a held image's loop device by ioctl;
 * open, write, truncate or map for writing a held image file. Everything is
 * keyed on kernel objects the daemon puts in the maps after every pass.
 * mount_setattr(2) reaches no LSM hook: its changes (read-only cleared,
 * propagation) are found and undone by the reconciler. Without BPF LSM the
 * syscall entry programs below record who acted under the bases, so the
 * daemon's drift record can name them. */
#include "emit.bpf.h"
#include "image_guard.bpf.h"

#define MS_REMOUNT 32
#define MS_BIND 4096
#define MS_MOVE 8192
#define MS_REC 16384
#define MS_UNBINDABLE (1 << 17)
#define MS_PRIVATE (1 << 18)
#define MS_SLAVE (1 << 19)
#define MS_SHARED (1 << 20)
#define MS_PROPAGATION (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)
#define PROT_WRITE 0x2
#define MAP_SHARED 0x1

static __always_inline struct mount *real_mount_of(struct vfsmount *vm)
{
        return (struct mount *)((char *)vm - bpf_core_field_offset(struct mount, mnt));
}

static __always_inline __u32 mount_id_of(struct vfsmount *vm)
{
        return BPF_CORE_READ(real_mount_of(vm), mnt_id);
}

static __always_inline __u8 mount_guard(__u32 id)
{
        __u8 *g = bpf_map_lookup_elem(&held_mounts, &id);
        return g ? *g : 0;
}

static __always_inline bool guarded_dir(__u32 id, __u32 kind, __u64 ino)
{
        struct hn_guard_dir key = { .id = id, .kind = kind, .ino = ino };
        return bpf_map_lookup_elem(&guarded_dirs, &key);
}

/* What a guard record is about: a mount id (or, with HN_EVF_PEER, a peer
 * group id) and the inode of the directory acted on (0: the mount). */
struct guarded {
        __u32 value, flags;
        __u64 ino;
};

/* Taking mnt away (unmount, move) would change what a job reads: it is
 * held or on the way down to a held mount or a base, or it sits on a
 * guarded directory of a mount in a guarded peer group, so its unmount
 * would propagate to the guarded one (a peer namespace's copy, as
 * systemd's shared / makes them). */
static __always_inline bool guarded_mount(struct vfsmount *vm, struct guarded *g)
{
        struct mount *r = real_mount_of(vm);
        __u32 id = BPF_CORE_READ(r, mnt_id);
        *g = (struct guarded){ .value = id, .flags = HN_EVF_NAME_ONLY };
        if (mount_guard(id))
                return true;
        __u32 group = BPF_CORE_READ(r, mnt_parent, mnt_group_id);
        __u64 ino = BPF_CORE_READ(r, mnt_mountpoint, d_inode, i_ino);
        if (!group || !guarded_dir(group, HN_GUARD_DIR_GROUP, ino))
                return false;
        *g = (struct guarded){ .value = group, .flags = HN_EVF_NAME_ONLY | HN_EVF_PEER, .ino = ino };
        return true;
}

/* Mounting onto path would hide what is there: a held mount (or anything
 * inside one), a base, a directory on the way down, where a guarded mount
 * sits; or, through path's peer group, where the new mount propagates to
 * one of those. */
static __always_inline bool guarded_target(const struct path *path, struct guarded *g)
{
        struct vfsmount *vm = BPF_CORE_READ(path, mnt);
        __u32 id = mount_id_of(vm);
        __u64 ino = BPF_CORE_READ(path, dentry, d_inode, i_ino);
        *g = (struct guarded){ .value = id, .flags = HN_EVF_NAME_ONLY, .ino = ino };
        if ((mount_guard(id) & HN_GUARD_HELD) || guarded_dir(id, HN_GUARD_DIR_MOUNT, ino))
                return true;
        __u32 group = BPF_CORE_READ(real_mount_of(vm), mnt_group_id);
        if (!group || !guarded_dir(group, HN_GUARD_DIR_GROUP, ino))
                return false;
        *g = (struct guarded){ .value = group, .flags = HN_EVF_NAME_ONLY | HN_EVF_PEER, .ino = ino };
        return true;
}

/* Records an act the guard refuses; -EPERM in enforce mode. The manager's
 * own acts pass unrecorded (hold expiry, release, force, repairs). */
static __always_inline int mount_verdict(__u32 type, const char *path, __u32 value, __u64 object, __u32 flags)
{
        struct hn_writer w;
        writer_identify(&w);
        if (w.owner == HN_EVO_MANAGER)
                return 0;
        struct act a = { .type = type, .path = path, .value = value, .cgroup_id = object, .flags = flags,
                         .source = HN_EVS_LSM };
        return verdict(&w, &a, true, true);
}

static __always_inline int guarded_verdict(__u32 type, const struct guarded *g)
{
        return mount_verdict(type, "", g->value, g->ino, g->flags);
}

SEC("lsm/sb_umount")
int BPF_PROG(hn_lsm_sb_umount, struct vfsmount *mnt, int flags, int ret)
{
        struct guarded g;
        if (ret)
                return previous(ret);
        return guarded_mount(mnt, &g) ? guarded_verdict(HN_EV_MOUNT_UMOUNT, &g) : 0;
}

/* move_mount(2): of a guarded mount, or onto a guarded target (how a mount
 * made with fsmount(2) or open_tree(2) lands anywhere; MOVE_MOUNT_BENEATH
 * names the mount it goes under, held or not, as the target). */
SEC("lsm/move_mount")
int BPF_PROG(hn_lsm_move_mount, const struct path *from_path, const struct path *to_path, int ret)
{
        struct guarded g;
        if (ret)
                return previous(ret);
        if (guarded_mount(BPF_CORE_READ(from_path, mnt), &g) || guarded_target(to_path, &g))
                return guarded_verdict(HN_EV_MOUNT_MOVE, &g);
        return 0;
}

/* pivot_root(2) moves the root mount, the first ancestor of everything. */
SEC("lsm/sb_pivotroot")
int BPF_PROG(hn_lsm_sb_pivotroot, const struct path *old_path, const struct path *new_path, int ret)
{
        struct guarded g;
        if (ret)
                return previous(ret);
        if (guarded_mount(BPF_CORE_READ(old_path, mnt), &g) || guarded_mount(BPF_CORE_READ(new_path, mnt), &g))
                return guarded_verdict(HN_EV_MOUNT_MOVE, &g);
        return 0;
}

/* rename(2) of a directory on the way down (a base, or one above): it
 * would take the held mounts below it along, away from where jobs look.
 * Renaming a guarded directory away, or another over it. */
static __always_inline bool guarded_entry(const struct path *dir, struct dentry *dentry, struct guarded *g)
{
        struct inode *inode = BPF_CORE_READ(dentry, d_inode);
        if (!inode)
                return false;
        struct vfsmount *vm = BPF_CORE_READ(dir, mnt);
        __u32 id = mount_id_of(vm), group = BPF_CORE_READ(real_mount_of(vm), mnt_group_id);
        __u64 ino = BPF_CORE_READ(inode, i_ino);
        *g = (struct guarded){ .value = id, .flags = HN_EVF_NAME_ONLY, .ino = ino };
        if (guarded_dir(id, HN_GUARD_DIR_MOUNT, ino))
                return true;
        *g = (struct guarded){ .value = group, .flags = HN_EVF_NAME_ONLY | HN_EVF_PEER, .ino = ino };
        return group && guarded_dir(group, HN_GUARD_DIR_GROUP, ino);
}

/* flags (5.19+) and ret are left unread: their slots differ by kernel, and
 * a program of an LSM hook runs only while the ones before it allowed. */
SEC("lsm/path_rename")
int BPF_PROG(hn_lsm_path_rename, const struct path *old_dir, struct dentry *old_dentry, const struct path *new_dir,
             struct dentry *new_dentry)
{
        struct guarded g;
        if (guarded_entry(old_dir, old_dentry, &g) || guarded_entry(new_dir, new_dentry, &g))
                return guarded_verdict(HN_EV_MOUNT_MOVE, &g);
        return 0;
}

/* mount(2). path is the target, resolved; dev_name only a string. */
SEC("lsm/sb_mount")
int BPF_PROG(hn_lsm_sb_mount, const char *dev_name, const struct path *path, const char *type, unsigned long flags,
             void *data, int ret)
{
        struct guarded g;
        if (ret)
                return previous(ret);
        __u32 id = mount_id_of(BPF_CORE_READ(path, mnt));
        __u8 kind = mount_guard(id);
        if (flags & (MS_REMOUNT | MS_PROPAGATION)) {
                /* a held mount's flags or propagation, or recursively
                 * those below a guarded one */
                bool guard = (kind & HN_GUARD_HELD) || (kind && (flags & MS_REC) && !(flags & MS_REMOUNT));
                return guard ? mount_verdict(HN_EV_MOUNT_REMOUNT, "", id, 0, HN_EVF_NAME_ONLY) : 0;
        }
        if (guarded_target(path, &g))
                return guarded_verdict(flags & MS_MOVE ? HN_EV_MOUNT_MOVE : HN_EV_MOUNT_OTHER, &g);
        if ((flags & MS_MOVE) && mount_guard_on) {
                /* The source is resolved only after this hook: no string
                 * test can tell a held mount from another (a symlink, a
                 * /proc/self/fd path). In the manager's mount namespace,
                 * while it holds anything, a legacy move is the manager's
                 * alone; move_mount(2) is judged by object. */
                struct task_struct *task = (struct task_struct *)bpf_get_current_task();
                if (BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum) == manager_mnt_ns)
                        return mount_verdict(HN_EV_MOUNT_MOVE, dev_name, id, 0, 0);
        }
        return 0;
}

/* ---- The loop devices under held images: nothing may point one at
 * another file, offset or size, or detach it. */
SEC("lsm/file_ioctl")
int BPF_PROG(hn_lsm_file_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
        if (ret)
                return previous(ret);
        __u32 dev = held_loop_change(file->f_inode, cmd);
        return dev ? image_act(HN_EV_MOUNT_LOOP, cmd, dev, HN_EVS_LSM) : 0;
}

/* truncate(2) by path: no open to see. */
SEC("lsm/path_truncate")
int BPF_PROG(hn_lsm_path_truncate, const struct path *path, int ret)
{
        if (ret)
                return previous(ret);
        struct inode *inode = BPF_CORE_READ(path, dentry, d_inode);
        return held_image(inode) ? image_write(inode, HN_EVS_LSM) : 0;
}

/* A shared writable mapping of a file opened for writing before it was
 * held: writes through it never pass file_permission. */
SEC("lsm/mmap_file")
int BPF_PROG(hn_lsm_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags,
             int ret)
{
        if (ret)
                return previous(ret);
        if (!file || !(prot & PROT_WRITE) || !(flags & MAP_SHARED))
                return 0;
        struct inode *inode = file->f_inode;
        return held_image(inode) ? image_write(inode, HN_EVS_LSM) : 0;
}

/* ---- Attribution level tracepoint: who acted on a base, below one, or on the
 * way down to one. */

/* path is a base, under one, or on the way down to one (unmounting or
 * moving what carries a base takes the base along). */
static __always_inline bool base_related(const char *path)
{
        if (path[0] != '/')
                return false; /* relative, or empty (an fd names it): no string can tell */
        for (__u32 i = 0; i < 2; i++) {
                __u32 k = i;
                struct mount_base *b = bpf_map_lookup_elem(&mount_bases, &k);
                if (!b || !b->len || b->len >= HN_MOUNT_BASE_LEN)
                        continue;
                for (int c = 0; c < HN_MOUNT_BASE_LEN; c++) {
                        char p = path[c], q = b->path[c];
                        if (c >= b->len) /* the whole base matched: path is it, or below it */
                                return p == '/' || p == '\0';
                        if (p == '\0') /* path ended inside the base: an ancestor if at a component's end */
                                return q == '/' || (c > 0 && path[c - 1] == '/');
                        if (p != q)
                                break;
                }
        }
        return false;
}

/* Records the act if user_path is related to a base; true if it was. */
static __always_inline bool mount_syscall(__u32 type, const char *user_path)
{
        __u32 zero = 0;
        char *path = bpf_map_lookup_elem(&mount_path_scratch, &zero);
        if (!path || !user_path)
                return false;
        if (bpf_probe_read_user_str(path, HN_MOUNT_PATH_KEY, user_path) <= 0 || !base_related(path))
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
 * target (args[1]); one record, for whichever is related to a base. */
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

/* Without BPF LSM, who changed a held loop device: every ioctl of the
 * node comes here, and all but the loop range leave at the first test. */
SEC("tracepoint/syscalls/sys_enter_ioctl")
int hn_sys_enter_ioctl(struct trace_event_raw_sys_enter *ctx)
{
        unsigned int cmd = ctx->args[1];
        if (cmd < LOOP_IOCTL_FIRST || cmd > LOOP_IOCTL_LAST)
                return 0;
        struct file *file = current_file(ctx->args[0]);
        __u32 dev = file ? held_loop_change(BPF_CORE_READ(file, f_inode), cmd) : 0;
        if (dev)
                image_act(HN_EV_MOUNT_LOOP, cmd, dev, HN_EVS_SYSCALL);
        return 0;
}

SEC("tracepoint/syscalls/sys_enter_open_tree")
int hn_sys_enter_open_tree(struct trace_event_raw_sys_enter *ctx)
{
        mount_syscall(HN_EV_MOUNT_OTHER, (const char *)ctx->args[1]);
        return 0;
}

