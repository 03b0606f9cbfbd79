/* SPDX-License-Identifier: GPL-2.0-only */
/* The self guard without BPF LSM (audit mode): who signalled, traced or
 * opened hpcnoded's files, recorded from tracepoints after the act. With
 * BPF LSM the self guard's own hooks record (and may refuse) the same acts
 * before them, and these stay quiet (no second record). */
#ifndef HN_SELF_WITNESS_BPF_H
#define HN_SELF_WITNESS_BPF_H

#include "compat.bpf.h"
#include "emit.bpf.h"
#include "own_objects.bpf.h"

#define PF_EXITING 0x00000004
#define PTRACE_MODE_ATTACH 0x02
#define PROC_SUPER_MAGIC 0x9fa0

/* hpcnoded's own executable run as root: the manager to come (a restart
 * adopting the pinned maps) or hpcnoded --unload. */
static __always_inline bool manager_executable(const struct hn_writer *w)
{
        return w->manager_exe;
}

/* A bpf(2) command (attr as the kernel reads it) on one of hpcnode's
 * objects by anyone but hpcnoded: true, with the writer and the act. The
 * lsm/bpf hook judges it, the sys_enter_bpf witness records it. */
static __always_inline bool foreign_bpf_command(int cmd, union bpf_attr *attr, __u8 source, struct hn_writer *w,
                                                struct act *a)
{
        long fd = command_fd(cmd, attr);
        if (fd < 0)
                return false;
        __u32 kind = 0, id = bpf_object_of_fd(fd, &kind);
        if (!id || !own_object(kind, id))
                return false;
        writer_identify(w);
        if (w->owner == HN_EVO_MANAGER || manager_executable(w))
                return false;
        *a = bpf_command_act(kind, id, cmd, source);
        return true;
}

/* The process a struct pid names (its thread's process): a kernel object,
 * whichever namespace numbered it. */
static __always_inline __u32 tgid_of_pid(struct pid *pid)
{
        struct hlist_node *first = BPF_CORE_READ(pid, tasks[0].first); /* PIDTYPE_PID */
        if (!first)
                return 0;
        struct task_struct *t = (void *)first - bpf_core_field_offset(struct task_struct, pid_links);
        return BPF_CORE_READ(t, tgid);
}

/* Is the task the manager's helper (its keeper)? Its tgid, in its leaf:
 * the cgroup nobody but the manager may move a task into or out of, so a
 * process that got the pid after the keeper died is not taken for it. */
static __always_inline bool is_helper(struct task_struct *t)
{
        return helper_ktgid && manager_leaf_id && (__u32)BPF_CORE_READ(t, tgid) == helper_ktgid &&
               cgroup_id_of(task_cgroup(t)) == manager_leaf_id;
}

/* A signal to hpcnoded or its helper that is a stranger's: from neither
 * hpcnoded nor the target's parent (whoever started it: the service
 * manager), nor the parent's death signal (sent by the exiting parent).
 * The helper may also be signalled by PID 1: systemd stopping its scope
 * (its parent is hpcnoded until hpcnoded restarts). The self guard's rule,
 * both sides. */
static __always_inline bool stranger_signals_manager(struct task_struct *target)
{
        __u32 me = bpf_get_current_pid_tgid() >> 32, tgid = BPF_CORE_READ(target, tgid);
        struct task_struct *current = (struct task_struct *)bpf_get_current_task();
        bool helper = is_helper(target);
        if (!(manager_ktgid && tgid == manager_ktgid) && !helper)
                return false;
        return me != manager_ktgid && !(helper && me == 1) && me != (__u32)BPF_CORE_READ(target, real_parent, tgid) &&
               !(BPF_CORE_READ(current, flags) & PF_EXITING);
}

static __always_inline void self_record_about(__u32 type, __u32 value, __u8 source, __u64 how, bool helper)
{
        struct hn_writer w;
        writer_identify(&w);
        if (w.owner == HN_EVO_MANAGER)
                return;
        struct act a = { .type = type, .value = value, .source = source, .other_cgroup_id = how,
                         .flags = HN_EVF_CROSS_SLICE | (helper ? HN_EVF_HELPER : 0) };
        emit(&w, &a);
}

