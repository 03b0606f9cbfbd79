// SPDX-License-Identifier: GPL-2.0-only
/* cgroup.kill, attributed at no cost to unrelated syscalls: the kernel
 * sends SIGKILL to each process with no siginfo (SEND_SIG_NOINFO), from
 * the writer's own write, whatever path it took (write, splice, sendfile,
 * copy_file_range, io_uring inline or in a worker). kill(2) and
 * pidfd_send_signal carry a siginfo, the OOM killer SEND_SIG_PRIV, and the
 * fork-time kill of a newborn runs in fork, not in a write, so none of
 * them is taken for cgroup.kill. */
#include "emit.bpf.h"
#include "self_witness.bpf.h"
#include "syscall.bpf.h"

#define SIGKILL 9

/* One record per write(2)-family call, not per process killed: the writer
 * thread's count of completed writes (ioac.syscw, bumped when the write
 * returns) names the write in progress. An evicted entry costs a second
 * record for the same write, never a missing one. */
struct {
        __uint(type, BPF_MAP_TYPE_LRU_HASH);
        __uint(max_entries, 1024);
        __type(key, __u32);   /* writer thread id */
        __type(value, __u64); /* syscw + 1 of the write already recorded */
} kill_recorded SEC(".maps");

/* false if this write was recorded already. Only write(2) and sendfile
 * bump syscw once per call: for the other paths every process killed is
 * its own record, so two kills are never taken for one. */
static __always_inline bool first_of_write(void)
{
        struct task_struct *cur = current_task();
        if (!bpf_core_field_exists(cur->ioac) || in_io_worker())
                return true;
        long nr = current_syscall();
        if (!is_write_family(nr) && nr != HN_NR_SENDFILE)
                return true;
        __u64 seq = BPF_CORE_READ(cur, ioac.syscw) + 1;
        __u32 tid = (__u32)bpf_get_current_pid_tgid();
        __u64 *seen = bpf_map_lookup_elem(&kill_recorded, &tid);
        if (seen && *seen == seq)
                return false;
        bpf_map_update_elem(&kill_recorded, &tid, &seq, BPF_ANY);
        return true;
}

SEC("tp_btf/signal_generate")
int BPF_PROG(hn_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task, int group,
             int result)
{
        /* The verifier takes tp_btf pointer arguments for non-NULL and
         * prunes a test of one (some kernels): read the raw value. */
        __u64 info_raw = 1;
        bpf_probe_read_kernel(&info_raw, sizeof(info_raw), &ctx[1]);
        self_signal_witness(sig, info_raw, info, task);
        if (sig != SIGKILL || info_raw)
                return 0;
        struct cgroup *cg = task_cgroup(task);
        __u8 owner = owner_of_cgroup(cg);
        if (owner == HN_EVO_NONE || !in_file_write() || !first_of_write())
                return 0;
        struct hn_writer w;
        writer_identify(&w);
        /* the cgroup of the first process killed: the written cgroup, or
         * for a parent without processes of its own, its first child */
        struct act a = { .type = HN_EV_CGROUP_KILL, .cgroup_id = cgroup_id_of(cg), .path = "cgroup.kill",
                         .target_owner = owner, .value = BPF_CORE_READ(task, tgid), .source = HN_EVS_TP_BTF,
                         .flags = HN_EVF_NAME_ONLY | (owns(&w, owner) ? 0 : HN_EVF_CROSS_SLICE) };
        emit(&w, &a);
        return 0;
}
