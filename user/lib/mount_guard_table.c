/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount_guard_table.h"
#include "mount_internal.h"

static int mount_id_compare(const void *a, const void *b) {
        uint32_t x = ((const struct table_mount *) a)->id, y = ((const struct table_mount *) b)->id;
        return x < y ? -1 : x > y;
}

int guard_table_read(const struct mountinfo *given, struct guard_table *ret) {
        struct guard_table t = { 0 };
        int r;
        if (!given && (r = mountinfo_read("/proc/self/mountinfo", &t.own)) < 0)
                return r;
        const struct mountinfo *mi = given ? given : &t.own;
        t.mounts = calloc(mi->n + 1, sizeof(*t.mounts));
        if (!t.mounts) {
                guard_table_clear(&t);
                return -ENOMEM;
        }
        for (size_t i = 0; i < mi->n; i++) {
                const struct mountinfo_entry *e = &mi->v[i];
                t.mounts[t.n++] = (struct table_mount){ .id = e->id,
                                                        .parent = e->parent,
                                                        .shared = e->shared,
                                                        .master = e->master,
                                                        .devno = e->devno,
                                                        .ro = e->ro,
                                                        .target = e->target };
        }
        qsort(t.mounts, t.n, sizeof(*t.mounts), mount_id_compare);
        *ret = t;
        return 0;
}

const struct table_mount *guard_table_find(const struct guard_table *t, uint32_t id) {
        struct table_mount key = { .id = id };
        return t->n ? bsearch(&key, t->mounts, t->n, sizeof(*t->mounts), mount_id_compare) : NULL;
}

int guard_table_keep(struct guard_table *t, struct guard_table **ret) {
        size_t size = 1;
        for (size_t i = 0; i < t->n; i++)
                size += t->mounts[i].target ? strlen(t->mounts[i].target) + 1 : 0;
        struct guard_table *kept = calloc(1, sizeof(*kept));
        char *targets = malloc(size);
        if (!kept || !targets) {
                free(kept);
                free(targets);
                return -ENOMEM;
        }
        char *at = targets;
        for (size_t i = 0; i < t->n; i++) {
                const char *target = t->mounts[i].target;
                if (!target)
                        continue;
                size_t n = strlen(target) + 1;
                memcpy(at, target, n);
                t->mounts[i].target = at;
                at += n;
        }
        mountinfo_free(&t->own);
        *kept = (struct guard_table){ .mounts = t->mounts, .n = t->n, .targets = targets };
        *t = (struct guard_table){ 0 };
        *ret = kept;
        return 0;
}

void guard_table_clear(struct guard_table *t) {
        free(t->mounts);
        free(t->targets);
        mountinfo_free(&t->own);
        *t = (struct guard_table){ 0 };
}

void mount_guard_table_free(struct guard_table *t) {
        if (!t)
                return;
        guard_table_clear(t);
        free(t);
}
