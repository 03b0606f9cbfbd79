/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "probe_cost.h"

#define ROUNDS 5

static double now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static double loop_getppid(void) {
        const int n = 200000;
        double t = now_ns();
        for (int i = 0; i < n; i++)
                syscall(SYS_getppid);
        return (now_ns() - t) / n;
}

static double loop_open(void) {
        const int n = 20000;
        double t = now_ns();
        for (int i = 0; i < n; i++)
                close(open("/dev/null", O_RDONLY | O_CLOEXEC));
        return (now_ns() - t) / n;
}

static double loop_write(int fd) {
        static char block[4096];
        const int n = 20000;
        double t = now_ns();
        for (int i = 0; i < n; i++)
                if (pwrite(fd, block, sizeof(block), 0) < 0)
                        return -1;
        return (now_ns() - t) / n;
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double median(double *v) {
        qsort(v, ROUNDS, sizeof(*v), cmp);
        return v[ROUNDS / 2];
}

int hnd_measure_cost(enum hn_attribution level, bool lsm, struct hnd_cost *ret, struct hn_error *err) {
        double g[2][ROUNDS], o[2][ROUNDS], w[2][ROUNDS];
        int fd = memfd_create("hn-probe", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct hn_monitor_options opts = { .lsm = lsm, .attribution = level };
        for (int r = 0; r < ROUNDS; r++)
                for (int v = 0; v < 2; v++) {
                        struct hn_monitor *m = NULL;
                        if (v == 1) {
                                int e = hn_monitor_new(&opts, &m, err);
                                if (e == 0)
                                        e = hn_monitor_start(m, err);
                                if (e < 0) {
                                        hn_monitor_free(m);
                                        close(fd);
                                        return e;
                                }
                        }
                        g[v][r] = loop_getppid();
                        o[v][r] = loop_open();
                        w[v][r] = loop_write(fd);
                        hn_monitor_free(m);
                }
        close(fd);
        *ret = (struct hnd_cost){ median(g[0]), median(g[1]), median(o[0]), median(o[1]), median(w[0]), median(w[1]) };
        return 0;
}
