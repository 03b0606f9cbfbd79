/* SPDX-License-Identifier: GPL-2.0-only */
/* The held images' files, what their loop devices read: opening one for
 * writing, writing it through an fd had before, truncating it or mapping
 * it shared-writable is the manager's alone. Used by the hooks that see
 * those acts (control_guard's file_open and file_permission, mount_guard's
 * path_truncate and mmap_file). */
#ifndef HN_IMAGE_GUARD_BPF_H
#define HN_IMAGE_GUARD_BPF_H

#include "compat.bpf.h"
#include "emit.bpf.h"

static __always_inline bool image_dev(__u32 dev)
{
        for (int i = 0; i < HN_IMAGE_DEVS; i++) {
                if (!held_image_devs[i])
                        return false;
                if (held_image_devs[i] == dev)
                        return true;
        }
        return false;
}

/* A held image's inode: its filesystem first (a few compares: every other
 * write on the node stops there), then the map. */
static __always_inline bool held_image(struct inode *inode)
{
        if (!inode || !held_image_devs[0])
                return false;
        __u32 dev = BPF_CORE_READ(inode, i_sb, s_dev);
        if (!image_dev(dev))
                return false;
        struct hn_guard_file key = { .dev = dev, .ino = BPF_CORE_READ(inode, i_ino) };
        return bpf_map_lookup_elem(&held_images, &key);
}

/* A write of a held image: refused (enforce) and recorded by the LSM
 * hooks (0 or -EPERM); recorded only, by the open syscalls' exit, at
 * attribution level tracepoint. */
static __always_inline int image_act(__u32 type, __u32 value, __u64 object, __u32 source)
{
        struct hn_writer w;
        writer_identify(&w);
        if (w.owner == HN_EVO_MANAGER)
                return 0;
        struct act a = { .type = type, .path = "", .value = value, .cgroup_id = object, .source = source };
        if (source != HN_EVS_LSM) {
                emit(&w, &a);
                return 0;
        }
        return verdict(&w, &a, true, true);
}

static __always_inline int image_write(struct inode *inode, __u32 source)
{
        return image_act(HN_EV_MOUNT_IMAGE_WRITE, BPF_CORE_READ(inode, i_sb, s_dev), BPF_CORE_READ(inode, i_ino),
                         source);
}

#define S_IFMT 00170000
#define S_IFBLK 0060000
#define LOOP_IOCTL_FIRST 0x4C00 /* LOOP_SET_FD */
#define LOOP_IOCTL_LAST 0x4C0A  /* LOOP_CONFIGURE */
#define LOOP_GET_STATUS 0x4C03
#define LOOP_GET_STATUS64 0x4C05

/* An ioctl that would change a held image's loop device: point it at
 * another file, offset or size, or detach it. Only the loop range comes
 * past the first test; reading the status stays open. 0, or the device
 * (kernel encoding: MAJOR << 20 | MINOR). */
static __always_inline __u32 held_loop_change(struct inode *inode, unsigned int cmd)
{
        if (cmd < LOOP_IOCTL_FIRST || cmd > LOOP_IOCTL_LAST || cmd == LOOP_GET_STATUS || cmd == LOOP_GET_STATUS64)
                return 0;
        if (!inode || (BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFBLK)
                return 0;
        __u32 dev = BPF_CORE_READ(inode, i_rdev);
        return bpf_map_lookup_elem(&held_loops, &dev) ? dev : 0;
}

#endif
