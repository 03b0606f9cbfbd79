/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup_events.h"
#include "cgroup_internal.h"
#include "clock.h"
#include "cgroup_metrics_parse.h"
#include "cgroup_path.h"
#include "cgroup_zombie.h"
#include "error_set.h"
#include "fileio.h"
#include "macro.h"

/* A handle must name a scope: the slices themselves are never destroyed or
 * frozen through this API. */
static int scope_rel(struct hn_cgroup_manager *m, const struct hn_cgroup_handle *h, char *rel, size_t size,
                     const char **ret_name, struct hn_error *err) {
        if (!h)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: handle is NULL");
        int r = cgroup_path_relative(m->root, h->path, rel, size, err);
        if (r < 0)
                return r;
        char *slash = strrchr(rel, '/');
        const char *name = slash ? slash + 1 : rel;
        size_t n = strlen(name);
        if (n <= strlen(".scope") || strcmp(name + n - strlen(".scope"), ".scope") != 0)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid scope %s: not a .scope cgroup",
                                    h->path);
        *ret_name = name;
        return 0;
}

/* Opens the scope's parent; rel is cut at the last '/'. */
static int open_parent(struct hn_cgroup_manager *m, char *rel, const char *name) {
        if (name == rel)
                return cgroup_open_dir(m, "");
        rel[name - rel - 1] = '\0';
        int fd = cgroup_open_dir(m, rel);
        rel[name - rel - 1] = '/';
        return fd;
}

static unsigned count_procs(int dirfd) {
        _cleanup_free_ char *procs = NULL;
        return read_full_file_at(dirfd, "cgroup.procs", &procs, NULL) < 0 ? 0 : count_pid_lines(procs);
}

int hn_cgroup_destroy_scope(struct hn_cgroup_manager *m, const struct hn_cgroup_handle *h, struct hn_error *err) {
        char rel[HN_CGROUP_PATH_MAX], detail[512];
        const char *name;
        bool emergency = false;

        int r = scope_rel(m, h, rel, sizeof(rel), &name, err);
        if (r < 0)
                return r;
        r = cgroup_check_access(m, rel, ACCESS_KILL, "cgroup.destroy", &emergency, err);
        if (r < 0)
                return r;

        _cleanup_close_ int parent_fd = open_parent(m, rel, name);
        _cleanup_close_ int scope_fd = -1;
        if (parent_fd >= 0) {
                scope_fd = openat(parent_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                r = scope_fd < 0 ? -errno : 0;
        } else
                r = parent_fd;
        if (r == -ENOENT) {
                cgroup_audit(m, "cgroup.destroy", HN_AUDIT_DONE, rel, "already gone", 0, emergency);
                return 0;
        }
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, r, "cgroup I/O error: %s: %s", h->path, strerror(-r));

        /* RI3: the emergency action's record goes out before the action. */
        if (emergency)
                cgroup_audit_emergency_intent(m, "emergency.kill", rel, "kill every process, remove scope");

        r = cgroup_kill_all(scope_fd, &m->options);
        if (r == -EBUSY) {
                unsigned left = count_procs(scope_fd);
                snprintf(detail, sizeof(detail),
                         "%u process(es) still present after %u ms (uninterruptible sleep?); scope marked zombie",
                         left, m->options.kill_timeout_ms);
                int mr = zombie_mark(parent_fd, name, detail);
                if (mr < 0)
                        snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
                                 " (marking failed: %s)", strerror(-mr));
                cgroup_audit(m, "cgroup.kill_failed", HN_AUDIT_FAILED, rel, detail, EBUSY, emergency);
                return hn_error_set(err, HN_ERR_KILL_FAILED, EBUSY, "cgroup.kill failed for %s: %s", h->path, detail);
        }
        if (r < 0) {
                snprintf(detail, sizeof(detail), "killing: %s", strerror(-r));
                cgroup_audit(m, "cgroup.destroy", HN_AUDIT_FAILED, rel, detail, r, emergency);
                return hn_error_set(err, HN_ERR_KILL_FAILED, r, "cgroup.kill failed for %s: %s", h->path,
                                    strerror(-r));
        }

        r = cgroup_remove_tree(parent_fd, name);
        if (r < 0) {
                snprintf(detail, sizeof(detail), "rmdir: %s", strerror(-r));
                cgroup_audit(m, "cgroup.destroy", HN_AUDIT_FAILED, rel, detail, r, emergency);
                return hn_error_set(err, HN_ERR_IO, r, "cgroup I/O error: %s: %s", h->path, detail);
        }
        cgroup_audit(m, "cgroup.destroy", HN_AUDIT_DONE, rel, NULL, 0, emergency);
        return 0;
}

int hn_cgroup_freeze_scope(struct hn_cgroup_manager *m, const struct hn_cgroup_handle *h, bool frozen,
                           struct hn_error *err) {
        char rel[HN_CGROUP_PATH_MAX];
        const char *name, *action = frozen ? "cgroup.freeze" : "cgroup.thaw";
        bool emergency = false;

        int r = scope_rel(m, h, rel, sizeof(rel), &name, err);
        if (r < 0)
                return r;
        r = cgroup_check_access(m, rel, ACCESS_FREEZE, action, &emergency, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = cgroup_open_dir(m, rel);
        if (fd < 0)
                return hn_error_set(err, fd == -ENOENT ? HN_ERR_NOT_FOUND : HN_ERR_IO, fd,
                                    fd == -ENOENT ? "cgroup path not found: %s" : "cgroup I/O error: %s", h->path);
        if (emergency)
                cgroup_audit_emergency_intent(m, "emergency.freeze", rel, frozen ? "freeze" : "thaw");
        r = write_file_at(fd, "cgroup.freeze", frozen ? "1" : "0");
        if (r == 0)
                r = cgroup_events_wait(fd, "frozen", frozen,
                                       monotonic_usec() + (uint64_t) m->options.kill_timeout_ms * 1000u);
        if (r < 0) {
                cgroup_audit(m, action, HN_AUDIT_FAILED, rel, strerror(-r), r, emergency);
                return hn_error_set(err, HN_ERR_IO, r, "cgroup I/O error: %s/cgroup.freeze: %s", h->path,
                                    strerror(-r));
        }
        cgroup_audit(m, action, HN_AUDIT_DONE, rel, NULL, 0, emergency);
        return 0;
}

int hn_cgroup_is_zombie(struct hn_cgroup_manager *m, const char *path, bool *ret_zombie, struct hn_error *err) {
        char rel[HN_CGROUP_PATH_MAX];
        int r = cgroup_path_relative(m->root, path, rel, sizeof(rel), err);
        if (r < 0)
                return r;
        if (!ret_zombie)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: ret_zombie is NULL");
        r = zombie_check(m->root_fd, rel[0] ? rel : ".");
        if (r < 0)
                return hn_error_set(err, r == -ENOENT ? HN_ERR_NOT_FOUND : HN_ERR_IO, r,
                                    r == -ENOENT ? "cgroup path not found: %s" : "cgroup I/O error: %s", path);
        *ret_zombie = r > 0;
        return 0;
}
