/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guard's state changed by one bind, without a walk of every other:
 * what an acquire adds (the union with hn_mount_guard_state_of's part) and
 * what a release takes away (every key only the bind's paths name). A
 * mount call then costs the node its own bind, not every bind held; the
 * next reconcile pass writes the whole state again, as the kernel has it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hpcnode/mount.h>

#include "error_set.h"
#include "macro.h"
#include "mount_internal.h"
#include "mount_names.h"

/* Byte order, as hn_mount_guard_state sorts: the same set is the same array. */
static int u32_compare(const void *a, const void *b) {
        return memcmp(a, b, sizeof(uint32_t));
}

static int dir_compare(const void *a, const void *b) {
        return memcmp(a, b, sizeof(struct hn_guard_dir));
}

static int file_compare(const void *a, const void *b) {
        return memcmp(a, b, sizeof(struct hn_guard_file));
}

static int name_compare(const void *a, const void *b) {
        const struct hn_mount_guard_name *x = a, *y = b;
        if (x->kind != y->kind)
                return x->kind < y->kind ? -1 : 1;
        if (x->id != y->id)
                return x->id < y->id ? -1 : 1;
        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return strcmp(x->path, y->path);
}

/* a then b into one array, sorted, each element once; NULL on ENOMEM. */
static void *union_of(const void *a, size_t na, const void *b, size_t nb, size_t size,
                      int (*cmp)(const void *, const void *), size_t *ret_n) {
        char *v = malloc((na + nb) ? (na + nb) * size : 1);
        if (!v)
                return NULL;
        if (na)
                memcpy(v, a, na * size);
        if (nb)
                memcpy(v + na * size, b, nb * size);
        size_t n = na + nb, k = 0;
        qsort(v, n, size, cmp);
        for (size_t i = 0; i < n; i++)
                if (k == 0 || cmp(v + (k - 1) * size, v + i * size) != 0)
                        memmove(v + k++ * size, v + i * size, size);
        *ret_n = k;
        return v;
}

/* Names sorted, each once, their paths copied. */
static int names_union(const struct hn_mount_guard *a, const struct hn_mount_guard *b, struct hn_mount_guard *ret) {
        size_t n;
        struct hn_mount_guard_name *v = union_of(a->names, a->n_names, b->names, b->n_names, sizeof(*v), name_compare, &n);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(v[i].path = strdup(v[i].path))) {
                        ret->names = v;
                        ret->n_names = i; /* the copies so far, for hn_mount_guard_free */
                        return -ENOMEM;
                }
        ret->names = v;
        ret->n_names = n;
        return 0;
}

int hn_mount_guard_merge(const struct hn_mount_guard *a, const struct hn_mount_guard *b, struct hn_mount_guard *ret,
                         struct hn_error *err) {
        struct hn_mount_guard g = { 0 };
        if (!a || !b || !ret)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: a guard state is NULL");
        g.held = union_of(a->held, a->n_held, b->held, b->n_held, sizeof(uint32_t), u32_compare, &g.n_held);
        g.ancestors = union_of(a->ancestors, a->n_ancestors, b->ancestors, b->n_ancestors, sizeof(uint32_t),
                               u32_compare, &g.n_ancestors);
        g.dirs = union_of(a->dirs, a->n_dirs, b->dirs, b->n_dirs, sizeof(*g.dirs), dir_compare, &g.n_dirs);
        g.loops = union_of(a->loops, a->n_loops, b->loops, b->n_loops, sizeof(uint32_t), u32_compare, &g.n_loops);
        g.images = union_of(a->images, a->n_images, b->images, b->n_images, sizeof(*g.images), file_compare,
                            &g.n_images);
        if (!g.held || !g.ancestors || !g.dirs || !g.loops || !g.images || names_union(a, b, &g) < 0) {
                hn_mount_guard_free(&g);
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "the mount guard's state: out of memory");
        }
        *ret = g;
        return 0;
}

/* The key a name stands for, as a directory entry (ino != 0) or a mount. */
static struct hn_guard_dir name_key(const struct hn_mount_guard_name *n) {
        return (struct hn_guard_dir){ .id = n->id, .kind = n->kind, .ino = n->ino };
}

