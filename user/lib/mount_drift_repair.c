/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reconciler's findings and repairs (mount_drift_repair.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "macro.h"
#include "mount_drift_repair.h"

struct found *drift_add(struct findings *f, enum hn_drift_class cls, const char *path, const char *image) {
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

static bool reported(struct hn_mount_manager *m, const char *key) {
        for (size_t i = 0; i < m->n_reported; i++)
                if (!strcmp(m->reported[i], key))
                        return true;
        return false;
}

bool drift_report_once(struct hn_mount_manager *m, char ***next, size_t *n_next, const char *key) {
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

void drift_repair_image(struct hn_mount_manager *m, struct image *img, struct found *f, const char *what) {
        int r = image_remount(m, img);
        f->d.repaired = r == 0;
        f->d.sys_errno = r < 0 ? -r : 0;
        snprintf(f->detail, sizeof(f->detail), "%s; %s", what,
                 r == 0 ? "re-mounted" : "re-mount failed");
        if (r < 0)
                snprintf(f->detail + strlen(f->detail), sizeof(f->detail) - strlen(f->detail), ": %s", strerror(-r));
        mount_audit(m, "mount.refcount_corrected", r == 0 ? HN_AUDIT_DONE : HN_AUDIT_FAILED, img->mount_point,
                    f->detail, r, false);
}

void drift_repair_bind(struct hn_mount_manager *m, struct image *img, const char *alloc, struct found *f,
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

/* A drift of kind on x undone by mount_setattr(attr) on the mount's fd
 * (the path may reach a mount stacked on it): recorded, repaired or not. */
static int setattr_repair(struct hn_mount_manager *m, struct mounted *x, int mount_fd, const char *image,
                          struct findings *f, enum hn_drift_class kind, struct mount_attr attr, const char *lost,
                          const char *done, const char *failed) {
        struct found *y = drift_add(f, kind, x->target, image);
        if (!y)
                return -ENOMEM;
        int r = mount_fd < 0 ? -EBADF : mount_fd_setattr(mount_fd, &attr);
        y->d.repaired = r == 0;
        y->d.sys_errno = r < 0 ? -r : 0;
        snprintf(y->detail, sizeof(y->detail), "%s; %s%s", lost, r == 0 ? done : failed, r == 0 ? "" : strerror(-r));
        mount_audit(m, "mount.refcount_corrected", r == 0 ? HN_AUDIT_DONE : HN_AUDIT_FAILED, x->target, y->detail, r,
                    false);
        return 0;
}

/* Every managed mount is read-only, nosuid, nodev: a remount (or a
 * mount_setattr) that took that away is put back. */
int drift_check_read_only(struct hn_mount_manager *m, struct mounted *x, int mount_fd, const char *image,
                          struct findings *f) {
        if (x->ro)
                return 0;
        return setattr_repair(m, x, mount_fd, image, f, HN_DRIFT_REMOUNTED,
                              (struct mount_attr){ .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV },
                              "the mount is no longer read-only", "remounted read-only", "remount failed: ");
}

/* Every managed mount is private: nothing it receives or sends by
 * propagation can take it away. One made shared (mount --make-shared,
 * mount_setattr) is made private again. */
int drift_check_propagation(struct hn_mount_manager *m, struct mounted *x, int mount_fd, const char *image,
                            struct findings *f) {
        if (!x->shared)
                return 0;
        return setattr_repair(m, x, mount_fd, image, f, HN_DRIFT_PROPAGATION,
                              (struct mount_attr){ .propagation = MS_PRIVATE }, "the mount is no longer private",
                              "made private again", "could not be made private: ");
}

/* What path reaches now (its mount id), as a job would resolve it. */
static int path_mount_id(const char *path, int *ret) {
        _cleanup_close_ int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        uint64_t id;
        int r = fd < 0 ? -errno : fd_mount_id(fd, &id);
        if (r == 0)
                *ret = (int) id;
        return r;
}

#define UNSHADOW_ROUNDS 8

/* path must reach the mount want. If a mount stacked on it, or on a
 * directory on the way down to it, hides it, that mount (a child of want
 * or of one of want's ancestors) is detached: one drift, one repair per
 * act; one that cannot be undone is reported once. */
int drift_unshadow(struct hn_mount_manager *m, struct table *t, const char *path, int want, const char *image,
                   struct findings *f, char ***next, size_t *n_next) {
        int ancestors[64], n_anc = 0;
        for (struct mounted *x = mount_table_by_id(t, want); x && n_anc < 64; x = mount_table_by_id(t, x->parent)) {
                ancestors[n_anc++] = x->id;
                if (x->parent == x->id)
                        break;
        }
        struct found *y = NULL;
        for (int round = 0; round < UNSHADOW_ROUNDS; round++) {
                int now = -1;
                if (path_mount_id(path, &now) < 0 || now == want)
                        return 0;
                /* up from what the path reaches now to want's line: the
                 * mount just below it is the one stacked in the way */
                struct mounted *cur = mount_table_by_id(t, now), *shadow = NULL;
                for (int depth = 0; cur && depth < 64; depth++) {
                        bool on_line = false;
                        for (int i = 0; i < n_anc && !on_line; i++)
                                on_line = ancestors[i] == cur->id;
                        if (on_line)
                                break;
                        shadow = cur;
                        cur = cur->parent == cur->id ? NULL : mount_table_by_id(t, cur->parent);
                }
                if (!shadow || !cur)
                        return 0; /* not a stack on the way: moved or gone, said elsewhere */
                shadow->claimed = true;
                char key[PATH_MAX + 16];
                snprintf(key, sizeof(key), "shadow:%s", shadow->target);
                bool first = drift_report_once(m, next, n_next, key);
                if (!y && first && !(y = drift_add(f, HN_DRIFT_SHADOWED, path, image)))
                        return -ENOMEM;
                int r = umount2(shadow->target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 ? -errno : 0;
                if (y) {
                        y->d.repaired = r == 0;
                        y->d.sys_errno = r < 0 ? -r : 0;
                        snprintf(y->detail, sizeof(y->detail), "a mount on %s (device %u:%u) hides it; %s%s",
                                 shadow->target, major(shadow->devno), minor(shadow->devno),
                                 r == 0 ? "detached" : "could not be detached: ", r == 0 ? "" : strerror(-r));
                        mount_audit(m, "mount.refcount_corrected", r == 0 ? HN_AUDIT_DONE : HN_AUDIT_FAILED, path,
                                    y->detail, r, false);
                }
                if (r < 0)
                        return 0;
        }
        return 0;
}
