/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "loopdev.h"
#include "macro.h"

/* LOOP_CTL_GET_FREE only suggests a device: another process can configure
 * it before we do (EBUSY), or udev/devtmpfs may not have made its node yet
 * (ENOENT). Each retry asks for a fresh one; 64 is far past any real race. */
#define LOOP_ATTACH_RETRIES 64

static int configure(int loop_fd, int image_fd, const char *image_path, bool direct_io) {
        struct loop_config cfg = {
                .fd = (unsigned) image_fd,
                .info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR | (direct_io ? LO_FLAGS_DIRECT_IO : 0),
        };
        snprintf((char *) cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", image_path);
        return ioctl(loop_fd, LOOP_CONFIGURE, &cfg) < 0 ? -errno : 0;
}

int loop_attach_ro(int image_fd, const char *image_path, char *ret_dev, size_t size) {
        _cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (ctl < 0)
                return -errno;
        int r = -EBUSY;
        for (int attempt = 0; attempt < LOOP_ATTACH_RETRIES; attempt++) {
                int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
                if (nr < 0)
                        return -errno;
                char dev[32];
                snprintf(dev, sizeof(dev), "/dev/loop%d", nr);
                _cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        r = -errno;
                        if (r != -ENOENT)
                                return r;
                        struct timespec ts = { 0, 1000000 };
                        nanosleep(&ts, NULL);
                        continue;
                }
                r = configure(fd, image_fd, image_path, true);
                /* Direct I/O needs the backing file's block size to suit the
                 * loop device; where it does not, buffered I/O still works. */
                if (r == -EINVAL)
                        r = configure(fd, image_fd, image_path, false);
                if (r == -EBUSY || r == -EAGAIN)
                        continue;
                if (r < 0)
                        return r;
                snprintf(ret_dev, size, "%s", dev);
                return take_fd(&fd);
        }
        return r;
}

int loop_backing_file(const char *name, char *ret, size_t size) {
        char p[128];
        const char *base = strrchr(name, '/');
        base = base ? base + 1 : name;
        snprintf(p, sizeof(p), "/sys/block/%s/loop/backing_file", base);
        int r = read_file_at(AT_FDCWD, p, ret, size);
        if (r < 0)
                return r;
        size_t n = strlen(ret);
        const char *deleted = " (deleted)";
        size_t k = strlen(deleted);
        if (n > k && strcmp(ret + n - k, deleted) == 0)
                ret[n - k] = '\0';
        return 0;
}

int loop_status(const char *dev, struct loop_info64 *ret) {
        _cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return ioctl(fd, LOOP_GET_STATUS64, ret) < 0 ? -errno : 0;
}
