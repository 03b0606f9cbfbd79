/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_KERNEL_KEY_H
#define HN_KERNEL_KEY_H

#include <stdbool.h>
#include <stdint.h>

/* A file as the BPF programs know it: the device (kernel encoding) of
 * its inode's superblock and that inode's number. stat(2) is not that on
 * overlayfs, which reports the underlying file's inode number while the
 * kernel's file (an exec'd binary's, an opened log's) is the overlay
 * inode: an identity or a guard keyed by stat there would never match.
 * Read from an O_PATH descriptor's /proc/self/fdinfo ("ino:", "mnt_id:")
 * and the superblock's device from mountinfo; stat(2) where fdinfo has
 * no inode number (before Linux 5.14). follow: the path's last component
 * is followed if it is a symlink (stat), else not (lstat). */
int hn_file_kernel_key(const char *path, bool follow, uint32_t *ret_dev, uint64_t *ret_ino);
/* The same of an open file. */
int hn_fd_kernel_key(int fd, uint32_t *ret_dev, uint64_t *ret_ino);
/* The "key:" line of fd's /proc/self/fdinfo, as a number; -ENOENT if
 * absent, *ret untouched on failure. */
int hn_fdinfo_field(int fd, const char *key, uint64_t *ret);

#endif
