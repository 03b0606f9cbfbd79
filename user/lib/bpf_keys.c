/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replacing a BPF map's key set without a gap: the wanted keys are written
 * first, the others removed after, so a key that stays is never absent in
 * between. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

struct wanted_keys {
        const char *keys;
        size_t n, ksize;
};

static bool key_wanted(const void *key, void *userdata) {
        const struct wanted_keys *w = userdata;
        for (size_t i = 0; i < w->n; i++)
                if (!memcmp(w->keys + i * w->ksize, key, w->ksize))
                        return true;
        return false;
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
        struct wanted_keys w = { want, n, ksize };
        return bpf_keys_delete_except(map, ksize, key_wanted, &w);
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

