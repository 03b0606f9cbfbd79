/* SPDX-License-Identifier: GPL-2.0-only */
/* Who owns a cgroup, decided from the cgroup itself: its ancestry. The
 * kernel keeps every cgroup's ancestors (cgroup->ancestors[] since 6.2 and
 * in Debian's 6.1, ->ancestor_ids[] before); a cgroup is in a slice when
 * that slice's root is among them. Nothing per cgroup is kept anywhere, so
 * nothing can fill, be emptied or be edited into an allow. */
#ifndef HN_OWNERSHIP_BPF_H
#define HN_OWNERSHIP_BPF_H

#include "hpcnode.bpf.h"

/* Deeper than any slice layout; bounds the walks for the verifier. */
#define HN_MAX_LEVELS 32
#define CGROUP2_SUPER_MAGIC 0x63677270

/* Kernels before 6.2 (but Debian's 6.1, which has the backport) keep the
 * ancestors' ids instead of pointers. */
struct cgroup___ancestor_ids {
        u64 ancestor_ids[0];
} __attribute__((preserve_access_index));

static __always_inline __u64 cgroup_id_of(struct cgroup *cg)
{
        return BPF_CORE_READ(cg, kn, id);
}

static __always_inline __u64 ancestor_id(struct cgroup *cg, int level)
{
        if (level < 0 || level >= HN_MAX_LEVELS)
                return 0;
        if (bpf_core_field_exists(struct cgroup___ancestor_ids, ancestor_ids)) {
                struct cgroup___ancestor_ids *old = (void *)cg;
                __u64 id = 0;
                bpf_probe_read_kernel(&id, sizeof(id), &old->ancestor_ids[level]);
                return id;
        }
        struct cgroup *a = NULL;
        bpf_probe_read_kernel(&a, sizeof(a), &cg->ancestors[level]);
        return a ? cgroup_id_of(a) : 0;
}

static __always_inline __u8 slice_of_id(__u64 id)
{
        if (!id)
                return HN_EVO_NONE;
        if (id == slice_root_id[HN_EVO_PACT])
                return HN_EVO_PACT;
        if (id == slice_root_id[HN_EVO_WORKLOAD])
                return HN_EVO_WORKLOAD;
        if (manager_leaf_id && id == manager_leaf_id)
                return HN_EVO_MANAGER; /* its helper's leaf: nobody else's to write */
        return HN_EVO_NONE;
}

/* The decisions proper are global functions (ownership.bpf.c): the
 * verifier checks each once, on its own, instead of once per path through
 * every program that asks. They take the cgroup as a plain number. */
extern int hn_owner_of_cgroup(__u64 cg);
extern int hn_identity_owner_of_cgroup(__u64 cg);

/* A kernel pointer as a number: what a global function may be passed (a
 * pointer the verifier trusts may not). */
static __always_inline __u64 as_scalar(const void *p)
{
        __u64 v = 0;
        bpf_probe_read_kernel(&v, sizeof(v), &p);
        return v;
}

/* The slice a cgroup of the default hierarchy is in, or HN_EVO_NONE. */
static __always_inline __u8 owner_of_cgroup(struct cgroup *cg)
{
        return (__u8)hn_owner_of_cgroup(as_scalar(cg));
}

/* The owner whose Cgroup= identity subtree cg is in (nearest configured
 * ancestor), or HN_EVO_NONE: placing a task there lends it that identity. */
static __always_inline __u8 identity_owner_of_cgroup(struct cgroup *cg)
{
        return (__u8)hn_identity_owner_of_cgroup(as_scalar(cg));
}

static __always_inline bool on_cgroup2(struct inode *inode)
{
        return BPF_CORE_READ(inode, i_sb, s_magic) == CGROUP2_SUPER_MAGIC;
}

/* The cgroup of a cgroup2 directory inode: kernfs keeps it in the node's priv. */
static __always_inline struct cgroup *cgroup_of_dir_inode(struct inode *dir)
{
        struct kernfs_node *kn = BPF_CORE_READ(dir, i_private);
        return kn ? (struct cgroup *)BPF_CORE_READ(kn, priv) : NULL;
}

/* The cgroup a cgroup2 file belongs to: its directory's. */
static __always_inline struct cgroup *cgroup_of_file_dentry(struct dentry *dentry)
{
        return cgroup_of_dir_inode(BPF_CORE_READ(dentry, d_parent, d_inode));
}

static __always_inline struct cgroup *task_cgroup(struct task_struct *task)
{
        return BPF_CORE_READ(task, cgroups, dfl_cgrp);
}

#endif
