/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "limits_watch.h"
#include "macro.h"

/* Values that limit or shape what a slice may use, and the tree's own
 * limits. cgroup.procs, cgroup.freeze and cgroup.kill are acts the kernel
 * attributes (tp_btf), not values. */
const char *const hnd_limit_files[] = {
        "cgroup.subtree_control", "cgroup.max.descendants", "cgroup.max.depth", "cgroup.type",
        "memory.min", "memory.low", "memory.high", "memory.max", "memory.swap.high", "memory.swap.max",
        "memory.zswap.max", "memory.oom.group", "cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle",
        "cpu.uclamp.min", "cpu.uclamp.max", "cpuset.cpus", "cpuset.mems", "cpuset.cpus.partition",
        "io.max", "io.weight", "io.latency", "pids.max", "rdma.max", NULL,
};

#define VALUE_MAX 4096

struct entry {
        char *path;  /* absolute */
        char *value;
        enum hn_slice_owner owner;
};

struct table {
        struct entry *v;
        size_t n, cap;
};

struct hnd_limits {
        char root[PATH_MAX];
        struct table seen;
        bool scanned;
};

static void table_clear(struct table *t) {
        for (size_t i = 0; i < t->n; i++) {
                free(t->v[i].path);
                free(t->v[i].value);
        }
        free(t->v);
        *t = (struct table){ 0 };
}

static int table_add(struct table *t, const char *path, const char *value, enum hn_slice_owner owner) {
        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 256;
                struct entry *v = realloc(t->v, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                t->v = v;
                t->cap = cap;
        }
        struct entry e = { strdup(path), strdup(value), owner };
        if (!e.path || !e.value) {
                free(e.path);
                free(e.value);
                return -ENOMEM;
        }
        t->v[t->n++] = e;
        return 0;
}

static int entry_cmp(const void *a, const void *b) {
        return strcmp(((const struct entry *) a)->path, ((const struct entry *) b)->path);
}

/* Trailing whitespace off: "max\n" and "max" are the same value. */
static void trim(char *s) {
        size_t n = strlen(s);
        while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = '\0';
}

static int collect(struct table *t, const char *dir, enum hn_slice_owner owner, unsigned depth) {
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : -errno; /* removed under us, or the slice is not there yet */
        char value[VALUE_MAX], path[PATH_MAX];
        for (const char *const *f = hnd_limit_files; *f; f++) {
                int r = read_file_at(dfd, *f, value, sizeof(value));
                if (r < 0)
                        continue; /* controller not enabled here, or the cgroup went away */
                trim(value);
                if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, *f) >= sizeof(path))
                        continue;
                if ((r = table_add(t, path, value, owner)) < 0)
                        return r;
        }
        if (depth >= 64)
                return 0;
        int fd = dup(dfd);
        if (fd < 0)
                return -errno;
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
                        continue;
                int r = collect(t, path, owner, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

int hnd_limits_new(const char *root, struct hnd_limits **ret) {
        struct hnd_limits *l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        if ((size_t) snprintf(l->root, sizeof(l->root), "%s", root) >= sizeof(l->root)) {
                free(l);
                return -ENAMETOOLONG;
        }
        *ret = l;
        return 0;
}

void hnd_limits_free(struct hnd_limits *l) {
        if (!l)
                return;
        table_clear(&l->seen);
        free(l);
}

int hnd_limits_scan(struct hnd_limits *l, hnd_limit_change_fn fn, void *userdata) {
        static const struct {
                const char *slice;
                enum hn_slice_owner owner;
        } slices[] = { { HN_SLICE_PACT_ROOT, HN_OWNER_PACT }, { HN_SLICE_WORKLOAD_ROOT, HN_OWNER_WORKLOAD } };
        struct table now = { 0 };
        for (size_t i = 0; i < ELEMENTSOF(slices); i++) {
                char dir[PATH_MAX + 32];
                snprintf(dir, sizeof(dir), "%s/%s", l->root, slices[i].slice);
                int r = collect(&now, dir, slices[i].owner, 0);
                if (r < 0) {
                        table_clear(&now);
                        return r;
                }
        }
        qsort(now.v, now.n, sizeof(*now.v), entry_cmp);
        for (size_t i = 0; l->scanned && fn && i < now.n; i++) {
                struct entry *was = l->seen.n ? bsearch(&now.v[i], l->seen.v, l->seen.n, sizeof(*now.v), entry_cmp)
                                              : NULL;
                if (!was || !strcmp(was->value, now.v[i].value))
                        continue;
                struct hnd_limit_change c = { .path = now.v[i].path, .old_value = was->value,
                                              .new_value = now.v[i].value, .owner = now.v[i].owner };
                c.file = strrchr(c.path, '/') + 1;
                fn(&c, userdata);
        }
        table_clear(&l->seen);
        l->seen = now;
        l->scanned = true;
        return (int) now.n;
}
