/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <hpcnode/monitor.h>

#include "cgroup_internal.h"
#include "cgroup_watch.skel.h"
#include "error_set.h"
#include "macro.h"
#include "tracepoint_attach.h"

#define DEFAULT_RINGBUF_BYTES (256u * 1024u)

/* Attribution level tracepoint: the exits of every open syscall, and the
 * entries of the mount family. */
static const struct {
        const char *name;
        bool required; /* the newer ones may be missing from a kernel */
} syscall_hooks[] = {
        { "sys_exit_openat", true },          { "sys_exit_openat2", false },   { "sys_exit_open", false },
        { "sys_enter_umount", true },         { "sys_enter_mount", true },     { "sys_enter_move_mount", false },
        { "sys_enter_mount_setattr", false }, { "sys_enter_open_tree", false },
};

struct hn_monitor {
        struct cgroup_watch *skel;
        struct ring_buffer *rb;
        enum hn_attribution attribution;
        struct bpf_link *syscall_links[ELEMENTSOF(syscall_hooks)];
        char root[PATH_MAX];
        hn_event_fn fn; /* of the poll in progress */
        void *userdata;
};

const char *hn_event_type_name(unsigned type) {
        switch (type) {
        case HN_EV_CGROUP_MKDIR:
                return "cgroup.mkdir";
        case HN_EV_CGROUP_RMDIR:
                return "cgroup.rmdir";
        case HN_EV_CGROUP_ATTACH:
                return "cgroup.attach";
        case HN_EV_CGROUP_POPULATED:
                return "cgroup.populated";
        case HN_EV_CONTROL_OPEN:
                return "cgroup.control_write";
        case HN_EV_CGROUP_FREEZE:
                return "cgroup.freeze";
        case HN_EV_CGROUP_KILL:
                return "cgroup.kill";
        case HN_EV_MOUNT_UMOUNT:
                return "mount.umount";
        case HN_EV_MOUNT_MOVE:
                return "mount.move";
        case HN_EV_MOUNT_REMOUNT:
                return "mount.remount";
        case HN_EV_MOUNT_OTHER:
                return "mount.mount";
        }
        return "unknown";
}

int hn_event_exe_path(const struct hn_event *e, char *ret, size_t size) {
        const char *comp[HN_EVENT_EXE_LEN / 2];
        size_t n = 0, at = 0;
        bool complete = false;
        /* leaf first, NUL-separated, an empty component ends the list */
        while (at < sizeof(e->exe)) {
                size_t len = strnlen(e->exe + at, sizeof(e->exe) - at);
                if (len == 0) {
                        complete = true;
                        break;
                }
                if (at + len >= sizeof(e->exe) - 1)
                        break; /* reaches the last byte: cut off by the record's size */
                comp[n++] = e->exe + at;
                at += len + 1;
        }
        if (n == 0)
                return -ENOENT;
        size_t used = 0;
        char buf[PATH_MAX];
        if (!complete)
                used += (size_t) snprintf(buf, sizeof(buf), "…");
        for (size_t i = n; i-- > 0 && used < sizeof(buf);)
                used += (size_t) snprintf(buf + used, sizeof(buf) - used, "/%s", comp[i]);
        if (used >= size)
                return -ENAMETOOLONG;
        memcpy(ret, buf, used + 1);
        return 0;
}

static const char *const attribution_names[] = {
        [HN_ATTRIBUTION_AUTO] = "auto",
        [HN_ATTRIBUTION_LSM] = "lsm",
        [HN_ATTRIBUTION_TRACEPOINT] = "tracepoint",
        [HN_ATTRIBUTION_OFF] = "off",
};

const char *hn_attribution_name(enum hn_attribution a) {
        return (unsigned) a < ELEMENTSOF(attribution_names) ? attribution_names[a] : NULL;
}

int hn_attribution_from_name(const char *name, enum hn_attribution *ret) {
        for (size_t i = 0; name && i < ELEMENTSOF(attribution_names); i++)
                if (!strcmp(name, attribution_names[i])) {
                        *ret = (enum hn_attribution) i;
                        return 0;
                }
        return -EINVAL;
}

