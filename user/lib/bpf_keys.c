/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replacing a BPF map's key set without a gap: the wanted keys are written
 * first, the others removed after, so a key that stays is never absent in
 * between. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <hpcnode/event.h>

#include "bpf_keys.h"
#include "macro.h"

/* Deletes every key of map for which keep() is false. Keys are collected
 * first, then deleted: deleting while walking a hash map can skip keys.
 * Used after the wanted keys were written, so a key that stays is never
 * absent in between. */
int bpf_keys_delete_except(const struct bpf_map *map, size_t ksize, bool (*keep)(const void *key, void *userdata),
                              void *userdata) {
        int fd = bpf_map__fd(map);
        char cur[HN_MOUNT_PATH_KEY], next[HN_MOUNT_PATH_KEY]; /* the largest key of our maps */
        void *prev = NULL;
        size_t cap = 64, n_stale = 0;
        _cleanup_free_ char *stale = malloc(cap * ksize);
        if (!stale || ksize > sizeof(next))
                return -ENOMEM;
        while (bpf_map_get_next_key(fd, prev, next) == 0) {
                if (!keep(next, userdata)) {
                        if (n_stale == cap) {
                                char *more = realloc(stale, (cap *= 2) * ksize);
                                if (!more)
                                        return -ENOMEM;
                                stale = more;
                        }
                        memcpy(stale + n_stale++ * ksize, next, ksize);
                }
                memcpy(cur, next, ksize);
                prev = cur;
        }
        for (size_t i = 0; i < n_stale; i++)
                (void) bpf_map_delete_elem(fd, stale + i * ksize);
        return 0;
}

size_t bpf_fd_count_keys(int fd, size_t ksize, bool (*count)(int fd, const void *key, void *userdata),
                         void *userdata) {
        char cur[HN_MOUNT_PATH_KEY], next[HN_MOUNT_PATH_KEY]; /* the largest key of our maps */
        size_t n = 0;
        if (ksize > sizeof(next))
                return 0;
        for (void *prev = NULL; bpf_map_get_next_key(fd, prev, next) == 0; prev = cur) {
                n += !count || count(fd, next, userdata);
                memcpy(cur, next, ksize);
        }
        return n;
}

struct sorted_index {
        const char *keys;
        size_t ksize;
};

static int index_compare(const void *a, const void *b, void *userdata) {
        const struct sorted_index *s = userdata;
        return memcmp(s->keys + *(const size_t *) a * s->ksize, s->keys + *(const size_t *) b * s->ksize, s->ksize);
}

/* Sorted, each key once. */
static bool keys_sorted(const char *keys, size_t n, size_t ksize) {
        for (size_t i = 1; i < n; i++)
                if (memcmp(keys + (i - 1) * ksize, keys + i * ksize, ksize) >= 0)
                        return false;
        return true;
}

/* The positions of keys (n of ksize bytes) in key order; NULL without memory. */
static size_t *index_sorted(const char *keys, size_t n, size_t ksize) {
        size_t *idx = malloc((n ? n : 1) * sizeof(size_t));
        if (!idx)
                return NULL;
        for (size_t i = 0; i < n; i++)
                idx[i] = i;
        /* The guard's key sets come sorted (vec_unique, the merges): then
         * the index is the identity, and n log n compares are saved on
         * every mount call's difference (two sets of thousands of keys). */
        if (!keys_sorted(keys, n, ksize)) {
                struct sorted_index s = { keys, ksize };
                qsort_r(idx, n, sizeof(size_t), index_compare, &s);
        }
        return idx;
}

/* The position of key among keys, by a search of the index (a scan for
 * each key was n² at thousands of keys); -1 if absent. */
static ssize_t index_find(const char *keys, const size_t *idx, size_t n, size_t ksize, const void *key) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = memcmp(keys + idx[mid] * ksize, key, ksize);
                if (c == 0)
                        return (ssize_t) idx[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -1;
}

struct wanted_keys {
        const char *keys;
        const size_t *idx;
        size_t n, ksize;
};

static bool key_wanted(const void *key, void *userdata) {
        const struct wanted_keys *w = userdata;
        return index_find(w->keys, w->idx, w->n, w->ksize, key) >= 0;
}

