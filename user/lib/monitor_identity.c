/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The identities the programs judge writers by: executables, uids and
 * cgroup subtrees per owner, in the programs' maps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_keys.h"
#include "error_set.h"
#include "kernel_key.h"
#include "monitor_internal.h"

static int check_owner(enum hn_slice_owner owner, struct hn_error *err) {
        if (owner != HN_OWNER_PACT && owner != HN_OWNER_WORKLOAD)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid identity owner %d: pact or workload",
                                    (int) owner);
        return 0;
}

/* enum hn_slice_owner and enum hn_event_owner share their values. */
_Static_assert((int) HN_OWNER_PACT == (int) HN_EVO_PACT && (int) HN_OWNER_WORKLOAD == (int) HN_EVO_WORKLOAD,
               "owner encodings");

/* An identity as the kernel keys it: which map, and the key's bytes. */
struct identity_key {
        int map; /* 0 exe, 1 uid, 2 cgroup */
        union {
                struct hn_exe_identity_key exe;
                uint32_t uid;
                uint64_t cgroup_id;
        } key;
        uint8_t owner;
};

static const size_t key_size[3] = { sizeof(struct hn_exe_identity_key), sizeof(uint32_t), sizeof(uint64_t) };

static struct bpf_map *identity_map(struct hn_monitor *m, int map) {
        return map == 0 ? m->skel->maps.identity_exe : map == 1 ? m->skel->maps.identity_uid : m->skel->maps.identity_cgroup;
}

/* Checks one identity and computes its key; touches nothing, *ret
 * included, unless it succeeds. */
static int identity_resolve(const struct hn_identity *id, struct identity_key *ret, struct hn_error *err) {
        struct identity_key k = { .owner = (uint8_t) id->owner };
        struct stat st;
        uint64_t cg;
        int r = check_owner(id->owner, err);
        if (r < 0)
                return r;
        switch (id->kind) {
        case HN_IDENTITY_EXE:
                if (!id->path || stat(id->path, &st) < 0)
                        return hn_error_set(err, HN_ERR_NOT_FOUND, id->path ? errno : EINVAL, "identity executable %s: %s",
                                            id->path ? id->path : "(null)", strerror(id->path ? errno : EINVAL));
                if (!S_ISREG(st.st_mode))
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                            "identity executable %s: not a regular file", id->path);
                k.map = 0;
                k.key.exe = (struct hn_exe_identity_key){ .uid = (uint32_t) id->uid };
                if ((r = hn_file_kernel_key(id->path, true, &k.key.exe.dev, &k.key.exe.ino)) < 0)
                        return hn_error_set(err, HN_ERR_NOT_FOUND, -r, "identity executable %s: %s", id->path,
                                            strerror(-r));
                break;
        case HN_IDENTITY_UID:
                k.map = 1;
                k.key.uid = (uint32_t) id->uid;
                break;
        case HN_IDENTITY_CGROUP:
                if (!id->path || (r = hn_cgroup_id(id->path, &cg, NULL)) < 0)
                        return hn_error_set(err, HN_ERR_NOT_FOUND, id->path ? -r : EINVAL, "identity cgroup %s: %s",
                                            id->path ? id->path : "(null)", strerror(id->path ? -r : EINVAL));
                k.map = 2;
                k.key.cgroup_id = cg;
                break;
        default:
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid identity kind %d", (int) id->kind);
        }
        *ret = k;
        return 0;
}

static int identity_write(struct hn_monitor *m, const struct identity_key *k, const struct hn_identity *id,
                          struct hn_error *err) {
        if (bpf_map__update_elem(identity_map(m, k->map), &k->key, key_size[k->map], &k->owner, sizeof(k->owner),
                                 BPF_ANY) < 0) {
                if (id->kind == HN_IDENTITY_UID)
                        return hn_error_set(err, HN_ERR_IO, errno, "identity uid %u: %s", k->key.uid, strerror(errno));
                return hn_error_set(err, HN_ERR_IO, errno, "identity %s: %s", id->path, strerror(errno));
        }
        return 0;
}

/* The programs skip the cgroup-ancestor walk while no cgroup identity is
 * configured: keep their count current. */
static void count_cgroup_identities(struct hn_monitor *m) {
        int fd = bpf_map__fd(m->skel->maps.identity_cgroup);
        uint64_t key, next;
        uint32_t n = 0;
        for (void *prev = NULL; bpf_map_get_next_key(fd, prev, &next) == 0; prev = &key) {
                key = next;
                n++;
        }
        m->skel->bss->identity_cgroup_count = n;
}

/* The configured set, kept to find the maps changed behind our back:
 * k replaces an entry with the same key, or is added. */
