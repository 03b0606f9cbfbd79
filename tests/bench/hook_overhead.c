/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hook_overhead: what the cgroup watcher costs, measured against the same
 * syscall loops with nothing attached and with empty programs on the same
 * tracepoints (the floor), interleaved in one run so the machine's drift
 * hits every variant alike.
 *   getppid          an unrelated syscall: tp_btf must cost it nothing
 *   open RDONLY      a read of a control file inside a slice
 *   mkdir + rmdir    a structural act inside a slice: the watched path */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include <hpcnode/monitor.h>

#include "empty_floor.skel.h"
#include "fixture.h"

#define ROUNDS 7

static double now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static void drop(const struct hn_event *e, void *u) {
        (void) e, (void) u;
}

/* ns per iteration of one loop. */
static double run_loop(int which, const char *dir, int n) {
        char p[PATH_MAX + 64];
        double t = now_ns();
        for (int i = 0; i < n; i++) {
                if (which == 0)
                        syscall(SYS_getppid);
                else if (which == 1) {
                        snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
                        close(open(p, O_RDONLY | O_CLOEXEC));
                } else {
                        snprintf(p, sizeof(p), "%s/b%d", dir, i);
                        mkdir(p, 0755);
                        rmdir(p);
                }
        }
        return (now_ns() - t) / n;
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

int main(void) {
        struct env *e;
        if (geteuid() != 0 || env_setup((void **) &e) < 0) {
                fprintf(stderr, "hook_overhead: needs root and a cgroup2 mount\n");
                return 1;
        }
        const char *dir = env_path(e, "workload.slice");
        char slice[PATH_MAX];
        snprintf(slice, sizeof(slice), "%s", dir);
        const char *names[3] = { "getppid", "open RDONLY cgroup.procs", "mkdir + rmdir in a slice" };
        const int iters[3] = { 2000000, 100000, 3000 };
        double res[3][3][ROUNDS]; /* loop, variant (none, floor, watcher), round */
        struct hn_monitor_options o = { .cgroup_root = e->s.root };
        struct hn_monitor *mon = NULL;
        struct hn_error err;
        if (hn_monitor_new(&o, &mon, &err) < 0 || hn_monitor_start(mon, &err) < 0) {
                fprintf(stderr, "hook_overhead: %s\n", err.message);
                return 1;
        }
        hn_monitor_free(mon); /* loaded once to prove it loads; attached per round below */
        for (int r = 0; r < ROUNDS; r++)
                for (int v = 0; v < 3; v++) {
                        struct empty_floor *floor = NULL;
                        mon = NULL;
                        if (v == 1) {
                                floor = empty_floor__open_and_load();
                                if (!floor || empty_floor__attach(floor) < 0)
                                        return 1;
                        } else if (v == 2) {
                                if (hn_monitor_new(&o, &mon, NULL) < 0 || hn_monitor_start(mon, NULL) < 0)
                                        return 1;
                        }
                        for (int l = 0; l < 3; l++) {
                                res[l][v][r] = run_loop(l, slice, iters[l]);
                                if (mon)
                                        while (hn_monitor_poll(mon, 0, drop, NULL) > 0)
                                                ;
                        }
                        empty_floor__destroy(floor);
                        hn_monitor_free(mon);
                }
        printf("hook_overhead: median ns per call over %d interleaved rounds (tp_btf attribution)\n", ROUNDS);
        printf("%-28s %10s %10s %10s %12s %12s\n", "loop", "none", "floor", "watcher", "watch/none", "watch/floor");
        for (int l = 0; l < 3; l++) {
                double m[3];
                for (int v = 0; v < 3; v++) {
                        qsort(res[l][v], ROUNDS, sizeof(double), cmp);
                        m[v] = res[l][v][ROUNDS / 2];
                }
                printf("%-28s %10.1f %10.1f %10.1f %11.3fx %11.3fx\n", names[l], m[0], m[1], m[2], m[2] / m[0],
                       m[2] / m[1]);
        }
        env_teardown((void **) &e);
        return 0;
}
