/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HPCNODE_MOUNT_H
#define HPCNODE_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hpcnode/audit.h>
#include <hpcnode/emergency.h>
#include <hpcnode/error.h>
#include <hpcnode/mount_guard.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The refcounted SquashFS mount manager (seed MountManager, SPEC §3).
 *
 * One read-only loop mount per image under the uenv base, shared by every
 * allocation that holds it; each holder gets its own read-only bind mount
 * under the workdir base. The kernel's mount table is the durable record:
 * refcount == number of allocations with a bind mount (WI2), and a fresh
 * manager rebuilds everything from it (WI6). Calls return 0 or a negative
 * errno and fill *err on failure, as in cgroup.h; the manager is
 * thread-safe, and owns one timer thread for hold expiry (WI3). */

#define HN_UENV_MOUNT_BASE "/run/pact/uenv"
#define HN_WORKDIR_BASE "/run/pact/workdir"
#define HN_DATA_STAGE_BASE "/run/pact/data"
#define HN_DEFAULT_HOLD_TIME_SECS 60u
#define HN_MOUNT_ID_MAX 128 /* allocation id, bytes */

struct hn_mount_config {
        const char *uenv_base;    /* image mounts: <uenv_base>/<name> */
        const char *workdir_base; /* binds: <workdir_base>/<allocation>/uenv/<name> */
        uint32_t hold_time_secs;  /* after the last release; 0 = unmount at once */
};

/* The seed's paths and hold time. */
HN_PUBLIC void hn_mount_config_default(struct hn_mount_config *cfg);

struct hn_mount_handle {
        char image_path[4096];  /* canonical: directories resolved, no symlink at the end */
        char mount_point[4096]; /* the shared image mount */
        char allocation_id[HN_MOUNT_ID_MAX + 1];
        char bind_path[4096];   /* this allocation's read-only bind */
};

/* One image, as hn_mount_list() reports it. */
struct hn_mount_info {
        char image_path[4096];
        char mount_point[4096];
        char loop_device[32];     /* "/dev/loop3" */
        uint32_t refcount;
        char **holders;           /* refcount allocation ids */
        bool holding;             /* refcount 0, hold timer running */
        uint64_t hold_deadline_usec; /* CLOCK_MONOTONIC, when holding */
        bool foreign;             /* under our base, not made by hpcnode: reported, never touched */
};

struct hn_mount_manager;

/* Creates the bases (0755) if missing. Never mounts or unmounts anything:
 * call hn_mount_reconstruct_state() to adopt what the kernel already has. */
HN_PUBLIC int hn_mount_manager_new(const struct hn_mount_config *cfg, struct hn_mount_manager **ret,
                                   struct hn_error *err);
/* Stops the timer thread. Never unmounts: the state lives in the kernel. */
HN_PUBLIC void hn_mount_manager_free(struct hn_mount_manager *m);
HN_PUBLIC void hn_mount_manager_set_audit(struct hn_mount_manager *m, hn_audit_fn fn, void *userdata);
HN_PUBLIC void hn_mount_manager_set_emergency(struct hn_mount_manager *m, struct hn_emergency *e);
/* The caller puts each successful acquire's and release's part in force
 * itself, right after the call (hn_mount_guard_state_of, _remove_bind;
 * hpcnoded does, before its caller hears of the call): a pass
 * (hn_mount_reconcile_parts) that comes between a call and its part then
 * counts the call's binds as guarded already. */
HN_PUBLIC void hn_mount_manager_set_parts(struct hn_mount_manager *m, bool caller_takes_parts);

/* The image must be an absolute path with no "." or ".." components, a
 * regular file (the last component not a symlink) holding a squashfs
 * superblock. The first reference attaches it read-only to a loop device
 * and mounts it squashfs ro,nosuid,nodev (private propagation); every
 * acquire makes the allocation's read-only bind. The same allocation
 * acquiring the same image again gets the same handle, refcount unchanged. */
HN_PUBLIC int hn_mount_acquire(struct hn_mount_manager *m, const char *image_path, const char *allocation_id,
                               struct hn_mount_handle *ret, struct hn_error *err);

