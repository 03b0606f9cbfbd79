/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state the programs judge by, written from here: the slice roots,
 * the emergency deadline, hpcnoded's helper, the manager's identity and
 * the programs' own maps and programs (for the tamper check). The mount
 * guard's maps are monitor_mount_guard.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_keys.h"
#include "clock.h"
#include "error_set.h"
#include "kernel_key.h"
#include "monitor_internal.h"

int monitor_slice_roots_update(struct hn_monitor *m) {
        static const struct {
                const char *slice;
                enum hn_event_owner owner;
        } slices[] = { { HN_SLICE_PACT_ROOT, HN_EVO_PACT }, { HN_SLICE_WORKLOAD_ROOT, HN_EVO_WORKLOAD } };
        uint64_t root;
        int r = hn_cgroup_id(m->root, &root, NULL);
        if (r < 0)
                return r;
        m->skel->bss->hier_root_id = root;
        for (size_t i = 0; i < ELEMENTSOF(slices); i++) {
                char dir[PATH_MAX + 32];
                uint64_t id = 0;
                snprintf(dir, sizeof(dir), "%s/%s", m->root, slices[i].slice);
                r = hn_cgroup_id(dir, &id, NULL);
                if (r < 0 && r != -ENOENT)
                        return r;
                /* ENOENT: that slice does not exist (yet); the programs
                 * adopt it when it is made */
                m->skel->bss->slice_root_id[slices[i].owner] = r < 0 ? 0 : id;
        }
        uint64_t leaf = 0;
        if (m->helper_leaf[0]) {
                char dir[PATH_MAX + NAME_MAX + 2];
                snprintf(dir, sizeof(dir), "%s/%s", m->root, m->helper_leaf);
                r = hn_cgroup_id(dir, &leaf, NULL);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        m->skel->bss->manager_leaf_id = leaf;
        return 0;
}

/* The kernel's inode number of the initial PID namespace (include/linux/proc_ns.h). */
#define PROC_PID_INIT_INO 0xEFFFFFFCu

int hn_monitor_protect_helper(struct hn_monitor *m, const char *leaf, pid_t pid, struct hn_error *err) {
        if (!leaf || !leaf[0] || strchr(leaf, '/') || !strcmp(leaf, ".") || !strcmp(leaf, "..") ||
            strlen(leaf) >= sizeof(m->helper_leaf))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                    "helper leaf \"%s\": one name below %s expected", leaf ? leaf : "", m->root);
        if (pid <= 0)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "helper pid %d: not a process", (int) pid);
        struct stat ns;
        if (stat("/proc/self/ns/pid", &ns) < 0)
                return hn_error_set(err, HN_ERR_IO, errno, "/proc/self/ns/pid: %s", strerror(errno));
        if (ns.st_ino != PROC_PID_INIT_INO)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EOPNOTSUPP,
                                    "helper pid %d: this process is in a PID namespace, not the kernel's number",
                                    (int) pid);
        char old[sizeof(m->helper_leaf)];
        memcpy(old, m->helper_leaf, sizeof(old));
        snprintf(m->helper_leaf, sizeof(m->helper_leaf), "%s", leaf);
        int r = monitor_slice_roots_update(m);
        if (r < 0) {
                memcpy(m->helper_leaf, old, sizeof(old));
                (void) monitor_slice_roots_update(m);
                return hn_error_set(err, HN_ERR_IO, -r, "helper leaf %s/%s: %s", m->root, leaf, strerror(-r));
        }
        m->helper_tgid = (uint32_t) pid;
        m->skel->bss->helper_ktgid = m->helper_tgid;
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

/* expires_unix as a CLOCK_BOOTTIME deadline: what bpf_ktime_get_boot_ns
 * counts (a wall clock set back or forward does not move it). */
static uint64_t boot_deadline_ns(uint64_t expires_unix) {
        if (!expires_unix)
                return 0;
        uint64_t now_real = realtime_now_ns(), now_boot = boottime_ns();
        uint64_t end_real = expires_unix * 1000000000ull;
        return end_real <= now_real ? 1 /* already over: a deadline in the past */ : now_boot + (end_real - now_real);
}

