/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup_controllers.h"
#include "cgroup_internal.h"
#include "error_set.h"
#include "fileio.h"
#include "macro.h"

/* Parents before children: mkdir and subtree_control both go top-down. */
static const char *const layout[] = {
        HN_SLICE_PACT_ROOT,  HN_SLICE_PACT_INFRA,   HN_SLICE_PACT_NETWORK,
        HN_SLICE_PACT_GPU,   HN_SLICE_PACT_AUDIT,   HN_SLICE_WORKLOAD_ROOT,
};

static const char *const controller_names[] = { "cpu", "io", "memory", "pids" };
static const unsigned controller_bits[] = { HN_CONTROLLER_CPU, HN_CONTROLLER_IO, HN_CONTROLLER_MEMORY,
                                            HN_CONTROLLER_PIDS };

/* Enables in rel's subtree_control every wanted controller rel has
 * available; returns the set now enabled there. One write per controller,
 * so one the kernel refuses does not stop the others. */
static unsigned enable_controllers(struct hn_cgroup_manager *m, const char *rel, unsigned wanted) {
        char buf[512];
        _cleanup_close_ int fd = cgroup_open_dir(m, rel);
        if (fd < 0)
                return 0;
        if (read_file_at(fd, "cgroup.controllers", buf, sizeof(buf)) < 0)
                return 0;
        unsigned available = controller_mask_parse(buf) & wanted;
        for (size_t i = 0; i < ELEMENTSOF(controller_names); i++) {
                char op[16];
                if (!(available & controller_bits[i]))
                        continue;
                snprintf(op, sizeof(op), "+%s", controller_names[i]);
                (void) write_file_at(fd, "cgroup.subtree_control", op);
        }
        if (read_file_at(fd, "cgroup.subtree_control", buf, sizeof(buf)) < 0)
                return 0;
        return controller_mask_parse(buf);
}

int hn_cgroup_create_hierarchy(struct hn_cgroup_manager *m, unsigned *ret_enabled, struct hn_error *err) {
        char path[PATH_MAX];

        for (size_t i = 0; i < ELEMENTSOF(layout); i++) {
                if (mkdirat(m->root_fd, layout[i], 0755) == 0) {
                        cgroup_audit(m, "cgroup.create", HN_AUDIT_DONE, layout[i], "slice", 0, false);
                        continue;
                }
                if (errno == EEXIST)
                        continue;
                int e = errno;
                cgroup_abs_path(m, layout[i], path, sizeof(path));
                cgroup_audit(m, "cgroup.create", HN_AUDIT_FAILED, layout[i], strerror(e), e, false);
                return hn_error_set(err, HN_ERR_CREATION_FAILED, e, "cgroup creation failed: %s: %s", path,
                                    strerror(e));
        }

        /* The root level first: a child can only enable what its parent's
         * subtree_control hands down. Scopes live under workload.slice and
         * under the pact sub-slices, so every layout level delegates. */
        unsigned at_root = enable_controllers(m, "", HN_CONTROLLERS_ALL);
        unsigned enabled = at_root;
        for (size_t i = 0; i < ELEMENTSOF(layout); i++)
                enabled &= enable_controllers(m, layout[i], at_root);
        if (ret_enabled)
                *ret_enabled = enabled;
        return 0;
}
