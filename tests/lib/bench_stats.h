/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every benchmark measures with: a monotonic clock in µs, and order
 * statistics over doubles. */
#ifndef HN_TEST_BENCH_STATS_H
#define HN_TEST_BENCH_STATS_H

#include <stdlib.h>
#include <time.h>

static inline double now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

/* For qsort over doubles. */
static inline int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* For qsort over floats (latency samples kept small). */
static inline int cmp_float(const void *a, const void *b) {
        float x = *(const float *) a, y = *(const float *) b;
        return x < y ? -1 : x > y;
}

/* Sorts v in place. */
static inline double median(double *v, size_t n) {
        qsort(v, n, sizeof(*v), cmp_double);
        return v[n / 2];
}

#endif
