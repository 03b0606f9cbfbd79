/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager's own changes to the mount table since the last whole guard
 * state, each by mount id: the binds and image mounts it made, the binds
 * it removed, and whether the caller has put each one's part in force
 * (hn_mount_guard_state_of, hn_mount_guard_remove_bind). When the table
 * differs from the one the whole state was built from by exactly these,
 * a pass has nothing to find and nothing to guard anew: it reads no more
 * than the table (own_log_explains). So may mounts that have nothing to
 * do with what it holds come, go and change (a container runtime's, a
 * user's automount): none is at, below or on the way to a base. Any other
 * change of the manager's (an image unmounted, a repair, a log too long),
 * or any change at or near a base, leaves the next pass whole. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "mount_guard_table.h"
#include "mount_internal.h"

#define OWN_LOG_MAX 1024 /* more between two passes: the next pass is whole */

struct own_change {
        uint32_t id;
        bool added, covered;
        char *path;
};

struct own_log {
        struct own_change v[OWN_LOG_MAX];
        size_t n;
        bool dirty;
};

static struct own_log *log_of(struct hn_mount_manager *m) {
        if (!m->own && !(m->own = calloc(1, sizeof(*m->own))))
                return NULL;
        return m->own;
}

void own_log_dirty(struct hn_mount_manager *m) {
        struct own_log *l = log_of(m);
        if (l)
                l->dirty = true;
        else
                m->own_lost = true;
}

static void log_change(struct hn_mount_manager *m, uint32_t id, bool added, const char *path) {
        struct own_log *l = log_of(m);
        char *dup = strdup(path);
        if (!l || !dup || l->n == OWN_LOG_MAX) {
                free(dup);
                own_log_dirty(m);
                return;
        }
        l->v[l->n++] = (struct own_change){ .id = id, .added = added, .covered = m->caller_takes_parts, .path = dup };
}

void own_log_added(struct hn_mount_manager *m, int mount_fd, const char *path) {
        uint64_t id;
        if (fd_mount_id(mount_fd, &id) < 0)
                own_log_dirty(m);
        else
                log_change(m, (uint32_t) id, true, path);
}

void own_log_removed(struct hn_mount_manager *m, uint64_t id, const char *path) {
        log_change(m, (uint32_t) id, false, path);
}

void own_log_cover_added(struct hn_mount_manager *m, const uint32_t *held, size_t n) {
        struct own_log *l = m->own;
        for (size_t i = 0; l && i < l->n; i++)
                for (size_t k = 0; l->v[i].added && k < n; k++)
                        if (l->v[i].id == held[k])
                                l->v[i].covered = true;
}

void own_log_cover_removed(struct hn_mount_manager *m, const char *path) {
        struct own_log *l = m->own;
        for (size_t i = 0; l && i < l->n; i++)
                if (!l->v[i].added && !strcmp(l->v[i].path, path))
                        l->v[i].covered = true;
}

void own_log_clear(struct hn_mount_manager *m) {
        struct own_log *l = m->own;
        for (size_t i = 0; l && i < l->n; i++)
                free(l->v[i].path);
        if (l)
                *l = (struct own_log){ 0 };
        m->own_lost = false;
}

void own_log_free(struct hn_mount_manager *m) {
        own_log_clear(m);
        free(m->own);
        m->own = NULL;
}

static bool same_mount(const struct table_mount *a, const struct table_mount *b) {
        return a->parent == b->parent && a->shared == b->shared && a->master == b->master && a->ro == b->ro &&
               a->devno == b->devno && a->target && b->target && !strcmp(a->target, b->target);
}

/* The last change logged for id: 1 added, 0 removed, -1 none. */
static int last_change(const struct own_log *l, uint32_t id) {
        for (size_t i = l->n; i-- > 0;)
                if (l->v[i].id == id)
                        return l->v[i].added;
        return -1;
}

/* id was removed by the manager and made again by it since: a mount id
 * the kernel gave back to the manager's next mount. */
static bool removed_then_added(const struct own_log *l, uint32_t id) {
        bool removed = false;
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].id == id) {
                        if (!l->v[i].added)
                                removed = true;
                        else if (removed)
                                return last_change(l, id) == 1;
                }
        return false;
}

/* A mount the manager made, as it made it: where its log says, read-only
 * and private. One changed before the pass's read (made shared, remounted
 * read-write, moved) is not taken as the manager's. */