/* Removes the allocation's bind and drops its reference; at zero the hold
 * timer starts. A handle that holds nothing: RefcountInconsistency, and
 * nothing is unmounted (F31). */
HN_PUBLIC int hn_mount_release(struct hn_mount_manager *m, const struct hn_mount_handle *h, struct hn_error *err);

/* Only during an emergency (RI3; PermissionDenied otherwise): detaches every
 * bind of the image and the image itself at once (MNT_DETACH), cancels its
 * timer. The audit record comes first. */
HN_PUBLIC int hn_mount_force_unmount(struct hn_mount_manager *m, const char *image_path, struct hn_error *err);

/* WI6: rebuilds every image's holders from /proc/self/mountinfo (libmount)
 * and the loop devices' backing files. Binds of allocations not in active
 * are removed; images left at zero start their hold timer; live
 * allocations' mounts are not touched. Mounts under the bases that hpcnode
 * did not make are reported (foreign) and never unmounted. */
HN_PUBLIC int hn_mount_reconstruct_state(struct hn_mount_manager *m, const char *const *active, size_t n,
                                         struct hn_error *err);

/* Holders of a mounted image (0 during its hold); NotFound if not mounted. */
HN_PUBLIC int hn_mount_refcount(struct hn_mount_manager *m, const char *image_path, uint32_t *ret_count,
                                struct hn_error *err);

/* Every image, ours and foreign, sorted by image path. Free with hn_mount_list_free. */
HN_PUBLIC int hn_mount_list(struct hn_mount_manager *m, struct hn_mount_info **ret, size_t *ret_n,
                            struct hn_error *err);
HN_PUBLIC void hn_mount_list_free(struct hn_mount_info *list, size_t n);

/* What the kernel's mount guard must protect now (hpcnode/mount_guard.h),
 * for hn_monitor_set_mount_guard: the mounts the manager's descriptors are
 * on (image mounts, the binds of every holder), the mounts and directories
 * on the way down to them and to the bases, the loop devices and image
 * files of every image with holders or in its hold window. Call after
 * hn_mount_reconcile: what it repaired is then what is guarded. Free the
 * result with hn_mount_guard_free. */
HN_PUBLIC int hn_mount_guard_state(struct hn_mount_manager *m, struct hn_mount_guard *ret, struct hn_error *err);
HN_PUBLIC void hn_mount_guard_free(struct hn_mount_guard *g);
/* A change of one bind, at the cost of that bind (the whole state walks
 * every bind held): hn_mount_guard_state_of is the part that the
 * allocation's bind of the image (after hn_mount_acquire) adds, with the
 * image's mount, loop device and file and everything on the way down to
 * them; hn_mount_guard_add merges a part into g (each key once; the part
 * is consumed, its names moved); hn_mount_guard_remove_bind takes from g
 * what only that bind's path names (after hn_mount_release; with its
 * allocation's directories when the allocation holds nothing else). g and
 * part are states as hn_mount_guard_state and _state_of give them (their
 * arrays sorted, the names by key and path, each once: a part's name g
 * has already is dropped); on failure g is as it was. The next whole state (after
 * a reconcile pass) replaces g. */
HN_PUBLIC int hn_mount_guard_state_of(struct hn_mount_manager *m, const char *image_path, const char *allocation_id,
                                      struct hn_mount_guard *ret, struct hn_error *err);
HN_PUBLIC int hn_mount_guard_add(struct hn_mount_guard *g, struct hn_mount_guard *part, struct hn_error *err);
HN_PUBLIC int hn_mount_guard_remove_bind(struct hn_mount_manager *m, struct hn_mount_guard *g, const char *image_path,
                                         const char *allocation_id, struct hn_error *err);
/* The path a guard record's mount id (or, with peer, peer group id) and
 * inode stand for, or NULL. */
HN_PUBLIC const char *hn_mount_guard_name(const struct hn_mount_guard *g, bool peer, uint32_t id, uint64_t ino);

/* The earliest hold deadline (CLOCK_MONOTONIC µs), or 0 if no timer runs;
 * for callers with an event loop that show or act on it. */
