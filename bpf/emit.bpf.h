/* SPDX-License-Identifier: GPL-2.0-only */
/* One record per act, and the verdict on it: every program that judges
 * or reports an act goes through here. */
#ifndef HN_EMIT_BPF_H
#define HN_EMIT_BPF_H

#include "hpcnode.bpf.h"
#include "exe_path.bpf.h"
#include "identity.bpf.h"
#include "ownership.bpf.h"

/* An act as its record will tell it. */
struct act {
        __u32 type;        /* enum hn_event_type */
        __u32 flags;       /* enum hn_event_flag; emergency and manager are added here */
        __u64 cgroup_id;
        const char *path;  /* a kernel string */
        __u64 other_cgroup_id;
        __u32 value;
        __u8 target_owner, other_owner, source;
};

static __always_inline void count_loss(__u32 type)
{
        __u64 *n = bpf_map_lookup_elem(&lost, &type);
        if (n)
                __sync_fetch_and_add(n, 1);
}

/* The body of hn_emit. */
static __always_inline void emit_body(const struct hn_writer *w, const struct act *a)
{
        struct hn_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
        if (!e) {
                count_loss(a->type);
                return;
        }
        e->version = HN_EVENT_VERSION;
        e->type = a->type;
        e->flags = a->flags;
        if (emergency_on())
                e->flags |= HN_EVF_EMERGENCY;
        if (w->owner == HN_EVO_MANAGER)
                e->flags |= HN_EVF_MANAGER;
        e->ts_boot_ns = bpf_ktime_get_boot_ns();
        e->cgroup_id = a->cgroup_id;
        e->writer_cgroup_id = w->cgroup_id;
        e->exe_ino = w->exe.ino;
        e->exe_dev = w->exe.dev;
        e->pid = w->pid;
        e->tgid = w->tgid;
        e->uid = w->uid;
        e->value = a->value;
        e->target_owner = a->target_owner;
        e->writer_owner = w->owner;
        e->source = a->source;
        e->other_owner = a->other_owner;
        e->other_cgroup_id = a->other_cgroup_id;
        bpf_get_current_comm(e->comm, sizeof(e->comm));
        if (!a->path || bpf_probe_read_kernel_str(e->path, sizeof(e->path), a->path) < 0)
                e->path[0] = '\0';
        exe_path_fill(e->exe, &w->exe);
        struct task_struct *task = (struct task_struct *)bpf_get_current_task();
        e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
        bpf_ringbuf_submit(e, 0);
}

/* The record, written by a global function (below), verified once per
 * program instead of at every place a program records. */
HN_SHARED_FN int hn_emit(const struct hn_writer *w, const struct act *a);

static __always_inline void emit(const struct hn_writer *w, const struct act *a)
{
        hn_emit(w, a);
}

/* May the writer act where owner rules (a slice, or an identity subtree)?
 * Nobody rules: anyone may. The manager may everywhere. */
static __always_inline bool owns(const struct hn_writer *w, __u8 owner)
{
        return owner == HN_EVO_NONE || w->owner == owner || w->owner == HN_EVO_MANAGER;
}

static __always_inline bool name_is(const char *name, const char *want, int len)
{
        for (int i = 0; i < len; i++)
                if (name[i] != want[i])
                        return false;
        return true;
}

/* Reports an act the LSM may refuse: 0 or -EPERM. Refused acts are
 * recorded always, allowed ones when record_allowed. The verdict is a real
 * branch (barrier_var): clang's branch-free form is one the verifier
 * cannot bound to [-4095, 0]. */
static __always_inline int verdict(const struct hn_writer *w, struct act *a, bool deny, bool record_allowed)
{
        int refuse = enforce && deny;
        barrier_var(refuse);
        if (refuse) {
                a->flags |= HN_EVF_DENIED;
                emit(w, a);
                return -EPERM;
        }
        if (record_allowed)
                emit(w, a);
        return 0;
}

/* A write into the cgroup cg (mkdir or rmdir in it, a control file of it,
 * an xattr on it): the writer must own cg's slice. exempt: the act is one
 * the emergency opens to pact in workload.slice (kill, freeze; RI3). */
static __always_inline int judge_write(__u32 type, struct cgroup *cg, const unsigned char *name, bool record_allowed,
                                       bool exempt_in_emergency)
{
        __u8 owner = owner_of_cgroup(cg);
        if (owner == HN_EVO_NONE)
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        bool cross = !owns(&w, owner);
        bool deny = cross && !(exempt_in_emergency && w.owner == HN_EVO_PACT && owner == HN_EVO_WORKLOAD &&
                               emergency_on());
        struct act a = { .type = type, .cgroup_id = cgroup_id_of(cg), .path = (const char *)name,
                         .target_owner = owner, .source = HN_EVS_LSM,
                         .flags = HN_EVF_NAME_ONLY | (cross ? HN_EVF_CROSS_SLICE : 0) };
        return verdict(&w, &a, deny, record_allowed);
}

/* The two steps every program that judges or reports an act takes, as
 * global functions, defined in record.bpf.c alone (HN_RECORD_DEFINE); in
 * the compat object static, in every object (compat.bpf.h). Inlined, the
 * verifier walked them again on every path of every program (745,000
 * instructions for a load at level tracepoint). A global function's
 * pointer arguments may be NULL as far as the verifier knows, hence the
 * checks; a static one's are the caller's stack, and a check would send
 * the verifier down a NULL path with the caller's stack unwritten. */
#if defined(HN_RECORD_DEFINE) || defined(HN_BPF_COMPAT)
HN_SHARED_FN int hn_writer_identify(struct hn_writer *w, int by_cgroup)
{
#ifndef HN_BPF_COMPAT
        if (!w)
                return HN_EVO_NONE;
#endif
        writer_identify_body(w, by_cgroup);
        return w->owner | (w->manager_exe ? 1 << 8 : 0);
}

HN_SHARED_FN int hn_emit(const struct hn_writer *w, const struct act *a)
{
#ifndef HN_BPF_COMPAT
        if (!w || !a)
                return 0;
#endif
        emit_body(w, a);
        return 0;
}
#endif

#endif
