/* SPDX-License-Identifier: GPL-2.0-only */
/* The writer's executable by name, resolved in the kernel at the moment of
 * the act: a writer that has exited by the time the record is read is
 * still named. Components are written leaf first ("lattice-agent/sbin/usr"
 * style, each NUL-terminated); userspace reverses them. Mount points are
 * crossed through struct mount, up to the writer's root directory. */
#ifndef HN_EXE_PATH_BPF_H
#define HN_EXE_PATH_BPF_H

#include "compat.bpf.h"

#define HN_EXE_MAX_COMPONENTS 24

static long exe_walk_step(__u64 index, void *ctx)
{
        __u32 zero = 0;
        struct exe_scratch *s = bpf_map_lookup_elem(&exe_scratch, &zero);
        if (!s)
                return 1;
        struct exe_walk *w = &s->walk;
        struct dentry *d = (struct dentry *)w->dentry;
        struct mount *mnt = (struct mount *)w->mnt;
        if (w->dentry == w->root && (__u64)&mnt->mnt == w->root_mnt)
                return 1; /* the writer's root: a chroot or a container ends the walk, as in d_path() */
        struct dentry *parent = BPF_CORE_READ(d, d_parent);
        if (d == BPF_CORE_READ(mnt, mnt.mnt_root) || d == parent) {
                struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
                if (up == mnt)
                        return 1; /* the top of the mount tree */
                w->dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
                w->mnt = (__u64)up;
                return 0;
        }
        if (w->off >= HN_EVENT_EXE_LEN - 1)
                return 1; /* deeper than fits: the leaf side is kept */
        long n = bpf_probe_read_kernel_str(s->buf + (w->off & (HN_EVENT_EXE_LEN - 1)), HN_EVENT_EXE_LEN,
                                           BPF_CORE_READ(d, d_name.name));
        if (n <= 0)
                return 1;
        w->off += n;
        w->dentry = (__u64)parent;
        return 0;
}

static __always_inline void exe_path_fill(char out[HN_EVENT_EXE_LEN], const struct hn_exe_key *exe_key)
{
        __u32 zero = 0;
        out[0] = '\0';
        struct task_struct *task = (struct task_struct *)bpf_get_current_task();
        struct file *exe = BPF_CORE_READ(task, mm, exe_file);
        if (!exe)
                return; /* a kernel thread */
        struct exe_cache_key key = { .exe = *exe_key, .root = (__u64)BPF_CORE_READ(task, fs, root.dentry) };
        char *cached = bpf_map_lookup_elem(&exe_cache, &key);
        if (cached) {
                __builtin_memcpy(out, cached, HN_EVENT_EXE_LEN);
                return;
        }
        struct exe_scratch *s = bpf_map_lookup_elem(&exe_scratch, &zero);
        if (!s)
                return;
        struct vfsmount *vm = BPF_CORE_READ(exe, f_path.mnt);
        s->walk = (struct exe_walk){
                .dentry = (__u64)BPF_CORE_READ(exe, f_path.dentry),
                /* container_of, with the offset relocated for the running kernel */
                .mnt = (__u64)((char *)vm - bpf_core_field_offset(struct mount, mnt)),
                .root = key.root,
                .root_mnt = (__u64)BPF_CORE_READ(task, fs, root.mnt),
        };
        hn_loop(HN_EXE_MAX_COMPONENTS, exe_walk_step);
        __u32 end = s->walk.off;
        if (!end)
                return;
        if (end < HN_EVENT_EXE_LEN) {
                barrier_var(end); /* keep the mask: the verifier needs it */
                s->buf[end & (HN_EVENT_EXE_LEN - 1)] = '\0'; /* the end marker: an empty component */
        }
        s->buf[HN_EVENT_EXE_LEN - 1] = '\0';
        bpf_map_update_elem(&exe_cache, &key, s->buf, BPF_ANY);
        __builtin_memcpy(out, s->buf, HN_EVENT_EXE_LEN);
}

#endif
