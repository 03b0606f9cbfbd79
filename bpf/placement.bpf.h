/* SPDX-License-Identifier: GPL-2.0-only */
/* Placing a task in a cgroup: by a write of its pid to cgroup.procs or
 * cgroup.threads, or by starting it there (clone3 CLONE_INTO_CGROUP). A
 * placement is an act on both ends: the writer must own the slice it goes
 * into, the slice it leaves, and any agent's Cgroup= identity subtree it
 * enters (else anyone borrows that agent's identity by moving into it). */
#ifndef HN_PLACEMENT_BPF_H
#define HN_PLACEMENT_BPF_H

#include "emit.bpf.h"
#include "syscall.bpf.h"

/* The two ends of a placement, each with who rules it. */
struct ends {
        __u64 dst_id, src_id;     /* src_id 0: outside both slices, or unknown */
        __u8 dst_owner, dst_identity, src_owner;
        bool src_unknown;
};

static __always_inline void ends_to(struct ends *e, struct cgroup *dst)
{
        e->dst_id = cgroup_id_of(dst);
        e->dst_owner = owner_of_cgroup(dst);
        e->dst_identity = identity_owner_of_cgroup(dst);
}

static __always_inline void ends_from(struct ends *e, struct cgroup *src)
{
        e->src_owner = owner_of_cgroup(src);
        e->src_id = e->src_owner ? cgroup_id_of(src) : 0;
}

/* Does any end concern us (a slice, or an identity subtree)? */
static __always_inline bool ends_matter(const struct ends *e)
{
        return e->dst_owner != HN_EVO_NONE || e->dst_identity != HN_EVO_NONE || e->src_owner != HN_EVO_NONE;
}

/* Whether the writer may not make this placement: it must own where the
 * task goes, the identity subtree it enters, and the slice it leaves. */
static __always_inline bool ends_cross(const struct hn_writer *w, const struct ends *e)
{
        return !owns(w, e->dst_owner) || !owns(w, e->dst_identity) ||
               (e->src_owner != e->dst_owner && !owns(w, e->src_owner));
}

/* The record of a placement: cgroup_id is where the task went, other_*
 * where it came from; target_owner the slice's (or the identity's) owner. */
static __always_inline void ends_act(struct act *a, const struct ends *e, const struct hn_writer *w, __u32 type,
                                     const char *path, __u32 pid, __u8 source)
{
        a->type = type;
        a->flags = (ends_cross(w, e) ? HN_EVF_CROSS_SLICE : 0) | (e->dst_identity ? HN_EVF_IDENTITY : 0) |
                   (e->src_unknown ? HN_EVF_OTHER_UNKNOWN : 0);
        a->cgroup_id = e->dst_id;
        a->path = path;
        a->value = pid;
        a->target_owner = e->dst_owner ? e->dst_owner : e->dst_identity;
        a->other_owner = e->src_owner;
        a->other_cgroup_id = e->src_id;
        a->source = source;
}

/* ---- The task a cgroup.procs write names. The kernel parses the pid with
 * kstrtoint(strstrip(buf), 0): leading and trailing white space, a sign,
 * 0x for hex and 0 for octal; anything else refuses the write. This reads
 * it the same way from the writer's buffer before the kernel copies it. */

#define PID_BUF 32
#define PID_INVALID (-1) /* the kernel will refuse the write: nothing moves */
#define PID_UNREAD (-2)  /* the data is not where this can read it: refused in enforce mode */

static __always_inline bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static __always_inline int digit_value(char c, int base)
{
        int v = -1;
        if (c >= '0' && c <= '9')
                v = c - '0';
        else if (c >= 'a' && c <= 'f')
                v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
                v = c - 'A' + 10;
        return v < base ? v : -1;
}

/* The scan's state: one character per loop step, so the verifier
 * checks the step once, not once per character and path. It lives in a
 * per-CPU map value, not on the stack: 6.1's verifier checks a callback
 * once against the caller's stack as it is at the call (all zeros) and
 * prunes the branches that state rules out, so a stack-held scan would
 * run with them gone (it read "0x89" as 89 there). */
