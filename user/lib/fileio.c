/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int write_file_at(int dirfd, const char *name, const char *value) {
        _cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        size_t len = strlen(value);
        ssize_t n = write(fd, value, len);
        if (n < 0)
                return -errno;
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

/* read(2), again after a signal. */
static ssize_t read_retrying(int fd, char *buf, size_t size) {
        ssize_t n;
        do
                n = read(fd, buf, size);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
}

int read_file_at(int dirfd, const char *name, char *buf, size_t size) {
        if (size == 0)
                return -EINVAL;
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        size_t have = 0;
        for (;;) {
                ssize_t n = read_retrying(fd, buf + have, size - 1 - have);
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        break;
                have += (size_t) n;
                if (have == size - 1)
                        break;
        }
        buf[have] = '\0';
        if (have > 0 && buf[have - 1] == '\n')
                buf[have - 1] = '\0';
        return 0;
}

int read_full_file_at(int dirfd, const char *name, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        size_t cap = 4096, have = 0;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (cap - have < 2) {
                        char *n = realloc(buf, cap * 2);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                        cap *= 2;
                }
                ssize_t n = read_retrying(fd, buf + have, cap - have - 1);
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        break;
                have += (size_t) n;
        }
        buf[have] = '\0';
        if (ret_size)
                *ret_size = have;
        *ret = buf;
        buf = NULL;
        return 0;
}

int read_keyed_u64_at(int dirfd, const char *name, const char *key, unsigned long long *ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_full_file_at(dirfd, name, &text, NULL);
        if (r < 0)
                return r;
        size_t klen = strlen(key);
        for (char *line = text; line && *line;) {
                char *next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(line + klen + 1, &end, 10);
                        if (errno != 0 || end == line + klen + 1 || *end != '\0')
                                return -EBADMSG;
                        *ret = v;
                        return 0;
                }
                line = next;
        }
        return -ENODATA;
}

int fd_path(int fd, char *ret, size_t size) {
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, ret, size);
        if (n < 0)
                return -errno;
        if ((size_t) n >= size)
                return -ENAMETOOLONG;
        ret[n] = '\0';
        return 0;
}

DIR *opendir_at(int dirfd, const char *name) {
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return NULL;
        DIR *d = fdopendir(fd);
        if (!d) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return d;
}
