// SPDX-License-Identifier: GPL-2.0-only
/* Tasks placed into, out of and between the slices and the agents'
 * identity subtrees: by a write to cgroup.procs or cgroup.threads
 * (recorded once it happened, by tp_btf/cgroup_attach_task, whatever wrote
 * the file; denied before, in control_guard), and by clone3
 * CLONE_INTO_CGROUP (denied here, where the kernel asks for write access to
 * the destination's cgroup.procs; recorded when the child exists). Every
 * task in a slice carries a mark of where it was last seen, so a move out
 * of a slice, which the kernel reports once the task has left, still names
 * the slice it left. */
#include "placement.bpf.h"

#define CLONE_THREAD 0x00010000ull
#define CLONE_INTO_CGROUP 0x200000000ull
#define MAY_WRITE 0x2

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(hn_cgroup_attach_task, struct cgroup *dst, const char *path, struct task_struct *task, bool threadgroup)
{
        if (BPF_CORE_READ(dst, root, hierarchy_id) != 0)
                return 0;
        struct ends e = {};
        ends_to(&e, dst);
        struct placement_mark *was = placement_get(task);
        if (was) {
                e.src_owner = was->owner;
                e.src_id = was->cgroup_id;
        }
        if (threadgroup || BPF_CORE_READ(task, pid) == BPF_CORE_READ(task, tgid))
                mark_set(task, dst, e.dst_owner);
        if (!ends_matter(&e))
                return 0;
        /* This runs once the move is done: a process that moved itself is
         * where it put itself, and is judged by what it is (executable,
         * uid), not by the Cgroup= identity it may just have taken. */
        bool self = BPF_CORE_READ(task, tgid) == (__u32)(bpf_get_current_pid_tgid() >> 32);
        struct hn_writer w;
        writer_identify_as(&w, !self);
        /* a move within or into the identity subtree by its own agent alone
         * is not an act on a slice */
        if (e.dst_owner == HN_EVO_NONE && e.src_owner == HN_EVO_NONE && !ends_cross(&w, &e))
                return 0;
        struct act a;
        ends_act(&a, &e, &w, HN_EV_CGROUP_ATTACH, path, BPF_CORE_READ(task, tgid), HN_EVS_TP_BTF);
        emit(&w, &a);
        return 0;
}

/* Every new task: a child inherits its parent's place (and its mark); one
 * started elsewhere by CLONE_INTO_CGROUP is a placement by its parent. */
SEC("tp_btf/task_newtask")
int BPF_PROG(hn_task_newtask, struct task_struct *task, __u64 clone_flags)
{
        struct cgroup *cg = task_cgroup(task);
        if (!(clone_flags & CLONE_INTO_CGROUP)) {
                if (!(clone_flags & CLONE_THREAD)) {
                        __u8 owner = owner_of_cgroup(cg);
                        if (owner != HN_EVO_NONE)
                                mark_set(task, cg, owner);
                }
                return 0;
        }
        struct cgroup *parent_cg = task_cgroup(current_task());
        struct ends e = {};
        ends_to(&e, cg);
        ends_from(&e, parent_cg);
        if (!(clone_flags & CLONE_THREAD))
                mark_set(task, cg, e.dst_owner);
        if (e.dst_id == cgroup_id_of(parent_cg) || !ends_matter(&e))
                return 0; /* started where its parent runs: no placement */
        struct hn_writer w;
        writer_identify(&w);
        if (e.dst_owner == HN_EVO_NONE && e.src_owner == HN_EVO_NONE && !ends_cross(&w, &e))
                return 0;
        struct act a;
        ends_act(&a, &e, &w, HN_EV_CGROUP_CLONE_INTO, "", BPF_CORE_READ(task, pid), HN_EVS_TP_BTF);
        a.flags |= HN_EVF_NAME_ONLY;
        emit(&w, &a);
        return 0;
}