enum hn_attribution hn_monitor_attribution(const struct hn_monitor *m) {
        return m->attribution;
}

static struct bpf_program *syscall_prog(struct cgroup_watch *skel, size_t i) {
        struct bpf_program *progs[ELEMENTSOF(syscall_hooks)] = {
                skel->progs.hn_sys_exit_openat,         skel->progs.hn_sys_exit_openat2,
                skel->progs.hn_sys_exit_open,           skel->progs.hn_sys_enter_umount,
                skel->progs.hn_sys_enter_mount,         skel->progs.hn_sys_enter_move_mount,
                skel->progs.hn_sys_enter_mount_setattr, skel->progs.hn_sys_enter_open_tree,
        };
        return progs[i];
}

int hn_cgroup_id(const char *path, uint64_t *ret) {
        /* cgroupfs file handles are the 8-byte kernfs id, which is what
         * bpf_get_current_cgroup_id() and kn->id say. */
        struct {
                struct file_handle fh;
                uint64_t id;
        } h = { .fh.handle_bytes = sizeof(uint64_t) };
        int mount_id;
        if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0)
                return -errno;
        if (h.fh.handle_bytes != sizeof(uint64_t))
                return -EINVAL;
        memcpy(ret, h.fh.f_handle, sizeof(*ret));
        return 0;
}

/* kernfs file handles: type FILEID_KERNFS, the 8-byte id. */
#define FILEID_KERNFS 0xfe

int hn_cgroup_path_by_id(const char *mount, uint64_t id, char *ret, size_t size) {
        _cleanup_close_ int mfd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (mfd < 0)
                return -errno;
        struct {
                struct file_handle fh;
                uint64_t id;
        } h = { .fh.handle_bytes = sizeof(uint64_t), .fh.handle_type = FILEID_KERNFS };
        memcpy(h.fh.f_handle, &id, sizeof(id));
        _cleanup_close_ int fd = open_by_handle_at(mfd, &h.fh, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, ret, size - 1);
        if (n < 0)
                return -errno;
        ret[n] = '\0';
        return 0;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap) {
        (void) level, (void) fmt, (void) ap;
        return 0;
}

int hn_monitor_new(const struct hn_monitor_options *opts, struct hn_monitor **ret, struct hn_error *err) {
        struct hn_monitor_options def = { 0 };
        char found[PATH_MAX];
        int r;
        if (!ret)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid argument: ret is NULL");
        if (!opts)
                opts = &def;
        uint32_t bytes = opts->ringbuf_bytes ? opts->ringbuf_bytes : DEFAULT_RINGBUF_BYTES;
        if (bytes < 4096 || (bytes & (bytes - 1)))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "invalid ring buffer size %u: a power of two, at least 4096", bytes);
        enum hn_attribution level = opts->attribution;
        if (!hn_attribution_name(level))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid attribution level %d", (int) level);
        if (level == HN_ATTRIBUTION_AUTO)
                level = opts->lsm ? HN_ATTRIBUTION_LSM : HN_ATTRIBUTION_TRACEPOINT;
        if (level == HN_ATTRIBUTION_LSM && !opts->lsm)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EOPNOTSUPP,
                                    "attribution level lsm needs the lsm/ programs (options.lsm), which need BPF LSM");
        const char *root = opts->cgroup_root;
        if (!root) {
                if ((r = cgroup2_find_mount(found, sizeof(found))) < 0)
                        return hn_error_set(err, HN_ERR_NOT_FOUND, -r, "cgroup path not found: no cgroup2 mount");
                root = found;
        }
        struct hn_monitor *m = calloc(1, sizeof(*m));
        if (!m)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        if (!realpath(root, m->root)) {
                r = -errno;
                free(m);
                return hn_error_set(err, HN_ERR_NOT_FOUND, r, "cgroup path not found: %s: %s", root, strerror(-r));
        }
        libbpf_set_print(quiet);
        m->skel = cgroup_watch__open();
        if (!m->skel) {
                r = -errno;
                free(m);
                return hn_error_set(err, HN_ERR_IO, r, "BPF: opening cgroup_watch: %s", strerror(-r));
        }
        m->skel->rodata->manager_tgid = (uint32_t) getpid();
        m->attribution = level;
        m->skel->rodata->enforce = opts->lsm && opts->enforce;
        m->skel->rodata->lsm_records_opens = level == HN_ATTRIBUTION_LSM;
        /* One object for every kernel: what this one cannot run, or the
         * level does not use, is switched off before load. */
        if (!opts->lsm) {
                struct bpf_program *lsm_progs[] = { m->skel->progs.hn_lsm_mkdir,     m->skel->progs.hn_lsm_rmdir,
                                                    m->skel->progs.hn_lsm_file_open, m->skel->progs.hn_lsm_sb_umount,
                                                    m->skel->progs.hn_lsm_move_mount, m->skel->progs.hn_lsm_sb_mount };
                for (size_t i = 0; i < ELEMENTSOF(lsm_progs); i++)
                        bpf_program__set_autoload(lsm_progs[i], false);
        }
        for (size_t i = 0; i < ELEMENTSOF(syscall_hooks); i++) {
                struct bpf_program *p = syscall_prog(m->skel, i);
                bpf_program__set_autoattach(p, false); /* attached by hn_tracepoint_attach */
                bpf_program__set_autoload(p, level == HN_ATTRIBUTION_TRACEPOINT);
        }
        if ((r = bpf_map__set_max_entries(m->skel->maps.events, bytes)) < 0 ||
            (r = cgroup_watch__load(m->skel)) < 0) {
                hn_monitor_free(m);
                return hn_error_set(err, HN_ERR_IO, r, "BPF: loading cgroup_watch: %s", strerror(-r));
        }
        *ret = m;
        return 0;
}

