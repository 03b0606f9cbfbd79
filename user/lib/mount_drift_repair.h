/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a reconcile pass found, and the repairs it makes: shared by the
 * checks (mount_drift.c) and the repairs (mount_drift_repair.c). Each
 * repair is recorded (mount.refcount_corrected), done or failed. With the
 * manager's lock held. */
#ifndef HN_MOUNT_DRIFT_REPAIR_H
#define HN_MOUNT_DRIFT_REPAIR_H

#include <limits.h>

#include "mount_internal.h"
#include "mount_table.h"

/* Found drift, kept until the lock is released. */
struct found {
        struct hn_drift d;
        char path[PATH_MAX], image[PATH_MAX], detail[3 * PATH_MAX];
};
struct findings {
        struct found *v;
        size_t n, cap;
};

/* A new finding of cls on path (image may be NULL), or NULL if out of memory. */
struct found *drift_add(struct findings *f, enum hn_drift_class cls, const char *path, const char *image);
/* Marks key as reported in the next set; true if it is new. */
bool drift_report_once(struct hn_mount_manager *m, char ***next, size_t *n_next, const char *key);

/* The image mount, or one holder's bind, made again; f says how it went. */
void drift_repair_image(struct hn_mount_manager *m, struct image *img, struct found *f, const char *what);
void drift_repair_bind(struct hn_mount_manager *m, struct image *img, const char *alloc, struct found *f,
                       const char *what);
/* Every managed mount is read-only, nosuid, nodev, and private: what took
 * that away is undone on the mount's fd (mount_fd; -1: not held, failed). */
int drift_check_read_only(struct hn_mount_manager *m, struct mounted *x, int mount_fd, const char *image,
                          struct findings *f);
int drift_check_propagation(struct hn_mount_manager *m, struct mounted *x, int mount_fd, const char *image,
                            struct findings *f);
/* path must reach the mount want: a mount stacked in the way is detached. */
int drift_unshadow(struct hn_mount_manager *m, struct table *t, const char *path, int want, const char *image,
                   struct findings *f, char ***next, size_t *n_next);

#endif
