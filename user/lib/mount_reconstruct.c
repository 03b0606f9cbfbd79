/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "error_set.h"
#include "fileio.h"
#include "macro.h"
#include "loopdev.h"
#include "mount_internal.h"
#include "mount_names.h"
#include "mountinfo.h"

/* If target is <base>/<rest>, returns rest; else NULL. */
static const char *below(const char *target, const char *base) {
        size_t n = strlen(base);
        if (strncmp(target, base, n) != 0 || target[n] != '/' || target[n + 1] == '\0')
                return NULL;
        return target + n + 1;
}

/* active is sorted: a node may have thousands of allocations. */
static bool is_active(const char *alloc, const char *const *active, size_t n) {
        return n > 0 && bsearch(&alloc, active, n, sizeof(char *), strcmp_ptr) != NULL;
}

/* A bind stacked twice on one target is one holder, not two. */
static void dedupe_holders(struct image *img) {
        if (img->n_holders < 2)
                return;
        qsort(img->holders, img->n_holders, sizeof(char *), strcmp_ptr);
        size_t k = 1;
        for (size_t i = 1; i < img->n_holders; i++) {
                if (strcmp(img->holders[i], img->holders[k - 1]) == 0)
                        free(img->holders[i]);
                else
                        img->holders[k++] = img->holders[i];
        }
        img->n_holders = k;
}

static struct image *image_new(struct hn_mount_manager *m, const char *path, const char *target, const char *loop,
                               dev_t devno, bool foreign) {
        struct image *img = image_new_entry();
        if (!img)
                return NULL;
        snprintf(img->path, sizeof(img->path), "%s", path);
        snprintf(img->mount_point, sizeof(img->mount_point), "%s", target);
        const char *slash = strrchr(target, '/');
        snprintf(img->name, sizeof(img->name), "%s", slash ? slash + 1 : target);
        snprintf(img->loop, sizeof(img->loop), "%s", loop ? loop : "");
        img->devno = devno;
        img->foreign = foreign;
        img->next = m->images;
        m->images = img;
        return img;
}

/* What the manager holds of an image it adopts: the mount (opened beneath
 * the uenv base, if the mount there is it) and the image file, if it is
 * still the one the loop device reads (same device and inode). */
static void adopt_fds(struct hn_mount_manager *m, struct image *img) {
        struct stat st;
        if (img->devno) {
                int fd = open_beneath(m->uenv_fd, img->name, 0);
                if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == img->devno)
                        img->root_fd = fd;
                else if (fd >= 0)
                        close(fd);
        }
        struct loop_info64 info;
        if (!img->loop[0] || loop_status(img->loop, &info) < 0)
                return;
        int fd = open(img->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 && fstat(fd, &st) == 0 && (uint64_t) st.st_dev == info.lo_device &&
            (uint64_t) st.st_ino == info.lo_inode && image_identity_read(fd, &img->id) == 0)
                img->image_fd = fd;
        else if (fd >= 0)
                close(fd);
}

/* The loop device whose device number is devno ("/dev/loop3"). */
static int loop_of_devno(dev_t devno, char *ret, size_t size) {
        _cleanup_closedir_ DIR *d = opendir("/sys/block");
        struct dirent *de;
        while (d && (de = readdir(d))) {
                char p[300], devs[32];
                unsigned maj, min;
                if (strncmp(de->d_name, "loop", 4) != 0)
                        continue;
                snprintf(p, sizeof(p), "/sys/block/%s/dev", de->d_name);
                if (read_file_at(AT_FDCWD, p, devs, sizeof(devs)) == 0 && sscanf(devs, "%u:%u", &maj, &min) == 2 &&
                    makedev(maj, min) == devno) {
                        if ((size_t) snprintf(ret, size, "/dev/%.20s", de->d_name) >= size)
                                return -ENAMETOOLONG;
                        return 0;
                }
        }
        return -ENOENT;
}

/* An image mount directly under the uenv base: ours if its loop device's
 * backing file names an image whose mount name is this directory's. */
static int adopt_image(struct hn_mount_manager *m, const struct mountinfo_entry *fs, const char *target,
                       const char *name) {
        const char *type = fs->fstype, *source = fs->source;
        char backing[PATH_MAX] = "", expected[128] = "";
        for (struct image *i = m->images; i; i = i->next)
                if (strcmp(i->mount_point, target) == 0)
                        return 0; /* stacked on the same target: the first one counts */
        if (type && strcmp(type, "squashfs") == 0 && source && strncmp(source, "/dev/loop", 9) == 0 &&
            loop_backing_file(source, backing, sizeof(backing)) == 0)
                image_mount_name(backing, expected, sizeof(expected));
        bool ours = expected[0] && strcmp(expected, name) == 0;
        struct image *img = image_new(m, backing[0] ? backing : (source ? source : ""), target, source,
                                      fs->devno, !ours);
        if (!img)
                return -ENOMEM;
        if (ours)
                adopt_fds(m, img);
        else
                mount_audit(m, "mount.foreign", HN_AUDIT_DONE, target,
                            "under the uenv base, not made by hpcnode: reported, left alone", 0, false);
        return 0;
}

