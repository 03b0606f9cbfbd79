/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup ids (the kernfs node id, which the BPF side and
 * bpf_get_current_cgroup_id() report) to paths and back. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hpcnode/monitor.h>

#include "macro.h"

int hn_cgroup_id(const char *path, uint64_t *ret) {
        /* cgroupfs file handles are the 8-byte kernfs id, which is what
         * bpf_get_current_cgroup_id() and kn->id say. */
        struct {
                struct file_handle fh;
                uint64_t id;
        } h = { .fh.handle_bytes = sizeof(uint64_t) };
        int mount_id;
        if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0)
                return -errno;
        if (h.fh.handle_bytes != sizeof(uint64_t))
                return -EINVAL;
        memcpy(ret, h.fh.f_handle, sizeof(*ret));
        return 0;
}

/* kernfs file handles: type FILEID_KERNFS, the 8-byte id. */
#define FILEID_KERNFS 0xfe

int hn_cgroup_path_by_id(const char *mount, uint64_t id, char *ret, size_t size) {
        _cleanup_close_ int mfd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (mfd < 0)
                return -errno;
        struct {
                struct file_handle fh;
                uint64_t id;
        } h = { .fh.handle_bytes = sizeof(uint64_t), .fh.handle_type = FILEID_KERNFS };
        memcpy(h.fh.f_handle, &id, sizeof(id));
        _cleanup_close_ int fd = open_by_handle_at(mfd, &h.fh, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, ret, size - 1);
        if (n < 0)
                return -errno;
        ret[n] = '\0';
        return 0;
}

