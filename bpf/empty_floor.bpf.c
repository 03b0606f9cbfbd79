// SPDX-License-Identifier: GPL-2.0-only
/* The floor for tests/bench/hook_overhead: programs that do nothing, on
 * the same hooks as hpcnode's programs. What the watcher costs above this
 * is ours; this much is the kernel's price for attaching anything. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(floor_mkdir, struct cgroup *cgrp, const char *path) { return 0; }
SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(floor_rmdir, struct cgroup *cgrp, const char *path) { return 0; }
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(floor_attach, struct cgroup *dst, const char *path, struct task_struct *task, bool tg) { return 0; }
SEC("tp_btf/cgroup_freeze")
int BPF_PROG(floor_freeze, struct cgroup *cgrp, const char *path) { return 0; }
SEC("tp_btf/cgroup_unfreeze")
int BPF_PROG(floor_unfreeze, struct cgroup *cgrp, const char *path) { return 0; }
SEC("tp_btf/cgroup_notify_populated")
int BPF_PROG(floor_populated, struct cgroup *cgrp, const char *path, int val) { return 0; }
SEC("tp_btf/sched_process_exec")
int BPF_PROG(floor_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) { return 0; }
SEC("tp_btf/task_newtask")
int BPF_PROG(floor_newtask, struct task_struct *task, __u64 clone_flags) { return 0; }
SEC("tp_btf/signal_generate")
int BPF_PROG(floor_signal, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{
        return 0;
}

/* Level tracepoint's floor: the syscall exits, attached by the bench. */
SEC("tracepoint/syscalls/sys_exit_openat")
int floor_exit_openat(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_openat2")
int floor_exit_openat2(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_open")
int floor_exit_open(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_creat")
int floor_exit_creat(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_open_by_handle_at")
int floor_exit_open_by_handle_at(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_ioctl")
int floor_enter_ioctl(void *ctx) { return 0; }

/* Level lsm's floor (BPF LSM kernels only). */
SEC("lsm/inode_mkdir")
int BPF_PROG(floor_lsm_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode, int ret) { return 0; }
SEC("lsm/inode_rmdir")
int BPF_PROG(floor_lsm_rmdir, struct inode *dir, struct dentry *dentry, int ret) { return 0; }
SEC("lsm/file_open")
int BPF_PROG(floor_lsm_file_open, struct file *file, int ret) { return 0; }
SEC("lsm/file_permission")
int BPF_PROG(floor_lsm_file_permission, struct file *file, int mask, int ret) { return 0; }
SEC("lsm/inode_permission")
int BPF_PROG(floor_lsm_inode_permission, struct inode *inode, int mask, int ret) { return 0; }
SEC("lsm/inode_setxattr")
int BPF_PROG(floor_lsm_setxattr, void *idmap, struct dentry *dentry, const char *name, const void *value,
             size_t size, int flags, int ret) { return 0; }
SEC("lsm/inode_removexattr")
int BPF_PROG(floor_lsm_removexattr, void *idmap, struct dentry *dentry, const char *name, int ret) { return 0; }
SEC("lsm/file_ioctl")
int BPF_PROG(floor_lsm_file_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret) { return 0; }