static int expect(struct hn_monitor *m, const struct identity_key *k) {
        for (size_t i = 0; i < m->n_id_keys; i++)
                if (m->id_keys[i].map == k->map && !memcmp(&m->id_keys[i].key, &k->key, key_size[k->map])) {
                        m->id_keys[i] = *k;
                        return 0;
                }
        struct identity_key *grown = realloc(m->id_keys, (m->n_id_keys + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        m->id_keys = grown;
        m->id_keys[m->n_id_keys++] = *k;
        return 0;
}

static int add_identity(struct hn_monitor *m, const struct hn_identity *id, struct hn_error *err) {
        struct identity_key k;
        int r = identity_resolve(id, &k, err);
        if (r < 0 || (r = identity_write(m, &k, id, err)) < 0)
                return r;
        if (expect(m, &k) < 0)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        count_cgroup_identities(m);
        return 0;
}

int hn_monitor_add_identity_exe(struct hn_monitor *m, enum hn_slice_owner owner, const char *path,
                                struct hn_error *err) {
        return add_identity(m, &(struct hn_identity){ .owner = owner, .kind = HN_IDENTITY_EXE, .path = path }, err);
}

int hn_monitor_add_identity_uid(struct hn_monitor *m, enum hn_slice_owner owner, uid_t uid, struct hn_error *err) {
        return add_identity(m, &(struct hn_identity){ .owner = owner, .kind = HN_IDENTITY_UID, .uid = uid }, err);
}

int hn_monitor_add_identity_cgroup(struct hn_monitor *m, enum hn_slice_owner owner, const char *path,
                                   struct hn_error *err) {
        return add_identity(m, &(struct hn_identity){ .owner = owner, .kind = HN_IDENTITY_CGROUP, .path = path }, err);
}

struct wanted_identities {
        const struct identity_key *keys;
        size_t n;
        int map;
};

static bool identity_wanted(const void *key, void *userdata) {
        const struct wanted_identities *w = userdata;
        for (size_t i = 0; i < w->n; i++)
                if (w->keys[i].map == w->map && !memcmp(&w->keys[i].key, key, key_size[w->map]))
                        return true;
        return false;
}

int hn_monitor_replace_identities(struct hn_monitor *m, const struct hn_identity *ids, size_t n,
                                  struct hn_error *err) {
        if (n && !ids)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: ids is NULL");
        _cleanup_free_ struct identity_key *keys = calloc(n ? n : 1, sizeof(*keys));
        if (!keys)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                int r = identity_resolve(&ids[i], &keys[i], err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                int r = identity_write(m, &keys[i], &ids[i], err);
                if (r < 0)
                        return r;
        }
        /* stale entries go last */
        for (int map = 0; map < 3; map++) {
                struct wanted_identities w = { keys, n, map };
                int r = bpf_keys_delete_except(identity_map(m, map), key_size[map], identity_wanted, &w);
                if (r < 0)
                        return hn_error_set(err, HN_ERR_IO, -r, "identities: %s", strerror(-r));
        }
        count_cgroup_identities(m);
        monitor_identities_free(m);
        for (size_t i = 0; i < n; i++)
                if (expect(m, &keys[i]) < 0)
                        return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        return 0;
}

void monitor_identities_free(struct hn_monitor *m) {
        free(m->id_keys);
        m->id_keys = NULL;
        m->n_id_keys = 0;
}

void monitor_identities_check(struct hn_monitor *m, struct tamper_note *t) {
        static const char *const names[3] = { "identity_exe", "identity_uid", "identity_cgroup" };
        uint32_t cgroups = 0;
        for (int map = 0; map < 3; map++) {
                const struct bpf_map *bm = identity_map(m, map);
                bool changed = false;
                size_t expected = 0;
                /* each configured key, with its owner */
                for (size_t i = 0; i < m->n_id_keys; i++) {
                        const struct identity_key *k = &m->id_keys[i];
                        uint8_t owner;
                        if (k->map != map)
                                continue;
                        expected++;
                        if (bpf_map__lookup_elem(bm, &k->key, key_size[map], &owner, 1, 0) == 0 && owner == k->owner)
                                continue;
                        changed = true;
                        (void) bpf_map__update_elem(bm, &k->key, key_size[map], &k->owner, 1, BPF_ANY);
                }
                /* and nothing else */
                if (bpf_fd_count_keys(bpf_map__fd(bm), key_size[map], NULL, NULL) != expected) {
                        struct wanted_identities w = { m->id_keys, m->n_id_keys, map };
                        (void) bpf_keys_delete_except(bm, key_size[map], identity_wanted, &w);
                        changed = true;
                }
                if (changed)
                        tamper_note_add(t, names[map]);
                if (map == 2)
                        cgroups = (uint32_t) expected;
        }
        if (m->skel->bss->identity_cgroup_count != cgroups) {
                m->skel->bss->identity_cgroup_count = cgroups;
                tamper_note_add(t, "identity_cgroup_count");
        }
}


static enum hn_event_owner owner_in(struct hn_monitor *m, int map, const void *key) {
        uint8_t owner;
        if (bpf_map__lookup_elem(identity_map(m, map), key, key_size[map], &owner, sizeof(owner), 0) < 0)
                return HN_EVO_NONE;
        return (enum hn_event_owner) owner;
}

enum hn_event_owner monitor_identity_owner_exe(struct hn_monitor *m, uint64_t ino, uint32_t dev, uint32_t uid) {
        struct hn_exe_identity_key k = { .ino = ino, .dev = dev, .uid = uid };
        return owner_in(m, 0, &k);
}

enum hn_event_owner monitor_identity_owner_uid(struct hn_monitor *m, uint32_t uid) {
        return owner_in(m, 1, &uid);
}

enum hn_event_owner monitor_identity_owner_cgroup(struct hn_monitor *m, uint64_t cgroup_id) {
        return owner_in(m, 2, &cgroup_id);
}
