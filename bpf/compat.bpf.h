/* SPDX-License-Identifier: GPL-2.0-only */
/* The two objects, and everything they do differently. hpcnode.bpf.o uses
 * what Linux 5.11 to 5.17 added: task storage and bpf_get_current_task_btf
 * (5.11), global functions taking pointers (5.12), bpf_task_pt_regs (5.15)
 * and bpf_loop (5.17), and bpf_get_current_ancestor_cgroup_id in tracing
 * programs (5.14). hpcnode_compat.bpf.o is the same sources built with
 * HN_BPF_COMPAT, doing the same without them, for 5.10 to 5.16; the loader
 * picks one by probing the kernel (user/lib/probe_features.c). A bpf_loop
 * call cannot stay in an object for 5.10 even as dead code (its callback's
 * instruction is one that kernel does not know), hence two objects rather
 * than one with switches. Each difference is here, or behind HN_BPF_COMPAT
 * where it must be: the per-task maps' declarations (hpcnode.bpf.h), the
 * shared functions' definitions (emit.bpf.h), the body of the program that
 * empties the per-task maps (placement_guard.bpf.c). */
#ifndef HN_COMPAT_BPF_H
#define HN_COMPAT_BPF_H

#include "hpcnode.bpf.h"
#include "ownership.bpf.h"

/* ---- The current task. The compat object gets it as a number, so every
 * field of it is read through a helper; the other dereferences the
 * kernel's typed pointer directly (hot paths: every open at level
 * tracepoint). */
#ifdef HN_BPF_COMPAT
static __always_inline struct task_struct *current_task(void)
{
        return (struct task_struct *)bpf_get_current_task();
}

static __always_inline struct task_struct *current_leader(void)
{
        return BPF_CORE_READ(current_task(), group_leader);
}

static __always_inline unsigned int current_flags(void)
{
        return BPF_CORE_READ(current_task(), flags);
}

/* The current task's open file fd, or NULL. */
static __always_inline struct file *current_file(long fd)
{
        struct fdtable *fdt = BPF_CORE_READ(current_task(), files, fdt);
        if (fd < 0 || (unsigned long)fd >= BPF_CORE_READ(fdt, max_fds))
                return NULL;
        struct file **fds = BPF_CORE_READ(fdt, fd);
        struct file *file = NULL;
        bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
        return file;
}
#else
static __always_inline struct task_struct *current_task(void)
{
        return bpf_get_current_task_btf();
}

static __always_inline struct task_struct *current_leader(void)
{
        return bpf_get_current_task_btf()->group_leader;
}

static __always_inline unsigned int current_flags(void)
{
        return bpf_get_current_task_btf()->flags;
}

/* The current task's open file fd, or NULL: direct loads through the BTF
 * task pointer, one helper call for the slot. */
static __always_inline struct file *current_file(long fd)
{
        struct fdtable *fdt = bpf_get_current_task_btf()->files->fdt;
        if (fd < 0 || (unsigned long)fd >= fdt->max_fds)
                return NULL;
        struct file *file = NULL;
        bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]);
        return file;
}
#endif

/* The id of the current task's cgroup's ancestor at level, in the
 * default hierarchy; 0 if none. */
#ifdef HN_BPF_COMPAT
static __always_inline __u64 current_ancestor_cgroup_id(int level)
{
        return ancestor_id(task_cgroup(current_task()), level);
}
#else
static __always_inline __u64 current_ancestor_cgroup_id(int level)
{
        return bpf_get_current_ancestor_cgroup_id(level);
}
#endif

/* ---- The registers the current syscall entered with. */
#ifdef HN_BPF_COMPAT
/* task_pt_regs(): the entry saved them at the top of the task's kernel
 * stack, THREAD_SIZE above its base (16 KiB on x86-64 and arm64 without
 * KASAN, as Debian builds them); x86-64 with FRED keeps 16 bytes above
 * them. A guess is taken only if the registers it finds were saved from
 * user mode with a syscall number in range: a wrong one is NULL, never
 * another syscall's arguments. */
#define HN_THREAD_SIZE (16 * 1024)

static __always_inline bool regs_from_syscall(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
        long nr = BPF_CORE_READ(regs, orig_ax);
        return (BPF_CORE_READ(regs, cs) & 3) == 3 && nr >= 0 && nr < 1024;
#elif defined(__TARGET_ARCH_arm64)
        long nr = BPF_CORE_READ(regs, syscallno);
        return (BPF_CORE_READ(regs, pstate) & 0xf) == 0 && nr >= 0 && nr < 1024; /* PSR_MODE_EL0t */
#else
#error "where pt_regs keeps the mode is known for x86 and arm64 only: add this architecture's here"
#endif
}

