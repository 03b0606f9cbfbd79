/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The watcher's life: load what this kernel and the attribution level
 * use, attach before anything is read, then learn the state. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <hpcnode/probe.h>


#include "cgroup_internal.h"
#include "error_set.h"
#include "monitor_internal.h"
#include "hpcnode_compat.skel.h"
#include "probe_internal.h"
#include "tracepoint_attach.h"

#define DEFAULT_RINGBUF_BYTES (256u * 1024u)

static const struct {
        const char *name;
        bool required; /* the newer ones, and creat/open (not on arm64), may be missing from a kernel */
} syscall_hooks[HN_SYSCALL_HOOKS] = {
        { "sys_exit_openat", true },        { "sys_exit_openat2", false },        { "sys_exit_open", false },
        { "sys_exit_creat", false },        { "sys_exit_open_by_handle_at", false }, { "sys_enter_umount", true },
        { "sys_enter_mount", true },        { "sys_enter_move_mount", false },    { "sys_enter_mount_setattr", false },
        { "sys_enter_open_tree", false },   { "sys_enter_ioctl", true },          { "sys_enter_ptrace", true },
        { "sys_enter_process_vm_readv", true }, { "sys_enter_process_vm_writev", true },
        { "sys_enter_pidfd_getfd", false }, { "sys_enter_bpf", true },
};

struct bpf_program *syscall_prog(struct hpcnode *skel, size_t i) {
        struct bpf_program *progs[HN_SYSCALL_HOOKS] = {
                skel->progs.hn_sys_exit_openat,       skel->progs.hn_sys_exit_openat2,
                skel->progs.hn_sys_exit_open,         skel->progs.hn_sys_exit_creat,
                skel->progs.hn_sys_exit_open_by_handle_at, skel->progs.hn_sys_enter_umount,
                skel->progs.hn_sys_enter_mount,       skel->progs.hn_sys_enter_move_mount,
                skel->progs.hn_sys_enter_mount_setattr, skel->progs.hn_sys_enter_open_tree,
                skel->progs.hn_sys_enter_ioctl,       skel->progs.hn_sys_enter_ptrace,
                skel->progs.hn_sys_enter_process_vm_readv, skel->progs.hn_sys_enter_process_vm_writev,
                skel->progs.hn_sys_enter_pidfd_getfd, skel->progs.hn_sys_enter_bpf,
        };
        return progs[i];
}

enum hn_attribution hn_monitor_attribution(const struct hn_monitor *m) {
        return m->attribution;
}

enum hn_bpf_object hn_monitor_bpf_object(const struct hn_monitor *m) {
        return m->object;
}

/* Is the attachment a BPF link (an id, a pin)? */
static bool is_bpf_link(const struct bpf_link *link) {
        struct bpf_link_info info = { 0 };
        __u32 len = sizeof(info);
        return bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) == 0;
}

/* hpcnode's skeleton over the chosen object's bytes: the compat object's
 * skeleton is hpcnode's but for its name (the build checks it), so one
 * skeleton type serves both. */
static struct hpcnode *skeleton_open(enum hn_bpf_object object) {
        if (object != HN_BPF_OBJECT_COMPAT)
                return hpcnode__open();
        struct hpcnode *obj = calloc(1, sizeof(*obj));
        if (!obj) {
                errno = ENOMEM;
                return NULL;
        }
        int r = hpcnode__create_skeleton(obj);
        if (r == 0) {
                obj->skeleton->data = (void *) hpcnode_compat__elf_bytes(&obj->skeleton->data_sz);
                r = bpf_object__open_skeleton(obj->skeleton, NULL);
        }
        if (r < 0) {
                hpcnode__destroy(obj);
                errno = -r;
                return NULL;
        }
        return obj;
}

/* The object to load: the one asked for, if the kernel runs it. */
static int object_choose(enum hn_bpf_object asked, const struct hn_kernel_features *f, enum hn_bpf_object *ret,
                         struct hn_error *err) {
        enum hn_bpf_object runs = hn_kernel_bpf_object(f);
        if (!hn_bpf_object_name(asked))
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL, "invalid BPF object %d", (int) asked);
        if (asked == HN_BPF_OBJECT_FULL && runs != HN_BPF_OBJECT_FULL) {
                char missing[HN_ERROR_MESSAGE_MAX / 2];
                probe_full_object_missing(f, missing, sizeof(missing));
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EOPNOTSUPP,
                                    "the full BPF object needs what this kernel lacks: %s", missing);
        }
        *ret = asked == HN_BPF_OBJECT_AUTO ? runs : asked;
        return 0;
}

