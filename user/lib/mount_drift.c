/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mount reconciler: the manager's state against the kernel's mount
 * table and loop devices. The table is the truth about what is mounted;
 * the manager is the truth about what should be. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "error_set.h"
#include "fileio.h"
#include "libmount_cleanup.h"
#include "loopdev.h"
#include "macro.h"
#include "mount_internal.h"

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
        }
        return "unknown";
}

/* Found drift, kept until the lock is released. */
struct found {
        struct hn_drift d;
        char path[PATH_MAX], image[PATH_MAX], detail[3 * PATH_MAX];
};
struct findings {
        struct found *v;
        size_t n, cap;
};

static struct found *add(struct findings *f, enum hn_drift_class cls, const char *path, const char *image) {
        if (f->n == f->cap) {
                size_t cap = f->cap ? f->cap * 2 : 8;
                struct found *v = realloc(f->v, cap * sizeof(*v));
                if (!v)
                        return NULL;
                f->v = v;
                f->cap = cap;
        }
        struct found *x = &f->v[f->n++];
        *x = (struct found){ .d.cls = cls };
        snprintf(x->path, sizeof(x->path), "%s", path);
        snprintf(x->image, sizeof(x->image), "%s", image ? image : "");
        return x;
}

/* The mount table, reduced to what reconciling needs. */
struct mounted {
        char target[PATH_MAX];
        dev_t devno;
        bool claimed; /* matched to a managed mount */
        bool moved;   /* a managed mount moved here: reported as moved, not as foreign */
        bool ro;      /* the per-mount read-only flag */
};
struct table {
        struct mounted *v;
        size_t n;
};

static bool under(const char *path, const char *base) {
        size_t n = strlen(base);
        return strncmp(path, base, n) == 0 && path[n] == '/' && path[n + 1];
}

static int table_read(struct table *t) {
        _cleanup_mnt_table_ struct libmnt_table *mt = mnt_new_table_from_file("/proc/self/mountinfo");
        _cleanup_mnt_iter_ struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
        if (!mt || !it)
                return errno ? -errno : -ENOMEM;
        size_t n = (size_t) mnt_table_get_nents(mt);
        t->v = calloc(n ? n : 1, sizeof(*t->v));
        if (!t->v)
                return -ENOMEM;
        struct libmnt_fs *fs;
        while (mnt_table_next_fs(mt, it, &fs) == 0 && t->n < n) {
                const char *target = mnt_fs_get_target(fs);
                if (!target)
                        continue;
                struct mounted *x = &t->v[t->n++];
                snprintf(x->target, sizeof(x->target), "%s", target);
                x->devno = mnt_fs_get_devno(fs);
                const char *opts = mnt_fs_get_vfs_options(fs);
                x->ro = opts && mnt_optstr_get_option(opts, "ro", NULL, NULL) == 0;
        }
        return 0;
}

