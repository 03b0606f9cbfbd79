/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mount guard's state in the programs' maps: the mount bases, and the
 * held mounts, guarded directories, loop devices and image files each
 * written as a difference from what the maps hold (added first, the rest
 * removed after), so a rule never has a gap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_keys.h"
#include "error_set.h"
#include "monitor_internal.h"

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

enum guard_part { GUARD_MOUNTS, GUARD_DIRS, GUARD_LOOPS, GUARD_IMAGES, GUARD_PARTS };
static const char *const guard_names[GUARD_PARTS] = { "held_mounts", "guarded_dirs", "held_loops", "held_images" };
static const size_t guard_ksize[GUARD_PARTS] = { sizeof(uint32_t), sizeof(struct hn_guard_dir), sizeof(uint32_t),
                                                 sizeof(struct hn_guard_file) };

static const struct bpf_map *guard_map(const struct hn_monitor *m, enum guard_part p) {
        const struct bpf_map *maps[GUARD_PARTS] = { m->skel->maps.held_mounts, m->skel->maps.guarded_dirs,
                                                    m->skel->maps.held_loops, m->skel->maps.held_images };
        return maps[p];
}

void monitor_guard_free(struct hn_monitor *m) {
        for (size_t p = 0; p < ELEMENTSOF(m->guard); p++) {
                free(m->guard[p].keys);
                free(m->guard[p].values);
                m->guard[p] = (struct guard_set){ 0 };
        }
}

/* One part written (added first, the rest removed after) and kept. A
 * pass writes only what changed since the part was last written (a pass
 * that rewrote thousands of keys each time was most of a mount call's
 * cost); after a failed write, or before any, the whole part. The tick's
 * check (hn_monitor_check_state) still compares every key with the map
 * and rewrites a part someone else changed. */
static int guard_part_set(struct hn_monitor *m, enum guard_part p, void *keys, uint8_t *values, size_t n) {
        struct guard_set *had = &m->guard[p];
        int r = had->written ? bpf_keys_update(guard_map(m, p), had->keys, had->values, had->n, keys, values, n,
                                               guard_ksize[p])
                             : bpf_keys_replace(guard_map(m, p), keys, values, n, guard_ksize[p]);
        if (r < 0) {
                had->written = false; /* the map is somewhere between: the next write is whole */
                free(keys);
                free(values);
                return r;
        }
        free(had->keys);
        free(had->values);
        *had = (struct guard_set){ keys, values, n, true };
        return 0;
}

static void *copy_keys(const void *src, size_t n, size_t ksize) {
        void *v = malloc(n ? n * ksize : 1);
        if (v && n)
                memcpy(v, src, n * ksize);
        return v;
}

/* By the id's bytes (it leads each entry): the order the maps' key sets
 * are kept in, so that a difference is one walk (bpf_keys_update). */
static int kinded_compare(const void *a, const void *b) {
        return memcmp(a, b, sizeof(uint32_t));
}

int hn_monitor_set_mount_guard(struct hn_monitor *m, const struct hn_mount_guard *g, struct hn_error *err) {
        /* the image files' filesystems, for the programs' first test */
        uint32_t devs[ELEMENTSOF(m->skel->bss->held_image_devs)] = { 0 };
        size_t n_devs = 0;
        for (size_t i = 0; i < g->n_images; i++) {
                bool known = false;
                for (size_t d = 0; d < n_devs && !known; d++)
                        known = devs[d] == g->images[i].dev;
                if (known)
                        continue;
                if (n_devs == ELEMENTSOF(devs))
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, E2BIG,
                                            "held images on more than %zu filesystems: the guard keeps %zu",
                                            ELEMENTSOF(devs), ELEMENTSOF(devs));
                devs[n_devs++] = g->images[i].dev;
        }
        /* mounts: held, on the way down, or both */
        size_t n_mounts = g->n_held + g->n_ancestors;
        uint32_t *ids = malloc((n_mounts ? n_mounts : 1) * sizeof(uint32_t));
        uint8_t *kinds = malloc(n_mounts ? n_mounts : 1);
        if (!ids || !kinds) {
                free(ids);
                free(kinds);
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        }
        /* the union of held and ancestors, each id once with its kinds:
         * every id sorted, then each run of one id folded (a scan of the
         * union for each id was n² at thousands of binds) */
        struct kinded {
                uint32_t id;
                uint8_t kind;
        } *all = malloc((n_mounts ? n_mounts : 1) * sizeof(*all));
        if (!all) {
                free(ids);
                free(kinds);
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n_mounts; i++)
                all[i] = i < g->n_held ? (struct kinded){ g->held[i], HN_GUARD_HELD }
                                       : (struct kinded){ g->ancestors[i - g->n_held], HN_GUARD_ANCESTOR };
        qsort(all, n_mounts, sizeof(*all), kinded_compare);
        size_t k = 0;
        for (size_t i = 0; i < n_mounts; i++) {
                if (k && ids[k - 1] == all[i].id) {
                        kinds[k - 1] |= all[i].kind;
                        continue;
                }
                ids[k] = all[i].id;
                kinds[k++] = all[i].kind;
        }
        free(all);
        struct {
                const void *src;
                size_t n;
        } parts[GUARD_PARTS] = { { NULL, 0 }, { g->dirs, g->n_dirs }, { g->loops, g->n_loops },
                                 { g->images, g->n_images } };
        /* the new state is added before the old is removed, part by part,
         * the mounts first: nothing held is unguarded in between */
        int r = guard_part_set(m, GUARD_MOUNTS, ids, kinds, k);
        for (int p = GUARD_DIRS; r == 0 && p < GUARD_PARTS; p++) {
                void *keys = copy_keys(parts[p].src, parts[p].n, guard_ksize[p]);
                r = keys ? guard_part_set(m, p, keys, NULL, parts[p].n) : -ENOMEM;
        }
        if (r < 0)
                return hn_error_set(err, HN_ERR_GUARD_STATE, -r, "the mount guard: %s", strerror(-r));
        _Static_assert(sizeof(devs) == sizeof(m->image_devs), "image_devs");
        memcpy(m->image_devs, devs, sizeof(devs));
        memcpy(m->skel->bss->held_image_devs, devs, sizeof(devs));
        m->guard_on = m->skel->bss->mount_guard_on = g->n_held > 0;
        return 0;
}

void monitor_mount_guard_check(struct hn_monitor *m, struct tamper_note *t) {
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
                tamper_note_add(t, "mount_bases");
        }
        for (int p = 0; p < GUARD_PARTS; p++) {
                struct guard_set *g = &m->guard[p];
                if (!g->keys || bpf_keys_intact(guard_map(m, p), g->keys, g->values, g->n, guard_ksize[p]))
                        continue;
                g->written = bpf_keys_replace(guard_map(m, p), g->keys, g->values, g->n, guard_ksize[p]) == 0;
                tamper_note_add(t, guard_names[p]);
        }
        if (memcmp(m->skel->bss->held_image_devs, m->image_devs, sizeof(m->image_devs)) != 0) {
                memcpy(m->skel->bss->held_image_devs, m->image_devs, sizeof(m->image_devs));
                tamper_note_add(t, "held_image_devs");
        }
        if (m->skel->bss->mount_guard_on != m->guard_on) {
                m->skel->bss->mount_guard_on = m->guard_on;
                tamper_note_add(t, "mount_guard_on");
        }
}
