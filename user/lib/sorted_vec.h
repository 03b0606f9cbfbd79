/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A growable array of fixed-size keys, made sorted and unique at the end
 * (memcmp order: the order the BPF maps' key sets are compared in). */
#ifndef HN_SORTED_VEC_H
#define HN_SORTED_VEC_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct vec {
        void *v;
        size_t n, cap, size;
};

static inline int vec_push(struct vec *a, const void *elem) {
        if (a->n == a->cap) {
                size_t cap = a->cap ? 2 * a->cap : 16;
                void *v = realloc(a->v, cap * a->size);
                if (!v)
                        return -ENOMEM;
                a->v = v;
                a->cap = cap;
        }
        memcpy((char *) a->v + a->n * a->size, elem, a->size);
        a->n++;
        return 0;
}

static inline int key_compare(const void *a, const void *b, void *size) {
        return memcmp(a, b, *(size_t *) size);
}

/* Sorted, each key once. */
static inline void vec_unique(struct vec *a) {
        if (a->n < 2)
                return;
        qsort_r(a->v, a->n, a->size, key_compare, &a->size);
        size_t k = 1;
        for (size_t i = 1; i < a->n; i++) {
                char *prev = (char *) a->v + (k - 1) * a->size, *cur = (char *) a->v + i * a->size;
                if (memcmp(prev, cur, a->size) != 0)
                        memmove((char *) a->v + k++ * a->size, cur, a->size);
        }
        a->n = k;
}

#endif
