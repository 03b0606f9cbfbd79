/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/xattr.h>

#include <hpcnode/cgroup.h>

#include "cgroup_zombie.h"
#include "macro.h"

/* fsetxattr needs a real fd, not O_PATH. */
static int open_for_xattr(int parent_fd, const char *name) {
        int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? -errno : fd;
}

int zombie_mark(int parent_fd, const char *name, const char *reason) {
        _cleanup_close_ int fd = open_for_xattr(parent_fd, name);
        if (fd < 0)
                return fd;
        if (fsetxattr(fd, HN_CGROUP_ZOMBIE_XATTR, reason, strlen(reason), 0) < 0)
                return -errno;
        return 0;
}

int zombie_check(int parent_fd, const char *name) {
        _cleanup_close_ int fd = open_for_xattr(parent_fd, name);
        if (fd < 0)
                return fd;
        if (fgetxattr(fd, HN_CGROUP_ZOMBIE_XATTR, NULL, 0) >= 0)
                return 1;
        return errno == ENODATA ? 0 : -errno;
}