/* Replaces a map's keys with want (n keys of size ksize; one-byte values,
 * 1 where values is NULL): adds first, then removes the rest, so a held
 * mount is never unguarded in between. */
int bpf_keys_replace(const struct bpf_map *map, const void *want, const uint8_t *values, size_t n, size_t ksize) {
        for (size_t i = 0; i < n; i++) {
                uint8_t v = values ? values[i] : 1;
                if (bpf_map__update_elem(map, (const char *) want + i * ksize, ksize, &v, 1, BPF_ANY) < 0)
                        return -errno;
        }
        _cleanup_free_ size_t *idx = index_sorted(want, n, ksize);
        if (!idx)
                return -ENOMEM;
        struct wanted_keys w = { want, idx, n, ksize };
        return bpf_keys_delete_except(map, ksize, key_wanted, &w);
}

/* Both sets sorted, each key once (how the guard gives them): one walk of
 * the two side by side, no index and no search. */
static int keys_update_merge(const struct bpf_map *map, const char *h, const uint8_t *had_values, size_t had_n,
                             const char *w, const uint8_t *values, size_t n, size_t ksize) {
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
                int c = -1;
                while (j < had_n && (c = memcmp(h + j * ksize, w + i * ksize, ksize)) < 0)
                        j++;
                uint8_t v = values ? values[i] : 1;
                if (j < had_n && c == 0 && (had_values ? had_values[j] : 1) == v)
                        continue; /* there already, as it should be */
                if (bpf_map__update_elem(map, w + i * ksize, ksize, &v, 1, BPF_ANY) < 0)
                        return -errno;
        }
        size_t i = 0;
        for (j = 0; j < had_n; j++) {
                int c = -1;
                while (i < n && (c = memcmp(w + i * ksize, h + j * ksize, ksize)) < 0)
                        i++;
                if ((i == n || c != 0) && bpf_map__delete_elem(map, h + j * ksize, ksize, 0) < 0 && errno != ENOENT)
                        return -errno;
        }
        return 0;
}

int bpf_keys_update(const struct bpf_map *map, const void *had, const uint8_t *had_values, size_t had_n,
                    const void *want, const uint8_t *values, size_t n, size_t ksize) {
        const char *h = had, *w = want;
        if (keys_sorted(h, had_n, ksize) && keys_sorted(w, n, ksize))
                return keys_update_merge(map, h, had_values, had_n, w, values, n, ksize);
        _cleanup_free_ size_t *had_idx = index_sorted(h, had_n, ksize);
        _cleanup_free_ size_t *want_idx = index_sorted(w, n, ksize);
        if (!had_idx || !want_idx)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                uint8_t v = values ? values[i] : 1;
                ssize_t j = index_find(h, had_idx, had_n, ksize, w + i * ksize);
                if (j >= 0 && (had_values ? had_values[j] : 1) == v)
                        continue; /* there already, as it should be */
                if (bpf_map__update_elem(map, w + i * ksize, ksize, &v, 1, BPF_ANY) < 0)
                        return -errno;
        }
        for (size_t j = 0; j < had_n; j++)
                if (index_find(w, want_idx, n, ksize, h + j * ksize) < 0 &&
                    bpf_map__delete_elem(map, h + j * ksize, ksize, 0) < 0 && errno != ENOENT)
                        return -errno;
        return 0;
}

bool bpf_keys_intact(const struct bpf_map *map, const void *want, const uint8_t *values, size_t n, size_t ksize) {
        size_t present = 0;
        for (size_t i = 0; i < n; i++) {
                uint8_t v;
                present += bpf_map__lookup_elem(map, (const char *) want + i * ksize, ksize, &v, 1, 0) == 0 &&
                           v == (values ? values[i] : 1);
        }
        char key[HN_MOUNT_PATH_KEY], prev[HN_MOUNT_PATH_KEY];
        size_t total = 0;
        for (void *p = NULL; ksize <= sizeof(key) && bpf_map_get_next_key(bpf_map__fd(map), p, key) == 0; p = prev) {
                memcpy(prev, key, ksize);
                total++;
        }
        return present == n && total == n;
}

