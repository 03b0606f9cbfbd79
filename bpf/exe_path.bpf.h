/* SPDX-License-Identifier: GPL-2.0-only */
/* The writer's executable by name, resolved in the kernel at the moment of
 * the act: a writer that has exited by the time the record is read is
 * still named. Components are written leaf first ("lattice-agent/sbin/usr"
 * style, each NUL-terminated); userspace reverses them. Mount points are
 * crossed through struct mount, up to the writer's root. */
#ifndef HN_EXE_PATH_BPF_H
#define HN_EXE_PATH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include <hpcnode/event.h>

#define HN_EXE_MAX_COMPONENTS 24
#define HN_EXE_SCRATCH (2 * HN_EVENT_EXE_LEN)

/* Per CPU: the path is built here, then copied into the record, so the
 * verifier sees fixed-size accesses only. */
struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, char[HN_EXE_SCRATCH]);
} exe_scratch SEC(".maps");

static __always_inline void exe_path_fill(char out[HN_EVENT_EXE_LEN])
{
        __u32 zero = 0;
        char *buf = bpf_map_lookup_elem(&exe_scratch, &zero);
        out[0] = '\0';
        if (!buf)
                return;
        struct task_struct *task = (struct task_struct *)bpf_get_current_task();
        struct file *exe = BPF_CORE_READ(task, mm, exe_file);
        if (!exe)
                return; /* a kernel thread */
        struct dentry *d = BPF_CORE_READ(exe, f_path.dentry);
        struct vfsmount *vm = BPF_CORE_READ(exe, f_path.mnt);
        /* container_of, with the offset relocated for the running kernel */
        struct mount *mnt = (struct mount *)((char *)vm - bpf_core_field_offset(struct mount, mnt));
        __u32 off = 0;
        for (int i = 0; i < HN_EXE_MAX_COMPONENTS; i++) {
                struct dentry *parent = BPF_CORE_READ(d, d_parent);
                if (d == BPF_CORE_READ(mnt, mnt.mnt_root) || d == parent) {
                        struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
                        if (up == mnt)
                                break; /* the root of the writer's tree */
                        d = BPF_CORE_READ(mnt, mnt_mountpoint);
                        mnt = up;
                        continue;
                }
                if (off >= HN_EVENT_EXE_LEN - 1)
                        break; /* deeper than fits: the leaf side is kept */
                long n = bpf_probe_read_kernel_str(buf + (off & (HN_EVENT_EXE_LEN - 1)), HN_EVENT_EXE_LEN,
                                                   BPF_CORE_READ(d, d_name.name));
                if (n <= 0)
                        break;
                off += n;
                d = parent;
        }
        if (off)
                bpf_probe_read_kernel(out, HN_EVENT_EXE_LEN, buf);
        if (off < HN_EVENT_EXE_LEN) {
                __u32 end = off;
                barrier_var(end); /* keep the mask: the verifier needs it */
                out[end & (HN_EVENT_EXE_LEN - 1)] = '\0'; /* the end marker: an empty component */
        }
        out[HN_EVENT_EXE_LEN - 1] = '\0';
}

#endif
