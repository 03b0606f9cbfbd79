/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the tests run inside scopes:
 *   hn_test_helper spin MS       burn CPU for MS milliseconds, then exit 0
 *   hn_test_helper alloc BYTES   touch BYTES of memory, then sleep (OOM tests)
 *   hn_test_helper tree N        fork N children that sleep, then sleep
 *   hn_test_helper sleep         sleep until killed */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        if (argc >= 3 && strcmp(argv[1], "spin") == 0) {
                double end = now() + atof(argv[2]) / 1000.0;
                volatile unsigned long x = 0;
                while (now() < end)
                        x++;
                return 0;
        }
        if (argc >= 3 && strcmp(argv[1], "alloc") == 0) {
                size_t n = strtoull(argv[2], NULL, 10);
                char *p = malloc(n);
                if (!p)
                        return 2;
                for (size_t i = 0; i < n; i += 4096)
                        p[i] = 1;
                for (;;)
                        pause();
        }
        if (argc >= 3 && strcmp(argv[1], "tree") == 0) {
                for (int i = 0; i < atoi(argv[2]); i++)
                        if (fork() == 0)
                                for (;;)
                                        pause();
                for (;;)
                        pause();
        }
        if (argc >= 2 && strcmp(argv[1], "sleep") == 0)
                for (;;)
                        pause();
        fprintf(stderr, "usage: hn_test_helper spin MS | alloc BYTES | tree N | sleep\n");
        return 64;
}