/* A bind of an image whose mount is gone (unmounted while nobody
 * watched): its superblock is a loop device's, whose backing file names
 * this image. The image is known again, not mounted: the first reconcile
 * finds it gone and mounts it again from that loop device (WI6), so no
 * held image goes unguarded. */
static struct image *adopt_orphan_bind(struct hn_mount_manager *m, const struct mountinfo_entry *fs,
                                       const char *name) {
        char loop[32], backing[PATH_MAX], expected[128];
        dev_t devno = fs->devno;
        if (loop_of_devno(devno, loop, sizeof(loop)) < 0 || loop_backing_file(loop, backing, sizeof(backing)) < 0)
                return NULL;
        image_mount_name(backing, expected, sizeof(expected));
        if (strcmp(expected, name) != 0)
                return NULL;
        char mount_point[PATH_MAX];
        snprintf(mount_point, sizeof(mount_point), "%s/%s", m->uenv, name);
        struct image *img = image_new(m, backing, mount_point, loop, devno, false);
        if (img)
                adopt_fds(m, img);
        return img;
}

/* <workdir>/<alloc>/uenv/<name>: a holder if alloc is live, removed if not. */
static int adopt_bind(struct hn_mount_manager *m, const struct mountinfo_entry *fs, const char *target, const char *rest,
                      const char *const *active, size_t n_active) {
        char alloc[HN_MOUNT_ID_MAX + 1], name[128], detail[HN_MOUNT_ID_MAX + 128];
        const char *a_end = strchr(rest, '/');
        struct image *img = NULL;
        if (a_end && (size_t) (a_end - rest) <= HN_MOUNT_ID_MAX && strncmp(a_end, "/uenv/", 6) == 0 &&
            !strchr(a_end + 6, '/') && strlen(a_end + 6) < sizeof(name)) {
                snprintf(alloc, sizeof(alloc), "%.*s", (int) (a_end - rest), rest);
                snprintf(name, sizeof(name), "%s", a_end + 6);
                for (struct image *i = m->images; i; i = i->next)
                        if (!i->foreign && strcmp(i->name, name) == 0 && i->devno == fs->devno)
                                img = i;
        }
        if (!img && a_end)
                img = adopt_orphan_bind(m, fs, name);
        if (!img) {
                mount_audit(m, "mount.foreign", HN_AUDIT_DONE, target,
                            "under the workdir base, not a bind of an hpcnode image: reported, left alone", 0, false);
                return image_new(m, "", target, fs->source, fs->devno, true) ? 0 : -ENOMEM;
        }
        if (is_active(alloc, active, n_active))
                return image_add_holder(img, alloc);
        int r = bind_remove(m, alloc, name, MNT_DETACH);
        snprintf(detail, sizeof(detail), "allocation %s is not live: its bind %s", alloc, r < 0 ? "could not be removed" : "was removed");
        mount_audit(m, "mount.refcount_corrected", r < 0 ? HN_AUDIT_FAILED : HN_AUDIT_DONE, target, detail, r, false);
        return 0;
}

/* A bind directory for an image nobody mounts any more (its mount and
 * every bind went while nobody watched): the record on the directory names
 * the image, which is known again, not mounted, so the first reconcile
 * mounts it and binds it again and says so. NULL if it records none. */
static struct image *adopt_recorded_image(struct hn_mount_manager *m, int uenv, const char *name, int *ret_r) {
        char image[PATH_MAX], canonical[PATH_MAX], expected[128];
        _cleanup_close_ int dir = open_beneath(uenv, name, RESOLVE_NO_XDEV);
        if (dir < 0 || bind_dir_recorded(dir, image, sizeof(image)) < 0 ||
            image_path_canonical(image, canonical, sizeof(canonical), NULL) < 0)
                return NULL;
        image_mount_name(canonical, expected, sizeof(expected));
        int image_fd = -1;
        if (strcmp(expected, name) != 0 || image_open(canonical, &image_fd, NULL) < 0)
                return NULL; /* not what the name says, or no image there any more: reported by reconcile */
        char mount_point[PATH_MAX];
        snprintf(mount_point, sizeof(mount_point), "%s/%s", m->uenv, name);
        struct image *img = image_new(m, canonical, mount_point, NULL, 0, false);
        if (!img) {
                close(image_fd);
                *ret_r = -ENOMEM;
                return NULL;
        }
        img->image_fd = image_fd;
        (void) image_identity_read(image_fd, &img->id);
        return img;
}

/* One bind directory of a live allocation, <workdir>/<alloc>/uenv/<name>.
 * Its image is the one of that name the table gave, or the one its record
 * names. If the table showed no bind of it there, the bind vanished while
 * nobody watched (F31): the allocation is made a holder again, so the next
 * reconcile binds it again and says so. */
