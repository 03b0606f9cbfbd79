/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* event_latency: from the syscall to the record in userspace. 5,000 mkdir
 * and 5,000 rmdir inside a slice, each timed from just before the syscall
 * (CLOCK_BOOTTIME, the clock the programs stamp with) to the moment the
 * record is read from the ring buffer; also the kernel-side part (syscall
 * start to the program's timestamp). p50/p99/max. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hpcnode/monitor.h>

#include "fixture.h"

#define N 10000

struct wait {
        bool got;
        uint64_t kernel_ts;
        uint64_t cgroup_id;
        unsigned type;
};

static uint64_t boot_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_BOOTTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void on_event(const struct hn_event *e, void *u) {
        struct wait *w = u;
        if (e->type == w->type) {
                w->got = true;
                w->kernel_ts = e->ts_boot_ns;
        }
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static void row(const char *name, double *v, int n) {
        qsort(v, (size_t) n, sizeof(double), cmp);
        printf("%-40s %9.1f %9.1f %9.1f\n", name, v[n / 2], v[n * 99 / 100], v[n - 1]);
}

int main(void) {
        struct env *e;
        if (geteuid() != 0 || env_setup((void **) &e) < 0) {
                fprintf(stderr, "event_latency: needs root and a cgroup2 mount\n");
                return 1;
        }
        struct hn_monitor_options o = { .cgroup_root = e->s.root };
        struct hn_monitor *mon;
        struct hn_error err;
        if (hn_monitor_new(&o, &mon, &err) < 0 || hn_monitor_start(mon, &err) < 0) {
                fprintf(stderr, "event_latency: %s\n", err.message);
                return 1;
        }
        static double total[N], kernel[N];
        int n = 0, missed = 0;
        for (int i = 0; i < N / 2; i++) {
                char p[PATH_MAX + 64];
                snprintf(p, sizeof(p), "%s/lat-%d", env_path(e, "workload.slice"), i);
                for (int k = 0; k < 2; k++) {
                        struct wait w = { .type = k == 0 ? HN_EV_CGROUP_MKDIR : HN_EV_CGROUP_RMDIR };
                        uint64_t t0 = boot_ns();
                        if (k == 0)
                                mkdir(p, 0755);
                        else
                                rmdir(p);
                        while (!w.got)
                                if (hn_monitor_poll(mon, 100, on_event, &w) <= 0)
                                        break;
                        uint64_t t1 = boot_ns();
                        if (!w.got) {
                                missed++;
                                continue;
                        }
                        total[n] = (double) (t1 - t0) / 1000.0;
                        kernel[n] = (double) (w.kernel_ts - t0) / 1000.0;
                        n++;
                }
        }
        printf("event_latency: %d records (mkdir + rmdir in workload.slice), microseconds\n", n);
        printf("%-40s %9s %9s %9s\n", "", "p50", "p99", "max");
        row("syscall start -> record in userspace", total, n);
        row("syscall start -> program's timestamp", kernel, n);
        if (missed)
                printf("MISSED records: %d\n", missed);
        hn_monitor_free(mon);
        env_teardown((void **) &e);
        return missed ? 1 : 0;
}
