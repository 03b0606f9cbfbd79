/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HPCNODE_ERROR_H
#define HPCNODE_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HN_PUBLIC __attribute__((visibility("default")))

/* What went wrong, as a category a caller can branch on. The errno in
 * struct hn_error says how the kernel saw it; the message says where. */
enum hn_error_kind {
        HN_ERR_NONE = 0,
        HN_ERR_INVALID_ARGUMENT,
        HN_ERR_CREATION_FAILED,
        HN_ERR_KILL_FAILED,
        HN_ERR_NOT_FOUND,
        HN_ERR_PERMISSION_DENIED,
        HN_ERR_IO,
        HN_ERR_MOUNT_FAILED,
        HN_ERR_UNMOUNT_FAILED,
        HN_ERR_REFCOUNT_INCONSISTENCY,
        /* the mount guard's state could not be built or written to the
         * kernel's maps. A reconcile that says so has made its repairs;
         * nothing the last state guarded is left unguarded (a state is
         * written new before old, part by part). */
        HN_ERR_GUARD_STATE,
};

#define HN_ERROR_MESSAGE_MAX 512

/* Every library call that can fail takes one as its last argument and
 * fills it when it fails, if the caller passes one; untouched on success
 * (and so are the call's outputs). Calls without one cannot fail. */
struct hn_error {
        enum hn_error_kind kind;
        int sys_errno; /* positive errno, 0 if none applies */
        char message[HN_ERROR_MESSAGE_MAX];
};

/* "invalid_argument", "creation_failed", … ; never NULL. */
HN_PUBLIC const char *hn_error_kind_name(enum hn_error_kind kind);

#ifdef __cplusplus
}
#endif
#endif