/* The programs that need BPF LSM: switched off (not loaded) without it. */
static void lsm_programs_off(struct hpcnode *skel) {
        struct bpf_program *progs[] = {
                skel->progs.hn_lsm_mkdir,          skel->progs.hn_lsm_rmdir,       skel->progs.hn_lsm_file_open,
                skel->progs.hn_lsm_file_permission, skel->progs.hn_lsm_setxattr,   skel->progs.hn_lsm_removexattr,
                skel->progs.hn_lsm_inode_permission, skel->progs.hn_lsm_sb_umount, skel->progs.hn_lsm_move_mount,
                skel->progs.hn_lsm_sb_mount,       skel->progs.hn_lsm_bpf_map,    skel->progs.hn_lsm_file_ioctl,
                skel->progs.hn_lsm_path_truncate,  skel->progs.hn_lsm_mmap_file,   skel->progs.hn_lsm_sb_pivotroot,
                skel->progs.hn_lsm_path_rename,    skel->progs.hn_lsm_self_file_open, skel->progs.hn_lsm_self_unlink,
                skel->progs.hn_lsm_self_rmdir,     skel->progs.hn_lsm_self_rename, skel->progs.hn_lsm_self_kill,
                skel->progs.hn_lsm_self_ptrace,    skel->progs.hn_lsm_bpf,
        };
        for (size_t i = 0; i < ELEMENTSOF(progs); i++)
                bpf_program__set_autoload(progs[i], false);
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
        char mount[PATH_MAX];
        if ((r = cgroup2_find_mount(mount, sizeof(mount))) < 0)
                return hn_error_set(err, HN_ERR_NOT_FOUND, -r, "cgroup path not found: no cgroup2 mount");
        const char *root = opts->cgroup_root;
        if (!root) {
                snprintf(found, sizeof(found), "%s", mount);
                root = found;
        }
        struct hn_monitor *m = calloc(1, sizeof(*m));
        if (!m)
                return hn_error_set(err, HN_ERR_IO, ENOMEM, "out of memory");
        m->epoll_fd = -1;
        snprintf(m->mount, sizeof(m->mount), "%s", mount);
        if (!realpath(root, m->root)) {
                r = -errno;
                free(m);
                return hn_error_set(err, HN_ERR_NOT_FOUND, r, "cgroup path not found: %s: %s", root, strerror(-r));
        }
        m->mount_fd = open(m->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m->mount_fd < 0) {
                r = -errno;
                free(m);
                return hn_error_set(err, HN_ERR_IO, -r, "cgroup2 mount %s: %s", mount, strerror(-r));
        }
        /* What this kernel lacks is named here, before load, never left to
         * surface as a verifier error or a half-loaded object. */
        struct hn_kernel_features features;
        hn_probe_kernel_features(&features);
        if ((r = hn_kernel_features_check(&features, err)) < 0 ||
            (r = object_choose(opts->bpf_object, &features, &m->object, err)) < 0) {
                close(m->mount_fd);
                free(m);
                return r;
        }
        m->skel = skeleton_open(m->object);
        if (!m->skel) {
                r = -errno;
                close(m->mount_fd);
                free(m);
                return hn_error_set(err, HN_ERR_IO, r, "BPF: opening hpcnode: %s", strerror(-r));
        }
        m->attribution = level;
        m->lsm = opts->lsm;
        m->skel->rodata->enforce = opts->lsm && opts->enforce;
        m->skel->rodata->lsm_records_writes = level == HN_ATTRIBUTION_LSM;
        m->skel->rodata->self_guard_lsm = opts->lsm;
        m->skel->rodata->xattr_hooks_idmap = probe_xattr_hooks_idmap();
        /* What this kernel cannot run, or the level does not use, is
         * switched off before load. */
        if (!opts->lsm)
                lsm_programs_off(m->skel);
        bpf_program__set_autoattach(m->skel->progs.hn_seed_placement, false); /* run once, by start */
        /* empties the compat object's per-task maps; task storage needs it not */
        bpf_program__set_autoload(m->skel->progs.hn_task_free, m->object == HN_BPF_OBJECT_COMPAT);
        /* the fanotify witness's correlation with the open records */
        bpf_program__set_autoload(m->skel->progs.hn_sched_process_exec, level == HN_ATTRIBUTION_TRACEPOINT);
        for (size_t i = 0; i < HN_SYSCALL_HOOKS; i++) {
                struct bpf_program *p = syscall_prog(m->skel, i);
                bpf_program__set_autoattach(p, false); /* attached by hn_tracepoint_attach */
                bpf_program__set_autoload(p, level == HN_ATTRIBUTION_TRACEPOINT);
        }
        if ((r = bpf_map__set_max_entries(m->skel->maps.events, bytes)) < 0) {
                hn_monitor_free(m);
                return hn_error_set(err, HN_ERR_IO, r, "BPF: loading hpcnode: %s", strerror(-r));
        }
        /* a set pinned by an earlier run, loaded the same way: adopted */
        if (opts->pin_dir && (r = monitor_pin_prepare(m, opts->pin_dir, bytes, err)) < 0) {
                hn_monitor_free(m);
                return r;
        }
        if ((r = hpcnode__load(m->skel)) < 0) {
                hn_monitor_free(m);
                return hn_error_set(err, HN_ERR_IO, r, "BPF: loading hpcnode: %s", strerror(-r));
        }
        monitor_manager_set(m);
        /* before anything is attached: from then on, only this process may
         * open them for writing */
        if ((r = monitor_own_maps_record(m)) < 0) {
                hn_monitor_free(m);
                return hn_error_set(err, HN_ERR_IO, -r, "BPF: the maps' ids: %s", strerror(-r));
        }
        *ret = m;
        return 0;
}

