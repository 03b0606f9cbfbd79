/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_LOOPDEV_H
#define HN_LOOPDEV_H

#include <stddef.h>

/* Attaches image_fd read-only to a free loop device (LOOP_CTL_GET_FREE +
 * LOOP_CONFIGURE, autoclear, direct I/O where the backing file allows it).
 * Returns an open fd of the loop device and its path in ret_dev; the
 * device detaches itself when that fd is closed and nothing mounts it. */
int loop_attach_ro(int image_fd, const char *image_path, char *ret_dev, size_t size);

/* The loop device's backing file from sysfs, " (deleted)" removed. name is
 * "loop3" or "/dev/loop3". */
int loop_backing_file(const char *name, char *ret, size_t size);

/* LOOP_GET_STATUS64 of the loop device at dev ("/dev/loop3"): the backing
 * file's device and inode as the kernel holds them, offset, size limit. */
struct loop_info64;
int loop_status(const char *dev, struct loop_info64 *ret);

#endif
