/* SPDX-License-Identifier: GPL-2.0-only */
/* Who is writing: resolved in the kernel from configuration the loader
 * puts in these maps before attaching. Shared by every watcher. */
#ifndef HN_IDENTITY_BPF_H
#define HN_IDENTITY_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include <hpcnode/event.h>

#define HN_IDENTITY_MAX_LEVELS 16

/* Set through the skeleton's rodata before load. */
const volatile __u32 manager_tgid = 0;
/* Entries in identity_cgroup, kept by the loader (.bss): with none, the
 * ancestor walk is skipped. */
__u32 identity_cgroup_count = 0;

/* Per owner, sets of executables, uids and cgroup subtrees. */
struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 256);
        __type(key, struct hn_exe_key);
        __type(value, __u8);
} identity_exe SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 256);
        __type(key, __u32);
        __type(value, __u8);
} identity_uid SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 256);
        __type(key, __u64);
        __type(value, __u8);
} identity_cgroup SEC(".maps");

struct hn_writer {
        __u32 pid, tgid, uid;
        __u64 cgroup_id;
        struct hn_exe_key exe;
        __u8 owner;
};

/* Most specific first: the manager, then the executable, then the cgroup
 * subtree the writer runs in (nearest configured ancestor), then the uid. */
static __always_inline void writer_identify(struct hn_writer *w)
{
        struct task_struct *task = (struct task_struct *)bpf_get_current_task();
        __u64 pid_tgid = bpf_get_current_pid_tgid();
        __u8 *owner;

        w->pid = (__u32)pid_tgid;
        w->tgid = pid_tgid >> 32;
        w->uid = (__u32)bpf_get_current_uid_gid();
        w->cgroup_id = bpf_get_current_cgroup_id();
        w->exe.ino = BPF_CORE_READ(task, mm, exe_file, f_inode, i_ino);
        w->exe.dev = BPF_CORE_READ(task, mm, exe_file, f_inode, i_sb, s_dev);
        w->exe.pad = 0;
        w->owner = HN_EVO_NONE;

        if (manager_tgid && w->tgid == manager_tgid) {
                w->owner = HN_EVO_MANAGER;
                return;
        }
        owner = bpf_map_lookup_elem(&identity_exe, &w->exe);
        if (owner) {
                w->owner = *owner;
                return;
        }
        /* only the levels the writer's cgroup has: no helper call for the
         * others */
        int depth = identity_cgroup_count ? BPF_CORE_READ(task, cgroups, dfl_cgrp, level) : -1;
        for (int level = HN_IDENTITY_MAX_LEVELS - 1; level >= 0; level--) {
                if (level > depth)
                        continue;
                __u64 id = bpf_get_current_ancestor_cgroup_id(level);
                if (!id)
                        continue;
                owner = bpf_map_lookup_elem(&identity_cgroup, &id);
                if (owner) {
                        w->owner = *owner;
                        return;
                }
        }
        owner = bpf_map_lookup_elem(&identity_uid, &w->uid);
        if (owner)
                w->owner = *owner;
}

#endif
