/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mount reconciler: the manager's state against the kernel's mount
 * table and loop devices. The table is the truth about what is mounted;
 * the manager is the truth about what should be. The checks are here;
 * the table one pass reads is mount_table.c, the findings and the
 * repairs they lead to mount_drift_repair.c. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "error_set.h"
#include "fileio.h"
#include "loopdev.h"
#include "macro.h"
#include "mount_drift_repair.h"
#include "mount_internal.h"
#include "mount_table.h"

static bool under(const char *path, const char *base) {
        size_t n = strlen(base);
        return strncmp(path, base, n) == 0 && path[n] == '/' && path[n + 1];
}

/* Where else the superblock is mounted, outside the given binds. */
static struct mounted *table_elsewhere(struct table *t, dev_t devno, const struct hn_mount_manager *m,
                                       const struct image *img) {
        for (size_t i = 0; i < t->n; i++) {
                struct mounted *x = &t->v[i];
                if (x->devno != devno || x->claimed || x->moved || !strcmp(x->target, img->mount_point))
                        continue;
                bool is_bind = false;
                for (size_t h = 0; h < img->n_holders && !is_bind; h++) {
                        char bind[PATH_MAX];
                        bind_path_of(m, img->holders[h], img->name, bind, sizeof(bind));
                        is_bind = !strcmp(bind, x->target);
                }
                if (!is_bind)
                        return x;
        }
        return NULL;
}