int hn_monitor_set_emergency(struct hn_monitor *m, uint64_t expires_unix, struct hn_error *err) {
        uint32_t zero = 0;
        uint64_t deadline = boot_deadline_ns(expires_unix);
        if (bpf_map__update_elem(m->skel->maps.emergency, &zero, sizeof(zero), &deadline, sizeof(deadline), BPF_ANY) < 0)
                return hn_error_set(err, HN_ERR_IO, errno, "the programs' emergency map: %s", strerror(errno));
        m->emergency_deadline = deadline;
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

static int id_add(uint32_t *ids, size_t cap, size_t *n, int fd, bool link) {
        if (fd < 0)
                return 0;
        if (*n == cap)
                return -E2BIG;
        struct bpf_prog_info prog = { 0 };
        struct bpf_link_info li = { 0 };
        __u32 len = link ? sizeof(li) : sizeof(prog);
        if (bpf_obj_get_info_by_fd(fd, link ? (void *) &li : (void *) &prog, &len) < 0)
                return -errno;
        ids[(*n)++] = link ? li.id : prog.id;
        return 0;
}

int monitor_own_progs_record(struct hn_monitor *m) {
        _Static_assert(sizeof(m->own_prog_ids) == sizeof(m->skel->bss->own_prog_ids), "own_prog_ids");
        _Static_assert(sizeof(m->own_link_ids) == sizeof(m->skel->bss->own_link_ids), "own_link_ids");
        if (m->adopted) {
                memcpy(m->own_prog_ids, m->skel->bss->own_prog_ids, sizeof(m->own_prog_ids));
                memcpy(m->own_link_ids, m->skel->bss->own_link_ids, sizeof(m->own_link_ids));
                return 0;
        }
        uint32_t progs[ELEMENTSOF(m->own_prog_ids)] = { 0 }, links[ELEMENTSOF(m->own_link_ids)] = { 0 };
        size_t np = 0, nl = 0;
        int r = 0;
        const struct bpf_object_skeleton *s = m->skel->skeleton;
        for (int i = 0; r == 0 && i < s->prog_cnt; i++) {
                struct bpf_link *link = *s->progs[i].link;
                if ((r = id_add(progs, ELEMENTSOF(progs), &np, bpf_program__fd(*s->progs[i].prog), false)) == 0 && link)
                        r = id_add(links, ELEMENTSOF(links), &nl, bpf_link__fd(link), true);
        }
        for (size_t i = 0; r == 0 && i < HN_SYSCALL_HOOKS; i++)
                if (m->syscall_links[i] && !m->syscall_perf_event[i]) /* a perf event has no id */
                        r = id_add(links, ELEMENTSOF(links), &nl, bpf_link__fd(m->syscall_links[i]), true);
        if (r < 0)
                return r;
        memcpy(m->own_prog_ids, progs, sizeof(progs));
        memcpy(m->own_link_ids, links, sizeof(links));
        memcpy(m->skel->bss->own_prog_ids, progs, sizeof(progs));
        memcpy(m->skel->bss->own_link_ids, links, sizeof(links));
        return 0;
}

void tamper_note_add(struct tamper_note *t, const char *what) {
        t->found++;
        if (t->used < t->size)
                t->used += (size_t) snprintf(t->buf + t->used, t->size - t->used, "%s%s", t->used ? ", " : "", what);
}

/* The level the slice roots are at: the root's depth below the cgroup2
 * mount, plus one, where the mount shows the whole hierarchy (its root is
 * the root cgroup, id 1); 0 where it cannot be told (a cgroup namespace). */
static int expected_slice_level(const struct hn_monitor *m) {
        uint64_t id;
        if (hn_cgroup_id(m->mount, &id, NULL) < 0 || id != 1)
                return 0;
        size_t n = strlen(m->mount);
        if (strncmp(m->root, m->mount, n) != 0)
                return 0;
        int level = 1;
        for (const char *p = m->root + n; *p; p++)
                level += *p == '/' && p[1] && p[1] != '/';
        return level;
}

/* This process as the programs know the manager: its tgid in its PID
 * namespace, that namespace, and its mount namespace. */
static struct manager_id manager_id_of_self(void) {
        struct manager_id id = { .tgid = (uint32_t) getpid() };
        struct stat ns;
        if (stat("/proc/self/ns/pid", &ns) == 0) {
                id.pidns_dev = hn_kernel_dev(ns.st_dev);
                id.pidns_ino = ns.st_ino;
        }
        if (stat("/proc/self/ns/mnt", &ns) == 0)
                id.mnt_ns = ns.st_ino;
        return id;
}

static void manager_write(struct hn_monitor *m, const struct manager_id *id) {
        m->skel->bss->manager_pidns_dev = id->pidns_dev;
        m->skel->bss->manager_pidns_ino = id->pidns_ino;
        m->skel->bss->manager_mnt_ns = id->mnt_ns;
        m->skel->bss->manager_tgid = id->tgid;
}

void monitor_manager_set(struct hn_monitor *m) {
        m->manager = manager_id_of_self();
        manager_write(m, &m->manager);
        /* as the programs see it (the placement seed writes it again, from
         * the kernel's own view) */
        uint32_t dev;
        uint64_t ino;
        if (hn_file_kernel_key("/proc/self/exe", true, &dev, &ino) == 0) {
                m->skel->bss->manager_exe_dev = dev;
                m->skel->bss->manager_exe_ino = ino;
        }
}

void monitor_manager_clear(struct hn_monitor *m) {
        m->skel->bss->manager_tgid = 0; /* no manager until the next one says so */
        m->skel->bss->manager_ktgid = 0;
}

int hn_monitor_check_state(struct hn_monitor *m, char *ret_detail, size_t size) {
        struct tamper_note t = { .buf = ret_detail, .size = size };
        if (size)
                ret_detail[0] = '\0';
        /* the slice roots, as they are now (the programs keep them when
         * one is made again, so a difference is nobody's but a writer's) */
        uint64_t roots[3], hier = m->skel->bss->hier_root_id, leaf = m->skel->bss->manager_leaf_id;
        memcpy(roots, m->skel->bss->slice_root_id, sizeof(roots));
        if (monitor_slice_roots_update(m) == 0 &&
            (hier != m->skel->bss->hier_root_id || memcmp(roots, m->skel->bss->slice_root_id, sizeof(roots)) != 0))
                tamper_note_add(&t, "slice_root_id");
        if (leaf != m->skel->bss->manager_leaf_id)
                tamper_note_add(&t, "manager_leaf_id");
        if (m->helper_tgid && m->skel->bss->helper_ktgid != m->helper_tgid) {
                m->skel->bss->helper_ktgid = m->helper_tgid;
                tamper_note_add(&t, "helper_ktgid");
        }
        if (memcmp(m->skel->bss->own_map_ids, m->own_map_ids, sizeof(m->own_map_ids)) != 0) {
                memcpy(m->skel->bss->own_map_ids, m->own_map_ids, sizeof(m->own_map_ids));
                tamper_note_add(&t, "own_map_ids");
        }
        if (memcmp(m->skel->bss->own_prog_ids, m->own_prog_ids, sizeof(m->own_prog_ids)) != 0 ||
            memcmp(m->skel->bss->own_link_ids, m->own_link_ids, sizeof(m->own_link_ids)) != 0) {
                memcpy(m->skel->bss->own_prog_ids, m->own_prog_ids, sizeof(m->own_prog_ids));
                memcpy(m->skel->bss->own_link_ids, m->own_link_ids, sizeof(m->own_link_ids));
                tamper_note_add(&t, "own_prog_ids");
        }
        if (m->skel->bss->manager_tgid != m->manager.tgid || m->skel->bss->manager_pidns_ino != m->manager.pidns_ino ||
            m->skel->bss->manager_pidns_dev != m->manager.pidns_dev || m->skel->bss->manager_mnt_ns != m->manager.mnt_ns) {
                manager_write(m, &m->manager);
                tamper_note_add(&t, "manager");
        }
        monitor_identities_check(m, &t);
        monitor_pins_check(m, &t);
        uint32_t zero = 0;
        uint64_t em = 0;
        if (bpf_map__lookup_elem(m->skel->maps.emergency, &zero, sizeof(zero), &em, sizeof(em), 0) == 0 &&
            em != m->emergency_deadline) {
                (void) bpf_map__update_elem(m->skel->maps.emergency, &zero, sizeof(zero), &m->emergency_deadline,
                                            sizeof(m->emergency_deadline), BPF_ANY);
                tamper_note_add(&t, "emergency");
        }
        int level = expected_slice_level(m);
        if (level > 0 && m->skel->bss->slice_level && m->skel->bss->slice_level != level) {
                m->skel->bss->slice_level = level;
                tamper_note_add(&t, "slice_level");
        }
        monitor_mount_guard_check(m, &t);
        return t.found;
}

