/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An allocation's read-only bind of an image: made as a clone of the image
 * mount the manager holds (open_tree OPEN_TREE_CLONE), attached by fd to a
 * directory reached beneath the workdir base it holds (openat2: no symlink
 * followed, no mount crossed), so neither a symlink swapped into an
 * allocation's directory nor a mount stacked on the base can redirect it.
 * crun's safe_openat and do_mount(targetfd) do the same. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "error_set.h"
#include "macro.h"
#include "mount_internal.h"

int open_beneath(int dirfd, const char *name, uint64_t resolve) {
        struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | resolve };
        int fd = (int) syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

int dir_beneath(int dirfd, const char *rel, bool create, int *ret_fd) {
        char buf[PATH_MAX];
        if ((size_t) snprintf(buf, sizeof(buf), "%s", rel) >= sizeof(buf))
                return -ENAMETOOLONG;
        _cleanup_close_ int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return -errno;
        for (char *save = NULL, *comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
                if (!strcmp(comp, ".") || !strcmp(comp, ".."))
                        return -EINVAL;
                if (create && mkdirat(cur, comp, 0755) < 0 && errno != EEXIST)
                        return -errno;
                int next = open_beneath(cur, comp, RESOLVE_NO_XDEV);
                if (next < 0)
                        return next;
                closep(&cur);
                cur = next;
        }
        *ret_fd = take_fd(&cur);
        return 0;
}

int fd_mount_id(int fd, uint64_t *ret) {
        struct statx stx;
        if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) < 0)
                return -errno;
        if (!(stx.stx_mask & STATX_MNT_ID))
                return -EOPNOTSUPP;
        *ret = stx.stx_mnt_id;
        return 0;
}

void bind_path_of(const struct hn_mount_manager *m, const char *alloc, const char *name, char *ret, size_t size) {
        snprintf(ret, size, "%s/%s/uenv/%s", m->workdir, alloc, name);
}

int mount_fd_detach(int fd) {
        char p[64];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        return umount2(p, MNT_DETACH) < 0 ? -errno : 0;
}

bool mount_setattr_present(void) {
        static int present = -1; /* the kernel does not change under us */
        if (present < 0)
                present = !(mount_setattr(-1, "", AT_EMPTY_PATH, NULL, 0) < 0 && errno == ENOSYS);
        return present;
}

