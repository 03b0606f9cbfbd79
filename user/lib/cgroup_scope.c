/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup_internal.h"
#include "cgroup_limits.h"
#include "cgroup_path.h"
#include "cgroup_zombie.h"
#include "error_set.h"
#include "macro.h"

/* Refuses an existing scope, saying so plainly when it is a zombie (F30). */
static int refuse_existing(struct hn_cgroup_manager *m, int parent_fd, const char *component, const char *rel,
                           const char *path, struct hn_error *err) {
        if (zombie_check(parent_fd, component) > 0) {
                const char *why = "scope is a zombie (processes could not be killed, F30); its name is not reused";
                cgroup_audit(m, "cgroup.create", HN_AUDIT_REFUSED, rel, why, EEXIST, false);
                return hn_error_set(err, HN_ERR_CREATION_FAILED, EEXIST, "cgroup creation failed: %s: %s", path,
                                    why);
        }
        cgroup_audit(m, "cgroup.create", HN_AUDIT_REFUSED, rel, "already exists", EEXIST, false);
        return hn_error_set(err, HN_ERR_CREATION_FAILED, EEXIST, "cgroup creation failed: %s: already exists",
                            path);
}

int hn_cgroup_create_scope(struct hn_cgroup_manager *m, const char *parent, const char *name,
                           const struct hn_resource_limits *limits, struct hn_cgroup_handle *ret,
                           struct hn_error *err) {
        char component[HN_CGROUP_NAME_MAX + 1], rel_parent[HN_CGROUP_PATH_MAX], rel[HN_CGROUP_PATH_MAX];
        char path[PATH_MAX], parent_path[PATH_MAX];
        int r;

        if (!ret)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: ret is NULL");
        r = scope_name_to_component(name, component, sizeof(component), err);
        if (r < 0)
                return r;
        r = cgroup_path_relative(m->root, parent, rel_parent, sizeof(rel_parent), err);
        if (r < 0)
                return r;
        r = limits_validate(limits, err);
        if (r < 0)
                return r;
        if ((size_t) snprintf(rel, sizeof(rel), "%s/%s", rel_parent, component) >= sizeof(rel))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG, "invalid cgroup path: too long");
        cgroup_abs_path(m, rel, path, sizeof(path));
        cgroup_abs_path(m, rel_parent, parent_path, sizeof(parent_path));

        r = cgroup_check_access(m, rel_parent, ACCESS_WRITE, "cgroup.create", NULL, err);
        if (r < 0)
                return r;

        _cleanup_close_ int parent_fd = cgroup_open_dir(m, rel_parent);
        if (parent_fd < 0)
                return hn_error_set(err, parent_fd == -ENOENT ? HN_ERR_NOT_FOUND : HN_ERR_IO, parent_fd,
                                    parent_fd == -ENOENT ? "cgroup path not found: %s" : "cgroup I/O error: %s: %s",
                                    parent_path, strerror(-parent_fd));

        if (mkdirat(parent_fd, component, 0755) < 0) {
                int e = errno;
                if (e == EEXIST)
                        return refuse_existing(m, parent_fd, component, rel, path, err);
                cgroup_audit(m, "cgroup.create", HN_AUDIT_FAILED, rel, strerror(e), e, false);
                return hn_error_set(err, HN_ERR_CREATION_FAILED, e, "cgroup creation failed: %s: %s", path,
                                    strerror(e));
        }

        /* From here on, every failure removes the directory again (RI5). */
        const char *file = NULL;
        char value[128] = "";
        _cleanup_close_ int scope_fd = openat(parent_fd, component, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        r = scope_fd < 0 ? -errno : limits_apply(scope_fd, limits, &file, value, sizeof(value));
        if (r < 0) {
                char detail[PATH_MAX + 256];
                if (file && r == -ENOENT)
                        /* A missing control file means its controller (the
                         * name before the dot) is not delegated here. */
                        snprintf(detail, sizeof(detail),
                                 "%s=%s: controller not enabled (no %.*s in %s/cgroup.subtree_control)", file,
                                 value, (int) strcspn(file, "."), file, parent_path);
                else if (file)
                        snprintf(detail, sizeof(detail), "%s=%s: %s", file, value, strerror(-r));
                else
                        snprintf(detail, sizeof(detail), "%s", strerror(-r));
                (void) unlinkat(parent_fd, component, AT_REMOVEDIR);
                cgroup_audit(m, "cgroup.create", HN_AUDIT_FAILED, rel, detail, r, false);
                return hn_error_set(err, HN_ERR_CREATION_FAILED, r, "cgroup creation failed: %s: %s", path, detail);
        }

        cgroup_audit(m, "cgroup.create", HN_AUDIT_DONE, rel, "scope", 0, false);
        snprintf(ret->path, sizeof(ret->path), "%s", path);
        return 0;
}
