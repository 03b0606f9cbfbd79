/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "limits_watch.h"
#include "macro.h"

/* Every file of a cgroup that can be written holds a value that shapes
 * what the slice may use, except these: acts a tracepoint attributes
 * (membership, freeze, kill), and values the kernel itself moves (PSI
 * averages, peaks), which would change at every scan. */
bool hnd_limits_watched(const char *name, mode_t mode) {
        static const char *const acts[] = { "cgroup.procs", "cgroup.threads", "cgroup.kill", "cgroup.freeze" };
        if (!S_ISREG(mode) || !(mode & 0222) || !(mode & 0444))
                return false; /* read-only, or write-only (memory.reclaim): no value to keep */
        for (size_t i = 0; i < ELEMENTSOF(acts); i++)
                if (!strcmp(name, acts[i]))
                        return false;
        size_t n = strlen(name);
        bool psi = n > 9 && !strcmp(name + n - 9, ".pressure") && strcmp(name, "cgroup.pressure") != 0;
        bool peak = n > 5 && !strcmp(name + n - 5, ".peak");
        return !psi && !peak;
}

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
        _cleanup_closedir_ DIR *d = opendir_at(dfd, ".");
        if (!d)
                return -errno;
        char value[VALUE_MAX], path[PATH_MAX];
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
                        continue;
                int r;
                if (de->d_type == DT_DIR) {
                        if (depth < 64 && (r = collect(t, path, owner, depth + 1)) < 0)
                                return r;
                        continue;
                }
                struct stat st;
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !hnd_limits_watched(de->d_name, st.st_mode))
                        continue;
                if (read_file_at(dfd, de->d_name, value, sizeof(value)) < 0)
                        continue; /* the cgroup went away, or the file is not readable after all */
                trim(value);
                if ((r = table_add(t, path, value, owner)) < 0)
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
