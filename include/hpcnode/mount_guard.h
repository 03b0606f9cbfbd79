/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HPCNODE_MOUNT_GUARD_H
#define HPCNODE_MOUNT_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include <hpcnode/event.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the kernel's mount guard protects, every part a kernel object: the
 * mount manager computes it (hn_mount_guard_state, from the descriptors it
 * holds and the mount table), the monitor puts it in the programs' maps
 * (hn_monitor_set_mount_guard). */
struct hn_mount_guard_name {
        uint32_t id;   /* a mount id, or a peer group id (kind) */
        uint32_t kind; /* enum hn_guard_dir_kind */
        uint64_t ino;  /* 0: the mount itself */
        char *path;
};
struct hn_mount_guard {
        uint32_t *held;      /* mount ids of image mounts and binds the manager holds */
        size_t n_held;
        uint32_t *ancestors; /* mount ids on the way down to a held mount or a base, and the bases' */
        size_t n_ancestors;
        struct hn_guard_dir *dirs; /* directories on those ways and where guarded mounts sit */
        size_t n_dirs;
        uint32_t *loops;     /* loop devices under held images (dev_t, kernel encoding) */
        size_t n_loops;
        struct hn_guard_file *images; /* the held image files (device, kernel encoding, and inode) */
        size_t n_images;
        /* what a record's mount id (and inode) stands for, for its reader */
        struct hn_mount_guard_name *names;
        size_t n_names;
};

#ifdef __cplusplus
}
#endif

#endif
