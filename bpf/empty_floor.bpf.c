// SPDX-License-Identifier: GPL-2.0-only
/* The floor for tests/bench/hook_overhead: programs that do nothing, on
 * the same tracepoints as cgroup_watch. What the watcher costs above this
 * is ours; this much is the kernel's price for attaching anything. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(floor_mkdir, struct cgroup *cgrp, const char *path) { return 0; }
SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(floor_rmdir, struct cgroup *cgrp, const char *path) { return 0; }
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(floor_attach, struct cgroup *dst, const char *path, struct task_struct *task, bool tg) { return 0; }
SEC("tp_btf/cgroup_freeze")
int BPF_PROG(floor_freeze, struct cgroup *cgrp, const char *path) { return 0; }
SEC("tp_btf/cgroup_unfreeze")
int BPF_PROG(floor_unfreeze, struct cgroup *cgrp, const char *path) { return 0; }
SEC("tp_btf/cgroup_notify_populated")
int BPF_PROG(floor_populated, struct cgroup *cgrp, const char *path, int val) { return 0; }
