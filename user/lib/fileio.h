/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_FILEIO_H
#define HN_FILEIO_H

#include <dirent.h>
#include <stddef.h>

/* Small-file I/O relative to a directory fd, the way cgroupfs wants it:
 * one write(2) per value (the kernel parses each write as a whole), and
 * reads into a caller buffer. All return 0 or a negative errno. */

int write_file_at(int dirfd, const char *name, const char *value);
/* Reads at most size-1 bytes, NUL-terminates, strips one trailing newline. */
int read_file_at(int dirfd, const char *name, char *buf, size_t size);
/* Reads a whole file of any size into a malloc'ed NUL-terminated buffer. */
int read_full_file_at(int dirfd, const char *name, char **ret, size_t *ret_size);
/* The directory name below dirfd (symlinks not followed; "." for dirfd
 * itself, which may be O_PATH) opened for readdir; NULL with errno set. */
DIR *opendir_at(int dirfd, const char *name);
/* The path the kernel gives an open fd (/proc/self/fd/N), NUL-terminated:
 * -errno, or -ENAMETOOLONG when it does not fit in size. */
int fd_path(int fd, char *ret, size_t size);
/* Value of "key value" line in a flat-keyed file such as cgroup.events. */
int read_keyed_u64_at(int dirfd, const char *name, const char *key, unsigned long long *ret);

#endif