static bool allocation_live(const struct hn_mount_manager *m, const char *alloc) {
        struct stat st;
        return fstatat(m->workdir_fd, alloc, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* What jobs read: the image file as it was mounted, and the loop device
 * still reading it, from offset 0, unlimited. A loop device pointed at
 * another file or offset is put back (the manager holds the file); a file
 * written in place or replaced cannot be undone: reported once. */
static int check_identity(struct hn_mount_manager *m, struct image *img, struct findings *f, char ***next,
                          size_t *n_next) {
        char what[PATH_MAX + 128] = "", key[PATH_MAX + 32];
        struct image_identity now;
        struct stat at;
        if (img->image_fd >= 0 && image_identity_read(img->image_fd, &now) == 0 &&
            (now.size != img->id.size || now.mtime.tv_sec != img->id.mtime.tv_sec ||
             now.mtime.tv_nsec != img->id.mtime.tv_nsec || now.ctime.tv_sec != img->id.ctime.tv_sec ||
             now.ctime.tv_nsec != img->id.ctime.tv_nsec))
                snprintf(what, sizeof(what), "the image file was changed in place (size %lld -> %lld)",
                         (long long) img->id.size, (long long) now.size);
        else if (img->image_fd >= 0 && stat(img->path, &at) == 0 && (at.st_dev != img->id.dev || at.st_ino != img->id.ino))
                snprintf(what, sizeof(what), "%s is another file now; the mount still reads the one it was given",
                         img->path);
        if (what[0]) {
                snprintf(key, sizeof(key), "changed:%s", img->path);
                if (drift_report_once(m, next, n_next, key)) {
                        struct found *y = drift_add(f, HN_DRIFT_IMAGE_CHANGED, img->mount_point, img->path);
                        if (!y)
                                return -ENOMEM;
                        snprintf(y->detail, sizeof(y->detail), "%s: jobs may read other bytes; no safe repair, left as it is",
                                 what);
                        mount_audit(m, "mount.refcount_corrected", HN_AUDIT_FAILED, img->mount_point, y->detail, 0,
                                    false);
                }
        }
        struct loop_info64 info;
        if (!img->loop[0] || img->image_fd < 0 || loop_status(img->loop, &info) < 0)
                return 0;
        bool other_file = info.lo_device != (uint64_t) img->id.dev || info.lo_inode != (uint64_t) img->id.ino;
        if (!other_file && !info.lo_offset && !info.lo_sizelimit)
                return 0;
        struct found *y = drift_add(f, HN_DRIFT_IMAGE_CHANGED, img->loop, img->path);
        if (!y)
                return -ENOMEM;
        _cleanup_close_ int loop_fd = open(img->loop, O_RDONLY | O_CLOEXEC);
        int r = loop_fd < 0 ? -errno : 0;
        if (r == 0 && other_file && ioctl(loop_fd, LOOP_CHANGE_FD, img->image_fd) < 0)
                r = -errno;
        if (r == 0 && (info.lo_offset || info.lo_sizelimit)) {
                info.lo_offset = info.lo_sizelimit = 0;
                if (ioctl(loop_fd, LOOP_SET_STATUS64, &info) < 0)
                        r = -errno;
        }
        y->d.repaired = r == 0;
        y->d.sys_errno = r < 0 ? -r : 0;
        snprintf(y->detail, sizeof(y->detail), "the loop device %s%s; %s%s (pages read meanwhile may stay cached)",
                 other_file ? "reads another file" : "reads at another offset or size",
                 other_file && (info.lo_offset || info.lo_sizelimit) ? ", at another offset" : "",
                 r == 0 ? "put back" : "could not be put back: ", r == 0 ? "" : strerror(-r));
        mount_audit(m, "mount.refcount_corrected", r == 0 ? HN_AUDIT_DONE : HN_AUDIT_FAILED, img->loop, y->detail, r,
                    false);
        return 0;
}

/* The image mount: at its place (read-only, private, reachable), or moved,
 * or gone (re-mounted). */
static int check_image_mount(struct hn_mount_manager *m, struct image *img, struct table *t, struct findings *f,
                             char ***next, size_t *n_next) {
        struct mounted *at = mount_table_mine(t, img->mount_point, img->devno);
        if (at) {
                at->claimed = true;
                if (drift_check_read_only(m, at, img->root_fd, img->path, f) < 0 ||
                    drift_check_propagation(m, at, img->root_fd, img->path, f) < 0)
                        return -ENOMEM;
                return drift_unshadow(m, t, img->mount_point, at->id, img->path, f, next, n_next);
        }
        struct mounted *moved = table_elsewhere(t, img->devno, m, img);
        struct found *x = drift_add(f, moved ? HN_DRIFT_MOVED : HN_DRIFT_HELD_MOUNT_REMOVED, img->mount_point, img->path);
        if (!x)
                return -ENOMEM;
        char what[PATH_MAX + 64];
        if (moved) {
                moved->moved = true;
                snprintf(what, sizeof(what), "the image mount is now at %s", moved->target);
        } else
                snprintf(what, sizeof(what), "the image mount is gone (%zu holders%s)", img->n_holders,
                         img->deadline_usec ? ", in its hold window" : "");
        drift_repair_image(m, img, x, what);
        if (x->d.repaired) {
                struct mounted *on;
                size_t pos = 0;
                while ((on = mount_table_on(t, img->mount_point, &pos)))
                        on->claimed = true;
        }
        return 0;
}

/* One holder's bind, present: read-only, private, reachable. */
static int check_bind_present(struct hn_mount_manager *m, struct image *img, const char *alloc, struct mounted *b,
                              struct table *t, struct findings *f, char ***next, size_t *n_next) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        if ((b->shared || !b->ro) && bind_open(m, alloc, img->name, NULL, &fd) == 0 &&
            (fstat(fd, &st) < 0 || st.st_dev != img->devno))
                closep(&fd); /* not the bind: a mount stacked on it (unshadowed below) */
        if (drift_check_read_only(m, b, fd, img->path, f) < 0 || drift_check_propagation(m, b, fd, img->path, f) < 0)
                return -ENOMEM;
        return drift_unshadow(m, t, b->target, b->id, img->path, f, next, n_next);
}

/* The bases, as a job reaches them, must be the directories the manager
 * holds. A mount stacked on one (or on a directory above) is detached; one
 * renamed, replaced or unmounted away cannot be put back by the manager:
 * reported once, and nothing is re-made under it until it is back (a bind
 * re-made through the held directory would land where no job looks, pass
 * after pass). *ret_broken: a base is not where it belongs. */
static int check_bases(struct hn_mount_manager *m, struct table *t, struct findings *f, char ***next, size_t *n_next,
                       bool *ret_broken) {
        const int fds[2] = { m->uenv_fd, m->workdir_fd };
        const char *paths[2] = { m->uenv, m->workdir };
        char which[2 * PATH_MAX + 16] = "";
        const char *first = NULL;
        bool fresh = false;
        for (int i = 0; i < 2; i++) {
                uint64_t id;
                struct stat held, now;
                int r = fd_mount_id(fds[i], &id);
                if (r == 0)
                        r = drift_unshadow(m, t, paths[i], (int) id, "", f, next, n_next);
                if (r < 0)
                        return r;
                if (fstat(fds[i], &held) == 0 && stat(paths[i], &now) == 0 && held.st_dev == now.st_dev &&
                    held.st_ino == now.st_ino)
                        continue;
                *ret_broken = true;
                char key[PATH_MAX + 16];
                snprintf(key, sizeof(key), "base:%s", paths[i]);
                fresh |= drift_report_once(m, next, n_next, key);
                snprintf(which + strlen(which), sizeof(which) - strlen(which), "%s%s", first ? " and " : "", paths[i]);
                first = first ? first : paths[i];
        }
        if (!fresh)
                return 0;
        /* one act (an ancestor unmounted or moved) takes both: one record */
        struct found *y = drift_add(f, HN_DRIFT_MOVED, first, "");
        if (!y)
                return -ENOMEM;
        snprintf(y->detail, sizeof(y->detail),
                 "%s %s not the base director%s the manager holds (renamed, replaced, or a mount above taken "
                 "away): no safe repair; nothing is re-mounted or re-bound until %s back",
                 which, strstr(which, " and ") ? "are" : "is", strstr(which, " and ") ? "ies" : "y",
                 strstr(which, " and ") ? "they are" : "it is");
        mount_audit(m, "mount.refcount_corrected", HN_AUDIT_FAILED, first, y->detail, 0, false);
        return 0;
}

/* Every managed image and its binds against the table. With the lock. */
static int check_images(struct hn_mount_manager *m, struct table *t, struct findings *f, char ***next,
                        size_t *n_next) {
        for (struct image *img = m->images; img; img = img->next) {
                if (img->foreign)
                        continue;
                int r = check_image_mount(m, img, t, f, next, n_next);
                if (r == 0)
                        r = check_identity(m, img, f, next, n_next);
                if (r < 0)
                        return r;
                /* Every holder's bind that is where it belongs is claimed
                 * first: one holder's missing bind is then never taken for
                 * "moved" to another holder's. */
                _cleanup_free_ struct mounted **present = calloc(img->n_holders ? img->n_holders : 1, sizeof(*present));
                if (!present)
                        return -ENOMEM;
                for (size_t h = 0; h < img->n_holders; h++) {
                        char bind[PATH_MAX];
                        bind_path_of(m, img->holders[h], img->name, bind, sizeof(bind));
                        if ((present[h] = mount_table_mine(t, bind, img->devno)))
                                present[h]->claimed = true;
                }
                for (size_t h = 0; h < img->n_holders;) {
                        const char *alloc = img->holders[h];
                        char bind[PATH_MAX], what[PATH_MAX + 64];
                        bind_path_of(m, alloc, img->name, bind, sizeof(bind));
                        if (present[h]) {
                                if ((r = check_bind_present(m, img, alloc, present[h], t, f, next, n_next)) < 0)
                                        return r;
                                h++;
                                continue;
                        }
                        if (!allocation_live(m, alloc)) {
                                /* The allocation is gone: an overcount. Drop the
                                 * holder; nothing is unmounted here. */
                                struct found *x = drift_add(f, HN_DRIFT_REFCOUNT_MISMATCH, bind, img->path);
                                if (!x)
                                        return -ENOMEM;
                                snprintf(x->detail, sizeof(x->detail),
                                         "allocation %s is gone (no %s/%s): holder dropped, refcount %zu -> %zu", alloc,
                                         m->workdir, alloc, img->n_holders, img->n_holders - 1);
                                x->d.repaired = true;
                                mount_audit(m, "mount.refcount_corrected", HN_AUDIT_DONE, bind, x->detail, 0, false);
                                /* the last holder takes the dropped one's place, in both */
                                present[h] = present[img->n_holders - 1];
                                image_drop_holder(img, h);
                                if (img->n_holders == 0)
                                        image_start_hold(m, img);
                                continue;
                        }
                        struct mounted *moved = NULL;
                        for (size_t i = 0; i < t->n && !moved; i++)
                                if (t->v[i].devno == img->devno && !t->v[i].claimed && !t->v[i].moved &&
                                    under(t->v[i].target, m->workdir) && strcmp(t->v[i].target, bind))
                                        moved = &t->v[i];
                        struct found *x = drift_add(f, moved ? HN_DRIFT_MOVED : HN_DRIFT_BIND_REMOVED, bind, img->path);
                        if (!x)
                                return -ENOMEM;
                        if (moved) {
                                moved->moved = true;
                                snprintf(what, sizeof(what), "allocation %s's bind is now at %s", alloc, moved->target);
                        } else
                                snprintf(what, sizeof(what), "allocation %s's bind is gone", alloc);
                        drift_repair_bind(m, img, alloc, x, what);
                        h++;
                }
        }
        return 0;
}

/* Mounts under the bases that nobody claimed: foreign, reported once. A
 * managed mount moved there was reported as moved; it is left where it
 * is, like any mount hpcnode did not make there. */
static int check_foreign(struct hn_mount_manager *m, struct table *t, struct findings *f, char ***next,
                         size_t *n_next) {
        for (size_t i = 0; i < t->n; i++) {
                struct mounted *x = &t->v[i];
                if (x->claimed || !(under(x->target, m->uenv) || under(x->target, m->workdir)))
                        continue;
                char key[PATH_MAX + 16];
                snprintf(key, sizeof(key), "mount:%s", x->target);
                if (!drift_report_once(m, next, n_next, key) || x->moved)
                        continue;
                struct found *y = drift_add(f, HN_DRIFT_FOREIGN_MOUNT, x->target, "");
                if (!y)
                        return -ENOMEM;
                snprintf(y->detail, sizeof(y->detail), "under %s, not made by hpcnode (device %u:%u): reported, left alone",
                         under(x->target, m->uenv) ? m->uenv : m->workdir, major(x->devno), minor(x->devno));
        }
        return 0;
}

/* Loop devices backed by a managed image that no mount uses. */
static int check_loops(struct hn_mount_manager *m, struct table *t, struct findings *f, char ***next,
                       size_t *n_next) {
        _cleanup_closedir_ DIR *d = opendir("/sys/block");
        if (!d)
                return 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                char backing[PATH_MAX], rel[300], devs[32];
                if (strncmp(de->d_name, "loop", 4) != 0 || loop_backing_file(de->d_name, backing, sizeof(backing)) < 0)
                        continue;
                const struct image *img = NULL;
                for (const struct image *i = m->images; i && !img; i = i->next)
                        if (!i->foreign && !strcmp(i->path, backing))
                                img = i;
                snprintf(rel, sizeof(rel), "/sys/block/%s/dev", de->d_name);
                unsigned maj, min;
                if (!img || read_file_at(AT_FDCWD, rel, devs, sizeof(devs)) < 0 || sscanf(devs, "%u:%u", &maj, &min) != 2)
                        continue;
                /* used by a mount in the table, or by one repaired in this pass */
                bool used = false;
                for (size_t i = 0; i < t->n && !used; i++)
                        used = t->v[i].devno == makedev(maj, min);
                for (const struct image *i = m->images; i && !used; i = i->next)
                        used = !i->foreign && i->devno == makedev(maj, min);
                if (used)
                        continue;
                char dev[300];
                snprintf(dev, sizeof(dev), "/dev/%s", de->d_name);
                char key[PATH_MAX + 320];
                snprintf(key, sizeof(key), "loop:%s:%s", dev, backing);
                if (!drift_report_once(m, next, n_next, key))
                        continue;
                struct found *y = drift_add(f, HN_DRIFT_LOOP_LEAK, dev, backing);
                if (!y)
                        return -ENOMEM;
                snprintf(y->detail, sizeof(y->detail), "%s is backed by %s and nothing mounts it: reported, left alone",
                         dev, backing);
        }
        return 0;
}

