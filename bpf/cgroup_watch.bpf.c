// SPDX-License-Identifier: GPL-2.0-only
/* Structural cgroup actions inside either slice, attributed to the writer:
 * mkdir, rmdir, a task moved in, and populated-state changes (WI5). tp_btf
 * on cgroup tracepoints costs unrelated syscalls nothing. The owner of every
 * cgroup is known here: the loader seeds owner_of from the hierarchy, and
 * mkdir keeps it current (a child inherits its parent's owner). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <hpcnode/event.h>

#include "exe_path.bpf.h"
#include "identity.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 65536);
        __type(key, __u64);  /* cgroup id */
        __type(value, __u8); /* enum hn_event_owner */
} owner_of SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, 256 * 1024); /* the loader may resize it */
} events SEC(".maps");

/* Reservation failures per event type: an audit gap is never silent. */
struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, HN_EV_TYPE_MAX);
        __type(key, __u32);
        __type(value, __u64);
} lost SEC(".maps");

/* [0] != 0 while an emergency is in force; set by the daemon. */
struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, __u32);
} emergency SEC(".maps");

static __always_inline __u64 cgroup_id_of(struct cgroup *cgrp)
{
        return BPF_CORE_READ(cgrp, kn, id);
}

/* v1 hierarchies number their kernfs nodes on their own: an id from one
 * could equal a v2 id in owner_of. Only the default hierarchy (id 0) counts. */
static __always_inline bool on_default_hierarchy(struct cgroup *cgrp)
{
        return BPF_CORE_READ(cgrp, root, hierarchy_id) == 0;
}

static __always_inline __u8 owner_lookup(__u64 id)
{
        __u8 *o = bpf_map_lookup_elem(&owner_of, &id);
        return o ? *o : HN_EVO_NONE;
}

static __always_inline void count_loss(__u32 type)
{
        __u64 *n = bpf_map_lookup_elem(&lost, &type);
        if (n)
                __sync_fetch_and_add(n, 1);
}

static __always_inline bool emergency_on(void)
{
        __u32 zero = 0, *em = bpf_map_lookup_elem(&emergency, &zero);
        return em && *em;
}

static __always_inline int emit_for(const struct hn_writer *w, __u32 type, __u64 cgroup_id, const char *path,
                                    __u8 target_owner, __u32 value, __u32 extra_flags, __u8 source)
{
        struct hn_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
        if (!e) {
                count_loss(type);
                return 0;
        }
        e->version = HN_EVENT_VERSION;
        e->type = type;
        e->flags = extra_flags;
        if (emergency_on())
                e->flags |= HN_EVF_EMERGENCY;
        if (w->owner == HN_EVO_MANAGER)
                e->flags |= HN_EVF_MANAGER;
        /* Populated changes are the kernel's doing, not a write; mounts
         * belong to no slice. */
        else if (type != HN_EV_CGROUP_POPULATED && type < HN_EV_MOUNT_UMOUNT && w->owner != target_owner)
                e->flags |= HN_EVF_CROSS_SLICE;
        e->ts_boot_ns = bpf_ktime_get_boot_ns();
        e->cgroup_id = cgroup_id;
        e->writer_cgroup_id = w->cgroup_id;
        e->exe_ino = w->exe.ino;
        e->exe_dev = w->exe.dev;
        e->pid = w->pid;
        e->tgid = w->tgid;
        e->uid = w->uid;
        e->value = value;
        e->target_owner = target_owner;
        e->writer_owner = w->owner;
        e->source = source;
        e->reserved = 0;
        bpf_get_current_comm(e->comm, sizeof(e->comm));
        if (bpf_probe_read_kernel_str(e->path, sizeof(e->path), path) < 0)
                e->path[0] = '\0';
        exe_path_fill(e->exe, &w->exe);
        struct task_struct *task = (struct task_struct *)bpf_get_current_task();
        e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
        bpf_ringbuf_submit(e, 0);
        return 0;
}

