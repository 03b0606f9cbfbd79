// SPDX-License-Identifier: GPL-2.0-only
/* Writes into the slices' cgroupfs files, by any path. With BPF LSM every
 * write is judged when it happens (file_permission: write, pwrite, writev,
 * splice, sendfile, copy_file_range, io_uring, aio, through any fd however
 * it was had), every open for writing when it happens, and every xattr
 * change; without it, the exits of the open syscalls attribute opens
 * (attribution level tracepoint) and the library's fanotify watch sees the
 * writes themselves. Every hook tests the superblock first: the rest of
 * the system pays a few loads. */
#include "image_guard.bpf.h"
#include "self_witness.bpf.h"
#include "placement.bpf.h"

#define FMODE_WRITE 0x2
#define MAY_WRITE 0x2
#define S_IFMT 00170000
#define S_IFDIR 0040000

/* 1 cgroup.procs, 2 cgroup.threads, 0 another file. */
static __always_inline int placement_file(const unsigned char *name)
{
        char n[16] = {};
        bpf_probe_read_kernel_str(n, sizeof(n), name);
        return name_is(n, "cgroup.procs", 13) ? 1 : name_is(n, "cgroup.threads", 15) ? 2 : 0;
}

/* cgroup.kill and cgroup.freeze: the acts an emergency opens to pact. */
static __always_inline bool emergency_file(const unsigned char *name)
{
        char n[16] = {};
        bpf_probe_read_kernel_str(n, sizeof(n), name);
        return name_is(n, "cgroup.kill", 12) || name_is(n, "cgroup.freeze", 14);
}

/* Files whose effect a tracepoint records with what happened (the task
 * moved, the cgroup frozen or killed): an allowed write of one is not
 * recorded again, so each act is one record. */
static __always_inline bool structural_file(const unsigned char *name)
{
        return placement_file(name) || emergency_file(name);
}

/* Opening cgroup.procs or cgroup.threads for writing: the writer must own
 * where tasks would go (the slice, an identity subtree). Which task, and
 * so where it comes from, is known only at the write. */
static __always_inline int judge_placement_open(struct cgroup *dst, const unsigned char *name)
{
        struct ends e = {};
        ends_to(&e, dst);
        if (e.dst_owner == HN_EVO_NONE && e.dst_identity == HN_EVO_NONE)
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        if (!ends_cross(&w, &e))
                return 0;
        struct act a;
        ends_act(&a, &e, &w, HN_EV_CONTROL_OPEN, (const char *)name, 0, HN_EVS_LSM);
        a.flags |= HN_EVF_NAME_ONLY;
        return verdict(&w, &a, true, false);
}

/* A write of a pid to cgroup.procs (threadgroup) or cgroup.threads: the
 * task it names is found as the kernel will find it, and the placement
 * judged at both ends. A write whose pid cannot be read here (splice,
 * sendfile, io_uring, aio) is refused in enforce mode to anyone but the
 * manager: the kernel does not show what it would move. Allowed placements
 * are recorded by tp_btf/cgroup_attach_task, once they happened. */
static __always_inline int judge_placement_write(struct cgroup *dst, const unsigned char *name, bool threadgroup)
{
        struct ends e = {};
        ends_to(&e, dst);
        int state;
        struct task_struct *task = written_task(threadgroup, &state);
        if (state == PID_INVALID)
                return 0; /* the kernel refuses it: nothing moves */
        if (task)
                ends_from(&e, task_cgroup(task));
        else
                e.src_unknown = true;
        if (!e.src_unknown && !ends_matter(&e))
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        bool deny = e.src_unknown ? w.owner != HN_EVO_MANAGER : ends_cross(&w, &e);
        if (!deny)
                return 0;
        if (e.src_unknown)
                count_drop(HN_DROP_PID_UNREAD);
        struct act a;
        ends_act(&a, &e, &w, HN_EV_CGROUP_ATTACH, (const char *)name, task ? BPF_CORE_READ(task, tgid) : 0,
                 HN_EVS_LSM);
        a.flags |= HN_EVF_NAME_ONLY | (e.src_unknown ? HN_EVF_CROSS_SLICE : 0);
        return verdict(&w, &a, true, false);
}

/* Opening a control file for writing. Writes are recorded where they
 * happen (file_permission); here only refusals are. */
SEC("lsm/file_open")
int BPF_PROG(hn_lsm_file_open, struct file *file, int ret)
{
        if (ret)
                return previous(ret);
        if (!(file->f_mode & FMODE_WRITE))
                return 0;
        if (!on_cgroup2(file->f_inode))
                return held_image(file->f_inode) ? image_write(file->f_inode, HN_EVS_LSM) : 0;
        struct dentry *dentry = file->f_path.dentry;
        const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
        struct cgroup *cg = cgroup_of_file_dentry(dentry);
        if (placement_file(name))
                return judge_placement_open(cg, name);
        return judge_write(HN_EV_CONTROL_OPEN, cg, name, false, emergency_file(name));
}

/* Every read and write of every file comes here: the mask, then the
 * superblock, with direct loads, before anything else. */
SEC("lsm/file_permission")
int BPF_PROG(hn_lsm_file_permission, struct file *file, int mask, int ret)
{
        if (ret)
                return previous(ret);
        if (!(mask & MAY_WRITE))
                return 0;
        struct inode *inode = file->f_inode;
        if (!inode)
                return 0;
        if (inode->i_sb->s_magic != CGROUP2_SUPER_MAGIC)
                return held_image(inode) ? image_write(inode, HN_EVS_LSM) : 0; /* an fd had before the image was held */
        struct dentry *dentry = file->f_path.dentry;
        const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
        struct cgroup *cg = cgroup_of_file_dentry(dentry);
        int placement = placement_file(name);
        if (placement)
                return judge_placement_write(cg, name, placement == 1);
        return judge_write(HN_EV_CONTROL_OPEN, cg, name, lsm_records_writes && !emergency_file(name),
                           emergency_file(name));
}