void hn_monitor_free(struct hn_monitor *m) {
        if (!m)
                return;
        ring_buffer__free(m->rb);
        for (size_t i = 0; i < ELEMENTSOF(m->syscall_links); i++)
                bpf_link__destroy(m->syscall_links[i]);
        cgroup_watch__destroy(m->skel);
        free(m);
}

static int check_owner(enum hn_slice_owner owner, struct hn_error *err) {
        if (owner != HN_OWNER_PACT && owner != HN_OWNER_WORKLOAD)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid identity owner %d: pact or workload",
                                    (int) owner);
        return 0;
}

/* enum hn_slice_owner and enum hn_event_owner share their values. */
_Static_assert((int) HN_OWNER_PACT == (int) HN_EVO_PACT && (int) HN_OWNER_WORKLOAD == (int) HN_EVO_WORKLOAD,
               "owner encodings");

/* Deletes every key of map for which keep() is false. Keys are collected
 * first, then deleted: deleting while walking a hash map can skip keys.
 * Used after the wanted keys were written, so a key that stays is never
 * absent in between. */
static int delete_keys_except(const struct bpf_map *map, size_t ksize, bool (*keep)(const void *key, void *userdata),
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

/* An identity as the kernel keys it: which map, and the key's bytes. */
struct identity_key {
        int map; /* 0 exe, 1 uid, 2 cgroup */
        union {
                struct hn_exe_key exe;
                uint32_t uid;
                uint64_t cgroup_id;
        } key;
        uint8_t owner;
};

static const size_t key_size[3] = { sizeof(struct hn_exe_key), sizeof(uint32_t), sizeof(uint64_t) };

static struct bpf_map *identity_map(struct hn_monitor *m, int map) {
        return map == 0 ? m->skel->maps.identity_exe : map == 1 ? m->skel->maps.identity_uid : m->skel->maps.identity_cgroup;
}

/* Checks one identity and computes its key; touches nothing. */
static int identity_resolve(const struct hn_identity *id, struct identity_key *ret, struct hn_error *err) {
        struct stat st;
        uint64_t cg;
        int r = check_owner(id->owner, err);
        if (r < 0)
                return r;
        *ret = (struct identity_key){ .owner = (uint8_t) id->owner };
        switch (id->kind) {
        case HN_IDENTITY_EXE:
                if (!id->path || stat(id->path, &st) < 0)
                        return hn_error_set(err, HN_ERR_NOT_FOUND, id->path ? errno : EINVAL, "identity executable %s: %s",
                                            id->path ? id->path : "(null)", strerror(id->path ? errno : EINVAL));
                if (!S_ISREG(st.st_mode))
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                            "identity executable %s: not a regular file", id->path);
                ret->map = 0;
                ret->key.exe = (struct hn_exe_key){ .ino = st.st_ino, .dev = hn_kernel_dev(st.st_dev) };
                return 0;
        case HN_IDENTITY_UID:
                ret->map = 1;
                ret->key.uid = (uint32_t) id->uid;
                return 0;
        case HN_IDENTITY_CGROUP:
                if (!id->path || (r = hn_cgroup_id(id->path, &cg)) < 0)
                        return hn_error_set(err, HN_ERR_NOT_FOUND, id->path ? -r : EINVAL, "identity cgroup %s: %s",
                                            id->path ? id->path : "(null)", strerror(id->path ? -r : EINVAL));
                ret->map = 2;
                ret->key.cgroup_id = cg;
                return 0;
        }
        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid identity kind %d", (int) id->kind);
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

static int add_identity(struct hn_monitor *m, const struct hn_identity *id, struct hn_error *err) {
        struct identity_key k;
        int r = identity_resolve(id, &k, err);
        if (r < 0 || (r = identity_write(m, &k, id, err)) < 0)
                return r;
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
                int r = delete_keys_except(identity_map(m, map), key_size[map], identity_wanted, &w);
                if (r < 0)
                        return hn_error_set(err, HN_ERR_IO, -r, "identities: %s", strerror(-r));
        }
        count_cgroup_identities(m);
        return 0;
}

