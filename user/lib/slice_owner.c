/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <hpcnode/slice.h>

#include "cgroup_path.h"

/* Mount prefixes stripped by hn_slice_owner(), longest first so the hybrid
 * layout's /sys/fs/cgroup/unified is not read as a slice called "unified". */
static const char *const mount_prefixes[] = {
        "/sys/fs/cgroup/unified",
        "/sys/fs/cgroup",
};

static bool first_component_is(const char *rel, const char *name) {
        size_t n = strlen(name);
        return strncmp(rel, name, n) == 0 && (rel[n] == '\0' || rel[n] == '/');
}

enum hn_slice_owner slice_owner_of_relative(const char *rel) {
        if (first_component_is(rel, HN_SLICE_PACT_ROOT))
                return HN_OWNER_PACT;
        if (first_component_is(rel, HN_SLICE_WORKLOAD_ROOT))
                return HN_OWNER_WORKLOAD;
        return HN_OWNER_NONE;
}

enum hn_slice_owner hn_slice_owner(const char *path) {
        char rel[4096];

        if (!path)
                return HN_OWNER_NONE;
        for (size_t i = 0; i < sizeof(mount_prefixes) / sizeof(mount_prefixes[0]); i++) {
                size_t n = strlen(mount_prefixes[i]);
                if (strncmp(path, mount_prefixes[i], n) == 0 && (path[n] == '/' || path[n] == '\0')) {
                        path += n;
                        break;
                }
        }
        /* Normalising against "/" accepts a leading '/' and refuses "..",
         * "." and empty components: an ambiguous path belongs to nobody. */
        if (cgroup_path_relative("/", path, rel, sizeof(rel), NULL) < 0)
                return HN_OWNER_NONE;
        return slice_owner_of_relative(rel);
}

const char *hn_slice_owner_name(enum hn_slice_owner owner) {
        switch (owner) {
        case HN_OWNER_PACT:
                return "pact";
        case HN_OWNER_WORKLOAD:
                return "workload";
        case HN_OWNER_NONE:
                break;
        }
        return "none";
}
