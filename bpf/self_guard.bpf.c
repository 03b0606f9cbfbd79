// SPDX-License-Identifier: GPL-2.0-only
/* hpcnode's own state: its maps hold the slice roots, the identities, the
 * emergency flag and the held mounts, and a root stranger with bpftool
 * could rewrite any of them. With BPF LSM, opening one of them for writing
 * (by id, or from a pin) is refused to anyone but the manager and
 * recorded; reading them stays open. Without it the daemon checks them
 * against what it wrote, every tick (monitor_guard.c). */
#include "emit.bpf.h"

#define FMODE_WRITE 0x2

/* hpcnoded's own executable run as root: the manager to come (a restart
 * adopting the pinned maps) or hpcnoded --unload. */
static __always_inline bool manager_executable(const struct hn_writer *w)
{
        return manager_exe_ino && w->exe.ino == manager_exe_ino && w->exe.dev == manager_exe_dev && w->uid == 0;
}

static __always_inline bool own_map(__u32 id)
{
        for (int i = 0; i < HN_OWN_MAPS; i++) {
                if (!own_map_ids[i])
                        return false;
                if (own_map_ids[i] == id)
                        return true;
        }
        return false;
}

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

#define PF_EXITING 0x00000004

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
        __u32 target = BPF_CORE_READ(p, tgid), me = bpf_get_current_pid_tgid() >> 32;
        struct task_struct *current = (struct task_struct *)bpf_get_current_task();
        if (!sig || !manager_ktgid || target != manager_ktgid || me == manager_ktgid ||
            me == (__u32)BPF_CORE_READ(p, real_parent, tgid) || (BPF_CORE_READ(current, flags) & PF_EXITING))
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        struct act a = { .type = HN_EV_SELF_SIGNAL, .value = sig, .source = HN_EVS_LSM, .flags = HN_EVF_CROSS_SLICE };
        return verdict(&w, &a, true, true);
}

#define PTRACE_MODE_ATTACH 0x02

/* ptrace, /proc/PID/mem, process_vm_readv/writev of hpcnoded: nobody's.
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
        if (!manager_ktgid || target != manager_ktgid || me == manager_ktgid)
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        struct act a = { .type = HN_EV_SELF_PTRACE, .value = mode, .source = HN_EVS_LSM, .flags = HN_EVF_CROSS_SLICE };
        return verdict(&w, &a, true, true);
}
