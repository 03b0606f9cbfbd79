// SPDX-License-Identifier: GPL-2.0-only
/* hpcnode's own state: its maps hold the slice roots, the identities, the
 * emergency flag and the held mounts, and a root stranger with bpftool
 * could rewrite any of them. With BPF LSM, opening one of them for writing
 * (by id, or from a pin) is refused to anyone but the manager and
 * recorded; reading them stays open. Without it the daemon checks them
 * against what it wrote, every tick (monitor_guard.c). */
#include "self_witness.bpf.h"

#define FMODE_WRITE 0x2

SEC("lsm/bpf_map")
int BPF_PROG(hn_lsm_bpf_map, struct bpf_map *map, fmode_t fmode, int ret)
{
        if (ret)
                return previous(ret);
        if (!(fmode & FMODE_WRITE) || !own_map(map->id))
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        if (w.owner == HN_EVO_MANAGER || manager_executable(&w))
                return 0;
        struct act a = { .type = HN_EV_GUARD_MAP, .path = map->name, .value = map->id, .source = HN_EVS_LSM,
                         .flags = HN_EVF_CROSS_SLICE };
        return verdict(&w, &a, true, true);
}

/* ---- Its programs and links. */

/* The links hpcnode makes (tracing, raw tracepoint, perf event) have no
 * detach or update in the kernels this builds for: a link taken by id
 * or from its pin ends only when its last reference goes, and the pins
 * and the daemon are guarded. What a bpf(2) command could still do with
 * one of them, or with one of the programs, is refused here: detach or
 * update it (should a kernel add that), pin it elsewhere (it would outlive
 * hpcnoded --unload), attach the program a second time (its records
 * twice), or run it on made-up input. Listing and reading them (bpftool)
 * stays open. The objects and the fds are own_objects.bpf.h's. */

/* security_bpf gained a fourth argument (kernel) in 6.13, before ret: the
 * program names the three every kernel has and leaves ret unread. A
 * program of an LSM hook runs only while the ones before it allowed
 * (the trampoline stops at the first refusal), so its ret is always 0. */
SEC("lsm/bpf")
int BPF_PROG(hn_lsm_bpf, int cmd, union bpf_attr *attr, unsigned int size)
{
        struct hn_writer w;
        struct act a;
        if (!foreign_bpf_command(cmd, attr, HN_EVS_LSM, &w, &a))
                return 0;
        return verdict(&w, &a, true, true);
}

/* ---- hpcnoded's files, its signals, its memory. */

#define FMODE_READ 0x1

static __always_inline __u8 own_file(struct inode *inode, struct hn_guard_file *key)
{
        if (!inode)
                return 0;
        *key = (struct hn_guard_file){ .dev = BPF_CORE_READ(inode, i_sb, s_dev), .ino = BPF_CORE_READ(inode, i_ino) };
        __u8 *g = bpf_map_lookup_elem(&own_files, key);
        return g ? *g : 0;
}

static __always_inline int judge_own_file(const struct hn_guard_file *key, const unsigned char *name, __u32 act_code)
{
        struct hn_writer w;
        writer_identify(&w);
        if (w.owner == HN_EVO_MANAGER || manager_executable(&w))
                return 0;
        struct act a = { .type = HN_EV_SELF_FILE, .cgroup_id = key->ino, .path = (const char *)name,
                         .value = act_code, .source = HN_EVS_LSM, .flags = HN_EVF_CROSS_SLICE };
        return verdict(&w, &a, true, true);
}

SEC("lsm/file_open")
int BPF_PROG(hn_lsm_self_file_open, struct file *file, int ret)
{
        if (ret)
                return previous(ret);
        struct hn_guard_file key;
        __u8 g = own_file(BPF_CORE_READ(file, f_inode), &key);
        if (!g)
                return 0;
        unsigned int mode = BPF_CORE_READ(file, f_mode);
        __u32 act = (g & HN_SELF_NO_WRITE) && (mode & FMODE_WRITE) ? HN_SELF_ACT_WRITE
                    : (g & HN_SELF_NO_READ) && (mode & FMODE_READ) ? HN_SELF_ACT_READ
                                                                    : 0;
        if (!act)
                return 0;
        return judge_own_file(&key, BPF_CORE_READ(file, f_path.dentry, d_name.name), act);
}

static __always_inline int judge_removal(struct dentry *dentry)
{
        struct hn_guard_file key;
        __u8 g = own_file(BPF_CORE_READ(dentry, d_inode), &key);
        if (!(g & HN_SELF_NO_UNLINK))
                return 0;
        return judge_own_file(&key, BPF_CORE_READ(dentry, d_name.name), HN_SELF_ACT_UNLINK);
}

SEC("lsm/inode_unlink")
int BPF_PROG(hn_lsm_self_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
        if (ret)
                return previous(ret);
        return judge_removal(dentry);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(hn_lsm_self_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
        if (ret)
                return previous(ret);
        return judge_removal(dentry);
}

SEC("lsm/inode_rename")
int BPF_PROG(hn_lsm_self_rename, struct inode *old_dir, struct dentry *old_dentry, struct inode *new_dir,
             struct dentry *new_dentry, int ret)
{
        if (ret)
                return previous(ret);
        struct hn_guard_file key;
        __u8 g = own_file(BPF_CORE_READ(old_dentry, d_inode), &key);
        if (g & HN_SELF_NO_RENAME)
                return judge_own_file(&key, BPF_CORE_READ(old_dentry, d_name.name), HN_SELF_ACT_RENAME);
        return judge_removal(new_dentry); /* replacing one of them */
}

/* Signals to hpcnoded: from itself and from whoever started it (PID 1,
 * the service manager, under systemd) only; signal 0 (is it alive) from
 * anyone. Kernel-generated signals never reach this hook; the parent's
 * death signal (prctl PR_SET_PDEATHSIG) does, sent by the exiting parent
 * after the child was already handed to its new reaper: a sender that is
 * exiting sends nothing else. */
SEC("lsm/task_kill")
int BPF_PROG(hn_lsm_self_kill, struct task_struct *p, struct kernel_siginfo *info, int sig, const struct cred *cred,
             int ret)
{
        if (ret)
                return previous(ret);
        if (!sig || !stranger_signals_manager(p))
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        struct act a = { .type = HN_EV_SELF_SIGNAL, .value = sig, .source = HN_EVS_LSM,
                         .flags = HN_EVF_CROSS_SLICE | (is_helper(p) ? HN_EVF_HELPER : 0) };
        return verdict(&w, &a, true, true);
}

/* ptrace, /proc/PID/mem, process_vm_readv/writev of hpcnoded or its
 * helper: nobody's.
 * Reading what /proc shows of it (PTRACE_MODE_READ: its namespaces, exe,
 * status) stays open to tools. */
SEC("lsm/ptrace_access_check")
int BPF_PROG(hn_lsm_self_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
        if (ret)
                return previous(ret);
        if (!(mode & PTRACE_MODE_ATTACH))
                return 0;
        __u32 target = BPF_CORE_READ(child, tgid), me = bpf_get_current_pid_tgid() >> 32;
        bool helper = is_helper(child);
        if (!(manager_ktgid && target == manager_ktgid) && !helper)
                return 0;
        if (me == manager_ktgid)
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        struct act a = { .type = HN_EV_SELF_PTRACE, .value = mode, .source = HN_EVS_LSM,
                         .flags = HN_EVF_CROSS_SLICE | (helper ? HN_EVF_HELPER : 0) };
        return verdict(&w, &a, true, true);
}
