/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the kernel's mount guard must protect, as kernel objects: the held
 * mounts by the ids of the mounts the manager's descriptors are on (never
 * a path looked up: a mount stacked on top is not what the manager holds),
 * every mount on the way down to them and to the bases (from the mount
 * table's parent links), every directory on those ways and every place a
 * guarded mount sits (by mount and inode, and by peer group and inode,
 * where an act in another namespace propagates here), the loop devices and
 * the image files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hpcnode/monitor.h>

#include "error_set.h"
#include "kernel_key.h"
#include "fileio.h"
#include "macro.h"
#include "mount_guard_table.h"
#include "mount_internal.h"
#include "mount_names.h"
#include "sorted_vec.h"

struct guard_build {
        struct hn_mount_manager *m;
        /* a part only (hn_mount_guard_state_of): one image, one holder's bind */
        const char *only_image, *only_alloc;
        /* the table read for this build, or the one kept from the last
         * whole build (kept: the manager's, not this build's to free) */
        struct guard_table table;
        const struct guard_table *kept;
        struct vec held, ancestors, dirs, loops, images, names, paths, held_seen;
};

/* By id (a lookup per directory and per ancestor, so the build stays
 * linear in the mounts). */
static const struct table_mount *table_find(const struct guard_build *b, uint32_t id) {
        return guard_table_find(b->kept ? b->kept : &b->table, id);
}

static bool is_held(const struct guard_build *b, uint32_t id) {
        for (size_t i = 0; i < b->held.n; i++)
                if (((const uint32_t *) b->held.v)[i] == id)
                        return true;
        return false;
}

static int name_add(struct guard_build *b, uint32_t kind, uint32_t id, uint64_t ino, const char *path) {
        struct hn_mount_guard_name n = { .id = id, .kind = kind, .ino = ino, .path = strdup(path) };
        if (!n.path)
                return -ENOMEM;
        int r = vec_push(&b->names, &n);
        if (r < 0)
                free(n.path);
        return r;
}

/* A directory on a guarded way, reached through mount mnt_id: by that
 * mount, and by its peer group and master, where mounts made elsewhere
 * propagate to it. */
static int dir_add(struct guard_build *b, uint32_t mnt_id, uint64_t ino, const char *path) {
        struct hn_guard_dir d = { .id = mnt_id, .kind = HN_GUARD_DIR_MOUNT, .ino = ino };
        int r = vec_push(&b->dirs, &d);
        if (r == 0)
                r = name_add(b, HN_GUARD_DIR_MOUNT, mnt_id, ino, path);
        /* a mount this part holds may be newer than the kept table (its id
         * there another's, since reused): made private, in no group */
        const struct table_mount *t = b->kept && is_held(b, mnt_id) ? NULL : table_find(b, mnt_id);
        uint32_t groups[2] = { t ? t->shared : 0, t ? t->master : 0 };
        for (size_t i = 0; r == 0 && i < ELEMENTSOF(groups); i++)
                if (groups[i]) {
                        d = (struct hn_guard_dir){ .id = groups[i], .kind = HN_GUARD_DIR_GROUP, .ino = ino };
                        if ((r = vec_push(&b->dirs, &d)) == 0)
                                r = name_add(b, HN_GUARD_DIR_GROUP, groups[i], ino, path);
                }
        return r;
}

/* The inode a directory entry names in its own filesystem: where a mount
 * on it sits, under that mount (readdir does not cross mounts). */
static int entry_ino(int dir_fd, const char *name, uint64_t *ret) {
        _cleanup_closedir_ DIR *d = opendir_at(dir_fd, ".");
        if (!d)
                return -errno;
        struct dirent *de;
        while ((de = readdir(d)))
                if (!strcmp(de->d_name, name)) {
                        *ret = de->d_ino;
                        return 0;
                }
        return -ENOENT;
}

static int ancestors_add(struct guard_build *b, uint32_t id);

/* From the kept table, a mount root met on the way must be there at the
 * same place (else the table changed since: -ESTALE, and the part is
 * built from a fresh read), or be one this part holds: newer than the
 * table, its way up is then the mount of the directory it sits on. */
static int kept_root_check(struct guard_build *b, uint32_t id, uint32_t up_id, const char *sofar) {
        if (!b->kept)
                return 0;
        if (is_held(b, id)) {
                int r = vec_push(&b->held_seen, &id);
                return r < 0 ? r : ancestors_add(b, up_id);
        }
        const struct table_mount *t = table_find(b, id);
        return t && t->target && !strcmp(t->target, sofar) ? 0 : -ESTALE;
}

struct walk_level {
        size_t end; /* the prefix of the path this level is */
        int fd;
        uint32_t mnt_id;
};

/* Every directory on the way down to each path, from /: the sorted paths
 * share their prefixes, each walked once (a stack of open levels). A path
 * that cannot be walked (gone) is skipped: what is gone cannot be hidden. */
static int walk_paths(struct guard_build *b) {
        char **paths = b->paths.v;
        qsort(paths, b->paths.n, sizeof(char *), (int (*)(const void *, const void *)) strcmp);
        struct walk_level stack[256];
        size_t depth = 0;
        const char *prev = "";
        int r = 0;
        for (size_t p = 0; r == 0 && p < b->paths.n; p++) {
                const char *path = paths[p];
                while (depth > 1 && (strncmp(path, prev, stack[depth - 1].end) != 0 ||
                                     (path[stack[depth - 1].end] != '/' && path[stack[depth - 1].end] != '\0')))
                        close(stack[--depth].fd);
                if (depth == 0) {
                        uint64_t id;
                        struct stat st;
                        int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                        if (fd < 0 || fd_mount_id(fd, &id) < 0 || fstat(fd, &st) < 0) {
                                r = -errno;
                                if (fd >= 0)
                                        close(fd);
                                break;
                        }
                        stack[depth++] = (struct walk_level){ .end = 0, .fd = fd, .mnt_id = (uint32_t) id };
                        if ((r = kept_root_check(b, (uint32_t) id, 0, "/")) == 0)
                                r = dir_add(b, (uint32_t) id, st.st_ino, "/");
                }
                prev = path;
                size_t at = stack[depth - 1].end;
                while (r == 0 && path[at] && depth < ELEMENTSOF(stack)) {
                        while (path[at] == '/')
                                at++;
                        size_t end = at;
                        while (path[end] && path[end] != '/')
                                end++;
                        if (end == at)
                                break;
                        char comp[NAME_MAX + 1], sofar[PATH_MAX];
                        snprintf(comp, sizeof(comp), "%.*s", (int) (end - at), path + at);
                        snprintf(sofar, sizeof(sofar), "%.*s", (int) end, path);
                        const struct walk_level *up = &stack[depth - 1];
                        int fd = openat(up->fd, comp, O_PATH | O_DIRECTORY | O_CLOEXEC);
                        uint64_t id, under = 0;
                        struct stat st;
                        if (fd < 0 || fd_mount_id(fd, &id) < 0 || fstat(fd, &st) < 0) {
                                if (fd >= 0)
                                        close(fd);
                                break; /* gone, or not a directory: nothing below to hide */
                        }
                        stack[depth++] = (struct walk_level){ .end = end, .fd = fd, .mnt_id = (uint32_t) id };
                        r = dir_add(b, (uint32_t) id, st.st_ino, sofar);
                        /* a mount root: where it sits is guarded too */
                        if (r == 0 && (uint32_t) id != up->mnt_id && (r = kept_root_check(b, (uint32_t) id, up->mnt_id, sofar)) == 0 &&
                            entry_ino(up->fd, comp, &under) == 0)
                                r = dir_add(b, up->mnt_id, under, sofar);
                        at = end;
                }
        }
        while (depth > 0)
                close(stack[--depth].fd);
        return r;
}

static int path_add(struct guard_build *b, const char *path) {
        char *dup = strdup(path);
        int r = dup ? vec_push(&b->paths, &dup) : -ENOMEM;
        if (r < 0)
                free(dup);
        return r;
}

static int held_add(struct guard_build *b, int fd, const char *path) {
        uint64_t id;
        int r = fd_mount_id(fd, &id);
        if (r < 0)
                return 0; /* not there: the reconciler reports it */
        uint32_t id32 = (uint32_t) id;
        if ((r = vec_push(&b->held, &id32)) < 0 || (r = name_add(b, HN_GUARD_DIR_MOUNT, id32, 0, path)) < 0)
                return r;
        return path_add(b, path);
}

/* One held image: its mount, its binds, its loop device, its file. */
static int image_add(struct guard_build *b, struct image *img) {
        struct hn_mount_manager *m = b->m;
        struct stat st;
        int r;
        if (img->root_fd >= 0 && (r = held_add(b, img->root_fd, img->mount_point)) < 0)
                return r;
        for (size_t h = 0; h < img->n_holders; h++) {
                if (b->only_alloc && strcmp(img->holders[h], b->only_alloc) != 0)
                        continue;
                _cleanup_close_ int bind = -1;
                char path[PATH_MAX];
                bind_path_of(m, img->holders[h], img->name, path, sizeof(path));
                if (bind_open(m, img->holders[h], img->name, NULL, &bind) == 0 && fstat(bind, &st) == 0 &&
                    st.st_dev == img->devno && (r = held_add(b, bind, path)) < 0)
                        return r;
        }
        if (img->loop[0] && stat(img->loop, &st) == 0 && S_ISBLK(st.st_mode)) {
                uint32_t dev = hn_kernel_dev(st.st_rdev);
                if ((r = vec_push(&b->loops, &dev)) < 0)
                        return r;
        }
        struct hn_guard_file f = { 0 };
        if (img->image_fd >= 0 && hn_fd_kernel_key(img->image_fd, &f.dev, &f.ino) == 0) {
                if ((r = vec_push(&b->images, &f)) < 0)
                        return r;
        }
        return 0;
}

/* Every mount above one: each parent up to the root of the table. */
static int ancestors_add(struct guard_build *b, uint32_t id) {
        size_t n = b->kept ? b->kept->n : b->table.n;
        for (size_t guard = 0; guard < n; guard++) {
                const struct table_mount *t = table_find(b, id);
                if (!t)
                        return guard == 0 && b->kept ? -ESTALE : 0;
                int r = vec_push(&b->ancestors, &t->id);
                if (r == 0 && t->target)
                        r = name_add(b, HN_GUARD_DIR_MOUNT, t->id, 0, t->target);
                if (r < 0)
                        return r;
                if (t->parent == t->id)
                        return 0;
                id = t->parent;
        }
        return 0;
}

static void build_free(struct guard_build *b) {
        struct hn_mount_guard_name *names = b->names.v;
        for (size_t i = 0; i < b->names.n; i++)
                free(names[i].path);
        char **paths = b->paths.v;
        for (size_t i = 0; i < b->paths.n; i++)
                free(paths[i]);
        free(b->held.v);
        free(b->ancestors.v);
        free(b->dirs.v);
        free(b->loops.v);
        free(b->images.v);
        free(b->names.v);
        free(b->paths.v);
        free(b->held_seen.v);
        guard_table_clear(&b->table);
}

static int build(struct guard_build *b, const struct mountinfo *given) {
        struct hn_mount_manager *m = b->m;
        int r = b->kept ? 0 : guard_table_read(given, &b->table);
        for (struct image *img = m->images; r == 0 && img; img = img->next)
                if (!img->foreign && (img->n_holders > 0 || img->deadline_usec) &&
                    (!b->only_image || !strcmp(img->path, b->only_image)))
                        r = image_add(b, img);
        const int bases[2] = { m->uenv_fd, m->workdir_fd };
        const char *base_paths[2] = { m->uenv, m->workdir };
        for (size_t i = 0; r == 0 && i < 2; i++) {
                uint64_t id;
                if ((r = fd_mount_id(bases[i], &id)) == 0 && (r = ancestors_add(b, (uint32_t) id)) == 0)
                        r = path_add(b, base_paths[i]);
        }
        /* held mounts' parents (a mount moved away in audit mode included);
         * from the kept table, met on their way instead (kept_root_check) */
        for (size_t i = 0; r == 0 && !b->kept && i < b->held.n; i++) {
                const struct table_mount *t = table_find(b, ((uint32_t *) b->held.v)[i]);
                if (t && t->parent != t->id)
                        r = ancestors_add(b, t->parent);
        }
        if (r == 0)
                r = walk_paths(b);
        /* from the kept table, each held mount met where it sits */
        for (size_t i = 0; r == 0 && b->kept && i < b->held.n; i++) {
                uint32_t id = ((uint32_t *) b->held.v)[i];
                bool seen = false;
                for (size_t k = 0; k < b->held_seen.n && !seen; k++)
                        seen = ((uint32_t *) b->held_seen.v)[k] == id;
                if (!seen)
                        r = -ESTALE;
        }
        return r;
}

/* One build; on success the kept table is this build's if it was whole. */
static int build_once(struct hn_mount_manager *m, const struct mountinfo *table, const char *only_image,
                      const char *only_alloc, const struct guard_table *kept, struct hn_mount_guard *ret) {
        struct guard_build b = {
                .m = m,
                .only_image = only_image,
                .only_alloc = only_alloc,
                .kept = kept,
                .held = { .size = sizeof(uint32_t) },
                .ancestors = { .size = sizeof(uint32_t) },
                .dirs = { .size = sizeof(struct hn_guard_dir) },
                .loops = { .size = sizeof(uint32_t) },
                .images = { .size = sizeof(struct hn_guard_file) },
                .names = { .size = sizeof(struct hn_mount_guard_name) },
                .paths = { .size = sizeof(char *) },
                .held_seen = { .size = sizeof(uint32_t) },
        };
        int r = build(&b, table);
        struct guard_table *keep = NULL;
        if (r == 0 && !only_image && !only_alloc)
                r = guard_table_keep(&b.table, &keep);
        if (r < 0) {
                build_free(&b);
                return r;
        }
        if (keep) {
                mount_guard_table_free(m->guard_table);
                m->guard_table = keep;
                own_log_clear(m); /* this whole state has them all */
        }
        vec_unique(&b.held);
        vec_unique(&b.ancestors);
        vec_unique(&b.dirs);
        vec_unique(&b.loops);
        vec_unique(&b.images);
        mount_guard_names_sorted(&b.names);
        *ret = (struct hn_mount_guard){
                .held = b.held.v, .n_held = b.held.n,
                .ancestors = b.ancestors.v, .n_ancestors = b.ancestors.n,
                .dirs = b.dirs.v, .n_dirs = b.dirs.n,
                .loops = b.loops.v, .n_loops = b.loops.n,
                .images = b.images.v, .n_images = b.images.n,
                .names = b.names.v, .n_names = b.names.n,
        };
        b.held.v = b.ancestors.v = b.dirs.v = b.loops.v = b.images.v = b.names.v = NULL;
        b.names.n = 0;
        build_free(&b);
        return 0;
}

int mount_guard_build_locked(struct hn_mount_manager *m, const struct mountinfo *table, const char *only_image,
                             const char *only_alloc, struct hn_mount_guard *ret) {
        /* A part after an acquire or release would read the whole table
         * (thousands of lines at thousands of binds) for one bind: it is
         * built from the last whole build's table where that still shows
         * every mount on the part's way (the pass that the change itself
         * wakes then builds the whole state from a fresh read). */
        if (only_image && !table && m->guard_table) {
                int r = build_once(m, NULL, only_image, only_alloc, m->guard_table, ret);
                if (r != -ESTALE)
                        return r;
        }
        return build_once(m, table, only_image, only_alloc, NULL, ret);
}

static int guard_state(struct hn_mount_manager *m, const char *only_image, const char *only_alloc,
                       struct hn_mount_guard *ret, struct hn_error *err) {
        pthread_mutex_lock(&m->lock);
        int r = mount_guard_build_locked(m, NULL, only_image, only_alloc, ret);
        if (r == 0 && only_image)
                own_log_cover_added(m, ret->held, ret->n_held); /* the caller puts it in force */
        pthread_mutex_unlock(&m->lock);
        if (r < 0)
                return hn_error_set(err, HN_ERR_GUARD_STATE, -r, "the mount guard's state: %s", strerror(-r));
        return 0;
}

int hn_mount_guard_state(struct hn_mount_manager *m, struct hn_mount_guard *ret, struct hn_error *err) {
        return guard_state(m, NULL, NULL, ret, err);
}

int hn_mount_guard_state_of(struct hn_mount_manager *m, const char *image_path, const char *allocation_id,
                            struct hn_mount_guard *ret, struct hn_error *err) {
        char canonical[PATH_MAX];
        int r;
        if ((r = image_path_canonical(image_path, canonical, sizeof(canonical), err)) < 0 ||
            (r = allocation_id_check(allocation_id, err)) < 0)
                return r;
        return guard_state(m, canonical, allocation_id, ret, err);
}

void hn_mount_guard_free(struct hn_mount_guard *g) {
        if (!g)
                return;
        for (size_t i = 0; i < g->n_names; i++)
                free(g->names[i].path);
        free(g->held);
        free(g->ancestors);
        free(g->dirs);
        free(g->loops);
        free(g->images);
        free(g->names);
        *g = (struct hn_mount_guard){ 0 };
}
