/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_MOUNT_NAMES_H
#define HN_MOUNT_NAMES_H

#include <stddef.h>

#include <hpcnode/error.h>

/* Image paths and allocation ids are checked once, here. */

/* Absolute, no "."/".."/empty components, no control characters; the
 * directories are resolved (realpath), the last component is kept as is
 * (it must not be a symlink: image_open() opens it O_NOFOLLOW). */
int image_path_canonical(const char *path, char *ret, size_t size, struct hn_error *err);

/* Opens a canonical image path for reading and checks it is a regular file
 * with a squashfs superblock, before anything is touched. */
int image_open(const char *canonical, int *ret_fd, struct hn_error *err);

/* 1..HN_MOUNT_ID_MAX bytes, no '/', not "." or "..", no control characters. */
int allocation_id_check(const char *id, struct hn_error *err);

/* The directory name of an image's mount: its file name without the
 * .sqfs/.squashfs suffix, reduced to [A-Za-z0-9._-], then '-' and 16 hex
 * digits of a hash of the canonical path. Two images called pytorch.sqfs
 * in different directories get different names, and the name can be
 * recomputed from the loop device's backing file after a restart. */
void image_mount_name(const char *canonical, char *ret, size_t size);

#endif
