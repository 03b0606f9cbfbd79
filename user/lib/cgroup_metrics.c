/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup_internal.h"
#include "cgroup_metrics_parse.h"
#include "cgroup_path.h"
#include "error_set.h"
#include "fileio.h"
#include "macro.h"

int parse_memory_max(const char *text, uint64_t *ret) {
        if (strcmp(text, "max") == 0) {
                *ret = HN_MEMORY_UNLIMITED;
                return 0;
        }
        if (text[0] < '0' || text[0] > '9')
                return -EBADMSG;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EBADMSG;
        *ret = v;
        return 0;
}

uint32_t count_pid_lines(const char *text) {
        uint32_t n = 0;
        for (const char *p = text; *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                if (len > 0)
                        n++;
                p += len;
                if (*p == '\n')
                        p++;
        }
        return n;
}

static int metrics_error(struct hn_error *err, int r, const char *path, const char *file) {
        if (r == -ENOENT && !file)
                return hn_error_set(err, HN_ERR_NOT_FOUND, ENOENT, "cgroup path not found: %s", path);
        return hn_error_set(err, HN_ERR_IO, r, "cgroup I/O error: %s/%s: %s", path, file ? file : "",
                            strerror(-r));
}

int hn_cgroup_read_metrics(struct hn_cgroup_manager *m, const char *path, struct hn_cgroup_metrics *ret,
                           struct hn_error *err) {
        char rel[HN_CGROUP_PATH_MAX], abs[PATH_MAX], buf[64];
        struct hn_cgroup_metrics out = { .memory_max = HN_MEMORY_UNLIMITED };
        unsigned long long usage;

        if (!ret)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: ret is NULL");
        int r = cgroup_path_relative(m->root, path, rel, sizeof(rel), err);
        if (r < 0)
                return r;
        cgroup_abs_path(m, rel, abs, sizeof(abs));
        /* RI6: no ownership check here, ever. */
        _cleanup_close_ int fd = cgroup_open_dir(m, rel);
        if (fd < 0)
                return metrics_error(err, fd, abs, NULL);

        r = read_file_at(fd, "memory.current", buf, sizeof(buf));
        if (r == 0) {
                out.has_memory = true;
                out.memory_current = strtoull(buf, NULL, 10);
                r = read_file_at(fd, "memory.max", buf, sizeof(buf));
                if (r == 0)
                        r = parse_memory_max(buf, &out.memory_max);
                if (r < 0)
                        return metrics_error(err, r, abs, "memory.max");
        } else if (r != -ENOENT) {
                return metrics_error(err, r, abs, "memory.current");
        }
        /* cpu.stat usage_usec exists in every v2 cgroup, with or without the
         * cpu controller. */
        r = read_keyed_u64_at(fd, "cpu.stat", "usage_usec", &usage);
        if (r < 0)
                return metrics_error(err, r, abs, "cpu.stat");
        out.cpu_usage_usec = usage;
        _cleanup_free_ char *procs = NULL;
        r = read_full_file_at(fd, "cgroup.procs", &procs, NULL);
        if (r < 0)
                return metrics_error(err, r, abs, "cgroup.procs");
        out.nr_processes = count_pid_lines(procs);
        *ret = out;
        return 0;
}

int hn_cgroup_is_scope_empty(struct hn_cgroup_manager *m, const struct hn_cgroup_handle *h, bool *ret_empty,
                             struct hn_error *err) {
        char rel[HN_CGROUP_PATH_MAX];
        unsigned long long populated;
        if (!h || !ret_empty)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: NULL handle or output");
        int r = cgroup_path_relative(m->root, h->path, rel, sizeof(rel), err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = cgroup_open_dir(m, rel);
        if (fd < 0)
                return metrics_error(err, fd, h->path, NULL);
        r = read_keyed_u64_at(fd, "cgroup.events", "populated", &populated);
        if (r < 0)
                return metrics_error(err, r, h->path, "cgroup.events");
        *ret_empty = populated == 0;
        return 0;
}