int mount_fd_setattr(int fd, const struct mount_attr *attr) {
        if (mount_setattr(fd, "", AT_EMPTY_PATH, (struct mount_attr *) attr, sizeof(*attr)) == 0)
                return 0;
        if (errno != ENOSYS)
                return -errno;
        /* before 5.12: mount(2) on the fd's path, which reaches the mount
         * only once it is attached. Only the attributes hpcnode sets. */
        if (attr->attr_set & ~(uint64_t) (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) || attr->attr_clr)
                return -EOPNOTSUPP;
        char p[64];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        unsigned long flags = (attr->attr_set & MOUNT_ATTR_RDONLY ? MS_RDONLY : 0) |
                              (attr->attr_set & MOUNT_ATTR_NOSUID ? MS_NOSUID : 0) |
                              (attr->attr_set & MOUNT_ATTR_NODEV ? MS_NODEV : 0);
        if (flags && mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
                return -errno;
        if (attr->propagation && mount(NULL, p, NULL, attr->propagation, NULL) < 0)
                return -errno;
        return 0;
}

int mount_fd_attach(int mount_fd, int target_fd) {
        const struct mount_attr locked = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                                           .propagation = MS_PRIVATE };
        /* Without mount_setattr the detached mount cannot be changed: it
         * keeps the image mount's read-only, nosuid, nodev (fsmount set
         * them, a clone inherits them) and is locked down once attached. */
        bool before = mount_setattr_present();
        int r;
        if (before && (r = mount_fd_setattr(mount_fd, &locked)) < 0)
                return r;
        if (move_mount(mount_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return -errno;
        /* attached under a shared parent it became shared: private again */
        const struct mount_attr private = { .propagation = MS_PRIVATE };
        if ((r = mount_fd_setattr(mount_fd, before ? &private : &locked)) < 0) {
                (void) mount_fd_detach(mount_fd);
                return r;
        }
        return 0;
}

/* Makes a read-only, private clone of the image mount at target_fd. */
static int bind_attach(struct hn_mount_manager *m, const struct image *img, int target_fd, const char *path) {
        _cleanup_close_ int tree = open_tree(img->root_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (tree < 0)
                return -errno;
        int r = mount_fd_attach(tree, target_fd);
        if (r == 0)
                own_log_added(m, tree, path);
        return r;
}

/* The manager's own record of what the bind directory is for, kept with
 * it: if the image mount and its binds all vanish while hpcnoded is down,
 * a restart still knows which image the allocation held. */
void bind_dir_record(int dir_fd, const char *image) {
        _cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
                (void) fsetxattr(fd, HN_BIND_IMAGE_XATTR, image, strlen(image), 0);
}

int bind_dir_recorded(int dir_fd, char *ret, size_t size) {
        _cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = fgetxattr(fd, HN_BIND_IMAGE_XATTR, ret, size - 1);
        if (n < 0)
                return -errno;
        ret[n] = '\0';
        return 0;
}

int bind_make(struct hn_mount_manager *m, struct image *img, const char *alloc, char *ret, size_t size,
              struct hn_error *err) {
        char rel[PATH_MAX];
        bind_path_of(m, alloc, img->name, ret, size);
        snprintf(rel, sizeof(rel), "%s/uenv/%s", alloc, img->name);
        _cleanup_close_ int target = -1;
        int r = img->root_fd < 0 ? -ENOTCONN : dir_beneath(m->workdir_fd, rel, true, &target);
        if (r == 0)
                bind_dir_record(target, img->path);
        if (r == 0)
                r = bind_attach(m, img, target, ret);
        if (r < 0) {
                (void) bind_remove(m, alloc, img->name, MNT_DETACH);
                mount_audit(m, "mount.acquire", HN_AUDIT_FAILED, ret, strerror(-r), r, false);
                return hn_error_set(err, HN_ERR_MOUNT_FAILED, r, "mount failed for %s: bind %s: %s%s", img->path, ret,
                                    strerror(-r),
                                    r == -EXDEV   ? " (a mount is stacked on the way there: refused)"
                                    : r == -ELOOP ? " (a symlink on the way there: refused)"
                                                  : "");
        }
        return 0;
}

int bind_open(struct hn_mount_manager *m, const char *alloc, const char *name, int *ret_uenv, int *ret_bind) {
        char rel[PATH_MAX];
        snprintf(rel, sizeof(rel), "%s/uenv", alloc);
        _cleanup_close_ int uenv = -1;
        int r = dir_beneath(m->workdir_fd, rel, false, &uenv);
        if (r < 0)
                return r;
        /* the bind itself: the mount on the directory, crossed into */
        int bind = open_beneath(uenv, name, 0);
        if (bind < 0)
                return bind;
        *ret_bind = bind;
        if (ret_uenv)
                *ret_uenv = take_fd(&uenv);
        return 0;
}

int bind_remove(struct hn_mount_manager *m, const char *alloc, const char *name, int umount_flags) {
        _cleanup_close_ int uenv = -1, bind = -1;
        int r = bind_open(m, alloc, name, &uenv, &bind);
        if (r == -ENOENT) {
                /* the directory may be there without a bind */
                char rel[PATH_MAX];
                snprintf(rel, sizeof(rel), "%s/uenv", alloc);
                if (dir_beneath(m->workdir_fd, rel, false, &uenv) < 0)
                        return 0; /* nothing there */
        } else if (r < 0)
                return r;
        if (bind >= 0) {
                uint64_t below, at;
                /* a mount there, not the plain directory: unmount it */
                if (fd_mount_id(uenv, &below) == 0 && fd_mount_id(bind, &at) == 0 && at != below) {
                        char p[64];
                        snprintf(p, sizeof(p), "/proc/self/fd/%d", bind);
                        /* no UMOUNT_NOFOLLOW: the magic link is the way to the mount */
                        if (umount2(p, umount_flags) < 0 && errno != EINVAL)
                                return -errno;
                        char path[PATH_MAX];
                        bind_path_of(m, alloc, name, path, sizeof(path));
                        own_log_removed(m, at, path);
                }
                closep(&bind);
        }
        /* The allocation's directories go when they are empty; a job's own
         * files beside uenv/ keep them. */
        (void) unlinkat(uenv, name, AT_REMOVEDIR);
        _cleanup_close_ int dir = -1;
        if (dir_beneath(m->workdir_fd, alloc, false, &dir) == 0)
                (void) unlinkat(dir, "uenv", AT_REMOVEDIR);
        (void) unlinkat(m->workdir_fd, alloc, AT_REMOVEDIR);
        return 0;
}
