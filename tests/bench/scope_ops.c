/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* scope_ops: what the library costs over doing the same work by hand.
 * One iteration = create a scope (with limits where the controllers are
 * there), move a live process in, destroy it (kill, wait for populated 0,
 * rmdir). Both variants run interleaved in the same process, on the same
 * kernel, so the ratio means something even on a noisy machine. The
 * process is forked outside the timed region. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "fixture.h"

#define ITERATIONS 300

static int write_at(const char *dir, const char *file, const char *value) {
        char p[PATH_MAX + 64];
        snprintf(p, sizeof(p), "%s/%s", dir, file);
        int fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, value, strlen(value));
        close(fd);
        return n < 0 ? -errno : 0;
}

/* The same steps the library takes, with nothing around them. */
static int raw_iteration(const char *parent, int i, pid_t pid, unsigned enabled) {
        char dir[PATH_MAX + 32], pidtxt[16], p[PATH_MAX + 64], buf[128];
        snprintf(dir, sizeof(dir), "%s/raw-%d.scope", parent, i);
        if (mkdir(dir, 0755) < 0)
                return -errno;
        if (enabled & HN_CONTROLLER_MEMORY)
                write_at(dir, "memory.max", "1073741824");
        if (enabled & HN_CONTROLLER_CPU)
                write_at(dir, "cpu.weight", "200");
        snprintf(pidtxt, sizeof(pidtxt), "%d", (int) pid);
        if (write_at(dir, "cgroup.procs", pidtxt) < 0)
                return -1;
        if (write_at(dir, "cgroup.kill", "1") < 0)
                return -1;
        snprintf(p, sizeof(p), "%s/cgroup.events", dir);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        for (;;) {
                ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
                buf[n > 0 ? n : 0] = '\0';
                if (strstr(buf, "populated 0"))
                        break;
                struct pollfd pfd = { .fd = fd, .events = POLLPRI };
                poll(&pfd, 1, 100);
        }
        close(fd);
        while (rmdir(dir) < 0 && errno == EBUSY)
                ;
        return 0;
}

static int lib_iteration(struct hn_cgroup_manager *m, int i, pid_t pid, const struct hn_resource_limits *l) {
        struct hn_cgroup_handle h;
        char name[32];
        snprintf(name, sizeof(name), "lib-%d", i);
        if (hn_cgroup_create_scope(m, "workload.slice", name, l, &h, NULL) < 0)
                return -1;
        if (hn_cgroup_attach_pid(m, &h, pid, NULL) < 0)
                return -1;
        return hn_cgroup_destroy_scope(m, &h, NULL);
}

static void row(const char *name, double *v, int n) {
        double sum = 0;
        qsort(v, (size_t) n, sizeof(double), cmp_double);
        for (int i = 0; i < n; i++)
                sum += v[i];
        printf("%-34s %10.1f %10.1f %10.1f\n", name, v[n / 2], v[n * 9 / 10], sum / n);
}

static double systemd_run_median(void) {
        double v[20];
        for (int i = 0; i < 20; i++) {
                double t = now_us();
                if (system("systemd-run --quiet --scope true >/dev/null 2>&1") != 0)
                        return -1;
                v[i] = now_us() - t;
        }
        qsort(v, 20, sizeof(double), cmp_double);
        return v[10];
}

int main(void) {
        struct scratch s;
        struct hn_cgroup_manager *m = NULL, *service = NULL;
        unsigned enabled = 0;
        static double raw[ITERATIONS], lib[ITERATIONS];

        if (geteuid() != 0 || scratch_new(&s) < 0) {
                fprintf(stderr, "scope_ops: needs root and a cgroup2 mount\n");
                return 1;
        }
        if (hn_cgroup_manager_new(s.root, HN_OWNER_WORKLOAD, &m, NULL) < 0 ||
            hn_cgroup_manager_new(s.root, HN_OWNER_NONE, &service, NULL) < 0 ||
            hn_cgroup_create_hierarchy(service, &enabled, NULL) < 0) {
                fprintf(stderr, "scope_ops: setup failed\n");
                scratch_remove(&s);
                return 1;
        }
        struct hn_resource_limits limits = {
                .memory_max = (enabled & HN_CONTROLLER_MEMORY) ? 1073741824 : 0,
                .cpu_weight = (enabled & HN_CONTROLLER_CPU) ? 200 : 0,
        };
        char parent[PATH_MAX + 32], ctrl[64];
        snprintf(parent, sizeof(parent), "%s/workload.slice", s.root);

        int failures = 0;
        for (int i = 0; i < ITERATIONS; i++) {
                /* alternate which goes first, so neither always gets a warm cache */
                for (int k = 0; k < 2; k++) {
                        bool do_lib = (i + k) % 2;
                        pid_t pid = fork_sleeper();
                        double t = now_us();
                        int r = do_lib ? lib_iteration(m, i, pid, &limits) : raw_iteration(parent, i, pid, enabled);
                        double dt = now_us() - t;
                        failures += r < 0;
                        (do_lib ? lib : raw)[i] = dt;
                        waitpid(pid, NULL, 0);
                }
        }

        printf("scope_ops: %d iterations each, create(+limits) + attach + destroy, interleaved\n", ITERATIONS);
        printf("limits written: %s\n",
               enabled ? hn_controller_mask_format(enabled & (HN_CONTROLLER_MEMORY | HN_CONTROLLER_CPU), ctrl,
                                                   sizeof(ctrl))
                       : "none (no memory/cpu controller on cgroup2 here; the VM has them)");
        printf("%-34s %10s %10s %10s\n", "variant", "median_us", "p90_us", "mean_us");
        row("raw syscalls (baseline)", raw, ITERATIONS);
        double raw_median = raw[ITERATIONS / 2];
        row("libhpcnode", lib, ITERATIONS);
        double lib_median = lib[ITERATIONS / 2];
        printf("%-34s %10.2fx\n", "ratio libhpcnode / raw (median)", lib_median / raw_median);
        if (access("/run/systemd/system", F_OK) == 0) {
                double sd = systemd_run_median();
                if (sd > 0)
                        printf("%-34s %10.1f   (%.1fx raw; create+run+remove, 20 runs)\n", "systemd-run --scope true",
                               sd, sd / raw_median);
                else
                        printf("%-34s   failed to run\n", "systemd-run --scope true");
        } else
                printf("%-34s   not measured: systemd is not running on this machine (no /run/systemd/system)\n",
                       "systemd-run --scope true");
        if (failures)
                printf("FAILED iterations: %d\n", failures);
        hn_cgroup_manager_free(m);
        hn_cgroup_manager_free(service);
        scratch_remove(&s);
        return failures ? 1 : 0;
}
