/* SPDX-License-Identifier: GPL-2.0-only */
/* hpcnode's own BPF objects, by id (written by the loader), and the
 * object behind a bpf(2) command's fd: what the self guard's lsm/bpf hook
 * and, without BPF LSM, its sys_enter_bpf witness judge alike. */
#ifndef HN_OWN_OBJECTS_BPF_H
#define HN_OWN_OBJECTS_BPF_H

#include "compat.bpf.h"
#include "emit.bpf.h"

#define ANON_INODE_FS_MAGIC 0x09041934

static __always_inline bool id_in(const __u32 *ids, int n, __u32 id)
{
        for (int i = 0; i < n; i++) {
                if (!ids[i])
                        return false;
                if (ids[i] == id)
                        return true;
        }
        return false;
}

static __always_inline bool own_map(__u32 id)
{
        return id_in(own_map_ids, HN_OWN_MAPS, id);
}

/* The bpf object behind the caller's fd: its kind by the name the kernel
 * gave its anonymous inode (never a name a caller chooses: "bpf_link"
 * when the link is made, "bpf-link" when it is taken by id or from its
 * pin), its id from the object itself. */
static __always_inline __u32 bpf_object_of_fd(long fd, __u32 *kind)
{
        struct file *file = current_file(fd);
        if (!file || BPF_CORE_READ(file, f_inode, i_sb, s_magic) != ANON_INODE_FS_MAGIC)
                return 0;
        char name[9] = {};
        bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(file, f_path.dentry, d_name.name));
        void *obj = BPF_CORE_READ(file, private_data);
        if (name_is(name, "bpf_link", 9) || name_is(name, "bpf-link", 9)) {
                *kind = HN_BPF_OBJ_LINK;
                return BPF_CORE_READ((struct bpf_link *)obj, id);
        }
        if (name_is(name, "bpf-prog", 9)) {
                *kind = HN_BPF_OBJ_PROG;
                return BPF_CORE_READ((struct bpf_prog *)obj, aux, id);
        }
        if (name_is(name, "bpf-map", 8)) {
                *kind = HN_BPF_OBJ_MAP;
                return BPF_CORE_READ((struct bpf_map *)obj, id);
        }
        return 0;
}

static __always_inline bool own_object(__u32 kind, __u32 id)
{
        switch (kind) {
        case HN_BPF_OBJ_LINK:
                return id_in(own_link_ids, HN_OWN_PROGS, id);
        case HN_BPF_OBJ_PROG:
                return id_in(own_prog_ids, HN_OWN_PROGS, id);
        case HN_BPF_OBJ_MAP:
                return own_map(id);
        }
        return false;
}

/* The fd a command acts through, or -1 for a command that changes nothing
 * of hpcnode's. */
static __always_inline long command_fd(int cmd, union bpf_attr *attr)
{
        switch (cmd) {
        case BPF_LINK_DETACH:
                return BPF_CORE_READ(attr, link_detach.link_fd);
        case BPF_LINK_UPDATE:
                return BPF_CORE_READ(attr, link_update.link_fd);
        case BPF_OBJ_PIN:
                return BPF_CORE_READ(attr, bpf_fd);
        case BPF_LINK_CREATE:
                return BPF_CORE_READ(attr, link_create.prog_fd);
        case BPF_RAW_TRACEPOINT_OPEN:
                return BPF_CORE_READ(attr, raw_tracepoint.prog_fd);
        case BPF_PROG_ATTACH:
                return BPF_CORE_READ(attr, attach_bpf_fd);
        case BPF_PROG_TEST_RUN:
                return BPF_CORE_READ(attr, test.prog_fd);
        }
        return -1;
}

/* The record of a bpf(2) command naming one of them. */
static __always_inline struct act bpf_command_act(__u32 kind, __u32 id, int cmd, __u8 source)
{
        return (struct act){ .type = HN_EV_GUARD_BPF,
                             .path = kind == HN_BPF_OBJ_LINK ? "link" : kind == HN_BPF_OBJ_PROG ? "prog" : "map",
                             .value = id, .other_cgroup_id = (__u64)cmd, .source = source,
                             .flags = HN_EVF_CROSS_SLICE };
}

#endif
