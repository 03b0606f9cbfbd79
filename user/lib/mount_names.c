/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hpcnode/mount.h>

#include "cgroup_path.h"
#include "error_set.h"
#include "macro.h"
#include "mount_names.h"

#define SQUASHFS_MAGIC_BYTES "hsqs" /* 0x73717368, little endian, at offset 0 */

static int image_error(struct hn_error *err, int e, const char *path, const char *why) {
        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, e, "invalid image %s: %s", path, why);
}

int image_path_canonical(const char *path, char *ret, size_t size, struct hn_error *err) {
        char rel[PATH_MAX], dir[PATH_MAX], resolved[PATH_MAX];
        if (!path || path[0] != '/')
                return image_error(err, EINVAL, path ? path : "(null)", "not an absolute path");
        /* The cgroup path checker refuses exactly what we refuse here: empty,
         * "." and ".." components and control characters. */
        struct hn_error inner;
        if (cgroup_path_relative("/", path, rel, sizeof(rel), &inner) < 0 || rel[0] == '\0')
                return image_error(err, EINVAL, path, "\".\", \"..\", empty components and control characters are refused");
        if (path[strlen(path) - 1] == '/')
                return image_error(err, EISDIR, path, "ends in '/'");
        const char *base = strrchr(path, '/') + 1;
        snprintf(dir, sizeof(dir), "%.*s", (int) (base - path), path);
        if (!realpath(dir, resolved))
                return hn_error_set(err, HN_ERR_NOT_FOUND, errno, "invalid image %s: directory %s: %s", path, dir,
                                    strerror(errno));
        int n = snprintf(ret, size, "%s/%s", strcmp(resolved, "/") == 0 ? "" : resolved, base);
        if (n < 0 || (size_t) n >= size)
                return image_error(err, ENAMETOOLONG, path, "path too long");
        return 0;
}

int image_open(const char *canonical, int *ret_fd, struct hn_error *err) {
        /* O_NONBLOCK: opening a FIFO must not hang waiting for a writer. */
        _cleanup_close_ int fd = open(canonical, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
                int e = errno;
                if (e == ELOOP)
                        return image_error(err, ELOOP, canonical, "is a symlink");
                if (e == ENOENT)
                        return hn_error_set(err, HN_ERR_NOT_FOUND, ENOENT, "invalid image %s: no such file",
                                            canonical);
                return image_error(err, e, canonical, strerror(e));
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
                return image_error(err, errno, canonical, strerror(errno));
        if (S_ISDIR(st.st_mode))
                return image_error(err, EISDIR, canonical, "is a directory");
        if (!S_ISREG(st.st_mode))
                return image_error(err, EINVAL, canonical, "not a regular file");
        char magic[4];
        if (pread(fd, magic, sizeof(magic), 0) != (ssize_t) sizeof(magic) || memcmp(magic, SQUASHFS_MAGIC_BYTES, 4) != 0)
                return image_error(err, EINVAL, canonical, "not a squashfs image (no hsqs superblock)");
        if (fcntl(fd, F_SETFL, 0) < 0)
                return image_error(err, errno, canonical, strerror(errno));
        *ret_fd = take_fd(&fd);
        return 0;
}

int allocation_id_check(const char *id, struct hn_error *err) {
        const char *why = NULL;
        if (!id || !*id)
                why = "empty";
        else if (strlen(id) > HN_MOUNT_ID_MAX)
                why = "too long";
        else if (strchr(id, '/'))
                why = "contains '/'";
        else if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
                why = "\".\" and \"..\" are not ids";
        else if (has_control_chars(id))
                why = "contains a control character";
        if (!why)
                return 0;
        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, why[0] == 't' ? ENAMETOOLONG : EINVAL,
                            "invalid allocation id: %s", why);
}

/* FNV-1a, 64 bit: stable across builds and machines, which is all a name needs. */
static uint64_t fnv1a64(const char *s) {
        uint64_t h = 0xcbf29ce484222325ull;
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 0x100000001b3ull;
        }
        return h;
}

void image_mount_name(const char *canonical, char *ret, size_t size) {
        const char *base = strrchr(canonical, '/');
        base = base ? base + 1 : canonical;
        size_t len = strlen(base);
        static const char *const suffixes[] = { ".squashfs", ".sqfs" };
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t k = strlen(suffixes[i]);
                if (len > k && strcmp(base + len - k, suffixes[i]) == 0) {
                        len -= k;
                        break;
                }
        }
        char stem[64];
        size_t n = 0;
        for (size_t i = 0; i < len && n < sizeof(stem) - 1; i++) {
                char c = base[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                          c == '_' || c == '-';
                stem[n++] = ok ? c : '_';
        }
        stem[n] = '\0';
        if (n == 0)
                snprintf(stem, sizeof(stem), "image");
        else if (stem[0] == '.') /* never a hidden directory */
                stem[0] = '_';
        snprintf(ret, size, "%s-%016" PRIx64, stem, fnv1a64(canonical));
}

const char *hn_drift_class_name(enum hn_drift_class c) {
        switch (c) {
        case HN_DRIFT_HELD_MOUNT_REMOVED:
                return "held_mount_removed";
        case HN_DRIFT_BIND_REMOVED:
                return "bind_removed";
        case HN_DRIFT_FOREIGN_MOUNT:
                return "foreign_mount";
        case HN_DRIFT_REFCOUNT_MISMATCH:
                return "refcount_mismatch";
        case HN_DRIFT_LOOP_LEAK:
                return "loop_leak";
        case HN_DRIFT_MOVED:
                return "moved";
        case HN_DRIFT_REMOUNTED:
                return "remounted";
        case HN_DRIFT_SHADOWED:
                return "shadowed";
        case HN_DRIFT_IMAGE_CHANGED:
                return "image_changed";
        case HN_DRIFT_PROPAGATION:
                return "propagation";
        case HN_DRIFT_CLASS_MAX:
                break;
        }
        return "unknown";
}
