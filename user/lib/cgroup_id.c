/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup ids (the kernfs node id, which the BPF side and
 * bpf_get_current_cgroup_id() report) to paths and back. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hpcnode/monitor.h>

#include "error_set.h"
#include "fileio.h"
#include "macro.h"

int hn_cgroup_id(const char *path, uint64_t *ret, struct hn_error *err) {
        /* cgroupfs file handles are the 8-byte kernfs id, which is what
         * bpf_get_current_cgroup_id() and kn->id say. */
        struct {
                struct file_handle fh;
                uint64_t id;
        } h = { .fh.handle_bytes = sizeof(uint64_t) };
        int mount_id;
        if (!path || !ret)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: %s is NULL",
                                    !path ? "path" : "ret");
        if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0)
                return hn_error_set(err, errno == ENOENT ? HN_ERR_NOT_FOUND : HN_ERR_IO, errno, "cgroup id of %s: %s",
                                    path, strerror(errno));
        if (h.fh.handle_bytes != sizeof(uint64_t))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "cgroup id of %s: not a cgroup2 directory (a %u-byte file handle)", path,
                                    h.fh.handle_bytes);
        memcpy(ret, h.fh.f_handle, sizeof(*ret));
        return 0;
}

/* kernfs file handles: type FILEID_KERNFS, the 8-byte id. */
#define FILEID_KERNFS 0xfe

int hn_cgroup_path_by_id(int mount_fd, uint64_t id, char *ret, size_t size, struct hn_error *err) {
        if (mount_fd < 0 || !ret || !size)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: %s",
                                    mount_fd < 0 ? "no mount fd" : "no room for the path");
        struct {
                struct file_handle fh;
                uint64_t id;
        } h = { .fh.handle_bytes = sizeof(uint64_t), .fh.handle_type = FILEID_KERNFS };
        memcpy(h.fh.f_handle, &id, sizeof(id));
        _cleanup_close_ int fd = open_by_handle_at(mount_fd, &h.fh, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return hn_error_set(err, errno == ESTALE ? HN_ERR_NOT_FOUND : HN_ERR_IO, errno, "cgroup %" PRIu64 ": %s",
                                    id, strerror(errno));
        char path[PATH_MAX];
        int r = fd_path(fd, path, sizeof(path));
        size_t n = r == 0 ? strlen(path) : 0;
        if (r < 0 && r != -ENAMETOOLONG)
                return hn_error_set(err, HN_ERR_IO, -r, "cgroup %" PRIu64 ": its path: %s", id, strerror(-r));
        if (r < 0 || n >= size)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG,
                                    "cgroup %" PRIu64 ": its path does not fit in %zu bytes", id, size);
        memcpy(ret, path, n + 1);
        return 0;
}
