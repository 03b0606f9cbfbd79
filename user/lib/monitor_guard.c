/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state the programs judge by, written from here: the slice roots,
 * the emergency flag, the mount bases and the held mounts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_keys.h"
#include "error_set.h"
#include "monitor_internal.h"

int monitor_slice_roots_update(struct hn_monitor *m) {
        static const struct {
                const char *slice;
                enum hn_event_owner owner;
        } slices[] = { { HN_SLICE_PACT_ROOT, HN_EVO_PACT }, { HN_SLICE_WORKLOAD_ROOT, HN_EVO_WORKLOAD } };
        uint64_t root;
        int r = hn_cgroup_id(m->root, &root);
        if (r < 0)
                return r;
        m->skel->bss->hier_root_id = root;
        for (size_t i = 0; i < ELEMENTSOF(slices); i++) {
                char dir[PATH_MAX + 32];
                uint64_t id = 0;
                snprintf(dir, sizeof(dir), "%s/%s", m->root, slices[i].slice);
                r = hn_cgroup_id(dir, &id);
                if (r < 0 && r != -ENOENT)
                        return r;
                /* ENOENT: that slice does not exist (yet); the programs
                 * adopt it when it is made */
                m->skel->bss->slice_root_id[slices[i].owner] = r < 0 ? 0 : id;
        }
        return 0;
}

int monitor_seed_placement(struct hn_monitor *m) {
        struct bpf_link *link = bpf_program__attach_iter(m->skel->progs.hn_seed_placement, NULL);
        if (!link)
                return -errno;
        int r = 0;
        _cleanup_close_ int fd = bpf_iter_create(bpf_link__fd(link));
        if (fd < 0)
                r = -errno;
        char buf[64];
        ssize_t n;
        while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) != 0)
                if (n < 0 && errno != EINTR) {
                        r = -errno;
                        break;
                }
        bpf_link__destroy(link);
        return r;
}

int hn_monitor_set_emergency(struct hn_monitor *m, bool active) {
        uint32_t zero = 0, v = active;
        if (bpf_map__update_elem(m->skel->maps.emergency, &zero, sizeof(zero), &v, sizeof(v), BPF_ANY) < 0)
                return -errno;
        m->emergency_set = active;
        return 0;
}

int hn_monitor_set_mount_bases(struct hn_monitor *m, const char *uenv_base, const char *workdir_base,
                               struct hn_error *err) {
        const char *bases[2] = { uenv_base, workdir_base };
        for (uint32_t i = 0; i < 2; i++) {
                struct {
                        char path[HN_MOUNT_BASE_LEN];
                        uint32_t len;
                } b = { 0 };
                size_t len = bases[i] ? strlen(bases[i]) : 0;
                if (!bases[i] || bases[i][0] != '/' || len >= HN_MOUNT_BASE_LEN)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                            "invalid mount base %s: an absolute path shorter than %d bytes",
                                            bases[i] ? bases[i] : "(null)", HN_MOUNT_BASE_LEN);
                memcpy(b.path, bases[i], len);
                b.len = (uint32_t) len;
                if (bpf_map__update_elem(m->skel->maps.mount_bases, &i, sizeof(i), &b, sizeof(b), BPF_ANY) < 0)
                        return hn_error_set(err, HN_ERR_IO, errno, "mount bases: %s", strerror(errno));
                memcpy(m->bases[i], b.path, sizeof(b.path));
        }
        return 0;
}

int hn_monitor_set_held_mounts(struct hn_monitor *m, const uint32_t *ids, size_t n_ids, const char *const *paths,
                               size_t n_paths, struct hn_error *err) {
        _cleanup_free_ char *keys = calloc(n_paths ? n_paths : 1, HN_MOUNT_PATH_KEY);
        if (!keys)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        for (size_t i = 0; i < n_paths; i++) {
                if (strlen(paths[i]) >= HN_MOUNT_PATH_KEY)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, ENAMETOOLONG,
                                            "held mount path too long for the guard: %s", paths[i]);
                memcpy(keys + i * HN_MOUNT_PATH_KEY, paths[i], strlen(paths[i]));
        }
        _cleanup_free_ uint32_t *id_copy = malloc((n_ids ? n_ids : 1) * sizeof(uint32_t));
        if (!id_copy)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        memcpy(id_copy, ids, n_ids * sizeof(uint32_t));
        int r = bpf_keys_replace(m->skel->maps.held_mounts, ids, n_ids, sizeof(uint32_t));
        if (r == 0)
                r = bpf_keys_replace(m->skel->maps.held_paths, keys, n_paths, HN_MOUNT_PATH_KEY);
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "held mounts: %s", strerror(-r));
        /* kept, to find them changed behind our back */
        free(m->held_ids);
        free(m->held_paths);
        m->held_ids = id_copy;
        id_copy = NULL;
        m->n_held_ids = n_ids;
        m->held_paths = keys;
        keys = NULL;
        m->n_held_paths = n_paths;
        return 0;
}