static __always_inline void self_record(__u32 type, __u32 value, __u8 source, __u64 how)
{
        self_record_about(type, value, source, how, false);
}

static __always_inline void self_trace_record(__u8 source, __u64 how)
{
        self_record(HN_EV_SELF_PTRACE, PTRACE_MODE_ATTACH, source, how);
}

/* From signal_generate: a signal a process sent (kill, tgkill, sigqueue,
 * pidfd_send_signal: a siginfo whose code is the sender's, <= 0), or the
 * stop PTRACE_ATTACH sends (SIGSTOP, SEND_SIG_PRIV). Kernel signals (a
 * child's SIGCHLD, a fault) carry codes > 0 and are nobody's act. */
static __always_inline void self_signal_witness(int sig, __u64 info_raw, struct kernel_siginfo *info,
                                                struct task_struct *target)
{
        if (self_guard_lsm || !stranger_signals_manager(target))
                return;
        bool helper = is_helper(target);
        if (info_raw == 1) {
                if (sig == 19 /* SIGSTOP */)
                        self_record_about(HN_EV_SELF_PTRACE, PTRACE_MODE_ATTACH, HN_EVS_TP_BTF,
                                          HN_SELF_TRACE_ATTACH_STOP, helper);
                return;
        }
        if (info_raw && BPF_CORE_READ(info, si_code) <= 0)
                self_record_about(HN_EV_SELF_SIGNAL, sig, HN_EVS_TP_BTF, 0, helper);
}

/* The file is hpcnoded's memory: /proc/PID/mem (or a thread's) of it. */
static __always_inline bool manager_mem_file(struct inode *inode, struct dentry *dentry)
{
        if (!manager_ktgid || BPF_CORE_READ(inode, i_sb, s_magic) != PROC_SUPER_MAGIC)
                return false;
        char name[4] = {};
        bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(dentry, d_name.name));
        if (!name_is(name, "mem", 4))
                return false;
        struct pid *pid;
        void *pi = (void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);
        if (bpf_probe_read_kernel(&pid, sizeof(pid), pi + bpf_core_field_offset(struct proc_inode, pid)))
                return false;
        return tgid_of_pid(pid) == manager_ktgid;
}

/* From the open exits (attribution level tracepoint): one of hpcnoded's
 * files opened against its protection, or its memory opened. The cheap
 * tests first: a read-mode open is looked at only for the key's inode (or
 * procfs), a write-mode one in the own-files map. */
static __always_inline void self_open_witness(struct file *file, struct inode *inode, unsigned int mode)
{
        if (self_guard_lsm)
                return;
        struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
        if (manager_mem_file(inode, dentry)) {
                self_trace_record(HN_EVS_SYSCALL, HN_SELF_TRACE_MEM);
                return;
        }
        __u64 ino = BPF_CORE_READ(inode, i_ino);
        if (!(mode & 0x2 /* FMODE_WRITE */) && ino != own_secret_ino)
                return;
        struct hn_guard_file key = { .dev = BPF_CORE_READ(inode, i_sb, s_dev), .ino = ino };
        __u8 *g = bpf_map_lookup_elem(&own_files, &key);
        __u32 act = !g                                                         ? 0
                    : (*g & HN_SELF_NO_WRITE) && (mode & 0x2 /* FMODE_WRITE */) ? HN_SELF_ACT_WRITE
                    : (*g & HN_SELF_NO_READ) && (mode & 0x1 /* FMODE_READ */)   ? HN_SELF_ACT_READ
                                                                                : 0;
        if (!act)
                return;
        struct hn_writer w;
        writer_identify(&w);
        if (w.owner == HN_EVO_MANAGER)
                return;
        struct act a = { .type = HN_EV_SELF_FILE, .cgroup_id = ino, .path = (const char *)BPF_CORE_READ(dentry, d_name.name),
                         .value = act, .source = HN_EVS_SYSCALL, .flags = HN_EVF_CROSS_SLICE };
        emit(&w, &a);
}

#endif
