/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup_internal.h"
#include "error_set.h"
#include "libmount_cleanup.h"

/* Prefers /sys/fs/cgroup (pure v2), then /sys/fs/cgroup/unified (hybrid),
 * then the first cgroup2 mount in the table. */
int cgroup2_find_mount(char *ret, size_t size) {
        _cleanup_mnt_table_ struct libmnt_table *table =
                mnt_new_table_from_file("/proc/self/mountinfo");
        if (!table)
                return -errno ? -errno : -ENOENT;
        _cleanup_mnt_iter_ struct libmnt_iter *iter = mnt_new_iter(MNT_ITER_FORWARD);
        if (!iter)
                return -ENOMEM;

        static const char *const preferred[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
        const char *found = NULL;
        int rank = 3;
        struct libmnt_fs *fs;
        while (mnt_table_next_fs(table, iter, &fs) == 0) {
                const char *type = mnt_fs_get_fstype(fs), *target = mnt_fs_get_target(fs);
                if (!type || !target || strcmp(type, "cgroup2") != 0)
                        continue;
                int this_rank = 2;
                for (int i = 0; i < 2; i++)
                        if (strcmp(target, preferred[i]) == 0)
                                this_rank = i;
                if (this_rank < rank) {
                        rank = this_rank;
                        found = target;
                }
        }
        if (!found)
                return -ENOENT;
        if (strlen(found) + 1 > size)
                return -ENAMETOOLONG;
        snprintf(ret, size, "%s", found);
        return 0;
}

int hn_cgroup2_find_mount(char *ret, size_t size, struct hn_error *err) {
        int r = cgroup2_find_mount(ret, size);
        if (r == -ENAMETOOLONG)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, -r, "the cgroup2 mount's path does not fit in %zu bytes",
                                    size);
        if (r < 0)
                return hn_error_set(err, HN_ERR_NOT_FOUND, -r, "no cgroup2 mount in /proc/self/mountinfo: %s",
                                    strerror(-r));
        return 0;
}
