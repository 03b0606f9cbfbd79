/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* drift_latency: how fast mount drift is caught, the way hpcnoded catches
 * it (POLLPRI on /proc/self/mountinfo, then hn_mount_reconcile), and what
 * the watch costs others.
 *  1. 1,000 times: umount2(MNT_DETACH) of a held image mount -> the drift callback;
 *     p50/p99/max, and the repair included.
 *  2. an unrelated mount(2) + umount2(2) loop outside the bases, with
 *     and without the watch running in a thread beside it (the watch
 *     re-reads the table on every change: its cost is CPU, not latency in
 *     the syscall; passes are at least 2 ms apart, as in the daemon),
 *     and, separately, with the BPF watcher at attribution level off and
 *     at level tracepoint (the mount hooks: syscall entry programs that
 *     filter by base in the kernel); interleaved rounds; ratios. */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hpcnode/monitor.h>

#include "bench_stats.h"
#include "mount_fixture.h"

#define N 1000
#define HND_MOUNT_PASS_GAP_US 2000 /* as user/daemon/mount_watch.c */
#define ROUNDS 11

static void on_drift(const struct hn_drift *d, void *userdata) {
        if (d->cls == HN_DRIFT_HELD_MOUNT_REMOVED)
                (*(int *) userdata)++;
}

struct watcher {
        struct hn_mount_manager *m;
        atomic_bool stop;
        unsigned long passes;
};

static void *watch_main(void *arg) {
        struct watcher *w = arg;
        int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        while (!atomic_load(&w->stop)) {
                struct pollfd p = { .fd = fd, .events = POLLPRI };
                if (poll(&p, 1, 50) > 0) {
                        hn_mount_reconcile(w->m, NULL, NULL, NULL);
                        w->passes++;
                        usleep(HND_MOUNT_PASS_GAP_US); /* the daemon's sustained rate (a storm empties its bucket) */
                }
        }
        close(fd);
        return NULL;
}

/* mount(2) and umount2(2) on a path that does not exist: every hook on
 * their entry runs (the path is read and compared with the bases), and the
 * kernel answers ENOENT before any mount work. A real mount + umount pair
 * waits for an expedited RCU grace period on each umount, which swings
 * 2x with whatever else the machine does, and hides the hooks' cost. */
static double unrelated_loop(const char *dir, int n) {
        char missing[300];
        snprintf(missing, sizeof(missing), "%s/missing/x", dir);
        double t = now_us();
        for (int i = 0; i < n; i++) {
                if (mount("none", missing, "tmpfs", 0, "size=4k") == 0 || umount2(missing, 0) == 0) {
                        fprintf(stderr, "drift_latency: %s exists\n", missing);
                        exit(1);
                }
        }
        return (now_us() - t) / n;
}

int main(void) {
        const char *why = mount_ns_enter();
        if (why) {
                fprintf(stderr, "drift_latency: %s\n", why);
                return 1;
        }
        void *state;
        if (mount_env_setup(&state) < 0)
                return 1;
        struct mount_env *e = state;
        struct hn_mount_handle h;
        if (hn_mount_acquire(e->m, e->image[0], "bench", &h, NULL) < 0)
                return 1;
        int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        static double lat[N];
        int n = 0;
        for (int i = 0; i < N; i++) {
                struct pollfd p = { .fd = fd, .events = POLLPRI };
                while (poll(&p, 1, 0) > 0) /* consume earlier changes (the repair) */
                        hn_mount_reconcile(e->m, NULL, NULL, NULL);
                int found = 0;
                double t0 = now_us();
                /* lazily: the manager holds its image mounts open, so a plain
                 * umount(2) of one is refused (EBUSY) and drifts nothing */
                if (umount2(h.mount_point, MNT_DETACH) < 0) {
                        perror("drift_latency: umount");
                        return 1;
                }
                if (poll(&p, 1, 1000) > 0)
                        hn_mount_reconcile(e->m, on_drift, &found, NULL);
                if (found == 1)
                        lat[n++] = now_us() - t0;
        }
        close(fd);
        qsort(lat, (size_t) n, sizeof(double), cmp_double);
        printf("drift_latency: umount2(MNT_DETACH) of a held image mount -> drift found and repaired, %d of %d, microseconds\n",
               n, N);
        printf("%-40s %9s %9s %9s\n", "", "p50", "p99", "max");
        if (n)
                printf("%-40s %9.1f %9.1f %9.1f\n", "umount -> drift callback (re-mounted)", lat[n / 2],
                       lat[n * 99 / 100], lat[n - 1]);

        char dir[300];
        snprintf(dir, sizeof(dir), "%s/unrelated", e->dir);
        mkdir(dir, 0755);
        /* variants: nothing; the table watch; the watcher at attribution
         * level off (tp_btf only); at level tracepoint (the mount hooks) */
        enum { NV = 4 };
        static const char *const names[NV] = { "nothing", "the table watch", "BPF, level off",
                                               "BPF, level tracepoint (mount hooks)" };
        double res[NV][ROUNDS];
        unsigned long passes = 0;
        for (int r = 0; r < ROUNDS; r++)
                for (int v = 0; v < NV; v++) {
                        struct watcher w = { .m = e->m };
                        struct hn_monitor *mon = NULL;
                        struct hn_monitor_options o = { .attribution =
                                                                v == 3 ? HN_ATTRIBUTION_TRACEPOINT : HN_ATTRIBUTION_OFF };
                        pthread_t t;
                        if (v == 1)
                                pthread_create(&t, NULL, watch_main, &w);
                        if (v >= 2 && (hn_monitor_new(&o, &mon, NULL) < 0 ||
                                       hn_monitor_set_mount_bases(mon, e->uenv, e->workdir, NULL) < 0 ||
                                       hn_monitor_start(mon, NULL) < 0)) {
                                fprintf(stderr, "drift_latency: the watcher did not attach\n");
                                return 1;
                        }
                        res[v][r] = unrelated_loop(dir, 100000);
                        if (v == 1) {
                                atomic_store(&w.stop, true);
                                pthread_join(t, NULL);
                                passes += w.passes;
                        }
                        hn_monitor_free(mon);
                }
        printf("unrelated mount(2) + umount2(2) of a missing path, us per pair; median of %d interleaved rounds,\n"
               "ratio = median of "
               "per-round ratios to nothing (%lu table passes in all):\n",
               ROUNDS, passes);
        for (int v = 0; v < NV; v++) {
                double ratio[ROUNDS];
                for (int r = 0; r < ROUNDS; r++)
                        ratio[r] = res[v][r] / res[0][r];
                qsort(ratio, ROUNDS, sizeof(double), cmp_double);
                qsort(res[v], ROUNDS, sizeof(double), cmp_double);
                printf("  %-40s %8.1f  x%.3f\n", names[v], res[v][ROUNDS / 2], ratio[ROUNDS / 2]);
        }
        hn_mount_release(e->m, &h, NULL);
        mount_env_teardown(&state);
        return n == N ? 0 : 1;
}