/* Puts dir and every cgroup below it in the owner map. */
static int seed_tree(struct hn_monitor *m, const char *dir, uint8_t owner) {
        uint64_t id;
        int r = hn_cgroup_id(dir, &id);
        if (r == -ENOENT)
                return 0; /* that slice does not exist (yet) */
        if (r < 0)
                return r;
        if (bpf_map__update_elem(m->skel->maps.owner_of, &id, sizeof(id), &owner, sizeof(owner), BPF_ANY) < 0)
                return -errno;
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        struct dirent *de;
        while ((de = readdir(d))) {
                char sub[PATH_MAX];
                if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if ((size_t) snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= sizeof(sub))
                        continue;
                if ((r = seed_tree(m, sub, owner)) < 0)
                        return r;
        }
        return 0;
}

int hn_monitor_resync(struct hn_monitor *m, struct hn_error *err) {
        static const struct {
                const char *slice;
                uint8_t owner;
        } slices[] = { { HN_SLICE_PACT_ROOT, HN_EVO_PACT }, { HN_SLICE_WORKLOAD_ROOT, HN_EVO_WORKLOAD } };
        /* Stale ids of cgroups removed while records were lost go first. */
        uint64_t key, next;
        const struct bpf_map *map = m->skel->maps.owner_of;
        int fd = bpf_map__fd(map);
        while (bpf_map_get_next_key(fd, NULL, &next) == 0) {
                key = next;
                if (bpf_map_delete_elem(fd, &key) < 0)
                        break;
        }
        for (size_t i = 0; i < ELEMENTSOF(slices); i++) {
                char dir[PATH_MAX + 32];
                snprintf(dir, sizeof(dir), "%s/%s", m->root, slices[i].slice);
                int r = seed_tree(m, dir, slices[i].owner);
                if (r < 0)
                        return hn_error_set(err, HN_ERR_IO, r, "seeding owners from %s: %s", dir, strerror(-r));
        }
        return 0;
}

static int on_record(void *ctx, void *data, size_t size) {
        struct hn_monitor *m = ctx;
        struct hn_event e;
        if (size < sizeof(e))
                return 0;
        memcpy(&e, data, sizeof(e));
        e.comm[sizeof(e.comm) - 1] = '\0';
        e.path[sizeof(e.path) - 1] = '\0';
        if (m->fn)
                m->fn(&e, m->userdata);
        return 0;
}

