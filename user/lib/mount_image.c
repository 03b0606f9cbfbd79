/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One image mount: a read-only loop device for the image file the manager
 * opened and checked (and keeps open), a squashfs superblock on it, made
 * with the new mount API and attached by fd beneath the uenv base. The
 * mount's fd is kept: every bind is a clone of it, so nothing mounted over
 * the base afterwards can be bound into a job. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loopdev.h"
#include "macro.h"
#include "mount_internal.h"

struct image *image_new_entry(void) {
        struct image *img = calloc(1, sizeof(*img));
        if (img)
                img->image_fd = img->root_fd = -1;
        return img;
}

void image_free(struct image *img) {
        if (!img)
                return;
        for (size_t i = 0; i < img->n_holders; i++)
                free(img->holders[i]);
        free(img->holders);
        closep(&img->image_fd);
        closep(&img->root_fd);
        free(img);
}

int image_identity_read(int fd, struct image_identity *ret) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        *ret = (struct image_identity){ .dev = st.st_dev, .ino = st.st_ino, .size = st.st_size,
                                        .mtime = st.st_mtim, .ctime = st.st_ctim };
        return 0;
}

/* A squashfs superblock on the loop device, as a detached mount fd. The
 * source is named by path (the kernel keeps it in mountinfo); that the
 * mount is the loop device's is checked by device number after. */
static int squashfs_mount_fd(const char *loop, dev_t want) {
        _cleanup_close_ int fs = fsopen("squashfs", FSOPEN_CLOEXEC);
        if (fs < 0)
                return -errno;
        if (fsconfig(fs, FSCONFIG_SET_STRING, "source", loop, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -errno;
        _cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        if (mnt < 0)
                return -errno;
        struct stat st;
        if (fstat(mnt, &st) < 0)
                return -errno;
        if (st.st_dev != want)
                return -EXDEV; /* the node at that path is not the loop device we set up */
        return take_fd(&mnt);
}

/* The detached mount attached at <uenv>/<name>; fills img->root_fd and devno. */
static int image_attach(struct hn_mount_manager *m, struct image *img, int mnt) {
        _cleanup_close_ int target = -1;
        int r = dir_beneath(m->uenv_fd, img->name, true, &target);
        if (r == 0)
                r = mount_fd_attach(mnt, target);
        if (r < 0)
                return r;
        own_log_added(m, mnt, img->mount_point);
        struct stat st;
        if (fstat(mnt, &st) < 0)
                return -errno;
        closep(&img->root_fd);
        img->root_fd = mnt;
        img->devno = st.st_dev;
        return 0;
}

/* The loop device's device number, by its open fd. */
static dev_t loop_devno(int loop_fd) {
        struct stat st;
        return fstat(loop_fd, &st) == 0 ? st.st_rdev : 0;
}

int image_attach_mount(struct hn_mount_manager *m, struct image *img, int image_fd, bool *ret_loop_failed) {
        struct image_identity id;
        int r = image_identity_read(image_fd, &id);
        if (r < 0)
                return r;
        _cleanup_close_ int loop_fd = loop_attach_ro(image_fd, img->path, img->loop, sizeof(img->loop));
        *ret_loop_failed = loop_fd < 0;
        if (loop_fd < 0)
                return loop_fd;
        int mnt = squashfs_mount_fd(img->loop, loop_devno(loop_fd));
        if (mnt < 0)
                return mnt; /* closing loop_fd detaches the device (autoclear) */
        if ((r = image_attach(m, img, mnt)) < 0) {
                close(mnt);
                return r;
        }
        img->image_fd = fcntl(image_fd, F_DUPFD_CLOEXEC, 3);
        img->id = id;
        return img->image_fd < 0 ? -errno : 0;
}

int image_remount(struct hn_mount_manager *m, struct image *img) {
        /* The loop device still backs the image (binds keep its superblock
         * alive): mount it again, so the binds and the image mount share
         * one superblock as before. It must still be the file the manager
         * holds, not a path's file of the moment. */
        char backing[PATH_MAX];
        if (img->loop[0] && loop_backing_file(img->loop, backing, sizeof(backing)) == 0 &&
            strcmp(backing, img->path) == 0) {
                _cleanup_close_ int loop_fd = open(img->loop, O_RDONLY | O_CLOEXEC);
                int mnt = loop_fd < 0 ? -errno : squashfs_mount_fd(img->loop, loop_devno(loop_fd));
                if (mnt < 0)
                        return mnt;
                int r = image_attach(m, img, mnt);
                if (r < 0)
                        close(mnt);
                return r;
        }
        if (img->image_fd < 0)
                return -EBADF;
        int fd = fcntl(img->image_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        closep(&img->image_fd);
        bool loop_failed;
        int r = image_attach_mount(m, img, fd, &loop_failed);
        close(fd);
        return r;
}

void image_unmount(struct hn_mount_manager *m, struct image *img, const char *why) {
        /* By the mount's own fd, not the path (something may be mounted
         * over it by now): detached, so one that a shell still has cd'ed
         * into goes too. Nobody holds it; the loop device goes with its
         * last user (autoclear). */
        int r = img->root_fd >= 0 ? mount_fd_detach(img->root_fd) : -EBADF;
        own_log_dirty(m); /* no part takes an image away: the next pass is whole */
        if (r < 0 && r != -EINVAL && r != -ENOENT) {
                mount_audit(m, "mount.unmount", HN_AUDIT_FAILED, img->mount_point, strerror(-r), r, false);
                img->deadline_usec = monotonic_usec() + 1000000u; /* try again in a second */
                return;
        }
        closep(&img->root_fd);
        (void) unlinkat(m->uenv_fd, img->name, AT_REMOVEDIR);
        mount_audit(m, "mount.unmount", HN_AUDIT_DONE, img->mount_point, why, 0, false);
        for (struct image **pp = &m->images; *pp; pp = &(*pp)->next)
                if (*pp == img) {
                        *pp = img->next;
                        break;
                }
        image_free(img);
}