static bool path_in(const char *path, const char *const *paths, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!strcmp(path, paths[i]))
                        return true;
        return false;
}

/* g without the keys that only names in paths stand for: a key another
 * path names too (a directory reached by two ways) stays. */
static int without_paths(const struct hn_mount_guard *g, const char *const *paths, size_t n_paths,
                         struct hn_mount_guard *ret) {
        struct hn_guard_dir *gone = malloc((g->n_names ? g->n_names : 1) * sizeof(*gone)),
                            *kept = malloc((g->n_names ? g->n_names : 1) * sizeof(*kept));
        struct hn_mount_guard empty = { 0 }, g2 = { 0 };
        size_t n_gone = 0, n_kept = 0;
        int r = -ENOMEM;
        if (!gone || !kept)
                goto out;
        for (size_t i = 0; i < g->n_names; i++) {
                if (path_in(g->names[i].path, paths, n_paths))
                        gone[n_gone++] = name_key(&g->names[i]);
                else
                        kept[n_kept++] = name_key(&g->names[i]);
        }
        qsort(kept, n_kept, sizeof(*kept), dir_compare);
        /* a copy of g with its names minus the gone paths', then the keys out */
        if ((r = hn_mount_guard_merge(g, &empty, &g2, NULL)) < 0)
                goto out;
        size_t k = 0;
        for (size_t i = 0; i < g2.n_names; i++) {
                if (path_in(g2.names[i].path, paths, n_paths))
                        free(g2.names[i].path);
                else
                        g2.names[k++] = g2.names[i];
        }
        g2.n_names = k;
        for (size_t i = 0; i < n_gone; i++) {
                if (bsearch(&gone[i], kept, n_kept, sizeof(*kept), dir_compare))
                        continue;
                if (gone[i].ino == 0) { /* a mount: the bind, held */
                        uint32_t *at = bsearch(&gone[i].id, g2.held, g2.n_held, sizeof(uint32_t), u32_compare);
                        if (at) {
                                memmove(at, at + 1, (size_t) (g2.held + g2.n_held - at - 1) * sizeof(uint32_t));
                                g2.n_held--;
                        }
                        continue;
                }
                struct hn_guard_dir *at = bsearch(&gone[i], g2.dirs, g2.n_dirs, sizeof(*g2.dirs), dir_compare);
                if (at) {
                        memmove(at, at + 1, (size_t) (g2.dirs + g2.n_dirs - at - 1) * sizeof(*at));
                        g2.n_dirs--;
                }
        }
        *ret = g2;
        r = 0;
out:
        free(gone);
        free(kept);
        return r;
}

static bool allocation_holds(const struct hn_mount_manager *m, const char *alloc) {
        for (const struct image *img = m->images; img; img = img->next)
                for (size_t h = 0; h < img->n_holders; h++)
                        if (!strcmp(img->holders[h], alloc))
                                return true;
        return false;
}

int hn_mount_guard_without_bind(struct hn_mount_manager *m, const struct hn_mount_guard *g, const char *image_path,
                                const char *allocation_id, struct hn_mount_guard *ret, struct hn_error *err) {
        char canonical[PATH_MAX], name[128], bind[PATH_MAX], uenv[PATH_MAX], alloc_dir[PATH_MAX];
        int r;
        if (!m || !g || !ret)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: NULL");
        if ((r = image_path_canonical(image_path, canonical, sizeof(canonical), err)) < 0 ||
            (r = allocation_id_check(allocation_id, err)) < 0)
                return r;
        image_mount_name(canonical, name, sizeof(name));
        bind_path_of(m, allocation_id, name, bind, sizeof(bind));
        snprintf(uenv, sizeof(uenv), "%s/%s/uenv", m->workdir, allocation_id);
        snprintf(alloc_dir, sizeof(alloc_dir), "%s/%s", m->workdir, allocation_id);
        pthread_mutex_lock(&m->lock);
        bool still = allocation_holds(m, allocation_id);
        pthread_mutex_unlock(&m->lock);
        /* the allocation's own directories go with its last bind */
        const char *paths[3] = { bind, uenv, alloc_dir };
        if ((r = without_paths(g, paths, still ? 1 : 3, ret)) < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "the mount guard's state: %s", strerror(-r));
        return 0;
}