/* The compat object's per-task maps are emptied of a task as it is freed
 * (compat.bpf.h). Loaded with that object alone: task storage goes with
 * the task by itself. */
SEC("tp_btf/sched_process_free")
int BPF_PROG(hn_task_free, struct task_struct *task)
{
#ifdef HN_BPF_COMPAT
        placement_delete(task);
        opener_take(task);
#endif
        return 0;
}

/* Marks the tasks already in a slice when the programs start, once, after
 * they are attached: a mark the tracepoints wrote meanwhile is newer and
 * kept. Leaders only: a process moves as its leader. */
SEC("iter/task")
int hn_seed_placement(struct bpf_iter__task *ctx)
{
        struct task_struct *task = ctx->task;
        /* read by the manager alone: its kernel tgid and its executable as
         * the programs see it (on overlayfs stat(2) shows another inode
         * number than the kernel's file), for the self guard */
        manager_ktgid = bpf_get_current_pid_tgid() >> 32;
        struct task_struct *me = (struct task_struct *)bpf_get_current_task();
        manager_exe_ino = BPF_CORE_READ(me, mm, exe_file, f_inode, i_ino);
        manager_exe_dev = BPF_CORE_READ(me, mm, exe_file, f_inode, i_sb, s_dev);
        if (!task || task->pid != task->tgid)
                return 0;
        if (placement_get(task))
                return 0;
        struct cgroup *cg = task_cgroup(task);
        __u8 owner = owner_of_cgroup(cg);
        if (owner != HN_EVO_NONE)
                mark_set(task, cg, owner);
        return 0;
}

/* kernfs_node->parent became __parent in 6.15. Both flavours are named
 * here, so the code builds against a vmlinux.h of either side (arm64's
 * comes from a 6.12 kernel, x86's from a 6.18 one). */
struct kernfs_node___parent {
        struct kernfs_node *parent;
} __attribute__((preserve_access_index));

struct kernfs_node___dunder_parent {
        struct kernfs_node *__parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
        if (bpf_core_field_exists(struct kernfs_node___parent, parent))
                return BPF_CORE_READ((struct kernfs_node___parent *)kn, parent);
        return BPF_CORE_READ((struct kernfs_node___dunder_parent *)kn, __parent);
}

/* clone3(CLONE_INTO_CGROUP) asks inode_permission(MAY_WRITE) on the
 * destination's cgroup.procs (cgroup_css_set_fork), then on the common
 * ancestor's, which names no new end. Outside clone3 an open for writing
 * asks it too: file_open judges that. */
SEC("lsm/inode_permission")
int BPF_PROG(hn_lsm_inode_permission, struct inode *inode, int mask, int ret)
{
        if (ret)
                return previous(ret);
        if (!(mask & MAY_WRITE) || inode->i_sb->s_magic != CGROUP2_SUPER_MAGIC)
                return 0;
        if (in_io_worker() || current_syscall() != HN_NR_CLONE3)
                return 0;
        struct kernfs_node *kn = BPF_CORE_READ(inode, i_private);
        char name[16] = {};
        bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(kn, name));
        if (!name_is(name, "cgroup.procs", 13))
                return 0;
        struct kernfs_node *dir = kn_parent(kn);
        struct cgroup *dst = dir ? (struct cgroup *)BPF_CORE_READ(dir, priv) : NULL;
        if (!dst)
                return 0;
        struct cgroup *here = task_cgroup(current_task());
        struct ends e = {};
        ends_to(&e, dst);
        ends_from(&e, here);
        if (e.dst_id == cgroup_id_of(here) || !ends_matter(&e))
                return 0; /* a child where its parent runs is no placement */
        struct hn_writer w;
        writer_identify(&w);
        if (!ends_cross(&w, &e))
                return 0;
        struct act a;
        ends_act(&a, &e, &w, HN_EV_CGROUP_CLONE_INTO, "", 0, HN_EVS_LSM);
        a.flags |= HN_EVF_NAME_ONLY;
        return verdict(&w, &a, true, false);
}