void hn_monitor_free(struct hn_monitor *m) {
        if (!m)
                return;
        hn_fsnotify_free(m->fsn);
        if (m->epoll_fd >= 0)
                close(m->epoll_fd);
        close(m->mount_fd);
        ring_buffer__free(m->rb);
        if (m->skel && m->skel->bss && (m->pinned || m->adopted))
                monitor_manager_clear(m); /* the programs stay; their manager goes */
        for (size_t i = 0; i < ELEMENTSOF(m->syscall_links); i++)
                bpf_link__destroy(m->syscall_links[i]);
        hpcnode__destroy(m->skel);
        monitor_held_links_close(m);
        monitor_identities_free(m);
        monitor_guard_free(m);
        free(m);
}

int hn_monitor_start(struct hn_monitor *m, struct hn_error *err) {
        /* The slice roots are kernel objects: known before anything is
         * attached, and kept by the programs from then on. */
        int r = monitor_slice_roots_update(m);
        if (r < 0)
                return hn_error_set(err, HN_ERR_NOT_FOUND, -r, "cgroup root %s: %s", m->root, strerror(-r));
        if ((r = monitor_stream_open(m, err)) < 0)
                return r;
        /* adopted: attached since the run that pinned them */
        if (!m->adopted && (r = hpcnode__attach(m->skel)) < 0)
                return hn_error_set(err, HN_ERR_IO, r, "BPF: attaching hpcnode: %s", strerror(-r));
        /* adopted: those pinned with the set are attached already */
        for (size_t i = 0; m->attribution == HN_ATTRIBUTION_TRACEPOINT && i < HN_SYSCALL_HOOKS; i++) {
                if (!monitor_syscall_hook_unpinned(m, i))
                        continue;
                r = hn_tracepoint_attach(syscall_prog(m->skel, i), "syscalls", syscall_hooks[i].name,
                                         &m->syscall_links[i]);
                if (r == -ENOENT && !syscall_hooks[i].required)
                        continue;
                if (r < 0)
                        return hn_error_set(err, HN_ERR_IO, r, "BPF: attaching to syscalls:%s: %s",
                                            syscall_hooks[i].name, strerror(-r));
                m->syscall_perf_event[i] = !is_bpf_link(m->syscall_links[i]);
        }
        /* before they are pinned: from then on, only this process may pin,
         * attach or run them */
        if ((r = monitor_own_progs_record(m)) < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "BPF: the programs' ids: %s", strerror(-r));
        if ((r = monitor_pin_commit(m, err)) < 0)
                return r;
        if ((r = monitor_witness_start(m, err)) < 0)
                return r;
        /* Now that every act is seen: what was there before. */
        if ((r = monitor_slice_roots_update(m)) < 0)
                return hn_error_set(err, HN_ERR_NOT_FOUND, -r, "cgroup root %s: %s", m->root, strerror(-r));
        if ((r = monitor_seed_placement(m)) < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "BPF: marking the tasks in the slices: %s", strerror(-r));
        return 0;
}

int hn_monitor_resync(struct hn_monitor *m, struct hn_error *err) {
        int r = monitor_slice_roots_update(m);
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "slice roots under %s: %s", m->root, strerror(-r));
        if ((r = monitor_seed_placement(m)) < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "BPF: marking the tasks in the slices: %s", strerror(-r));
        return 0;
}