static __always_inline int emit(__u32 type, struct cgroup *cgrp, const char *path, __u8 target_owner, __u32 value)
{
        struct hn_writer w;
        writer_identify(&w);
        return emit_for(&w, type, cgroup_id_of(cgrp), path, target_owner, value, 0, HN_EVS_TP_BTF);
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(hn_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
        if (!on_default_hierarchy(cgrp))
                return 0;
        __u64 parent = BPF_CORE_READ(cgrp, self.parent, cgroup, kn, id);
        __u8 owner = owner_lookup(parent);
        if (owner == HN_EVO_NONE)
                return 0;
        __u64 id = cgroup_id_of(cgrp);
        bpf_map_update_elem(&owner_of, &id, &owner, BPF_ANY);
        return emit(HN_EV_CGROUP_MKDIR, cgrp, path, owner, 0);
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(hn_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
        if (!on_default_hierarchy(cgrp))
                return 0;
        __u64 id = cgroup_id_of(cgrp);
        __u8 owner = owner_lookup(id);
        if (owner == HN_EVO_NONE)
                return 0;
        emit(HN_EV_CGROUP_RMDIR, cgrp, path, owner, 0);
        bpf_map_delete_elem(&owner_of, &id);
        return 0;
}

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(hn_cgroup_attach_task, struct cgroup *dst, const char *path, struct task_struct *task, bool threadgroup)
{
        if (!on_default_hierarchy(dst))
                return 0;
        __u8 owner = owner_lookup(cgroup_id_of(dst));
        if (owner == HN_EVO_NONE)
                return 0;
        return emit(HN_EV_CGROUP_ATTACH, dst, path, owner, BPF_CORE_READ(task, tgid));
}

/* cgroup.freeze, attributed at no cost to unrelated syscalls: the v2
 * freezer's tracepoints fire in the writer's context (Linux 5.2+). */
static __always_inline int freeze_event(struct cgroup *cgrp, const char *path, __u32 frozen)
{
        if (!on_default_hierarchy(cgrp))
                return 0;
        __u8 owner = owner_lookup(cgroup_id_of(cgrp));
        if (owner == HN_EVO_NONE)
                return 0;
        return emit(HN_EV_CGROUP_FREEZE, cgrp, path, owner, frozen);
}

SEC("tp_btf/cgroup_freeze")
int BPF_PROG(hn_cgroup_freeze, struct cgroup *cgrp, const char *path)
{
        return freeze_event(cgrp, path, 1);
}

SEC("tp_btf/cgroup_unfreeze")
int BPF_PROG(hn_cgroup_unfreeze, struct cgroup *cgrp, const char *path)
{
        return freeze_event(cgrp, path, 0);
}

SEC("tp_btf/cgroup_notify_populated")
int BPF_PROG(hn_cgroup_notify_populated, struct cgroup *cgrp, const char *path, int val)
{
        if (!on_default_hierarchy(cgrp))
                return 0;
        __u8 owner = owner_lookup(cgroup_id_of(cgrp));
        if (owner == HN_EVO_NONE)
                return 0;
        return emit(HN_EV_CGROUP_POPULATED, cgrp, path, owner, (__u32)val);
}

/* cgroup.kill, attributed at no cost to unrelated syscalls: the kernel
 * sends SIGKILL to each process with no siginfo (SEND_SIG_NOINFO), from the
 * writer's own write(2). kill(2) and pidfd_send_signal carry a siginfo, the
 * OOM killer SEND_SIG_PRIV, and the fork-time kill of a newborn runs in
 * fork, not write, so none of them is taken for cgroup.kill. */

#define SIGKILL 9
#define NR_WRITE 1 /* x86-64 syscall numbers: the only vmlinux.h we build against */
#define NR_PWRITE64 18
#define NR_WRITEV 20
#define NR_PWRITEV 296
#define NR_PWRITEV2 328

/* One record per write, not per process killed: the writer thread's count
 * of completed writes (ioac.syscw, bumped when vfs_write returns) names
 * the write in progress. */
struct {
        __uint(type, BPF_MAP_TYPE_LRU_HASH);
        __uint(max_entries, 1024);
        __type(key, __u32);   /* writer thread id */
        __type(value, __u64); /* syscw + 1 of the write already recorded */
} kill_recorded SEC(".maps");

static __always_inline bool in_write_syscall(void)
{
        struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
        long nr = BPF_CORE_READ(regs, orig_ax);
        return nr == NR_WRITE || nr == NR_PWRITE64 || nr == NR_WRITEV || nr == NR_PWRITEV || nr == NR_PWRITEV2;
}

/* false if this write was recorded already */
static __always_inline bool first_of_write(void)
{
        struct task_struct *cur = bpf_get_current_task_btf();
        if (!bpf_core_field_exists(cur->ioac))
                return true; /* no I/O accounting: a record per process killed */
        __u64 seq = BPF_CORE_READ(cur, ioac.syscw) + 1;
        __u32 tid = (__u32)bpf_get_current_pid_tgid();
        __u64 *seen = bpf_map_lookup_elem(&kill_recorded, &tid);
        if (seen && *seen == seq)
                return false;
        bpf_map_update_elem(&kill_recorded, &tid, &seq, BPF_ANY);
        return true;
}

SEC("tp_btf/signal_generate")
int BPF_PROG(hn_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task, int group,
             int result)
{
        /* The verifier takes tp_btf pointer arguments for non-NULL and
         * prunes a test of one (some kernels): read the raw value. */
        __u64 info_raw = 1;
        bpf_probe_read_kernel(&info_raw, sizeof(info_raw), &ctx[1]);
        if (sig != SIGKILL || info_raw)
                return 0;
        struct cgroup *cgrp = BPF_CORE_READ(task, cgroups, dfl_cgrp);
        __u64 id = cgroup_id_of(cgrp);
        __u8 owner = owner_lookup(id);
        if (owner == HN_EVO_NONE || !in_write_syscall() || !first_of_write())
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        /* the cgroup of the first process killed: the written cgroup, or
         * for a parent without processes of its own, its first child */
        return emit_for(&w, HN_EV_CGROUP_KILL, id, "cgroup.kill", owner, BPF_CORE_READ(task, tgid),
                        HN_EVF_NAME_ONLY, HN_EVS_TP_BTF);
}

/* ---- Control files opened for writing: enforcement (BPF LSM) and
 * attribution (LSM, or the syscall exit tracepoints where there is no BPF
 * LSM). The loader switches off what the kernel or the configured
 * attribution level does not use. */

#define EPERM 1
#define MAX_ERRNO 4095
#define FMODE_WRITE 0x2
#define CGROUP2_SUPER_MAGIC 0x63677270

/* Set through rodata: deny cross-slice writes (enforce mode). */
const volatile bool enforce = false;
/* Set through rodata: the LSM hook records allowed control-file opens
 * (attribution level lsm). Denials are recorded always. */
const volatile bool lsm_records_opens = false;

static __always_inline bool on_cgroup2(struct inode *inode)
{
        return BPF_CORE_READ(inode, i_sb, s_magic) == CGROUP2_SUPER_MAGIC;
}

/* A cgroup2 directory inode's kernfs node id is the cgroup id. */
static __always_inline __u64 cgroup_id_of_inode(struct inode *inode)
{
        struct kernfs_node *kn = (struct kernfs_node *)BPF_CORE_READ(inode, i_private);
        return BPF_CORE_READ(kn, id);
}

static __always_inline bool name_is(const char *name, const char *want, int len)
{
        for (int i = 0; i < len; i++)
                if (name[i] != want[i])
                        return false;
        return true;
}

/* Files whose effect the tp_btf programs record with what happened (the
 * process moved, the cgroup frozen or killed): an allowed open of one is
 * not recorded again, so each act is one record. */
static __always_inline bool structural_file(const unsigned char *name)
{
        char n[16] = {};
        bpf_probe_read_kernel_str(n, sizeof(n), name);
        return name_is(n, "cgroup.procs", 13) || name_is(n, "cgroup.threads", 15) || name_is(n, "cgroup.kill", 12) ||
               name_is(n, "cgroup.freeze", 14);
}

/* The previous program's verdict stands, bounded so the verifier (6.12+)
 * can prove the range. */
static __always_inline int previous(int ret)
{
        long prev = ret;
        return prev < 0 && prev >= -MAX_ERRNO ? prev : -EPERM;
}

/* 0 or -EPERM; records a denial always, an allowed act when asked. The
 * verdict is a real branch (barrier_var): clang's branch-free form is one
 * the verifier cannot bound to [-4095, 0]. */
static __always_inline int judge(__u32 type, __u64 cgroup_id, const unsigned char *name, bool record_allowed)
{
        __u8 owner = owner_lookup(cgroup_id);
        if (owner == HN_EVO_NONE)
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        int deny = enforce && w.owner != HN_EVO_MANAGER && w.owner != owner;
        /* RI3: in an emergency pact may kill and freeze in workload.slice. */
        if (deny && type == HN_EV_CONTROL_OPEN && w.owner == HN_EVO_PACT && owner == HN_EVO_WORKLOAD &&
            emergency_on()) {
                char n[14] = {};
                bpf_probe_read_kernel_str(n, sizeof(n), name);
                if (name_is(n, "cgroup.kill", 12) || name_is(n, "cgroup.freeze", 14))
                        deny = 0;
        }
        barrier_var(deny);
        if (deny) {
                emit_for(&w, type, cgroup_id, (const char *)name, owner, 0, HN_EVF_DENIED | HN_EVF_NAME_ONLY,
                         HN_EVS_LSM);
                return -EPERM;
        }
        if (record_allowed)
                emit_for(&w, type, cgroup_id, (const char *)name, owner, 0, HN_EVF_NAME_ONLY, HN_EVS_LSM);
        return 0;
}

SEC("lsm/inode_mkdir")
int BPF_PROG(hn_lsm_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
        if (ret)
                return previous(ret);
        if (!on_cgroup2(dir))
                return 0;
        /* allowed mkdirs are recorded by tp_btf/cgroup_mkdir, with the path */
        return judge(HN_EV_CGROUP_MKDIR, cgroup_id_of_inode(dir), BPF_CORE_READ(dentry, d_name.name), false);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(hn_lsm_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
        if (ret)
                return previous(ret);
        if (!on_cgroup2(dir))
                return 0;
        return judge(HN_EV_CGROUP_RMDIR, cgroup_id_of_inode(BPF_CORE_READ(dentry, d_inode)),
                     BPF_CORE_READ(dentry, d_name.name), false);
}

/* Opening a control file for writing is the act: cgroup.procs moves
 * processes, cgroup.kill kills, memory.max limits. Reads never count. */
SEC("lsm/file_open")
int BPF_PROG(hn_lsm_file_open, struct file *file, int ret)
{
        if (ret)
                return previous(ret);
        if (!(BPF_CORE_READ(file, f_mode) & FMODE_WRITE))
                return 0;
        struct inode *inode = BPF_CORE_READ(file, f_inode);
        if (!on_cgroup2(inode))
                return 0;
        struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
        const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
        return judge(HN_EV_CONTROL_OPEN, cgroup_id_of_inode(BPF_CORE_READ(dentry, d_parent, d_inode)), name,
                     lsm_records_opens && !structural_file(name));
}

/* Attribution level "tracepoint": the same record from the exits of
 * open(2), openat(2) and openat2(2), after the open succeeded. Any syscall
 * tracepoint puts every syscall of every task on the kernel's slow path,
 * which is why this is a level the operator chooses. The cheapest test
 * goes first: most opens fail the write-mode check. */
static __always_inline int control_open_exit(long fd)
{
        if (fd < 0)
                return 0;
        /* Every open of every task comes here: direct loads through the
         * BTF task pointer, one helper call for the fd slot, one for the
         * mode, before anything is known to be ours. */
        struct task_struct *task = bpf_get_current_task_btf();
        struct fdtable *fdt = task->files->fdt;
        if ((unsigned long)fd >= fdt->max_fds)
                return 0;
        struct file *file = NULL;
        bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]);
        if (!file || !(BPF_CORE_READ(file, f_mode) & FMODE_WRITE) || !on_cgroup2(BPF_CORE_READ(file, f_inode)))
                return 0;
        struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
        const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
        __u64 cgroup_id = cgroup_id_of_inode(BPF_CORE_READ(dentry, d_parent, d_inode));
        __u8 owner = owner_lookup(cgroup_id);
        if (owner == HN_EVO_NONE || structural_file(name))
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        return emit_for(&w, HN_EV_CONTROL_OPEN, cgroup_id, (const char *)name, owner, 0, HN_EVF_NAME_ONLY,
                        HN_EVS_SYSCALL);
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

#include "mount_guard.bpf.h"
