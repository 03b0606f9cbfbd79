/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HPCNODE_PROBE_H
#define HPCNODE_PROBE_H

#include <stdbool.h>

#include <hpcnode/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Can this kernel enforce through BPF LSM? Each step, and the first reason
 * it cannot. The daemon chooses enforce or audit mode from this. */
struct hn_bpf_lsm_probe {
        bool listed;    /* "bpf" is in /sys/kernel/security/lsm */
        bool loaded;    /* the probe's lsm/ program passed the verifier */
        bool attached;  /* and attached */
        bool denies;    /* and a mkdir it targets failed with EPERM while attached */
        bool available; /* all of the above */
        char reason[256]; /* why not, when !available; "" otherwise */
};

/* Runs the probe: loads bpf/lsm_probe, attaches it, makes one refused
 * mkdir in a fresh directory under tmpdir (NULL: /tmp), detaches, removes
 * the directory. Never fails: the outcome is in *ret. */
HN_PUBLIC void hn_probe_bpf_lsm(const char *tmpdir, struct hn_bpf_lsm_probe *ret);

/* Do BPF trampolines (fentry/fexit) load and attach here? hpcnode does not
 * depend on them (tp_btf and lsm/ cover its hooks); reported by --probe.
 * Never fails: reason says why not. */
struct hn_trampoline_probe {
        bool available;
        char reason[256];
};
HN_PUBLIC void hn_probe_trampolines(struct hn_trampoline_probe *ret);

/* What hpcnode's BPF side and its managers need of the kernel, each one
 * probed before anything is loaded (a missing one must never show up as
 * a half-loaded object or a verifier error). A feature is required, or it
 * has a named fallback that runs where it is missing. */
enum hn_kernel_feature {
        HN_FEATURE_BTF,              /* /sys/kernel/btf/vmlinux: CO-RE, tp_btf, lsm/ */
        HN_FEATURE_RINGBUF,          /* BPF_MAP_TYPE_RINGBUF (5.8) */
        HN_FEATURE_TASK_STORAGE,     /* BPF_MAP_TYPE_TASK_STORAGE (5.11) */
        HN_FEATURE_CURRENT_TASK_BTF, /* bpf_get_current_task_btf (5.11) */
        HN_FEATURE_TASK_PT_REGS,     /* bpf_task_pt_regs (5.15) */
        HN_FEATURE_LOOP,             /* bpf_loop (5.17) */
        HN_FEATURE_CGROUP_KILL,      /* cgroup.kill (5.14) */
        HN_FEATURE_FDINFO_INO,       /* "ino:" in /proc/PID/fdinfo (5.14) */
        HN_FEATURE_MOUNT_SETATTR,    /* mount_setattr(2) (5.12) */
        HN_FEATURE_MAX,
};

struct hn_kernel_features {
        bool present[HN_FEATURE_MAX];
};

/* Probes each feature (tiny programs and maps loaded and freed, the
 * kernel's BTF read), once per process: later calls return the same.
 * Never fails: a probe that cannot run says absent. */
HN_PUBLIC void hn_probe_kernel_features(struct hn_kernel_features *ret);
/* "bpf_loop helper", …; NULL for a value out of range. */
HN_PUBLIC const char *hn_kernel_feature_name(enum hn_kernel_feature f);
/* The first Linux version with it ("5.17"); NULL out of range. */
HN_PUBLIC const char *hn_kernel_feature_since(enum hn_kernel_feature f);
/* What runs instead where it is missing ("destroy freezes ..."); NULL
 * when hpcnode cannot run without it. */
HN_PUBLIC const char *hn_kernel_feature_fallback(enum hn_kernel_feature f);
/* hpcnode's BPF side is built twice from the same sources: the full
 * object uses task storage, bpf_get_current_task_btf, bpf_task_pt_regs
 * and bpf_loop (Linux 5.17+); the compat object does the same without
 * them (hash maps keyed by the task, the current task read through
 * helpers, the syscall's registers found on the task's kernel stack,
 * bounded loops) for 5.10 to 5.16. */
enum hn_bpf_object {
        HN_BPF_OBJECT_AUTO,   /* the one this kernel loads (hn_kernel_bpf_object) */
        HN_BPF_OBJECT_FULL,
        HN_BPF_OBJECT_COMPAT,
        HN_BPF_OBJECT_MAX,
};
/* HN_BPF_OBJECT_FULL when the kernel has each feature the full object
 * uses, else HN_BPF_OBJECT_COMPAT. */
HN_PUBLIC enum hn_bpf_object hn_kernel_bpf_object(const struct hn_kernel_features *f);
/* "auto", "full", "compat"; NULL out of range. */
HN_PUBLIC const char *hn_bpf_object_name(enum hn_bpf_object o);
/* 0 when every required feature is present; else -EOPNOTSUPP with err
 * naming each one missing and its version ("this kernel lacks what
 * hpcnode's BPF side needs: bpf_loop helper (Linux 5.17), ..."). */
HN_PUBLIC int hn_kernel_features_check(const struct hn_kernel_features *f, struct hn_error *err);

#ifdef __cplusplus
}
#endif
#endif
