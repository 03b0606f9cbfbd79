/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* event_latency: from the syscall to the record in userspace. 5,000 mkdir
 * and 5,000 rmdir inside a slice (tp_btf), then 10,000 opens for writing of
 * a control file (attribution level auto: the syscall exit tracepoint here,
 * the LSM hook where BPF LSM runs), each timed from just before the syscall
 * (CLOCK_BOOTTIME, the clock the programs stamp with) to the moment the
 * record is read from the ring buffer; also the kernel-side part (syscall
 * start to the program's timestamp). p50/p99/max. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hpcnode/monitor.h>
#include <hpcnode/probe.h>

#include "bench_stats.h"
#include "clock.h"
#include "fixture.h"

#define N 10000

struct wait {
        bool got;
        uint64_t kernel_ts;
        uint64_t cgroup_id;
        unsigned type;
};

static void on_event(const struct hn_event *e, void *u) {
        struct wait *w = u;
        if (e->type == w->type) {
                w->got = true;
                w->kernel_ts = e->ts_boot_ns;
        }
}

static void row(const char *name, double *v, int n) {
        qsort(v, (size_t) n, sizeof(double), cmp_double);
        if (n == 0) {
                printf("%-48s (no records)\n", name);
                return;
        }
        printf("%-48s %9.1f %9.1f %9.1f\n", name, v[n / 2], v[n * 99 / 100], v[n - 1]);
}

int main(void) {
        struct env *e;
        if (geteuid() != 0 || env_setup((void **) &e) < 0) {
                fprintf(stderr, "event_latency: needs root and a cgroup2 mount\n");
                return 1;
        }
        struct hn_bpf_lsm_probe lsm;
        hn_probe_bpf_lsm(NULL, &lsm);
        struct hn_monitor_options o = { .cgroup_root = e->s.root, .lsm = lsm.available };
        struct hn_monitor *mon;
        struct hn_error err;
        if (hn_monitor_new(&o, &mon, &err) < 0 || hn_monitor_start(mon, &err) < 0) {
                fprintf(stderr, "event_latency: %s\n", err.message);
                return 1;
        }
        static double total[2][N], kernel[2][N];
        int n[2] = { 0, 0 }, missed = 0;
        char control[PATH_MAX + 64];
        snprintf(control, sizeof(control), "%s/cgroup.max.depth", env_path(e, "workload.slice"));
        for (int i = 0; i < N; i++) {
                char p[PATH_MAX + 64];
                snprintf(p, sizeof(p), "%s/lat-%d", env_path(e, "workload.slice"), i / 2);
                /* row 0: mkdir, rmdir alternately; row 1: a control-file open */
                for (int row = 0; row < 2; row++) {
                        unsigned type = row ? HN_EV_CONTROL_OPEN : i % 2 ? HN_EV_CGROUP_RMDIR : HN_EV_CGROUP_MKDIR;
                        struct wait w = { .type = type };
                        uint64_t t0 = boottime_ns();
                        if (row)
                                close(open(control, O_WRONLY | O_CLOEXEC));
                        else if (i % 2)
                                rmdir(p);
                        else
                                mkdir(p, 0755);
                        while (!w.got)
                                if (hn_monitor_poll(mon, 100, on_event, &w, NULL) <= 0)
                                        break;
                        uint64_t t1 = boottime_ns();
                        if (!w.got) {
                                missed++;
                                continue;
                        }
                        total[row][n[row]] = (double) (t1 - t0) / 1000.0;
                        kernel[row][n[row]] = (double) (w.kernel_ts - t0) / 1000.0;
                        n[row]++;
                }
        }
        printf("event_latency: microseconds; %d structural records (mkdir + rmdir in workload.slice, tp_btf), "
               "%d control-file records (attribution %s)\n",
               n[0], n[1], hn_attribution_name(hn_monitor_attribution(mon)));
        printf("%-48s %9s %9s %9s\n", "", "p50", "p99", "max");
        row("mkdir/rmdir: syscall start -> record read", total[0], n[0]);
        row("mkdir/rmdir: syscall start -> program's stamp", kernel[0], n[0]);
        row("control write: syscall start -> record read", total[1], n[1]);
        row("control write: syscall start -> program's stamp", kernel[1], n[1]);
        if (missed)
                printf("MISSED records: %d\n", missed);
        hn_monitor_free(mon);
        env_teardown((void **) &e);
        return missed ? 1 : 0;
}
