/* SPDX-License-Identifier: GPL-2.0-only */
/* The held images' files, what their loop devices read: opening one for
 * writing, writing it through an fd had before, truncating it or mapping
 * it shared-writable is the manager's alone. Used by the hooks that see
 * those acts (control_guard's file_open and file_permission, mount_guard's
 * path_truncate and mmap_file). */
#ifndef HN_IMAGE_GUARD_BPF_H
#define HN_IMAGE_GUARD_BPF_H

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

/* Refused (enforce) and recorded: 0 or -EPERM. */
static __always_inline int image_write(struct inode *inode)
{
        struct hn_writer w;
        writer_identify(&w);
        if (w.owner == HN_EVO_MANAGER)
                return 0;
        struct act a = { .type = HN_EV_MOUNT_IMAGE_WRITE, .path = "", .value = BPF_CORE_READ(inode, i_sb, s_dev),
                         .cgroup_id = BPF_CORE_READ(inode, i_ino), .source = HN_EVS_LSM };
        return verdict(&w, &a, true, true);
}

#endif