static bool as_made(const struct own_log *l, const struct table_mount *b) {
        for (size_t i = l->n; i-- > 0;)
                if (l->v[i].id == b->id)
                        return l->v[i].added && b->ro && !b->shared && !b->master && b->target &&
                               !strcmp(b->target, l->v[i].path);
        return false;
}

/* path is dir or below it, on a component boundary. */
static bool path_at_or_below(const char *path, const char *dir) {
        size_t n = strlen(dir);
        if (n == 1 && dir[0] == '/')
                return true;
        return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The bases as configured, and where they are now as the kernel names
 * them (their fds' paths, in the table's terms: a symlink on the way to a
 * base, or a base renamed since the manager started, hides nothing); and
 * the images held, whose files and loop devices are reached by path. */
struct bases {
        const char *path[4];
        char now[2][PATH_MAX];
        const struct image *images;
};

/* A base's place now: its fd's path, if the kernel gives one. */
static bool base_now(int fd, char *ret, size_t size) {
        return fd_path(fd, ret, size) == 0 && ret[0] == '/';
}

/* A mount with nothing to do with what the manager holds: its target is
 * neither at or below a base (a mount there is the manager's, or foreign
 * under a base, or on a bind) nor a directory on the way to one (a mount
 * there could hide a base), nor on the way to a held image's file or loop
 * device (one there could put another file where the image was: the whole
 * pass compares the file with the one first acquired). */
static bool unrelated(const struct bases *b, const struct table_mount *t) {
        if (!b || !t->target)
                return false;
        for (size_t i = 0; i < 4; i++)
                if (path_at_or_below(t->target, b->path[i]) || path_at_or_below(b->path[i], t->target))
                        return false;
        for (const struct image *img = b->images; img; img = img->next)
                if (!img->foreign && ((img->path[0] && path_at_or_below(img->path, t->target)) ||
                                      (img->loop[0] && path_at_or_below(img->loop, t->target))))
                        return false;
        return true;
}

static bool own_log_explains(struct hn_mount_manager *m, const struct bases *bases, const struct guard_table *kept,
                             const struct guard_table *now) {
        const struct own_log *l = m->own;
        if (m->own_lost || (l && l->dirty))
                return false;
        for (size_t i = 0; l && i < l->n; i++)
                if (!l->v[i].covered)
                        return false; /* a change the guard does not have yet */
        /* both tables sorted by id: one walk side by side */
        size_t k = 0, n = 0;
        while (k < kept->n || n < now->n) {
                const struct table_mount *a = k < kept->n ? &kept->mounts[k] : NULL;
                const struct table_mount *b = n < now->n ? &now->mounts[n] : NULL;
                if (a && b && a->id == b->id) {
                        if (!same_mount(a, b) && !(l && removed_then_added(l, a->id) && as_made(l, b)) &&
                            !(unrelated(bases, a) && unrelated(bases, b)))
                                return false; /* moved, remounted, made shared, reused... */
                        k++, n++;
                } else if (b && (!a || b->id < a->id)) {
                        if (!(l && as_made(l, b)) && !unrelated(bases, b))
                                return false; /* a mount the manager did not make, or not as made */
                        n++;
                } else {
                        if (!(l && last_change(l, a->id) == 0) && !unrelated(bases, a))
                                return false; /* gone, and not by the manager */
                        k++;
                }
        }
        /* what the manager made is still there, what it removed is gone */
        for (size_t i = 0; l && i < l->n; i++)
                if ((last_change(l, l->v[i].id) == 1) != (guard_table_find(now, l->v[i].id) != NULL))
                        return false;
        return true;
}

bool own_log_explains_table(struct hn_mount_manager *m, const struct mountinfo *mi) {
        struct guard_table now, *kept = NULL;
        struct bases b = { .path = { m->uenv, m->workdir, b.now[0], b.now[1] }, .images = m->images };
        if (!m->guard_table || guard_table_read(mi, &now) < 0)
                return false;
        /* without the bases' places, no mount counts as unrelated */
        bool placed = base_now(m->uenv_fd, b.now[0], sizeof(b.now[0])) &&
                      base_now(m->workdir_fd, b.now[1], sizeof(b.now[1]));
        bool only = own_log_explains(m, placed ? &b : NULL, m->guard_table, &now) && guard_table_keep(&now, &kept) == 0;
        guard_table_clear(&now);
        if (only) {
                /* the table read becomes the one parts are built from */
                mount_guard_table_free(m->guard_table);
                m->guard_table = kept;
                own_log_clear(m);
        }
        return only;
}