static int adopt_bind_dir(struct hn_mount_manager *m, int uenv, const char *alloc, const char *name) {
        struct image *img = NULL;
        int r = 0;
        for (struct image *i = m->images; i && !img; i = i->next)
                if (!i->foreign && !strcmp(i->name, name))
                        img = i; /* its mount is in the table: nothing to open (most entries, at 10,000 binds) */
        if (!img && !(img = adopt_recorded_image(m, uenv, name, &r)))
                return r;
        /* the holders the table gave, sorted: a search, not a scan */
        if (img->table_holders && bsearch(&alloc, img->holders, img->table_holders, sizeof(char *), strcmp_ptr))
                return 0;
        return image_add_holder(img, alloc);
}

/* <workdir>/<alloc>/uenv, read with one openat2 beneath the workdir (no
 * symlink, no other mount on the way) and getdents64 into the stack: at
 * 10,000 allocations this scan was most of a reconstruct, and opendir's
 * second open, its buffer and a descriptor per component were most of
 * the scan. One listing answers both questions asked of an allocation:
 * which of its binds vanished, and which images only a record names (a
 * stat per image and allocation asked the first before). */
static int adopt_bind_dirs(struct hn_mount_manager *m, const char *alloc) {
        char rel[PATH_MAX];
        if ((size_t) snprintf(rel, sizeof(rel), "%s/uenv", alloc) >= sizeof(rel))
                return 0;
        struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                                           RESOLVE_NO_XDEV };
        _cleanup_close_ int uenv = (int) syscall(SYS_openat2, m->workdir_fd, rel, &how, sizeof(how));
        if (uenv < 0)
                return 0; /* no bind was ever made for it */
        char buf[4096] __attribute__((aligned(8)));
        ssize_t n;
        while ((n = getdents64(uenv, buf, sizeof(buf))) > 0)
                for (ssize_t at = 0; at < n;) {
                        const struct dirent64 *de = (const struct dirent64 *) (buf + at);
                        at += de->d_reclen;
                        if (de->d_name[0] == '.' || de->d_type != DT_DIR)
                                continue;
                        int r = adopt_bind_dir(m, uenv, alloc, de->d_name);
                        if (r < 0)
                                return r;
                }
        return 0;
}

int hn_mount_reconstruct_state(struct hn_mount_manager *m, const char *const *active, size_t n, struct hn_error *err) {
        int r;
        if (n > 0 && !active)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: %zu ids but no list", n);
        for (size_t i = 0; i < n; i++)
                if ((r = allocation_id_check(active[i], err)) < 0)
                        return r;
        const char **sorted = NULL;
        if (n > 0) {
                sorted = malloc(n * sizeof(char *));
                if (!sorted)
                        return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
                memcpy(sorted, active, n * sizeof(char *));
                qsort(sorted, n, sizeof(char *), strcmp_ptr);
        }
        /* the table parsed in place (libmount's copy of every field of
         * every line was two thirds of a reconstruct at 10,000 binds) */
        struct mountinfo table;
        if ((r = mountinfo_read("/proc/self/mountinfo", &table)) < 0) {
                free(sorted);
                return hn_error_set(err, HN_ERR_IO, -r, "reading /proc/self/mountinfo: %s", strerror(-r));
        }

        pthread_mutex_lock(&m->lock);
        /* The kernel's table is the truth: forget what we thought. */
        while (m->images) {
                struct image *next = m->images->next;
                image_free(m->images);
                m->images = next;
        }
        r = 0;
        /* Image mounts first, so binds can be matched to them. */
        for (int pass = 0; pass < 2 && r == 0; pass++) {
                for (size_t k = 0; r == 0 && k < table.n; k++) {
                        const struct mountinfo_entry *fs = &table.v[k];
                        const char *target = fs->target, *rest;
                        if (pass == 0 && (rest = below(target, m->uenv)) && !strchr(rest, '/'))
                                r = adopt_image(m, fs, target, rest);
                        else if (pass == 1 && (rest = below(target, m->workdir)))
                                r = adopt_bind(m, fs, target, rest, sorted, n);
                }
        }
        mountinfo_free(&table);
        for (struct image *i = m->images; i; i = i->next) {
                dedupe_holders(i);
                i->table_holders = i->n_holders;
        }
        for (size_t a = 0; r == 0 && a < n; a++)
                r = adopt_bind_dirs(m, sorted[a]);
        for (struct image *i = m->images; i; i = i->next) {
                dedupe_holders(i);
                if (!i->foreign && i->n_holders == 0)
                        image_start_hold(m, i);
        }
        pthread_cond_signal(&m->wake);
        pthread_mutex_unlock(&m->lock);
        free(sorted);
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, r, "reconstructing mount state: %s", strerror(-r));
        return 0;
}
