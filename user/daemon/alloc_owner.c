/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "alloc_owner.h"

#define OWNER_XATTR "trusted.hpcnode.owner"
#define OWNER_MAX 16 /* "operator", "workload": the roles' names */

struct hnd_alloc_owner {
        char *alloc;
        char owner[OWNER_MAX];
};

void hnd_owners_init(struct hnd_owners *o, const char *workdir) {
        *o = (struct hnd_owners){ .workdir = workdir };
        pthread_mutex_init(&o->lock, NULL);
}

void hnd_owners_free(struct hnd_owners *o) {
        if (!o->workdir)
                return; /* never initialised */
        for (size_t i = 0; i < o->n; i++)
                free(o->v[i].alloc);
        free(o->v);
        pthread_mutex_destroy(&o->lock);
        *o = (struct hnd_owners){ 0 };
}

/* Where alloc is, or would be inserted; *found says which. Locked. */
static size_t position(const struct hnd_owners *o, const char *alloc, bool *found) {
        size_t lo = 0, hi = o->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(o->v[mid].alloc, alloc);
                if (c == 0) {
                        *found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = false;
        return lo;
}

/* Locked. Without memory the entry is not kept: the next get reads the
 * workdir again. */
static void remember(struct hnd_owners *o, const char *alloc, const char *owner) {
        bool found;
        size_t at = position(o, alloc, &found);
        if (!found) {
                if (o->n == o->cap) {
                        size_t cap = o->cap ? 2 * o->cap : 64;
                        struct hnd_alloc_owner *v = realloc(o->v, cap * sizeof(*v));
                        if (!v)
                                return;
                        o->v = v;
                        o->cap = cap;
                }
                char *dup = strdup(alloc);
                if (!dup)
                        return;
                memmove(&o->v[at + 1], &o->v[at], (o->n - at) * sizeof(*o->v));
                o->v[at].alloc = dup;
                o->n++;
        }
        snprintf(o->v[at].owner, sizeof(o->v[at].owner), "%s", owner);
}

static bool workdir_of(const struct hnd_owners *o, const char *alloc, char *dir, size_t size) {
        return (size_t) snprintf(dir, size, "%s/%s", o->workdir, alloc) < size;
}

void hnd_owners_set(struct hnd_owners *o, const char *alloc, const char *owner) {
        char dir[PATH_MAX];
        if (workdir_of(o, alloc, dir, sizeof(dir)))
                (void) setxattr(dir, OWNER_XATTR, owner, strlen(owner), 0);
        pthread_mutex_lock(&o->lock);
        remember(o, alloc, owner);
        pthread_mutex_unlock(&o->lock);
}

void hnd_owners_released(struct hnd_owners *o, const char *alloc) {
        char dir[PATH_MAX];
        if (!workdir_of(o, alloc, dir, sizeof(dir)) || access(dir, F_OK) == 0 || errno != ENOENT)
                return; /* it still holds something, or cannot be told */
        pthread_mutex_lock(&o->lock);
        bool found;
        size_t at = position(o, alloc, &found);
        if (found) {
                free(o->v[at].alloc);
                memmove(&o->v[at], &o->v[at + 1], (o->n - at - 1) * sizeof(*o->v));
                o->n--;
        }
        pthread_mutex_unlock(&o->lock);
}

const char *hnd_owners_get(struct hnd_owners *o, const char *alloc, char *buf, size_t size) {
        bool found;
        pthread_mutex_lock(&o->lock);
        size_t at = position(o, alloc, &found);
        if (found)
                snprintf(buf, size, "%s", o->v[at].owner);
        pthread_mutex_unlock(&o->lock);
        if (found)
                return buf;
        char dir[PATH_MAX], owner[OWNER_MAX];
        ssize_t n = workdir_of(o, alloc, dir, sizeof(dir)) ? getxattr(dir, OWNER_XATTR, owner, sizeof(owner) - 1) : -1;
        if (n <= 0)
                return "unknown";
        owner[n] = '\0';
        pthread_mutex_lock(&o->lock);
        remember(o, alloc, owner);
        pthread_mutex_unlock(&o->lock);
        snprintf(buf, size, "%s", owner);
        return buf;
}
