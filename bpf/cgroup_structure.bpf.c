// SPDX-License-Identifier: GPL-2.0-only
/* The structure of both slices: mkdir, rmdir, freeze and populated
 * changes, attributed to the writer (tp_btf on the cgroup tracepoints
 * costs unrelated syscalls nothing), and mkdir/rmdir across slices denied
 * where BPF LSM runs. The slice roots' ids are kept current here, in the
 * kernel, when a slice root is removed or made again: no window opens in
 * which a new slice root has no owner. */
#include "emit.bpf.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline void record(__u32 type, struct cgroup *cg, const char *path, __u8 owner, __u32 value)
{
        struct hn_writer w;
        writer_identify(&w);
        struct act a = { .type = type, .cgroup_id = cgroup_id_of(cg), .path = path, .target_owner = owner,
                         .value = value, .source = HN_EVS_TP_BTF };
        /* populated changes are the kernel's doing, not a write */
        if (hn_event_class_of(type) == HN_EVC_CGROUP_ACT && !owns(&w, owner))
                a.flags |= HN_EVF_CROSS_SLICE;
        emit(&w, &a);
}

/* A child of the hierarchy root named like a slice is that slice's root. */
static __always_inline void slice_root_made(struct cgroup *cg)
{
        struct cgroup *parent = BPF_CORE_READ(cg, self.parent, cgroup);
        if (!hier_root_id || !parent || cgroup_id_of(parent) != hier_root_id)
                return;
        char name[16] = {};
        bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(cg, kn, name));
        __u8 owner = name_is(name, "pact.slice", 11)       ? HN_EVO_PACT
                     : name_is(name, "workload.slice", 15) ? HN_EVO_WORKLOAD
                                                           : HN_EVO_NONE;
        if (owner == HN_EVO_NONE)
                return;
        slice_root_id[owner] = cgroup_id_of(cg);
        slice_level = BPF_CORE_READ(cg, level);
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(hn_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
        if (BPF_CORE_READ(cgrp, root, hierarchy_id) != 0)
                return 0;
        slice_root_made(cgrp);
        __u8 owner = owner_of_cgroup(cgrp);
        if (owner != HN_EVO_NONE)
                record(HN_EV_CGROUP_MKDIR, cgrp, path, owner, 0);
        return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(hn_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
        __u8 owner = owner_of_cgroup(cgrp);
        if (owner == HN_EVO_NONE)
                return 0;
        record(HN_EV_CGROUP_RMDIR, cgrp, path, owner, 0);
        /* a slice root gone: nothing is in that slice until it is made again */
        __u64 id = cgroup_id_of(cgrp);
        if (slice_root_id[HN_EVO_PACT] == id)
                slice_root_id[HN_EVO_PACT] = 0;
        if (slice_root_id[HN_EVO_WORKLOAD] == id)
                slice_root_id[HN_EVO_WORKLOAD] = 0;
        return 0;
}

/* cgroup.freeze: the v2 freezer's tracepoints fire in the writer's context
 * (Linux 5.2+), whatever wrote the file (write, splice, io_uring). */
static __always_inline int freeze_event(struct cgroup *cgrp, const char *path, __u32 frozen)
{
        __u8 owner = owner_of_cgroup(cgrp);
        if (owner != HN_EVO_NONE)
                record(HN_EV_CGROUP_FREEZE, cgrp, path, owner, frozen);
        return 0;
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
        __u8 owner = owner_of_cgroup(cgrp);
        if (owner != HN_EVO_NONE)
                record(HN_EV_CGROUP_POPULATED, cgrp, path, owner, (__u32)val);
        return 0;
}

/* Denials (BPF LSM). Allowed mkdirs and rmdirs are recorded by the
 * tracepoints above, with the path. */
SEC("lsm/inode_mkdir")
int BPF_PROG(hn_lsm_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
        if (ret)
                return previous(ret);
        if (!on_cgroup2(dir))
                return 0;
        return judge_write(HN_EV_CGROUP_MKDIR, cgroup_of_dir_inode(dir), BPF_CORE_READ(dentry, d_name.name), false,
                           false);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(hn_lsm_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
        if (ret)
                return previous(ret);
        if (!on_cgroup2(dir))
                return 0;
        return judge_write(HN_EV_CGROUP_RMDIR, cgroup_of_dir_inode(BPF_CORE_READ(dentry, d_inode)),
                           BPF_CORE_READ(dentry, d_name.name), false, false);
}
