/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "cgroup_internal.h"
#include "error_set.h"
#include "macro.h"

void hn_cgroup_options_default(struct hn_cgroup_options *ret) {
        *ret = (struct hn_cgroup_options){ .kill_timeout_ms = HN_CGROUP_DEFAULT_KILL_TIMEOUT_MS };
}

int hn_cgroup_manager_new(const char *root, enum hn_slice_owner caller, struct hn_cgroup_manager **ret,
                          struct hn_error *err) {
        char found[PATH_MAX], canonical[PATH_MAX];
        int r;

        if (!ret)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: ret is NULL");
        if (caller != HN_OWNER_NONE && caller != HN_OWNER_PACT && caller != HN_OWNER_WORKLOAD)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: caller %d",
                                    (int) caller);
        if (!root) {
                r = cgroup2_find_mount(found, sizeof(found));
                if (r < 0)
                        return hn_error_set(err, HN_ERR_NOT_FOUND, -r,
                                            "cgroup path not found: no cgroup2 mount in /proc/self/mountinfo");
                root = found;
        }
        if (root[0] != '/')
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "invalid cgroup root \"%s\": must be an absolute path", root);
        if (!realpath(root, canonical))
                return hn_error_set(err, errno == ENOENT ? HN_ERR_NOT_FOUND : HN_ERR_IO, errno,
                                    "cgroup path not found: %s: %s", root, strerror(errno));

        _cleanup_close_ int fd = open(canonical, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return hn_error_set(err, HN_ERR_IO, errno, "cgroup I/O error: %s: %s", canonical, strerror(errno));
        struct statfs sfs;
        if (fstatfs(fd, &sfs) < 0)
                return hn_error_set(err, HN_ERR_IO, errno, "cgroup I/O error: %s: %s", canonical, strerror(errno));
        if (sfs.f_type != CGROUP2_SUPER_MAGIC)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENOTDIR,
                                    "invalid cgroup root %s: not inside a cgroup2 mount", canonical);

        struct hn_cgroup_manager *m = calloc(1, sizeof(*m));
        if (!m)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "cgroup I/O error: out of memory");
        m->root_fd = take_fd(&fd);
        snprintf(m->root, sizeof(m->root), "%s", canonical);
        m->caller = caller;
        hn_cgroup_options_default(&m->options);
        *ret = m;
        return 0;
}

void hn_cgroup_manager_free(struct hn_cgroup_manager *m) {
        if (!m)
                return;
        closep(&m->root_fd);
        free(m);
}

const char *hn_cgroup_manager_root(const struct hn_cgroup_manager *m) {
        return m->root;
}

int hn_cgroup_manager_set_options(struct hn_cgroup_manager *m, const struct hn_cgroup_options *opts,
                                  struct hn_error *err) {
        if (!opts)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: options is NULL");
        /* A zero wait would report every live scope as unkillable; an hour
         * is far past any kill that is going to finish. */
        if (opts->kill_timeout_ms == 0 || opts->kill_timeout_ms > 3600u * 1000u)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "invalid kill timeout %u ms: must be 1..3600000", opts->kill_timeout_ms);
        m->options = *opts;
        return 0;
}

void hn_cgroup_manager_set_audit(struct hn_cgroup_manager *m, hn_audit_fn fn, void *userdata) {
        m->audit_fn = fn;
        m->audit_userdata = userdata;
}

void hn_cgroup_manager_set_emergency(struct hn_cgroup_manager *m, struct hn_emergency *e) {
        m->emergency = e;
}

const char *hn_audit_outcome_name(enum hn_audit_outcome outcome) {
        switch (outcome) {
        case HN_AUDIT_DONE:
                return "done";
        case HN_AUDIT_INTENT:
                return "intent";
        case HN_AUDIT_REFUSED:
                return "refused";
        case HN_AUDIT_FAILED:
                return "failed";
        }
        return "unknown";
}