enum { SCAN_LEAD, SCAN_SIGN, SCAN_PREFIX, SCAN_DIGITS, SCAN_TRAIL };
struct pid_scan {
        char buf[PID_BUF];
        __u32 len;    /* bytes in buf */
        __u32 skip;   /* the index of a prefix's 'x', skipped */
        __u32 phase;
        __u32 base;
        __u64 value;
        __u32 digits;
        bool negative, ended, invalid;
};
struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct pid_scan);
} pid_scan_scratch SEC(".maps") __weak;

static long pid_scan_step(__u64 i, void *ctx)
{
        __u32 zero = 0;
        struct pid_scan *s = bpf_map_lookup_elem(&pid_scan_scratch, &zero);
        if (!s || i >= s->len || i >= PID_BUF)
                return 1;
        char c = s->buf[i & (PID_BUF - 1)];
        if (c == '\0') {
                s->ended = true; /* the kernel's string ends here */
                return 1;
        }
        if (s->skip && i == s->skip)
                return 0;
        if (s->phase == SCAN_LEAD) {
                if (is_space(c))
                        return 0;
                s->phase = SCAN_SIGN;
        }
        if (s->phase == SCAN_SIGN) {
                s->phase = SCAN_PREFIX;
                if (c == '-' || c == '+') {
                        s->negative = c == '-';
                        return 0;
                }
        }
        if (s->phase == SCAN_PREFIX) {
                s->phase = SCAN_DIGITS;
                s->base = 10;
                if (c == '0') {
                        s->base = 8;
                        char x = s->buf[(i + 1) & (PID_BUF - 1)], d = s->buf[(i + 2) & (PID_BUF - 1)];
                        if (i + 2 < s->len && (x | 0x20) == 'x' && digit_value(d, 16) >= 0) {
                                s->base = 16;
                                s->skip = i + 1;
                                return 0;
                        }
                }
        }
        if (s->phase == SCAN_DIGITS) {
                int d = digit_value(c, s->base);
                if (d >= 0) {
                        s->value = s->value * s->base + d;
                        s->digits++;
                        if (s->value > 0x7fffffff) {
                                s->invalid = true; /* -ERANGE */
                                return 1;
                        }
                        return 0;
                }
                s->phase = SCAN_TRAIL;
        }
        if (is_space(c))
                return 0;
        s->invalid = true; /* anything after the number */
        return 1;
}

/* Reads what the current write(2)-family call writes into scan (up to
 * PID_BUF bytes); false if it cannot be read here. *ret_more: bytes follow
 * that are not read (the string may still end before, at a NUL). */
static __always_inline bool written_bytes(struct pid_scan *scan, bool *ret_more)
{
        if (in_io_worker())
                return false;
        struct pt_regs *regs = current_regs();
        if (!regs)
                return false;
        long nr = syscall_nr_of(regs);
        if (!is_write_family(nr))
                return false; /* splice, sendfile, io_uring, aio: the data is not in the caller's memory */
        const char *data = (const char *)PT_REGS_PARM2_CORE_SYSCALL(regs);
        __u64 count = PT_REGS_PARM3_CORE_SYSCALL(regs);
        bool more = false;
        if (is_vector_write(nr)) {
                /* only the first vector is read; the kernel joins them all */
                struct iovec iov = {};
                if (count && bpf_probe_read_user(&iov, sizeof(iov), data) < 0)
                        return false;
                more = count > 1;
                data = iov.iov_base;
                count = count ? iov.iov_len : 0;
        }
        if (count > PID_BUF)
                more = true;
        __u32 n = count < PID_BUF ? (__u32)count : PID_BUF;
        barrier_var(n);
        if (n > PID_BUF)
                return false;
        if (n && bpf_probe_read_user(scan->buf, n, data) < 0)
                return false;
        scan->len = n;
        *ret_more = more;
        return true;
}

#define XA_CHUNK_SHIFT 6
#define XA_CHUNK_MASK ((1ul << XA_CHUNK_SHIFT) - 1)
#define XA_MAX_DEPTH 8

