/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel features hpcnode needs, probed one by one before anything is
 * loaded. Helpers and map types by libbpf's probes (a tiny program or map
 * the kernel accepts or refuses), kernel functions by the kernel's BTF,
 * fdinfo by reading one. The helpers are probed for tracepoint programs:
 * each of them is offered to those and to tp_btf/lsm alike, and tracing
 * and LSM programs cannot be probed without an attach target. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <hpcnode/probe.h>

#include "error_set.h"
#include "kernel_key.h"
#include "mount_internal.h"
#include "probe_internal.h"

static const struct {
        const char *name;
        const char *since;
        const char *fallback; /* NULL: required */
} features[HN_FEATURE_MAX] = {
        [HN_FEATURE_BTF] = { "kernel BTF (/sys/kernel/btf/vmlinux)", "5.4, CONFIG_DEBUG_INFO_BTF=y", NULL },
        [HN_FEATURE_RINGBUF] = { "BPF ring buffer maps", "5.8", NULL },
        [HN_FEATURE_TASK_STORAGE] = { "BPF task storage maps", "5.11",
                                       "the compat BPF object: per-task marks in hash maps keyed by the task, "
                                       "emptied as tasks are freed (a full map counts a drop)" },
        [HN_FEATURE_CURRENT_TASK_BTF] = { "bpf_get_current_task_btf helper", "5.11",
                                          "the compat BPF object: the current task read through helpers" },
        [HN_FEATURE_TASK_PT_REGS] = { "bpf_task_pt_regs helper", "5.15",
                                      "the compat BPF object: the syscall's registers found at the top of the "
                                      "task's kernel stack, taken only if saved from user mode" },
        [HN_FEATURE_LOOP] = { "bpf_loop helper", "5.17",
                              "the compat BPF object: bounded loops (the verifier checks each step)" },
        [HN_FEATURE_CGROUP_KILL] = { "cgroup.kill", "5.14",
                                     "destroy freezes the cgroup, SIGKILLs each process, then thaws it" },
        [HN_FEATURE_FDINFO_INO] = { "inode numbers in /proc/PID/fdinfo", "5.14",
                                    "files are keyed by stat(2), which names the lower inode on overlayfs" },
        [HN_FEATURE_MOUNT_SETATTR] = { "mount_setattr(2)", "5.12",
                                       "mounts are made read-only, nosuid, nodev and private by mount(2), once attached" },
};

const char *hn_kernel_feature_name(enum hn_kernel_feature f) {
        return (unsigned) f < HN_FEATURE_MAX ? features[f].name : NULL;
}

const char *hn_kernel_feature_since(enum hn_kernel_feature f) {
        return (unsigned) f < HN_FEATURE_MAX ? features[f].since : NULL;
}

const char *hn_kernel_feature_fallback(enum hn_kernel_feature f) {
        return (unsigned) f < HN_FEATURE_MAX ? features[f].fallback : NULL;
}

/* What the full object uses (bpf/compat.bpf.h). */
static const enum hn_kernel_feature full_object_needs[] = {
        HN_FEATURE_TASK_STORAGE,
        HN_FEATURE_CURRENT_TASK_BTF,
        HN_FEATURE_TASK_PT_REGS,
        HN_FEATURE_LOOP,
};

static bool full_object_uses(unsigned f) {
        for (size_t i = 0; i < sizeof(full_object_needs) / sizeof(full_object_needs[0]); i++)
                if (full_object_needs[i] == f)
                        return true;
        return false;
}

enum hn_bpf_object hn_kernel_bpf_object(const struct hn_kernel_features *f) {
        for (size_t i = 0; i < sizeof(full_object_needs) / sizeof(full_object_needs[0]); i++)
                if (!f->present[full_object_needs[i]])
                        return HN_BPF_OBJECT_COMPAT;
        return HN_BPF_OBJECT_FULL;
}

/* "name (Linux since), ..." of each feature f lacks that wanted picks;
 * the number of bytes written (as many as fit). */
static size_t missing_list(const struct hn_kernel_features *f, bool (*wanted)(unsigned), char *buf, size_t size) {
        size_t used = 0;
        buf[0] = '\0';
        for (unsigned i = 0; i < HN_FEATURE_MAX; i++) {
                if (f->present[i] || !wanted(i))
                        continue;
                int n = snprintf(buf + used, size - used, "%s%s (Linux %s)", used ? ", " : "", features[i].name,
                                 features[i].since);
                if (n < 0 || (size_t) n >= size - used)
                        break; /* the message says as much as fits; the list is in --probe */
                used += n;
        }
        return used;
}