/* The last mount on target (a stacked one hides those below). */
static struct mounted *table_at(struct table *t, const char *target) {
        struct mounted *found = NULL;
        for (size_t i = 0; i < t->n; i++)
                if (!strcmp(t->v[i].target, target))
                        found = &t->v[i];
        return found;
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

static bool reported(struct hn_mount_manager *m, const char *key) {
        for (size_t i = 0; i < m->n_reported; i++)
                if (!strcmp(m->reported[i], key))
                        return true;
        return false;
}

/* Marks key as reported in the next set; true if it is new. */
static bool report_once(struct hn_mount_manager *m, char ***next, size_t *n_next, const char *key) {
        char **v = realloc(*next, (*n_next + 1) * sizeof(char *));
        if (!v)
                return false;
        *next = v;
        v[*n_next] = strdup(key);
        if (!v[*n_next])
                return false;
        (*n_next)++;
        return !reported(m, key);
}

static void repair_image(struct hn_mount_manager *m, struct image *img, struct found *f, const char *what) {
        int r = image_remount(img);
        f->d.repaired = r == 0;
        f->d.sys_errno = r < 0 ? -r : 0;
        snprintf(f->detail, sizeof(f->detail), "%s; %s", what,
                 r == 0 ? "re-mounted" : "re-mount failed");
        if (r < 0)
                snprintf(f->detail + strlen(f->detail), sizeof(f->detail) - strlen(f->detail), ": %s", strerror(-r));
        mount_audit(m, "mount.refcount_corrected", r == 0 ? HN_AUDIT_DONE : HN_AUDIT_FAILED, img->mount_point,
                    f->detail, r, false);
}

static void repair_bind(struct hn_mount_manager *m, struct image *img, const char *alloc, struct found *f,
                        const char *what) {
        char bind[PATH_MAX];
        struct hn_error err = { 0 };
        int r = bind_make(m, img, alloc, bind, sizeof(bind), &err);
        f->d.repaired = r == 0;
        f->d.sys_errno = r < 0 ? -r : 0;
        snprintf(f->detail, sizeof(f->detail), "%s; %s%s", what, r == 0 ? "re-bound" : "re-bind failed: ",
                 r == 0 ? "" : err.message);
        mount_audit(m, "mount.refcount_corrected", r == 0 ? HN_AUDIT_DONE : HN_AUDIT_FAILED, bind, f->detail, r,
                    false);
}

/* Every managed mount is read-only, nosuid, nodev: a remount that took
 * that away is put back. */
static int check_read_only(struct hn_mount_manager *m, struct mounted *x, const char *image, struct findings *f) {
        if (x->ro)
                return 0;
        struct found *y = add(f, HN_DRIFT_REMOUNTED, x->target, image);
        if (!y)
                return -ENOMEM;
        int r = mount(NULL, x->target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0
                        ? -errno
                        : 0;
        y->d.repaired = r == 0;
        y->d.sys_errno = r < 0 ? -r : 0;
        snprintf(y->detail, sizeof(y->detail), "the mount is no longer read-only; %s%s",
                 r == 0 ? "remounted read-only" : "remount failed: ", r == 0 ? "" : strerror(-r));
        mount_audit(m, "mount.refcount_corrected", r == 0 ? HN_AUDIT_DONE : HN_AUDIT_FAILED, x->target, y->detail, r,
                    false);
        return 0;
}

static bool allocation_live(const struct hn_mount_manager *m, const char *alloc) {
        char dir[PATH_MAX];
        struct stat st;
        snprintf(dir, sizeof(dir), "%s/%s", m->workdir, alloc);
        return stat(dir, &st) == 0;
}

/* Every managed image and its binds against the table. With the lock. */
static int check_images(struct hn_mount_manager *m, struct table *t, struct findings *f) {
        for (struct image *img = m->images; img; img = img->next) {
                if (img->foreign)
                        continue;
                struct mounted *at = table_at(t, img->mount_point);
                if (at && at->devno == img->devno) {
                        at->claimed = true;
                        if (check_read_only(m, at, img->path, f) < 0)
                                return -ENOMEM;
                } else {
                        struct mounted *moved = table_elsewhere(t, img->devno, m, img);
                        struct found *x = add(f, moved ? HN_DRIFT_MOVED : HN_DRIFT_HELD_MOUNT_REMOVED,
                                              img->mount_point, img->path);
                        if (!x)
                                return -ENOMEM;
                        char what[PATH_MAX + 64];
                        if (moved) {
                                moved->moved = true;
                                snprintf(what, sizeof(what), "the image mount is now at %s", moved->target);
                        } else
                                snprintf(what, sizeof(what), "the image mount is gone (%zu holders%s)",
                                         img->n_holders, img->deadline_usec ? ", in its hold window" : "");
                        repair_image(m, img, x, what);
                        if (x->d.repaired)
                                for (size_t i = 0; i < t->n; i++)
                                        if (!strcmp(t->v[i].target, img->mount_point))
                                                t->v[i].claimed = true;
                }
                for (size_t h = 0; h < img->n_holders;) {
                        const char *alloc = img->holders[h];
                        char bind[PATH_MAX], what[PATH_MAX + 64];
                        bind_path_of(m, alloc, img->name, bind, sizeof(bind));
                        struct mounted *b = table_at(t, bind);
                        if (b && b->devno == img->devno) {
                                b->claimed = true;
                                if (check_read_only(m, b, img->path, f) < 0)
                                        return -ENOMEM;
                                h++;
                                continue;
                        }
                        if (!allocation_live(m, alloc)) {
                                /* The allocation is gone: an overcount. Drop the
                                 * holder; nothing is unmounted here. */
                                struct found *x = add(f, HN_DRIFT_REFCOUNT_MISMATCH, bind, img->path);
                                if (!x)
                                        return -ENOMEM;
                                snprintf(x->detail, sizeof(x->detail),
                                         "allocation %s is gone (no %s/%s): holder dropped, refcount %zu -> %zu", alloc,
                                         m->workdir, alloc, img->n_holders, img->n_holders - 1);
                                x->d.repaired = true;
                                mount_audit(m, "mount.refcount_corrected", HN_AUDIT_DONE, bind, x->detail, 0, false);
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
                        struct found *x = add(f, moved ? HN_DRIFT_MOVED : HN_DRIFT_BIND_REMOVED, bind, img->path);
                        if (!x)
                                return -ENOMEM;
                        if (moved) {
                                moved->moved = true;
                                snprintf(what, sizeof(what), "allocation %s's bind is now at %s", alloc, moved->target);
                        } else
                                snprintf(what, sizeof(what), "allocation %s's bind is gone", alloc);
                        repair_bind(m, img, alloc, x, what);
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
                if (!report_once(m, next, n_next, key) || x->moved)
                        continue;
                struct found *y = add(f, HN_DRIFT_FOREIGN_MOUNT, x->target, "");
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
                if (!report_once(m, next, n_next, key))
                        continue;
                struct found *y = add(f, HN_DRIFT_LOOP_LEAK, dev, backing);
                if (!y)
                        return -ENOMEM;
                snprintf(y->detail, sizeof(y->detail), "%s is backed by %s and nothing mounts it: reported, left alone",
                         dev, backing);
        }
        return 0;
}

int hn_mount_reconcile(struct hn_mount_manager *m, hn_drift_fn fn, void *userdata, struct hn_error *err) {
        struct table t = { 0 };
        struct findings f = { 0 };
        char **next = NULL;
        size_t n_next = 0;
        /* The table is read under the lock: an acquire or a hold expiry
         * between reading and comparing would look like drift. */
        pthread_mutex_lock(&m->lock);
        int r = table_read(&t);
        if (r < 0) {
                pthread_mutex_unlock(&m->lock);
                free(t.v);
                return hn_error_set(err, HN_ERR_IO, -r, "reading /proc/self/mountinfo: %s", strerror(-r));
        }
        r = check_images(m, &t, &f);
        if (r == 0)
                r = check_foreign(m, &t, &f, &next, &n_next);
        if (r == 0)
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
        pthread_cond_signal(&m->wake);
        pthread_mutex_unlock(&m->lock);
        for (size_t i = 0; i < n_next; i++)
                free(next[i]);
        free(next);
        free(t.v);
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
        return (int) n;
}