/* Drift: the kernel's mount table no longer matches the manager's state
 * (WI2, WI6, F31). hn_mount_reconcile compares them and classifies every
 * difference; what is safe is repaired (an undercount re-mounted or
 * re-bound, an overcount corrected), nothing is ever unmounted on doubt,
 * a foreign mount is reported and never touched. Repairs are also audited
 * as "mount.refcount_corrected". */
enum hn_drift_class {
        HN_DRIFT_HELD_MOUNT_REMOVED = 1, /* an image mount with holders, or in its hold window, is gone */
        HN_DRIFT_BIND_REMOVED,           /* a live allocation's bind is gone */
        HN_DRIFT_FOREIGN_MOUNT,          /* under a base, not made by hpcnode */
        HN_DRIFT_REFCOUNT_MISMATCH,      /* a holder whose allocation is gone (its workdir removed) */
        HN_DRIFT_LOOP_LEAK,              /* a loop device backed by a managed image that nothing mounts */
        HN_DRIFT_MOVED,                  /* a managed mount is now elsewhere (mount --move) */
        HN_DRIFT_REMOUNTED,              /* a managed mount lost read-only (mount -o remount,rw, mount_setattr) */
        HN_DRIFT_SHADOWED,               /* a mount stacked on a held mount, a base, or a directory on the way
                                          * down to one: the path no longer reaches what the manager holds */
        HN_DRIFT_IMAGE_CHANGED,          /* what a held image's jobs read changed: the file written in place or
                                          * replaced, or its loop device pointed elsewhere (LOOP_CHANGE_FD,
                                          * a new offset or size limit) */
        HN_DRIFT_PROPAGATION,            /* a managed mount is no longer private (--make-shared, mount_setattr) */
        HN_DRIFT_CLASS_MAX,
};
struct hn_drift {
        enum hn_drift_class cls;
        const char *path;   /* the mount point, bind path or loop device */
        const char *image;  /* the image, "" when unknown (foreign) */
        const char *detail; /* what was found, and what was done */
        bool repaired;      /* re-mounted, re-bound or corrected */
        int sys_errno;      /* a repair that failed */
};
typedef void (*hn_drift_fn)(const struct hn_drift *d, void *userdata);
/* "held_mount_removed", …; never NULL. */
HN_PUBLIC const char *hn_drift_class_name(enum hn_drift_class c);
/* One pass over /proc/self/mountinfo and the loop devices. fn gets every
 * drift found (after the manager's lock is released): those that cannot
 * be repaired (foreign, loop leak) once while they last. Returns how many
 * were found, or a negative errno. */
HN_PUBLIC int hn_mount_reconcile(struct hn_mount_manager *m, hn_drift_fn fn, void *userdata, struct hn_error *err);
/* hn_mount_reconcile, then hn_mount_guard_state into *ret_guard, with one
 * read of the mount table for both when the pass found nothing (a pass
 * that repaired reads it again). *ret_guard is written only on success;
 * a failure to build it is an error after the drift was delivered. */
HN_PUBLIC int hn_mount_reconcile_guard(struct hn_mount_manager *m, hn_drift_fn fn, void *userdata,
                                       struct hn_mount_guard *ret_guard, struct hn_error *err);
/* hn_mount_reconcile_guard for a caller that puts each acquire's and
 * release's part in force itself (hn_mount_guard_state_of and _add,
 * hn_mount_guard_remove_bind): when the mount table differs from the one
 * the last whole state was built from by exactly those binds and image
 * mounts, each by its mount id, and by mounts away from the bases (none at
 * or below a base, nor on the way to one or to a held image's file or
 * loop device: no other mount there made,
 * removed, moved, remounted or made shared, and no image unmounted
 * since), the pass has
 * nothing to find and reads nothing more: returns 0 with *ret_whole false
 * and *ret_guard untouched (the caller's state with its parts is the
 * whole state). Otherwise the whole pass, *ret_whole true. The tick's
 * pass stays whole (image files, loop devices, the bases). */
HN_PUBLIC int hn_mount_reconcile_parts(struct hn_mount_manager *m, hn_drift_fn fn, void *userdata,
                                       struct hn_mount_guard *ret_guard, bool *ret_whole, struct hn_error *err);

HN_PUBLIC uint64_t hn_mount_next_deadline(struct hn_mount_manager *m);

#ifdef __cplusplus
}
#endif
#endif