static int pass(struct hn_mount_manager *m, hn_drift_fn fn, void *userdata, struct hn_mount_guard *ret_guard,
                bool *ret_whole, struct hn_error *err) {
        struct table t = { 0 };
        struct hn_mount_guard guard = { 0 };
        int guard_r = 0;
        struct findings f = { 0 };
        char **next = NULL;
        size_t n_next = 0;
        /* The table is read under the lock: an acquire or a hold expiry
         * between reading and comparing would look like drift. */
        pthread_mutex_lock(&m->lock);
        int r = mount_table_read(&t);
        if (r < 0) {
                pthread_mutex_unlock(&m->lock);
                mount_table_free(&t);
                return hn_error_set(err, HN_ERR_IO, -r, "reading /proc/self/mountinfo: %s", strerror(-r));
        }
        if (ret_whole && own_log_explains_table(m, &t.mi)) {
                pthread_mutex_unlock(&m->lock);
                mount_table_free(&t);
                *ret_whole = false;
                return 0;
        }
        bool broken = false;
        r = check_bases(m, &t, &f, &next, &n_next, &broken);
        if (r == 0 && broken) {
                /* keep what was reported about the images, for when the base is back */
                for (size_t i = 0; i < m->n_reported; i++)
                        if (strncmp(m->reported[i], "base:", 5) != 0)
                                (void) drift_report_once(m, &next, &n_next, m->reported[i]);
        } else if (r == 0)
                r = check_images(m, &t, &f, &next, &n_next);
        if (r == 0 && !broken)
                r = check_foreign(m, &t, &f, &next, &n_next);
        if (r == 0 && !broken)
                r = check_loops(m, &t, &f, &next, &n_next);
        if (r == 0) {
                /* what is no longer there may be reported again if it returns */
                for (size_t i = 0; i < m->n_reported; i++)
                        free(m->reported[i]);
                free(m->reported);
                m->reported = next;
                m->n_reported = n_next;
                next = NULL;
                n_next = 0;
        }
        /* The guard from this pass's read of the table if the pass found
         * nothing (so repaired nothing: the table is still the kernel's),
         * else from a read after the repairs; under the same lock, so no
         * acquire comes between. */
        if (r == 0 && ret_guard)
                guard_r = mount_guard_build_locked(m, f.n == 0 ? &t.mi : NULL, NULL, NULL, &guard);
        pthread_cond_signal(&m->wake);
        pthread_mutex_unlock(&m->lock);
        for (size_t i = 0; i < n_next; i++)
                free(next[i]);
        free(next);
        mount_table_free(&t);
        for (size_t i = 0; r == 0 && fn && i < f.n; i++) {
                f.v[i].d.path = f.v[i].path;
                f.v[i].d.image = f.v[i].image;
                f.v[i].d.detail = f.v[i].detail;
                fn(&f.v[i].d, userdata);
        }
        size_t n = f.n;
        free(f.v);
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "reconciling mounts: %s", strerror(-r));
        if (guard_r < 0)
                return hn_error_set(err, HN_ERR_GUARD_STATE, -guard_r, "the mount guard's state: %s", strerror(-guard_r));
        if (ret_guard)
                *ret_guard = guard;
        if (ret_whole)
                *ret_whole = true;
        return (int) n;
}

int hn_mount_reconcile(struct hn_mount_manager *m, hn_drift_fn fn, void *userdata, struct hn_error *err) {
        return pass(m, fn, userdata, NULL, NULL, err);
}

int hn_mount_reconcile_guard(struct hn_mount_manager *m, hn_drift_fn fn, void *userdata,
                             struct hn_mount_guard *ret_guard, struct hn_error *err) {
        if (!ret_guard)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: ret_guard is NULL");
        return pass(m, fn, userdata, ret_guard, NULL, err);
}

int hn_mount_reconcile_parts(struct hn_mount_manager *m, hn_drift_fn fn, void *userdata,
                             struct hn_mount_guard *ret_guard, bool *ret_whole, struct hn_error *err) {
        if (!ret_guard || !ret_whole)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: ret_guard or ret_whole is NULL");
        return pass(m, fn, userdata, ret_guard, ret_whole, err);
}
