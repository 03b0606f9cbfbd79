/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emergency_key.h"
#include "macro.h"

static int read_key(const char *path, unsigned char key[HND_EMERGENCY_KEY_BYTES]) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) || st.st_nlink != 1 ||
            st.st_size != HND_EMERGENCY_KEY_BYTES)
                return -EBADMSG;
        if (read(fd, key, HND_EMERGENCY_KEY_BYTES) != HND_EMERGENCY_KEY_BYTES)
                return errno ? -errno : -EIO;
        return 0;
}

static int create_key(const char *path, unsigned char key[HND_EMERGENCY_KEY_BYTES]) {
        unsigned char fresh[HND_EMERGENCY_KEY_BYTES];
        if (getrandom(fresh, sizeof(fresh), 0) != (ssize_t) sizeof(fresh))
                return -errno;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (write(fd, fresh, sizeof(fresh)) != (ssize_t) sizeof(fresh) || fsync(fd) < 0) {
                int r = errno ? -errno : -EIO;
                unlink(path);
                return r;
        }
        memcpy(key, fresh, sizeof(fresh));
        return 0;
}

int hnd_emergency_key_load(const char *path, unsigned char key[HND_EMERGENCY_KEY_BYTES], bool *ret_replaced) {
        *ret_replaced = false;
        int r = read_key(path, key);
        if (r == 0)
                return 0;
        if (r == -EBADMSG || r == -ELOOP) {
                if (unlink(path) < 0)
                        return -errno;
                *ret_replaced = true;
        } else if (r != -ENOENT)
                return r;
        return create_key(path, key);
}
