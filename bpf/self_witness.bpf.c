// SPDX-License-Identifier: GPL-2.0-only
/* The self guard without BPF LSM: ptrace of hpcnoded, and the calls that
 * read or write its memory or take its fds, as they enter (attribution
 * level tracepoint). Signals, PTRACE_ATTACH's stop, and opens of its files
 * and /proc/PID/mem are seen by signal_generate and the open exits
 * (self_witness.bpf.h). */
#include "self_witness.bpf.h"

#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206

/* A pid number the caller gave names hpcnoded's process: read in the
 * caller's PID namespace (the initial one, or the manager's own). A thread
 * id of it is not matched here: PTRACE_ATTACH of any of its threads is
 * seen by its stop signal, an open of a thread's mem by the open exits. */
static __always_inline bool names_manager(__u32 nr)
{
        if (!manager_ktgid || !nr)
                return false;
        struct task_struct *cur = current_task();
        if (BPF_CORE_READ(cur, thread_pid, level) == 0)
                return nr == manager_ktgid;
        struct bpf_pidns_info ns;
        return manager_pidns_ino && nr == manager_tgid &&
               !bpf_get_ns_current_pid_tgid(manager_pidns_dev, manager_pidns_ino, &ns, sizeof(ns));
}

SEC("tracepoint/syscalls/sys_enter_ptrace")
int hn_sys_enter_ptrace(struct trace_event_raw_sys_enter *ctx)
{
        long request = ctx->args[0];
        if (self_guard_lsm || (request != PTRACE_ATTACH && request != PTRACE_SEIZE) || !names_manager(ctx->args[1]))
                return 0;
        self_trace_record(HN_EVS_SYSCALL, HN_SELF_TRACE_PTRACE);
        return 0;
}

static __always_inline int vm_access(long pid)
{
        if (!self_guard_lsm && names_manager(pid))
                self_trace_record(HN_EVS_SYSCALL, HN_SELF_TRACE_VM);
        return 0;
}

SEC("tracepoint/syscalls/sys_enter_process_vm_readv")
int hn_sys_enter_process_vm_readv(struct trace_event_raw_sys_enter *ctx)
{
        return vm_access(ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_enter_process_vm_writev")
int hn_sys_enter_process_vm_writev(struct trace_event_raw_sys_enter *ctx)
{
        return vm_access(ctx->args[0]);
}

#define PID_FS_MAGIC 0x50494446

/* The struct pid a pidfd names: pidfs keeps it in the inode (6.9 on),
 * before that the anonymous "[pidfd]" file held it. NULL for any other file. */
static __always_inline struct pid *pid_of_pidfd(struct file *file)
{
        struct inode *inode = BPF_CORE_READ(file, f_inode);
        unsigned long magic = BPF_CORE_READ(inode, i_sb, s_magic);
        if (magic == PID_FS_MAGIC)
                return BPF_CORE_READ(inode, i_private);
        char name[8] = {};
        if (magic != ANON_INODE_FS_MAGIC ||
            bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(file, f_path.dentry, d_name.name)) < 0 ||
            !name_is(name, "[pidfd]", 8))
                return NULL;
        return BPF_CORE_READ(file, private_data);
}

/* pidfd_getfd: the pidfd's struct pid, so any thread's pidfd is seen. */
SEC("tracepoint/syscalls/sys_enter_pidfd_getfd")
int hn_sys_enter_pidfd_getfd(struct trace_event_raw_sys_enter *ctx)
{
        if (self_guard_lsm || !manager_ktgid)
                return 0;
        struct file *file = current_file(ctx->args[0]);
        struct pid *pid = file ? pid_of_pidfd(file) : NULL;
        if (pid && tgid_of_pid(pid) == manager_ktgid)
                self_trace_record(HN_EVS_SYSCALL, HN_SELF_TRACE_GETFD);
        return 0;
}

/* bpf(2) naming one of hpcnode's objects in a command that would change
 * what runs or where it stays: the lsm/bpf hook's judgement, recorded as
 * the call enters. The fields read are in the attr's first 16 bytes. */
SEC("tracepoint/syscalls/sys_enter_bpf")
int hn_sys_enter_bpf(struct trace_event_raw_sys_enter *ctx)
{
        if (self_guard_lsm)
                return 0;
        int cmd = ctx->args[0];
        union bpf_attr attr;
        __builtin_memset(&attr, 0, sizeof(attr));
        if (command_fd(cmd, &attr) < 0) /* not a command it watches: user memory left unread */
                return 0;
        struct hn_writer w;
        struct act a;
        if (bpf_probe_read_user(&attr, 16, (void *)ctx->args[1]) == 0 &&
            foreign_bpf_command(cmd, &attr, HN_EVS_SYSCALL, &w, &a))
                emit(&w, &a);
        return 0;
}