int hn_monitor_start(struct hn_monitor *m, struct hn_error *err) {
        int r = hn_monitor_resync(m, err);
        if (r < 0)
                return r;
        m->rb = ring_buffer__new(bpf_map__fd(m->skel->maps.events), on_record, m, NULL);
        if (!m->rb)
                return hn_error_set(err, HN_ERR_IO, errno, "BPF: ring buffer: %s", strerror(errno));
        if ((r = cgroup_watch__attach(m->skel)) < 0)
                return hn_error_set(err, HN_ERR_IO, r, "BPF: attaching cgroup_watch: %s", strerror(-r));
        if (m->attribution != HN_ATTRIBUTION_TRACEPOINT)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(syscall_hooks); i++) {
                r = hn_tracepoint_attach(syscall_prog(m->skel, i), "syscalls", syscall_hooks[i].name,
                                         &m->syscall_links[i]);
                if (r == -ENOENT && !syscall_hooks[i].required)
                        continue;
                if (r < 0)
                        return hn_error_set(err, HN_ERR_IO, r, "BPF: attaching to syscalls:%s: %s",
                                            syscall_hooks[i].name, strerror(-r));
        }
        return 0;
}

int hn_monitor_fd(struct hn_monitor *m) {
        return m->rb ? ring_buffer__epoll_fd(m->rb) : -EBADF;
}

int hn_monitor_poll(struct hn_monitor *m, int timeout_ms, hn_event_fn fn, void *userdata) {
        if (!m->rb)
                return -EBADF;
        m->fn = fn;
        m->userdata = userdata;
        int r = ring_buffer__poll(m->rb, timeout_ms);
        m->fn = NULL;
        return r;
}

int hn_monitor_losses(struct hn_monitor *m, uint64_t ret[HN_EV_TYPE_MAX], struct hn_error *err) {
        int ncpu = libbpf_num_possible_cpus();
        if (ncpu <= 0)
                return hn_error_set(err, HN_ERR_IO, -ncpu, "counting CPUs: %s", strerror(-ncpu));
        uint64_t *per_cpu = calloc((size_t) ncpu, sizeof(uint64_t));
        if (!per_cpu)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        for (uint32_t t = 0; t < HN_EV_TYPE_MAX; t++) {
                ret[t] = 0;
                if (bpf_map__lookup_elem(m->skel->maps.lost, &t, sizeof(t), per_cpu, (size_t) ncpu * sizeof(uint64_t),
                                         0) < 0)
                        continue;
                for (int c = 0; c < ncpu; c++)
                        ret[t] += per_cpu[c];
        }
        free(per_cpu);
        return 0;
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

/* Replaces a map's keys with want (n keys of size ksize): adds first, then
 * removes the rest, so a held mount is never unguarded in between. */
static int replace_keys(const struct bpf_map *map, const void *want, size_t n, size_t ksize) {
        uint8_t one = 1;
        for (size_t i = 0; i < n; i++)
                if (bpf_map__update_elem(map, (const char *) want + i * ksize, ksize, &one, 1, BPF_ANY) < 0)
                        return -errno;
        struct wanted_keys w = { want, n, ksize };
        return delete_keys_except(map, ksize, key_wanted, &w);
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
        int r = replace_keys(m->skel->maps.held_mounts, ids, n_ids, sizeof(uint32_t));
        if (r == 0)
                r = replace_keys(m->skel->maps.held_paths, keys, n_paths, HN_MOUNT_PATH_KEY);
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "held mounts: %s", strerror(-r));
        return 0;
}

int hn_monitor_prog_stats(struct hn_monitor *m, struct hn_prog_stat *ret, size_t max, size_t *ret_n) {
        struct bpf_program *prog;
        size_t n = 0;
        bpf_object__for_each_program(prog, m->skel->obj) {
                int fd = bpf_program__fd(prog);
                if (fd < 0)
                        continue; /* not loaded at this attribution level */
                if (n < max) {
                        struct bpf_prog_info info = { 0 };
                        __u32 len = sizeof(info);
                        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                                return -errno;
                        struct hn_prog_stat *s = &ret[n];
                        snprintf(s->name, sizeof(s->name), "%s", bpf_program__name(prog));
                        s->run_time_ns = info.run_time_ns;
                        s->run_cnt = info.run_cnt;
                }
                n++;
        }
        *ret_n = n;
        return 0;
}