/* find_pid_ns(): a pid namespace keeps its pids in an IDR, an xarray whose
 * internal nodes are pointers tagged 2 (and above 4096; smaller tagged
 * values are retry, sibling and zero entries, never a pid). */
static __always_inline struct pid *pid_in_ns(struct pid_namespace *ns, __u32 nr)
{
        __u32 base = BPF_CORE_READ(ns, idr.idr_base);
        if (nr < base)
                return NULL;
        __u64 index = nr - base;
        __u64 entry = (__u64)BPF_CORE_READ(ns, idr.idr_rt.xa_head);
        for (int depth = 0; depth < XA_MAX_DEPTH; depth++) {
                if ((entry & 3) != 2)
                        return depth || index == 0 ? (struct pid *)entry : NULL; /* a head that is no node is index 0 */
                if (entry <= 4096)
                        return NULL;
                struct xa_node *node = (struct xa_node *)(entry - 2);
                __u8 shift = BPF_CORE_READ(node, shift);
                if (depth == 0 && (index >> shift) > XA_CHUNK_MASK)
                        return NULL; /* beyond what the tree holds */
                __u64 slot = (index >> shift) & XA_CHUNK_MASK;
                void *next = NULL;
                bpf_probe_read_kernel(&next, sizeof(next), &node->slots[slot]);
                entry = (__u64)next;
        }
        return NULL;
}

/* pid_task(find_vpid(nr), PIDTYPE_PID): nr in the writer's pid namespace. */
static __always_inline struct task_struct *task_by_vpid(__u32 nr)
{
        struct task_struct *cur = current_task();
        struct pid *own = BPF_CORE_READ(cur, thread_pid);
        __u32 level = BPF_CORE_READ(own, level);
        struct upid up = {};
        bpf_probe_read_kernel(&up, sizeof(up), &own->numbers[level & 31]);
        if (!up.ns)
                return NULL;
        struct pid *pid = pid_in_ns(up.ns, nr);
        if (!pid)
                return NULL;
        struct hlist_node *first = BPF_CORE_READ(pid, tasks[0].first); /* PIDTYPE_PID */
        if (!first)
                return NULL;
        return (struct task_struct *)((char *)first - bpf_core_field_offset(struct task_struct, pid_links));
}

/* The task a write to cgroup.procs (threadgroup) or cgroup.threads would
 * move; *ret_state is 0, PID_INVALID (nothing will move) or PID_UNREAD. */
static __always_inline struct task_struct *written_task(bool threadgroup, int *ret_state)
{
        __u32 zero = 0;
        struct pid_scan *scan = bpf_map_lookup_elem(&pid_scan_scratch, &zero);
        bool more = false;
        *ret_state = PID_UNREAD;
        if (!scan)
                return NULL;
        __builtin_memset(scan, 0, sizeof(*scan));
        if (!written_bytes(scan, &more))
                return NULL;
        hn_loop(PID_BUF, pid_scan_step);
        if (more && !scan->ended && !scan->invalid)
                return NULL; /* the number may go on past what was read */
        *ret_state = PID_INVALID; /* the kernel refuses it (-EINVAL, -ERANGE, -ESRCH): nothing moves */
        if (scan->invalid || !scan->digits || (scan->negative && scan->value))
                return NULL;
        __u32 pid = (__u32)scan->value; /* "-0" is 0 */
        struct task_struct *task = pid ? task_by_vpid(pid) : (struct task_struct *)bpf_get_current_task();
        if (!task)
                return NULL;
        *ret_state = 0;
        return threadgroup ? BPF_CORE_READ(task, group_leader) : task;
}

/* ---- Where each task in a slice was last seen (the placement map). */

static __always_inline void mark_set(struct task_struct *task, struct cgroup *cg, __u8 owner)
{
        if (owner == HN_EVO_NONE) {
                placement_delete(task);
                return;
        }
        struct placement_mark *m = placement_get_or_create(task);
        if (!m) {
                count_drop(HN_DROP_TASK_STORAGE);
                return;
        }
        m->cgroup_id = cgroup_id_of(cg);
        m->owner = owner;
}

#endif
