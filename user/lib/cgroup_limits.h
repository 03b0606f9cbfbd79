/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_CGROUP_LIMITS_H
#define HN_CGROUP_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include <hpcnode/cgroup.h>

#define CPU_WEIGHT_MIN 1u
#define CPU_WEIGHT_MAX 10000u

/* Refuses out-of-range values before anything is created. */
int limits_validate(const struct hn_resource_limits *l, struct hn_error *err);

/* One io.max line in the kernel's form: "MAJ:MIN rbps=N wbps=N riops=N
 * wiops=N", naming only the fields that are set. -EINVAL if none is. */
int io_max_format_line(const struct hn_io_device_limit *d, char *buf, size_t size);

/* Whole-disk block devices with a non-zero size, from sysfs_block (normally
 * /sys/block: partitions live below their disk, so every entry is whole). */
int whole_disks_list(const char *sysfs_block, struct hn_io_device_limit **ret, size_t *ret_n);

/* Writes the limits into the scope at scope_fd. On failure *ret_file names
 * the control file the kernel refused. */
int limits_apply(int scope_fd, const struct hn_resource_limits *l, const char **ret_file, char *ret_value,
                 size_t value_size);

#endif