int monitor_own_maps_record(struct hn_monitor *m) {
        struct bpf_map *map;
        size_t n = 0;
        bpf_object__for_each_map(map, m->skel->obj) {
                int fd = bpf_map__fd(map);
                if (fd < 0)
                        continue;
                struct bpf_map_info info = { 0 };
                __u32 len = sizeof(info);
                if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                        return -errno;
                if (n == ELEMENTSOF(m->own_map_ids))
                        return -E2BIG;
                m->own_map_ids[n++] = info.id;
        }
        memcpy(m->skel->bss->own_map_ids, m->own_map_ids, sizeof(m->own_map_ids));
        return 0;
}

void tamper_note_add(struct tamper_note *t, const char *what) {
        t->found++;
        if (t->used < t->size)
                t->used += (size_t) snprintf(t->buf + t->used, t->size - t->used, "%s%s", t->used ? ", " : "", what);
}

/* A set of keys in map is exactly want (n keys of ksize bytes); restored
 * if not. */
static bool keys_intact(const struct bpf_map *map, const void *want, size_t n, size_t ksize) {
        uint8_t v;
        size_t present = 0;
        for (size_t i = 0; i < n; i++)
                present += bpf_map__lookup_elem(map, (const char *) want + i * ksize, ksize, &v, 1, 0) == 0;
        char key[HN_MOUNT_PATH_KEY], prev[HN_MOUNT_PATH_KEY];
        size_t total = 0;
        for (void *p = NULL; bpf_map_get_next_key(bpf_map__fd(map), p, key) == 0; p = prev) {
                memcpy(prev, key, ksize);
                total++;
        }
        if (present == n && total == n)
                return true;
        (void) bpf_keys_replace(map, want, n, ksize);
        return false;
}

/* The level the slice roots are at: the root's depth below the cgroup2
 * mount, plus one, where the mount shows the whole hierarchy (its root is
 * the root cgroup, id 1); 0 where it cannot be told (a cgroup namespace). */
static int expected_slice_level(const struct hn_monitor *m) {
        uint64_t id;
        if (hn_cgroup_id(m->mount, &id) < 0 || id != 1)
                return 0;
        size_t n = strlen(m->mount);
        if (strncmp(m->root, m->mount, n) != 0)
                return 0;
        int level = 1;
        for (const char *p = m->root + n; *p; p++)
                level += *p == '/' && p[1] && p[1] != '/';
        return level;
}

int hn_monitor_check_state(struct hn_monitor *m, char *ret_detail, size_t size) {
        struct tamper_note t = { .buf = ret_detail, .size = size };
        if (size)
                ret_detail[0] = '\0';
        /* the slice roots, as they are now (the programs keep them when
         * one is made again, so a difference is nobody's but a writer's) */
        uint64_t roots[3], hier = m->skel->bss->hier_root_id;
        memcpy(roots, m->skel->bss->slice_root_id, sizeof(roots));
        if (monitor_slice_roots_update(m) == 0 &&
            (hier != m->skel->bss->hier_root_id || memcmp(roots, m->skel->bss->slice_root_id, sizeof(roots)) != 0))
                tamper_note_add(&t, "slice_root_id");
        if (memcmp(m->skel->bss->own_map_ids, m->own_map_ids, sizeof(m->own_map_ids)) != 0) {
                memcpy(m->skel->bss->own_map_ids, m->own_map_ids, sizeof(m->own_map_ids));
                tamper_note_add(&t, "own_map_ids");
        }
        monitor_identities_check(m, &t);
        uint32_t zero = 0, em = 0;
        if (bpf_map__lookup_elem(m->skel->maps.emergency, &zero, sizeof(zero), &em, sizeof(em), 0) == 0 &&
            !em != !m->emergency_set) {
                (void) hn_monitor_set_emergency(m, m->emergency_set);
                tamper_note_add(&t, "emergency");
        }
        for (uint32_t i = 0; i < 2 && m->bases[i][0]; i++) {
                struct {
                        char path[HN_MOUNT_BASE_LEN];
                        uint32_t len;
                } b = { 0 }, want = { .len = (uint32_t) strlen(m->bases[i]) };
                memcpy(want.path, m->bases[i], sizeof(want.path));
                if (bpf_map__lookup_elem(m->skel->maps.mount_bases, &i, sizeof(i), &b, sizeof(b), 0) == 0 &&
                    !memcmp(&b, &want, sizeof(b)))
                        continue;
                (void) bpf_map__update_elem(m->skel->maps.mount_bases, &i, sizeof(i), &want, sizeof(want), BPF_ANY);
                tamper_note_add(&t, "mount_bases");
        }
        int level = expected_slice_level(m);
        if (level > 0 && m->skel->bss->slice_level && m->skel->bss->slice_level != level) {
                m->skel->bss->slice_level = level;
                tamper_note_add(&t, "slice_level");
        }
        if (m->held_ids && !keys_intact(m->skel->maps.held_mounts, m->held_ids, m->n_held_ids, sizeof(uint32_t)))
                tamper_note_add(&t, "held_mounts");
        if (m->held_paths &&
            !keys_intact(m->skel->maps.held_paths, m->held_paths, m->n_held_paths, HN_MOUNT_PATH_KEY))
                tamper_note_add(&t, "held_paths");
        return t.found;
}

