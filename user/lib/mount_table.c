/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mount table of a reconcile pass (mount_table.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount_table.h"

void mount_table_free(struct table *t) {
        free(t->v);
        free(t->by_target);
        free(t->by_id);
        mountinfo_free(&t->mi);
        *t = (struct table){ 0 };
}

static size_t hash_str(const char *s) {
        size_t h = 1469598103934665603ull; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ull;
        return h;
}

static size_t hash_id(int id) {
        return (size_t) (uint32_t) id * 2654435761u;
}

static void slot_put(uint32_t *slots, size_t mask, size_t h, uint32_t value) {
        for (size_t i = h & mask;; i = (i + 1) & mask)
                if (!slots[i]) {
                        slots[i] = value;
                        return;
                }
}

static int table_index(struct table *t) {
        size_t cap = 16;
        while (cap < 2 * t->n)
                cap *= 2;
        t->by_target = calloc(cap, sizeof(uint32_t));
        t->by_id = calloc(cap, sizeof(uint32_t));
        if (!t->by_target || !t->by_id)
                return -ENOMEM;
        t->mask = cap - 1;
        for (size_t i = 0; i < t->n; i++) {
                slot_put(t->by_target, t->mask, hash_str(t->v[i].target), (uint32_t) i + 1);
                slot_put(t->by_id, t->mask, hash_id(t->v[i].id), (uint32_t) i + 1);
        }
        return 0;
}

struct mounted *mount_table_on(struct table *t, const char *target, size_t *pos) {
        size_t h = hash_str(target);
        for (size_t k = *pos; k <= t->mask; k++) {
                uint32_t slot = t->by_target[(h + k) & t->mask];
                if (!slot)
                        return NULL;
                struct mounted *x = &t->v[slot - 1];
                if (!strcmp(x->target, target)) {
                        *pos = k + 1;
                        return x;
                }
        }
        return NULL;
}

int mount_table_read(struct table *t) {
        int r = mountinfo_read("/proc/self/mountinfo", &t->mi);
        if (r < 0)
                return r;
        t->v = calloc(t->mi.n ? t->mi.n : 1, sizeof(*t->v));
        if (!t->v)
                return -ENOMEM;
        for (size_t i = 0; i < t->mi.n; i++) {
                const struct mountinfo_entry *e = &t->mi.v[i];
                t->v[t->n++] = (struct mounted){ .target = e->target,
                                                 .devno = e->devno,
                                                 .id = (int) e->id,
                                                 .parent = (int) e->parent,
                                                 .ro = e->ro,
                                                 .shared = e->shared || e->master };
        }
        return table_index(t);
}

struct mounted *mount_table_by_id(struct table *t, int id) {
        size_t h = hash_id(id);
        for (size_t k = 0; k <= t->mask; k++) {
                uint32_t slot = t->by_id[(h + k) & t->mask];
                if (!slot)
                        return NULL;
                if (t->v[slot - 1].id == id)
                        return &t->v[slot - 1];
        }
        return NULL;
}

struct mounted *mount_table_mine(struct table *t, const char *target, dev_t devno) {
        struct mounted *first = NULL, *x;
        size_t pos = 0;
        while ((x = mount_table_on(t, target, &pos)))
                if (x->devno == devno && (!first || x < first))
                        first = x;
        return first;
}