size_t probe_full_object_missing(const struct hn_kernel_features *f, char *buf, size_t size) {
        return missing_list(f, full_object_uses, buf, size);
}

const char *hn_bpf_object_name(enum hn_bpf_object o) {
        static const char *const names[HN_BPF_OBJECT_MAX] = { "auto", "full", "compat" };
        return (unsigned) o < HN_BPF_OBJECT_MAX ? names[o] : NULL;
}

static bool helper_present(enum bpf_func_id id) {
        return libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, id, NULL) == 1;
}

static bool map_type_present(enum bpf_map_type type) {
        return libbpf_probe_bpf_map_type(type, NULL) == 1;
}

static bool fdinfo_has_ino(void) {
        int fd = open("/", O_PATH | O_CLOEXEC);
        if (fd < 0)
                return false;
        uint64_t ino;
        bool r = hn_fdinfo_field(fd, "ino", &ino) == 0;
        close(fd);
        return r;
}

/* How many arguments the kernel's LSM hook takes (its bpf_lsm_ stub's
 * prototype); -1 when not found. */
static int lsm_hook_args(const struct btf *vmlinux, const char *hook) {
        char name[128];
        snprintf(name, sizeof(name), "bpf_lsm_%s", hook);
        int id = vmlinux ? btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) : -1;
        const struct btf_type *func = id > 0 ? btf__type_by_id(vmlinux, id) : NULL;
        const struct btf_type *proto = func ? btf__type_by_id(vmlinux, func->type) : NULL;
        return proto && btf_is_func_proto(proto) ? btf_vlen(proto) : -1;
}

/* Probed once per process: the kernel does not change under a running
 * one, and each probe loads programs (a second or so under TCG). */
static struct hn_kernel_features probed;
static bool xattr_hooks_idmap = true;
static pthread_once_t probed_once = PTHREAD_ONCE_INIT;

static void probe_once(void) {
        struct hn_kernel_features f = { 0 };
        struct btf *vmlinux = btf__load_vmlinux_btf();
        f.present[HN_FEATURE_BTF] = vmlinux != NULL;
        f.present[HN_FEATURE_RINGBUF] = map_type_present(BPF_MAP_TYPE_RINGBUF);
        f.present[HN_FEATURE_TASK_STORAGE] = map_type_present(BPF_MAP_TYPE_TASK_STORAGE);
        f.present[HN_FEATURE_CURRENT_TASK_BTF] = helper_present(BPF_FUNC_get_current_task_btf);
        f.present[HN_FEATURE_TASK_PT_REGS] = helper_present(BPF_FUNC_task_pt_regs);
        f.present[HN_FEATURE_LOOP] = helper_present(BPF_FUNC_loop);
        /* cgroupfs's own handler of the file, kept out of line (a cftype
         * points at it): in the BTF exactly where the file exists */
        f.present[HN_FEATURE_CGROUP_KILL] = vmlinux && btf__find_by_name_kind(vmlinux, "cgroup_kill_write",
                                                                              BTF_KIND_FUNC) > 0;
        f.present[HN_FEATURE_FDINFO_INO] = fdinfo_has_ino();
        f.present[HN_FEATURE_MOUNT_SETATTR] = mount_setattr_present();
        /* (idmap or user namespace, dentry, name, value, size, flags) since
         * 5.12; (dentry, name, ...) before */
        xattr_hooks_idmap = lsm_hook_args(vmlinux, "inode_setxattr") != 5;
        btf__free(vmlinux);
        probed = f;
}

void hn_probe_kernel_features(struct hn_kernel_features *ret) {
        (void) pthread_once(&probed_once, probe_once);
        *ret = probed;
}

bool probe_xattr_hooks_idmap(void) {
        (void) pthread_once(&probed_once, probe_once);
        return xattr_hooks_idmap;
}

static bool required(unsigned f) {
        return !features[f].fallback;
}

int hn_kernel_features_check(const struct hn_kernel_features *f, struct hn_error *err) {
        char missing[HN_ERROR_MESSAGE_MAX];
        if (!missing_list(f, required, missing, sizeof(missing)))
                return 0;
        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EOPNOTSUPP,
                            "this kernel lacks what hpcnode's BPF side needs: %s", missing);
}
