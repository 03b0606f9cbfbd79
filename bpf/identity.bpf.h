/* SPDX-License-Identifier: GPL-2.0-only */
/* Who is writing: resolved in the kernel from configuration the loader
 * puts in these maps before attaching. Shared by every watcher. */
#ifndef HN_IDENTITY_BPF_H
#define HN_IDENTITY_BPF_H

#include "compat.bpf.h"

#define HN_IDENTITY_MAX_LEVELS 16

struct hn_writer {
        __u32 pid, tgid, uid;
        __u64 cgroup_id;
        struct hn_exe_key exe;
        __u8 owner;
        __u8 manager_exe; /* hpcnoded's own executable, run as root */
};

/* The writer is hpcnoded: its tgid in the manager's PID namespace is the
 * manager's (a writer in any other namespace is not it). */
static __always_inline bool writer_is_manager(__u32 tgid)
{
        struct bpf_pidns_info ns;

        if (!manager_tgid)
                return false;
        if (!manager_pidns_ino)
                return tgid == manager_tgid;
        if (bpf_get_ns_current_pid_tgid(manager_pidns_dev, manager_pidns_ino, &ns, sizeof(ns)))
                return false;
        return ns.tgid == manager_tgid;
}

/* Most specific first: the manager, then the executable run by its uid, then the cgroup
 * subtree the writer runs in (nearest configured ancestor; not asked when
 * by_cgroup is false), then the uid. The body of hn_writer_identify. */
static __always_inline void writer_identify_body(struct hn_writer *w, bool by_cgroup)
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
        w->manager_exe = manager_exe_ino && w->exe.ino == manager_exe_ino && w->exe.dev == manager_exe_dev &&
                         w->uid == 0;

        if (writer_is_manager(w->tgid)) {
                w->owner = HN_EVO_MANAGER;
                return;
        }
        struct hn_exe_identity_key exe_id = { .ino = w->exe.ino, .dev = w->exe.dev, .uid = w->uid };
        owner = bpf_map_lookup_elem(&identity_exe, &exe_id);
        if (owner) {
                w->owner = *owner;
                return;
        }
        /* only the levels the writer's cgroup has: no helper call for the
         * others */
        int top = identity_cgroup_count && by_cgroup ? BPF_CORE_READ(task, cgroups, dfl_cgrp, level) : -1;
        if (top >= HN_IDENTITY_MAX_LEVELS)
                top = HN_IDENTITY_MAX_LEVELS - 1;
        /* nearest first, leaving by break (one path per level for the
         * verifier, not one per level skipped) */
        for (int i = 0; i < HN_IDENTITY_MAX_LEVELS; i++) {
                int level = top - i;
                if (level < 0)
                        break;
                __u64 id = current_ancestor_cgroup_id(level);
                if (!id)
                        continue;
                owner = bpf_map_lookup_elem(&identity_cgroup, &id);
                if (owner) {
                        w->owner = *owner;
                        return;
                }
        }
        __u32 uid = w->uid; /* a key on the stack: 6.1 takes no other memory as a map key */
        owner = bpf_map_lookup_elem(&identity_uid, &uid);
        if (owner)
                w->owner = *owner;
}

/* The writer, found once by a global function (emit.bpf.h): the
 * verifier checks it on its own, once per program, instead of once per
 * path through every program that asks. What the caller decides on (the
 * owner, whether it is hpcnoded's executable) comes back as the function's
 * value, so the caller's verifier state never rests on what it knew of w
 * before the call: a global function's writes to the caller's stack are
 * not followed by every kernel's verifier. The rest of w is only read by
 * hn_emit. Returns owner | manager_exe << 8. */
HN_SHARED_FN int hn_writer_identify(struct hn_writer *w, int by_cgroup);

static __always_inline void writer_identify_as(struct hn_writer *w, bool by_cgroup)
{
        int r = hn_writer_identify(w, by_cgroup);
        w->owner = r & 0xff;
        w->manager_exe = (r >> 8) & 1;
}

static __always_inline void writer_identify(struct hn_writer *w)
{
        writer_identify_as(w, true);
}

#endif
