/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A guard state's names (what a record's mount id and inode stand for):
 * kept sorted by key and path, each once, so that a part's merge is one
 * walk (and drops what the state has already) and a record's name one
 * search. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <hpcnode/mount.h>

#include "mount_internal.h"
#include "sorted_vec.h"

int mount_guard_name_compare(const struct hn_mount_guard_name *a, const struct hn_mount_guard_name *b) {
        if (a->kind != b->kind)
                return a->kind < b->kind ? -1 : 1;
        if (a->id != b->id)
                return a->id < b->id ? -1 : 1;
        if (a->ino != b->ino)
                return a->ino < b->ino ? -1 : 1;
        return strcmp(a->path, b->path);
}

static int name_qsort_compare(const void *a, const void *b) {
        return mount_guard_name_compare(a, b);
}

/* name after the last of v (*n of them, sorted), unless it is that one
 * again: then its path is freed. */
static void push_once(struct hn_mount_guard_name *v, size_t *n, struct hn_mount_guard_name name) {
        if (*n > 0 && mount_guard_name_compare(&v[*n - 1], &name) == 0) {
                free(name.path);
                return;
        }
        v[(*n)++] = name;
}

/* The names in their order, each once (a walk names a mount met again as
 * an ancestor, a held mount as the parent of another). */
void mount_guard_names_sorted(struct vec *names) {
        struct hn_mount_guard_name *v = names->v;
        size_t k = 0;
        if (names->n)
                qsort(v, names->n, sizeof(*v), name_qsort_compare);
        for (size_t i = 0; i < names->n; i++)
                push_once(v, &k, v[i]);
        names->n = k;
}

size_t mount_guard_names_merge(const struct hn_mount_guard_name *a, size_t na, const struct hn_mount_guard_name *b,
                               size_t nb, struct hn_mount_guard_name *ret) {
        size_t i = 0, j = 0, k = 0;
        while (i < na || j < nb) {
                bool from_a = j == nb || (i < na && mount_guard_name_compare(&a[i], &b[j]) <= 0);
                push_once(ret, &k, from_a ? a[i++] : b[j++]);
        }
        return k;
}

/* The first name at or after key's (kind, id, inode), by a search of the
 * sorted names; g->n_names if none. */
static size_t name_lower_bound(const struct hn_mount_guard *g, uint32_t kind, uint32_t id, uint64_t ino) {
        size_t lo = 0, hi = g->n_names;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct hn_mount_guard_name *n = &g->names[mid];
                bool before = n->kind != kind ? n->kind < kind : n->id != id ? n->id < id : n->ino < ino;
                if (before)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static bool name_is(const struct hn_mount_guard *g, size_t i, uint32_t kind, uint32_t id, uint64_t ino) {
        return i < g->n_names && g->names[i].kind == kind && g->names[i].id == id && g->names[i].ino == ino;
}

const char *hn_mount_guard_name(const struct hn_mount_guard *g, bool peer, uint32_t id, uint64_t ino) {
        uint32_t kind = peer ? HN_GUARD_DIR_GROUP : HN_GUARD_DIR_MOUNT;
        size_t i = name_lower_bound(g, kind, id, ino);
        if (name_is(g, i, kind, id, ino))
                return g->names[i].path;
        /* a directory of a guarded mount the guard did not name: the mount */
        i = name_lower_bound(g, kind, id, 0);
        return name_is(g, i, kind, id, 0) ? g->names[i].path : NULL;
}
