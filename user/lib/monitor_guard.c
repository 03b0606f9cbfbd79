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
        return bpf_map__update_elem(m->skel->maps.emergency, &zero, sizeof(zero), &v, sizeof(v), BPF_ANY) < 0 ? -errno
                                                                                                              : 0;
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
        int r = bpf_keys_replace(m->skel->maps.held_mounts, ids, n_ids, sizeof(uint32_t));
        if (r == 0)
                r = bpf_keys_replace(m->skel->maps.held_paths, keys, n_paths, HN_MOUNT_PATH_KEY);
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "held mounts: %s", strerror(-r));
        return 0;
}

