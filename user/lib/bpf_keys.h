/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_BPF_KEYS_H
#define HN_BPF_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bpf_map;

/* Deletes every key of map (keys of ksize bytes) for which keep() is false. */
int bpf_keys_delete_except(const struct bpf_map *map, size_t ksize, bool (*keep)(const void *key, void *userdata),
                           void *userdata);
/* Makes map's keys exactly want (n keys of ksize bytes), each with its
 * one-byte value (values NULL: 1). */
int bpf_keys_replace(const struct bpf_map *map, const void *want, const uint8_t *values, size_t n, size_t ksize);
/* Brings map from had (what was written last: had_n keys, had_values)
 * to want by the difference alone: the keys new or with another value
 * written first, then the keys no longer wanted removed. Only as good as
 * had: where the map may have been changed since, bpf_keys_replace. */
int bpf_keys_update(const struct bpf_map *map, const void *had, const uint8_t *had_values, size_t had_n,
                    const void *want, const uint8_t *values, size_t n, size_t ksize);
/* Whether map holds exactly those keys with those values. */
bool bpf_keys_intact(const struct bpf_map *map, const void *want, const uint8_t *values, size_t n, size_t ksize);

/* The keys of the map behind fd (ksize bytes each) for which count() is
 * true (count NULL: every key). */
size_t bpf_fd_count_keys(int fd, size_t ksize, bool (*count)(int fd, const void *key, void *userdata),
                         void *userdata);

#endif
