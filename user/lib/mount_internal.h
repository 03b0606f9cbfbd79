/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_MOUNT_INTERNAL_H
#define HN_MOUNT_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <sys/types.h>

#include <hpcnode/mount.h>

#include "clock.h"

/* One image mount. The list is the manager's view of the kernel's table;
 * every change to one is made under the manager's lock. */
struct image {
        struct image *next;
        char path[PATH_MAX];
        char name[128];
        char mount_point[PATH_MAX];
        char loop[32];
        dev_t devno;        /* the squashfs superblock: binds of it share it */
        char **holders;     /* allocation ids with a bind */
        size_t n_holders;
        uint64_t deadline_usec; /* hold timer, CLOCK_MONOTONIC; 0 = none */
        bool foreign;
};

struct hn_mount_manager {
        pthread_mutex_t lock;
        pthread_cond_t wake; /* timer thread: state changed, or stop */
        pthread_t timer;
        bool timer_started, stop;
        /* Half of PATH_MAX, so every path built under them (plus an
         * allocation id and an image name) fits a PATH_MAX buffer. */
        char uenv[PATH_MAX / 2];
        char workdir[PATH_MAX / 2];
        uint32_t hold_secs;
        struct image *images;
        hn_audit_fn audit_fn;
        void *audit_userdata;
        /* Drift already reported that no repair ends (foreign mounts,
         * leaked loops): reported once while it lasts. */
        char **reported;
        size_t n_reported;
        struct hn_emergency *emergency;
};

/* With the lock held. */
void mount_audit(struct hn_mount_manager *m, const char *action, enum hn_audit_outcome outcome, const char *path,
                 const char *detail, int sys_errno, bool emergency);
struct image *image_find(struct hn_mount_manager *m, const char *canonical);
void image_free(struct image *img);
int image_add_holder(struct image *img, const char *alloc);
void image_drop_holder(struct image *img, size_t i);
/* <workdir>/<alloc>/uenv/<name> */
void bind_path_of(const struct hn_mount_manager *m, const char *alloc, const char *name, char *ret, size_t size);
/* Unmounts a bind and removes its now-empty directories up to the workdir. */
int bind_remove(struct hn_mount_manager *m, const char *alloc, const char *name, int umount_flags);
/* The allocation's read-only bind at bind_path_of(); on failure nothing
 * is left and a mount.acquire failure is audited. */
int bind_make(struct hn_mount_manager *m, struct image *img, const char *alloc, char *ret, size_t size,
              struct hn_error *err);
/* Mounts the image again at its mount point (a fresh loop device), for a
 * repair: fills img->loop and img->devno. Negative errno. */
int image_remount(struct image *img);
/* Starts the image's hold timer (or unmounts at once with hold 0). */
void image_start_hold(struct hn_mount_manager *m, struct image *img);

#endif
