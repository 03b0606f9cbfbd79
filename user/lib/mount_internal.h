/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_MOUNT_INTERNAL_H
#define HN_MOUNT_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include <hpcnode/mount.h>

#include "clock.h"

/* What an image file was when it was first mounted: a change of any of
 * these is a change of what every job reads (image_changed). */
struct image_identity {
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime, ctime;
};

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
        size_t table_holders; /* reconstruct: the first this many holders came from the table, sorted */
        uint64_t deadline_usec; /* hold timer, CLOCK_MONOTONIC; 0 = none */
        bool foreign;
        /* The manager binds what it mounted, by these, never by a path:
         * the image file as the loop device got it, and the image mount
         * itself (binds are clones of it). -1 when not held (foreign, or
         * adopted from a mount the manager cannot vouch for). */
        int image_fd, root_fd;
        struct image_identity id;
        bool changed_reported; /* image_changed said once: no repair can follow */
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
        /* The bases, held open: every directory below them is reached
         * from these, beneath them, with no symlink and no mount crossed. */
        int uenv_fd, workdir_fd;
        uint32_t hold_secs;
        struct image *images;
        hn_audit_fn audit_fn;
        void *audit_userdata;
        /* Drift already reported that no repair ends (foreign mounts,
         * leaked loops): reported once while it lasts. */
        char **reported;
        size_t n_reported;
        struct hn_emergency *emergency;
        /* The mount table the last whole guard state was built from: a
         * part is built from it, not from a fresh read of the table
         * (mount_guard_build_locked). */
        struct guard_table *guard_table;
        /* The manager's own changes since (mount_own.c); own_lost: one
         * could not be logged, the next pass is whole. */
        struct own_log *own;
        bool own_lost;
        bool caller_takes_parts; /* hn_mount_manager_set_parts */
};

/* Opens (and with create, makes, 0755) the directory rel below dirfd,
 * each component resolved beneath dirfd with no symlink followed and no
 * mount crossed: a symlink swapped in, or a mount stacked on a component,
 * is refused (-ELOOP, -EXDEV) instead of followed. O_PATH. */
int dir_beneath(int dirfd, const char *rel, bool create, int *ret_fd);
/* The identity of an open image file. */
int image_identity_read(int fd, struct image_identity *ret);
/* The name below dirfd, opened O_PATH beneath it with no symlink
 * followed; resolve adds RESOLVE_* bits (RESOLVE_NO_XDEV: no mount crossed). */
int open_beneath(int dirfd, const char *name, uint64_t resolve);
/* The image a bind directory is for, kept on it as an xattr. */
#define HN_BIND_IMAGE_XATTR "trusted.hpcnode.image"
void bind_dir_record(int dir_fd, const char *image);
int bind_dir_recorded(int dir_fd, char *ret, size_t size);
/* The mount id of the mount fd is on (statx STATX_MNT_ID). */
int fd_mount_id(int fd, uint64_t *ret);
struct mount_attr;
/* Does the kernel have mount_setattr(2) (5.12)? */
bool mount_setattr_present(void);
/* mount_setattr(2) on the mount fd is the root of; where the kernel lacks
 * it, mount(2) on the fd's /proc path (the mount must be attached; only
 * read-only, nosuid, nodev and propagation). */
int mount_fd_setattr(int fd, const struct mount_attr *attr);
/* A detached mount (fsmount, open_tree clone) made read-only, nosuid,
 * nodev and private, and attached on the directory target_fd. */
int mount_fd_attach(int mount_fd, int target_fd);
/* Detaches the mount fd is the root of (MNT_DETACH). */
int mount_fd_detach(int fd);

/* With the lock held. */
void mount_audit(struct hn_mount_manager *m, const char *action, enum hn_audit_outcome outcome, const char *path,
                 const char *detail, int sys_errno, bool emergency);
struct image *image_find(struct hn_mount_manager *m, const char *canonical);
/* A new image entry (nothing mounted), fds -1, not yet listed. */
struct image *image_new_entry(void);
/* Closes what the manager holds of the image and frees it. */
void image_free(struct image *img);
int image_add_holder(struct image *img, const char *alloc);
void image_drop_holder(struct image *img, size_t i);
/* <workdir>/<alloc>/uenv/<name> */
void bind_path_of(const struct hn_mount_manager *m, const char *alloc, const char *name, char *ret, size_t size);
/* The allocation's uenv directory and the bind on name in it (O_PATH,
 * the mount crossed into), both beneath the workdir base. */