/* xattrs on a cgroup (its directory or one of its files) in a slice:
 * the manager's alone, the slice's owner included (the zombie mark,
 * trusted.hpcnode.zombie, is what F30 keeps there). */
static __always_inline int judge_xattr(struct dentry *dentry, const char *xattr, __u32 set)
{
        struct inode *inode = BPF_CORE_READ(dentry, d_inode);
        if (!inode || !on_cgroup2(inode))
                return 0;
        bool dir = (BPF_CORE_READ(inode, i_mode) & S_IFMT) == S_IFDIR;
        struct cgroup *cg = dir ? cgroup_of_dir_inode(inode) : cgroup_of_file_dentry(dentry);
        __u8 owner = owner_of_cgroup(cg);
        if (owner == HN_EVO_NONE)
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        bool deny = w.owner != HN_EVO_MANAGER;
        struct act a = { .type = HN_EV_CGROUP_ATTR, .cgroup_id = cgroup_id_of(cg), .path = xattr,
                         .target_owner = owner, .value = set, .source = HN_EVS_LSM,
                         .flags = HN_EVF_NAME_ONLY | (deny ? HN_EVF_CROSS_SLICE : 0) };
        return verdict(&w, &a, deny, lsm_records_writes);
}

/* An argument of the hook, read from its slot as a number: which slot
 * depends on the kernel, and 5.10 types no string argument. */
static __always_inline __u64 hook_arg(unsigned long long *ctx, int i)
{
        __u64 v = 0;
        bpf_probe_read_kernel(&v, sizeof(v), &ctx[i]);
        return v;
}

/* From 5.12 on the first argument is the mount's idmap (6.3+) or user
 * namespace, not looked at; before, the dentry. The arguments after the
 * name, and ret, are left unread: their slots differ by kernel, and a
 * program of an LSM hook runs only while the ones before it allowed. */
SEC("lsm/inode_setxattr")
int hn_lsm_setxattr(unsigned long long *ctx)
{
        int first = xattr_hooks_idmap ? 1 : 0;
        return judge_xattr((struct dentry *)hook_arg(ctx, first), (const char *)hook_arg(ctx, first + 1), 1);
}

SEC("lsm/inode_removexattr")
int hn_lsm_removexattr(unsigned long long *ctx)
{
        int first = xattr_hooks_idmap ? 1 : 0;
        return judge_xattr((struct dentry *)hook_arg(ctx, first), (const char *)hook_arg(ctx, first + 1), 0);
}

/* Attribution level "tracepoint": the same record from the exits of the
 * open syscalls, after the open succeeded. Any syscall tracepoint puts
 * every syscall of every task on the kernel's slow path, which is why this
 * is a level the operator chooses. The cheapest test goes first: most
 * opens fail the write-mode check. Writes through fds these do not see
 * (opened earlier, passed, opened by io_uring) reach the library's
 * fanotify watch. */
static __always_inline int control_open_exit(long fd)
{
        if (fd < 0)
                return 0;
        /* Every open of every task comes here: one helper call for the fd
         * slot, one for the mode, before anything is known to be ours. */
        struct file *file = current_file(fd);
        if (!file)
                return 0;
        unsigned int mode = BPF_CORE_READ(file, f_mode);
        struct inode *inode = BPF_CORE_READ(file, f_inode);
        if (!(mode & FMODE_WRITE)) {
                self_open_witness(file, inode, mode);
                return 0;
        }
        if (!on_cgroup2(inode)) {
                if (held_image(inode))
                        return image_write(inode, HN_EVS_SYSCALL);
                self_open_witness(file, inode, mode);
                return 0;
        }
        struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
        const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
        struct cgroup *cg = cgroup_of_file_dentry(dentry);
        __u8 owner = owner_of_cgroup(cg);
        if (owner == HN_EVO_NONE || structural_file(name))
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        struct act a = { .type = HN_EV_CONTROL_OPEN, .cgroup_id = cgroup_id_of(cg), .path = (const char *)name,
                         .target_owner = owner, .source = HN_EVS_SYSCALL,
                         .flags = HN_EVF_NAME_ONLY | (owns(&w, owner) ? 0 : HN_EVF_CROSS_SLICE) };
        emit(&w, &a);
        if (w.owner == HN_EVO_MANAGER)
                return 0; /* the witness leaves the manager's writes to its own records */
        /* the leader: an exec replaces the whole process's identity */
        if (!opener_set(current_leader()))
                count_drop(HN_DROP_TASK_STORAGE);
        return 0;
}

/* A process that opened a slice's control file execs: the fd may go on,
 * under another executable. Said once, so that open is not taken for that
 * executable's writes. Every exec comes here: one storage lookup. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(hn_sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
        if (!opener_take(current_leader()))
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        struct act a = { .type = HN_EV_EXEC, .source = HN_EVS_SYSCALL };
        emit(&w, &a);
        return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int hn_sys_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
        return control_open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int hn_sys_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
        return control_open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_open")
int hn_sys_exit_open(struct trace_event_raw_sys_exit *ctx)
{
        return control_open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int hn_sys_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
        return control_open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_open_by_handle_at")
int hn_sys_exit_open_by_handle_at(struct trace_event_raw_sys_exit *ctx)
{
        return control_open_exit(ctx->ret);
}
