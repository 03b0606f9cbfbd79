/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <hpcnode/monitor.h>

#include "kernel_key.h"
#include "macro.h"

int hn_fdinfo_field(int fd, const char *key, uint64_t *ret) {
        char path[64], line[256];
        snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        size_t n = strlen(key);
        int r = -ENOENT;
        while (fgets(line, sizeof(line), f))
                if (!strncmp(line, key, n) && line[n] == ':') {
                        r = sscanf(line + n + 1, "%" SCNu64, ret) == 1 ? 0 : -EINVAL;
                        break;
                }
        fclose(f);
        return r;
}

/* The superblock device of mount mnt_id (mountinfo's third field). */
static int mount_dev(uint64_t mnt_id, uint32_t *ret) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -errno;
        char line[4096];
        int r = -ENOENT;
        while (fgets(line, sizeof(line), f)) {
                uint64_t id;
                unsigned maj, min;
                if (sscanf(line, "%" SCNu64 " %*u %u:%u", &id, &maj, &min) == 3 && id == mnt_id) {
                        *ret = hn_kernel_dev(makedev(maj, min));
                        r = 0;
                        break;
                }
        }
        fclose(f);
        return r;
}

int hn_fd_kernel_key(int fd, uint32_t *ret_dev, uint64_t *ret_ino) {
        uint64_t ino, mnt_id;
        uint32_t dev;
        if (hn_fdinfo_field(fd, "ino", &ino) == 0 && hn_fdinfo_field(fd, "mnt_id", &mnt_id) == 0 &&
            mount_dev(mnt_id, &dev) == 0) {
                *ret_dev = dev;
                *ret_ino = ino;
                return 0;
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        *ret_dev = hn_kernel_dev(st.st_dev);
        *ret_ino = st.st_ino;
        return 0;
}

int hn_file_kernel_key(const char *path, bool follow, uint32_t *ret_dev, uint64_t *ret_ino) {
        _cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
        if (fd < 0)
                return -errno;
        return hn_fd_kernel_key(fd, ret_dev, ret_ino);
}