int bind_open(struct hn_mount_manager *m, const char *alloc, const char *name, int *ret_uenv, int *ret_bind);
/* Unmounts a bind and removes its now-empty directories up to the workdir. */
int bind_remove(struct hn_mount_manager *m, const char *alloc, const char *name, int umount_flags);
/* The allocation's read-only bind at bind_path_of(); on failure nothing
 * is left and a mount.acquire failure is audited. */
int bind_make(struct hn_mount_manager *m, struct image *img, const char *alloc, char *ret, size_t size,
              struct hn_error *err);
/* First reference: a loop device for image_fd and the squashfs mount at
 * <uenv>/<name>, by fd; fills img->loop, devno, root_fd, image_fd (taken
 * over) and the identity. Negative errno; *ret_loop_failed says which step
 * failed. */
int image_attach_mount(struct hn_mount_manager *m, struct image *img, int image_fd, bool *ret_loop_failed);
/* Mounts the image again at its mount point, for a repair: from the loop
 * device that still backs it (its superblock, shared with the binds), else
 * a fresh one. Negative errno. */
int image_remount(struct hn_mount_manager *m, struct image *img);
/* Unmounts an image nobody holds and forgets it. */
void image_unmount(struct hn_mount_manager *m, struct image *img, const char *why);
/* Starts the image's hold timer (or unmounts at once with hold 0). */
void image_start_hold(struct hn_mount_manager *m, struct image *img);
/* The order a guard state's names are kept in (mount_guard_names.c): by
 * key (kind, id, inode), then path; each name once. A merge of a part is
 * then one walk, and a name shared with the state (/, the bases: on every
 * part's way) is not added again at every acquire. */
int mount_guard_name_compare(const struct hn_mount_guard_name *a, const struct hn_mount_guard_name *b);
/* names (a vec of struct hn_mount_guard_name) in that order, each once. */
struct vec;
void mount_guard_names_sorted(struct vec *names);
/* a and b, each in that order, into ret (room for na + nb), in that
 * order: the paths move, and b's name equal to one of a's is dropped (its
 * path freed). Returns how many ret holds. */
size_t mount_guard_names_merge(const struct hn_mount_guard_name *a, size_t na, const struct hn_mount_guard_name *b,
                               size_t nb, struct hn_mount_guard_name *ret);
/* The guard's state (hn_mount_guard_state; a part with only_image and
 * only_alloc), with the lock held. A whole state is built from table if
 * given (one read of the mount table for a whole pass) or a fresh read,
 * and keeps that table's mounts in m->guard_table; a part is built from
 * m->guard_table where every mount on its way is there, at the same
 * place, else from a fresh read. -errno. */
struct mountinfo;
struct guard_table;
int mount_guard_build_locked(struct hn_mount_manager *m, const struct mountinfo *table, const char *only_image,
                             const char *only_alloc, struct hn_mount_guard *ret);
void mount_guard_table_free(struct guard_table *t);
/* The manager's own changes to the mount table (mount_own.c), with the
 * lock held: a mount it made (by its fd), one it removed, one no part
 * covers; the parts that cover them; cleared with each whole state. */
void own_log_added(struct hn_mount_manager *m, int mount_fd, const char *path);
void own_log_removed(struct hn_mount_manager *m, uint64_t id, const char *path);
void own_log_dirty(struct hn_mount_manager *m);
void own_log_cover_added(struct hn_mount_manager *m, const uint32_t *held, size_t n);
void own_log_cover_removed(struct hn_mount_manager *m, const char *path);
void own_log_clear(struct hn_mount_manager *m);
void own_log_free(struct hn_mount_manager *m);
/* Whether the table mi a pass read differs from the last whole state's
 * by exactly the manager's own changes, each covered by its part, and
 * mounts unrelated to the bases (none at, below or on the way to one):
 * if so, mi becomes the table parts are built from and the log starts
 * again (nothing to find, nothing new to guard). */
bool own_log_explains_table(struct hn_mount_manager *m, const struct mountinfo *mi);
/* The hold timer's thread: unmounts what nobody holds at its deadline. */
void *mount_hold_main(void *arg);

#endif