static __always_inline struct pt_regs *current_regs(void)
{
        __u64 top = (__u64)BPF_CORE_READ(current_task(), stack) + HN_THREAD_SIZE;
        __u64 size = bpf_core_type_size(struct pt_regs);
        struct pt_regs *regs = (struct pt_regs *)(top - size);
        if (regs_from_syscall(regs))
                return regs;
        regs = (struct pt_regs *)(top - 16 - size);
        return regs_from_syscall(regs) ? regs : NULL;
}
#else
static __always_inline struct pt_regs *current_regs(void)
{
        return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}
#endif

/* ---- Per-task state: in the task itself (task storage), or in the
 * compat object a hash keyed by the task and its start time, emptied when
 * the task is freed (placement_guard.bpf.c's hn_task_free); a task that
 * reuses a freed one's memory has another start time. Full, it counts a
 * drop (HN_DROP_TASK_STORAGE) as a failed allocation does. */
#ifdef HN_BPF_COMPAT
static __always_inline struct task_key task_key_of(struct task_struct *task)
{
        struct task_key key = { .task = (__u64)task, .start = BPF_CORE_READ(task, start_time) };
        return key;
}

static __always_inline struct placement_mark *placement_get(struct task_struct *task)
{
        struct task_key key = task_key_of(task);
        return bpf_map_lookup_elem(&placement, &key);
}

static __always_inline struct placement_mark *placement_get_or_create(struct task_struct *task)
{
        struct task_key key = task_key_of(task);
        struct placement_mark *m = bpf_map_lookup_elem(&placement, &key);
        if (m)
                return m;
        struct placement_mark none = {};
        bpf_map_update_elem(&placement, &key, &none, BPF_NOEXIST);
        return bpf_map_lookup_elem(&placement, &key);
}

static __always_inline void placement_delete(struct task_struct *task)
{
        struct task_key key = task_key_of(task);
        bpf_map_delete_elem(&placement, &key);
}

static __always_inline bool opener_set(struct task_struct *task)
{
        struct task_key key = task_key_of(task);
        __u8 one = 1;
        return bpf_map_update_elem(&control_openers, &key, &one, BPF_ANY) == 0;
}

/* Was it set? Cleared either way. */
static __always_inline bool opener_take(struct task_struct *task)
{
        struct task_key key = task_key_of(task);
        return bpf_map_delete_elem(&control_openers, &key) == 0;
}
#else
static __always_inline struct placement_mark *placement_get(struct task_struct *task)
{
        return bpf_task_storage_get(&placement, task, 0, 0);
}

static __always_inline struct placement_mark *placement_get_or_create(struct task_struct *task)
{
        return bpf_task_storage_get(&placement, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
}

static __always_inline void placement_delete(struct task_struct *task)
{
        bpf_task_storage_delete(&placement, task);
}

static __always_inline bool opener_set(struct task_struct *task)
{
        return bpf_task_storage_get(&control_openers, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE) != NULL;
}

static __always_inline bool opener_take(struct task_struct *task)
{
        if (!bpf_task_storage_get(&control_openers, task, 0, 0))
                return false;
        bpf_task_storage_delete(&control_openers, task);
        return true;
}
#endif

/* ---- Who acts and the record of the act (emit.bpf.h): global functions,
 * which the verifier checks once each per program. 5.10 and 5.11 take a
 * global function's pointer argument for the program's context only, so
 * in the compat object they are static functions of each object, checked
 * at each call. */
#ifdef HN_BPF_COMPAT
#define HN_SHARED_FN static __noinline __attribute__((unused))
#else
#define HN_SHARED_FN __noinline
#endif

/* ---- A loop of n steps, each step(index, NULL) returning 1 to stop: by
 * bpf_loop (the verifier checks the step once), or in the compat object a
 * bounded loop (checked once per step). */
#ifdef HN_BPF_COMPAT
#define hn_loop(n, step)                                 \
        do {                                             \
                for (__u32 __i = 0; __i < (n); __i++)    \
                        if (step(__i, NULL))             \
                                break;                   \
        } while (0)
#else
#define hn_loop(n, step) bpf_loop(n, step, NULL, 0)
#endif

#endif
