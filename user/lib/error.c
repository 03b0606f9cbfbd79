/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "error_set.h"

int hn_error_set(struct hn_error *err, enum hn_error_kind kind, int sys_errno, const char *fmt, ...) {
        if (sys_errno < 0)
                sys_errno = -sys_errno;
        if (err) {
                va_list ap;
                err->kind = kind;
                err->sys_errno = sys_errno;
                va_start(ap, fmt);
                vsnprintf(err->message, sizeof(err->message), fmt, ap);
                va_end(ap);
        }
        return sys_errno ? -sys_errno : -EIO;
}

const char *hn_error_kind_name(enum hn_error_kind kind) {
        switch (kind) {
        case HN_ERR_NONE:
                return "none";
        case HN_ERR_INVALID_ARGUMENT:
                return "invalid_argument";
        case HN_ERR_CREATION_FAILED:
                return "creation_failed";
        case HN_ERR_KILL_FAILED:
                return "kill_failed";
        case HN_ERR_NOT_FOUND:
                return "not_found";
        case HN_ERR_PERMISSION_DENIED:
                return "permission_denied";
        case HN_ERR_IO:
                return "io";
        case HN_ERR_MOUNT_FAILED:
                return "mount_failed";
        case HN_ERR_UNMOUNT_FAILED:
                return "unmount_failed";
        case HN_ERR_REFCOUNT_INCONSISTENCY:
                return "refcount_inconsistency";
        case HN_ERR_GUARD_STATE:
                return "guard_state";
        }
        return "unknown";
}
