/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guard's state changed by one bind, without a walk of every other:
 * what an acquire adds (hn_mount_guard_state_of's part, merged in) and
 * what a release takes away (every key only the bind's paths name). A
 * mount call then costs the node its own bind, and a pass over the
 * state's arrays in memory (they stay sorted: merges are linear, nothing
 * is sorted again and no name's path is copied); the next reconcile pass writes
 * the whole state again, as the kernel has it. */
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

/* a and b, each sorted by bytes (as hn_mount_guard_state leaves them),
 * into one sorted array with each element once; NULL on ENOMEM. */
static void *sorted_union(const void *a, size_t na, const void *b, size_t nb, size_t size, size_t *ret_n) {
        char *v = malloc((na + nb) ? (na + nb) * size : 1);
        const char *x = a, *y = b;
        size_t i = 0, j = 0, k = 0;
        if (!v)
                return NULL;
        while (i < na || j < nb) {
                const char *next;
                if (j == nb || (i < na && memcmp(x + i * size, y + j * size, size) <= 0))
                        next = x + i++ * size;
                else
                        next = y + j++ * size;
                if (k == 0 || memcmp(v + (k - 1) * size, next, size) != 0)
                        memcpy(v + k++ * size, next, size);
        }
        *ret_n = k;
        return v;
}

int hn_mount_guard_add(struct hn_mount_guard *g, struct hn_mount_guard *part, struct hn_error *err) {
        if (!g || !part)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: a guard state is NULL");
        struct hn_mount_guard u = { 0 };
        u.held = sorted_union(g->held, g->n_held, part->held, part->n_held, sizeof(uint32_t), &u.n_held);
        u.ancestors = sorted_union(g->ancestors, g->n_ancestors, part->ancestors, part->n_ancestors, sizeof(uint32_t),
                                   &u.n_ancestors);
        u.dirs = sorted_union(g->dirs, g->n_dirs, part->dirs, part->n_dirs, sizeof(*u.dirs), &u.n_dirs);
        u.loops = sorted_union(g->loops, g->n_loops, part->loops, part->n_loops, sizeof(uint32_t), &u.n_loops);
        u.images = sorted_union(g->images, g->n_images, part->images, part->n_images, sizeof(*u.images), &u.n_images);
        struct hn_mount_guard_name *names = malloc((g->n_names + part->n_names ?: 1) * sizeof(*names));
        if (!u.held || !u.ancestors || !u.dirs || !u.loops || !u.images || !names) {
                free(names);
                hn_mount_guard_free(&u);
                return hn_error_set(err, HN_ERR_GUARD_STATE, ENOMEM, "the mount guard's state: out of memory");
        }
        /* the names, both sorted, merged: a part's name the state has
         * already (/, the bases, the image's mount) is dropped, so the names
         * stay as many as the state's keys however many binds come and go
         * between whole states (they grew by each part's shared names) */
        u.names = names;
        u.n_names = mount_guard_names_merge(g->names, g->n_names, part->names, part->n_names, names);
        free(part->names);
        part->names = NULL;
        part->n_names = 0;
        free(g->names);
        g->names = NULL;
        g->n_names = 0;
        hn_mount_guard_free(part);
        hn_mount_guard_free(g);
        *g = u;
        return 0;
}

/* path is one of paths, each at or below under (of under_len bytes): one
 * comparison with under rules out nearly every name of a large state (the
 * other allocations'), where one per path would be made. */
static bool path_in(const char *path, const char *under, size_t under_len, const char *const *paths, size_t n) {
        if (strncmp(path, under, under_len) != 0 || (path[under_len] != '\0' && path[under_len] != '/'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strcmp(path, paths[i]))
                        return true;
        return false;
}

static bool same_key(const struct hn_mount_guard_name *a, const struct hn_mount_guard_name *b) {
        return a->kind == b->kind && a->id == b->id && a->ino == b->ino;
}

/* Removes one element equal to key from a sorted array (of n, size bytes). */
static void sorted_remove(void *v, size_t *n, size_t size, const void *key) {
        char *p = v;
        size_t lo = 0, hi = *n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = memcmp(p + mid * size, key, size);
                if (c == 0) {
                        memmove(p + mid * size, p + (mid + 1) * size, (*n - mid - 1) * size);
                        (*n)--;
                        return;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
}

/* g without the keys that only names in paths (each at or below under)
 * stand for (a key another path names too, a directory reached two ways,
 * stays), in place: nothing is allocated, so nothing can fail half-way. */
static void remove_paths(struct hn_mount_guard *g, const char *under, const char *const *paths, size_t n_paths) {
        size_t k = 0, under_len = strlen(under);
        /* the names that go to the end (kept order in front) */
        for (size_t i = 0; i < g->n_names; i++)
                if (!path_in(g->names[i].path, under, under_len, paths, n_paths)) {
                        struct hn_mount_guard_name t = g->names[k];
                        g->names[k++] = g->names[i];
                        g->names[i] = t;
                }
        for (size_t i = k; i < g->n_names; i++) {
                const struct hn_mount_guard_name *gone = &g->names[i];
                bool named_elsewhere = false;
                for (size_t j = 0; j < k && !named_elsewhere; j++)
                        named_elsewhere = same_key(gone, &g->names[j]);
                if (named_elsewhere)
                        continue;
                if (gone->ino == 0) { /* a mount: the bind, held */
                        sorted_remove(g->held, &g->n_held, sizeof(uint32_t), &gone->id);
                        continue;
                }
                struct hn_guard_dir key = { .id = gone->id, .kind = gone->kind, .ino = gone->ino };
                sorted_remove(g->dirs, &g->n_dirs, sizeof(key), &key);
        }
        for (size_t i = k; i < g->n_names; i++)
                free(g->names[i].path);
        g->n_names = k;
}

static bool allocation_holds(const struct hn_mount_manager *m, const char *alloc) {
        for (const struct image *img = m->images; img; img = img->next)
                for (size_t h = 0; h < img->n_holders; h++)
                        if (!strcmp(img->holders[h], alloc))
                                return true;
        return false;
}

int hn_mount_guard_remove_bind(struct hn_mount_manager *m, struct hn_mount_guard *g, const char *image_path,
                               const char *allocation_id, struct hn_error *err) {
        char canonical[PATH_MAX], name[128], bind[PATH_MAX], uenv[PATH_MAX], alloc_dir[PATH_MAX];
        int r;
        if (!m || !g)
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
        own_log_cover_removed(m, bind);
        pthread_mutex_unlock(&m->lock);
        /* the allocation's own directories go with its last bind */
        const char *paths[3] = { bind, uenv, alloc_dir };
        remove_paths(g, alloc_dir, paths, still ? 1 : 3);
        return 0;
}
