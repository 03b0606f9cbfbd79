/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup_limits.h"
#include "error_set.h"
#include "fileio.h"
#include "macro.h"

int limits_validate(const struct hn_resource_limits *l, struct hn_error *err) {
        if (!l)
                return 0;
        if (l->cpu_weight != 0 && (l->cpu_weight < CPU_WEIGHT_MIN || l->cpu_weight > CPU_WEIGHT_MAX))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "invalid cpu_weight %" PRIu32 ": must be %u..%u", l->cpu_weight,
                                    CPU_WEIGHT_MIN, CPU_WEIGHT_MAX);
        if (l->n_io_devices > 0 && !l->io_devices)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "invalid io limits: %zu devices but no list", l->n_io_devices);
        for (size_t i = 0; i < l->n_io_devices; i++) {
                const struct hn_io_device_limit *d = &l->io_devices[i];
                if (!d->rbps && !d->wbps && !d->riops && !d->wiops)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                            "invalid io limit for %" PRIu32 ":%" PRIu32 ": no field set",
                                            d->major, d->minor);
        }
        return 0;
}

int io_max_format_line(const struct hn_io_device_limit *d, char *buf, size_t size) {
        const struct {
                const char *key;
                uint64_t value;
        } fields[] = { { "rbps", d->rbps }, { "wbps", d->wbps }, { "riops", d->riops }, { "wiops", d->wiops } };
        int n = snprintf(buf, size, "%" PRIu32 ":%" PRIu32, d->major, d->minor);
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        size_t used = (size_t) n;
        bool any = false;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                if (!fields[i].value)
                        continue;
                any = true;
                n = snprintf(buf + used, size - used, " %s=%" PRIu64, fields[i].key, fields[i].value);
                if (n < 0 || (size_t) n >= size - used)
                        return -ENOBUFS;
                used += (size_t) n;
        }
        return any ? 0 : -EINVAL;
}

int whole_disks_list(const char *sysfs_block, struct hn_io_device_limit **ret, size_t *ret_n) {
        _cleanup_closedir_ DIR *dir = opendir(sysfs_block);
        if (!dir)
                return -errno;
        _cleanup_free_ struct hn_io_device_limit *list = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(dir))) {
                char buf[64];
                char name[512];
                unsigned maj, min;
                if (de->d_name[0] == '.')
                        continue;
                snprintf(name, sizeof(name), "%s/size", de->d_name);
                /* A detached loop device or an empty drive has size 0 and no
                 * I/O to limit. */
                if (read_file_at(dirfd(dir), name, buf, sizeof(buf)) < 0 || strtoull(buf, NULL, 10) == 0)
                        continue;
                snprintf(name, sizeof(name), "%s/dev", de->d_name);
                if (read_file_at(dirfd(dir), name, buf, sizeof(buf)) < 0 || sscanf(buf, "%u:%u", &maj, &min) != 2)
                        continue;
                struct hn_io_device_limit *grown = realloc(list, (n + 1) * sizeof(*list));
                if (!grown)
                        return -ENOMEM;
                list = grown;
                list[n++] = (struct hn_io_device_limit){ .major = maj, .minor = min };
        }
        *ret = list;
        list = NULL;
        *ret_n = n;
        return 0;
}

static int write_io_line(int scope_fd, const struct hn_io_device_limit *d, char *ret_value, size_t value_size) {
        int r = io_max_format_line(d, ret_value, value_size);
        if (r < 0)
                return r;
        return write_file_at(scope_fd, "io.max", ret_value);
}

int limits_apply(int scope_fd, const struct hn_resource_limits *l, const char **ret_file, char *ret_value,
                 size_t value_size) {
        int r;
        if (!l)
                return 0;
        if (l->memory_max) {
                *ret_file = "memory.max";
                snprintf(ret_value, value_size, "%" PRIu64, l->memory_max);
                r = write_file_at(scope_fd, "memory.max", ret_value);
                if (r < 0)
                        return r;
        }
        if (l->cpu_weight) {
                *ret_file = "cpu.weight";
                snprintf(ret_value, value_size, "%" PRIu32, l->cpu_weight);
                r = write_file_at(scope_fd, "cpu.weight", ret_value);
                if (r < 0)
                        return r;
        }
        *ret_file = "io.max";
        if (l->io_max) {
                _cleanup_free_ struct hn_io_device_limit *disks = NULL;
                size_t n = 0;
                r = whole_disks_list("/sys/block", &disks, &n);
                if (r < 0) {
                        snprintf(ret_value, value_size, "(listing /sys/block)");
                        return r;
                }
                for (size_t i = 0; i < n; i++) {
                        disks[i].rbps = disks[i].wbps = l->io_max;
                        r = write_io_line(scope_fd, &disks[i], ret_value, value_size);
                        if (r < 0)
                                return r;
                }
        }
        for (size_t i = 0; i < l->n_io_devices; i++) {
                r = write_io_line(scope_fd, &l->io_devices[i], ret_value, value_size);
                if (r < 0)
                        return r;
        }
        return 0;
}
