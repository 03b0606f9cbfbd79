/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "cgroup_internal.h"
#include "clock.h"
#include "cgroup_path.h"
#include "error_set.h"

void cgroup_abs_path(const struct hn_cgroup_manager *m, const char *rel, char *buf, size_t size) {
        if (rel[0] == '\0')
                snprintf(buf, size, "%s", m->root);
        else if (strcmp(m->root, "/") == 0)
                snprintf(buf, size, "/%s", rel);
        else
                snprintf(buf, size, "%s/%s", m->root, rel);
}

int cgroup_open_dir(const struct hn_cgroup_manager *m, const char *rel) {
        int fd = openat(m->root_fd, rel[0] ? rel : ".", O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? -errno : fd;
}

static void emit(struct hn_cgroup_manager *m, const char *action, enum hn_audit_outcome outcome, const char *rel,
                 const char *actor, const char *detail, int sys_errno, bool emergency) {
        if (!m->audit_fn)
                return;
        char path[PATH_MAX];
        cgroup_abs_path(m, rel, path, sizeof(path));
        struct hn_audit_record rec = {
                .action = action,
                .outcome = outcome,
                .caller = m->caller,
                .target_owner = slice_owner_of_relative(rel),
                .path = path,
                .actor = actor,
                .detail = detail,
                .sys_errno = sys_errno < 0 ? -sys_errno : sys_errno,
                .emergency = emergency,
                .realtime_ns = realtime_now_ns(),
        };
        m->audit_fn(&rec, m->audit_userdata);
}

void cgroup_audit(struct hn_cgroup_manager *m, const char *action, enum hn_audit_outcome outcome,
                  const char *rel, const char *detail, int sys_errno, bool emergency) {
        emit(m, action, outcome, rel, NULL, detail, sys_errno, emergency);
}

void cgroup_audit_emergency_intent(struct hn_cgroup_manager *m, const char *action, const char *rel,
                                   const char *detail) {
        struct hn_emergency_info info = { .actor = "" };
        if (m->emergency)
                (void) hn_emergency_active(m->emergency, &info, NULL);
        emit(m, action, HN_AUDIT_INTENT, rel, info.actor, detail, 0, true);
}

int cgroup_check_access(struct hn_cgroup_manager *m, const char *rel, enum cgroup_access access,
                        const char *action, bool *ret_emergency, struct hn_error *err) {
        enum hn_slice_owner target = slice_owner_of_relative(rel);
        char path[PATH_MAX];

        if (target != HN_OWNER_NONE && target == m->caller) {
                if (ret_emergency)
                        *ret_emergency = false;
                return 0;
        }
        /* RI3: only pact, only in workload.slice, only to kill or freeze, only
         * while an emergency is in force. */
        if (access != ACCESS_WRITE && m->caller == HN_OWNER_PACT && target == HN_OWNER_WORKLOAD && m->emergency &&
            hn_emergency_active(m->emergency, NULL, NULL) > 0) {
                if (ret_emergency)
                        *ret_emergency = true;
                return 0;
        }
        cgroup_abs_path(m, rel, path, sizeof(path));
        char detail[PATH_MAX + 128];
        if (target == HN_OWNER_NONE)
                snprintf(detail, sizeof(detail), "permission denied: %s is outside pact.slice and workload.slice",
                         path);
        else
                snprintf(detail, sizeof(detail), "permission denied: %s owned by %s", path,
                         hn_slice_owner_name(target));
        cgroup_audit(m, action, HN_AUDIT_REFUSED, rel, detail, EPERM, false);
        return hn_error_set(err, HN_ERR_PERMISSION_DENIED, EPERM, "%s", detail);
}
