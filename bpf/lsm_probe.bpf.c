// SPDX-License-Identifier: GPL-2.0-only
/* The smallest proof that BPF LSM works on this kernel: while attached, it
 * refuses mkdir of a directory named HN_LSM_PROBE_NAME, by one process only
 * (target_tgid), and nothing else. The capability probe loads it, attaches
 * it, watches a mkdir fail with EPERM, and detaches. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <hpcnode/lsm_probe.h>

#define EPERM 1
#define MAX_ERRNO 4095

char LICENSE[] SEC("license") = "GPL";

/* Set through the skeleton's rodata before load: the probing process's
 * tgid in its own PID namespace (dev, inode), so a probe in a container
 * finds itself. */
const volatile __u32 target_tgid = 0;
const volatile __u64 target_pidns_dev = 0;
const volatile __u64 target_pidns_ino = 0;

SEC("lsm/inode_mkdir")
int BPF_PROG(hn_lsm_probe_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
        static const char want[] = HN_LSM_PROBE_NAME;
        char name[sizeof(want)];

        /* An earlier program's verdict stands. Since 6.12 the verifier
         * requires every return to be provably in [-MAX_ERRNO, 0], so the
         * pass-through is bounded rather than returned blind. */
        long prev = (int)ret; /* sign-extended: the check bounds the whole register */
        if (prev)
                return prev < 0 && prev >= -MAX_ERRNO ? prev : -EPERM;
        struct bpf_pidns_info ns;
        if (bpf_get_ns_current_pid_tgid(target_pidns_dev, target_pidns_ino, &ns, sizeof(ns)) || ns.tgid != target_tgid)
                return 0;
        const unsigned char *n = BPF_CORE_READ(dentry, d_name.name);
        if (bpf_probe_read_kernel_str(name, sizeof(name), n) != sizeof(name))
                return 0;
        int mismatch = 0;
        for (int i = 0; i < (int)sizeof(want); i++)
                mismatch |= name[i] ^ want[i];
        /* Hide mismatch's 0/1 range from clang: otherwise it computes the
         * verdict branch-free as a negation, whose result the 6.12 verifier
         * cannot bound to [-4095, 0]. With a branch, each exit is a constant. */
        barrier_var(mismatch);
        if (mismatch)
                return 0;
        return -EPERM;
}

/* Trampolines (fentry/fexit) are a separate capability: the probe loads
 * and attaches this on its own ("?": not loaded unless asked). hpcnode
 * does not need them; --probe reports them for the operator. */
SEC("?fentry/vfs_mkdir")
int BPF_PROG(hn_probe_fentry)
{
        return 0;
}
